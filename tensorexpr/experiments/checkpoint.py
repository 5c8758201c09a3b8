"""Restore a trained model from a training run directory (``te.experiments.load``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch


__all__ = ["load", "CheckpointError"]


from tensorexpr.core.errors import CheckpointError  # noqa: E402,F401  (re-exported: defined in errors.py)


def load(run_dir: str | Path, device: Any = None) -> torch.nn.Module:
    """The trained :class:`ConvAC` / :class:`ReLUNet` saved by ``te.experiments.train`` in ``run_dir``.

    ``run_dir`` is the training ``out_dir`` (or the ``checkpoint.pt`` in it). The model comes back in eval
    mode with its config as ``model.train_config``, on ``device`` (default: CUDA when available).

    Parameters
    ----------
    run_dir : str or Path
        The training run's ``out_dir``, or the ``checkpoint.pt`` file in it.
    device : torch.device or str, optional
        Where the model goes; default CUDA when torch sees it, else the CPU.

    Returns
    -------
    torch.nn.Module
        The model (``ConvAC``, ``ReLUNet`` or a structured variant) in eval mode, with ``train_config`` set.

    Raises
    ------
    CheckpointError
        No checkpoint at the path, an unreadable file, or a state that does not fit its saved config.

    Examples
    --------
    >>> model = te.experiments.load("runs/closedness-square")  # doctest: +SKIP
    >>> te.certify(model.to_network(), te.Partition.grid(32, 32, "left_right"))  # doctest: +SKIP
    """
    from tensorexpr.experiments.config import TrainConfig
    from tensorexpr.experiments.train import make_model

    path = Path(run_dir)
    ckpt = path / "checkpoint.pt" if path.is_dir() else path
    if not ckpt.exists():
        raise CheckpointError(f"No checkpoint at {str(ckpt)!r}; expected the out_dir of a training run "
                              f"(tensorexpr train --out DIR) holding checkpoint.pt.")
    try:
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise CheckpointError(f"Cannot read {str(ckpt)!r} as a checkpoint ({type(exc).__name__}); expected a "
                              f"checkpoint.pt written by tensorexpr train (tensors and plain data only: it is read "
                              f"with torch.load(weights_only=True), which never runs pickled code).") from None
    if not isinstance(state, dict) or not {"model_spec", "full_config", "model"} <= set(state):
        raise CheckpointError(f"{str(ckpt)!r} lacks the model description (written by an older version?); "
                              f"retrain with this version to get a loadable checkpoint.")
    cfg = TrainConfig.from_dict({**state["full_config"], "device": None if device is None else str(device),
                                 "out_dir": None})
    model = make_model(cfg, state["model_spec"])
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError, TypeError) as exc:  # weights of another shape or model: a damaged or foreign file
        raise CheckpointError(f"{str(ckpt)!r} holds weights that do not fit the model it describes "
                              f"({type(exc).__name__}: {str(exc).splitlines()[0]}); expected the checkpoint.pt "
                              f"written by te.experiments.train. Hint: retrain into a fresh --out directory.") from None
    model.eval()
    model.train_config = cfg
    model.history = list(state.get("history", []))
    return model
