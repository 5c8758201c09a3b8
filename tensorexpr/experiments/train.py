"""Training loop: seeded, resumable from checkpoints, with JSON metrics and learning-curve plots.

``train(config, data=None)`` builds the data set (built-in task, ``config.data`` file, or your own ``data``,
see :mod:`tensorexpr.experiments.userdata`) and the model the config names, trains it with Adam (the
authors' schedule: lr x0.1 at 80% of the run) and returns a :class:`TrainResult`. A run is ``epochs``
passes, or ``iterations`` steps evaluated every ``eval_every`` steps (the authors' runs: 15,000 steps of
64, their data read in order and cycled). With ``config.out_dir`` set, every finished epoch / evaluation
block is saved atomically (``checkpoint.pt``: model, optimizer, history and what
:func:`tensorexpr.experiments.load` needs; ``metrics.json``), and a rerun with the same config resumes after
the last finished block. Batch orders are seeded, so an interrupted and resumed run gives the same
metrics, bit for bit, as an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from tensorexpr.core.specs import grid_shape, parse_geometry
from tensorexpr.experiments.config import ConfigError, TrainConfig
from tensorexpr.experiments.data import Dataset, DataError, blobs, digits, teacher
from tensorexpr.experiments.userdata import user_dataset

__all__ = ["train", "TrainResult", "make_dataset", "make_model", "model_spec", "evaluate", "plot_curves"]


def make_dataset(cfg: TrainConfig, data: Any = None) -> Dataset:
    """The data set of the run: ``data`` (validated), else ``cfg.data`` (an ``.npz``), else ``cfg.task``'s.

    Parameters
    ----------
    cfg : TrainConfig
    data : optional
        Your own data (see :func:`tensorexpr.experiments.userdata.user_dataset`).

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        For ``task="user"`` without data, or invalid data.
    """
    if data is not None or cfg.data is not None:
        return user_dataset(data if data is not None else cfg.data, cfg.geometry, cfg.representation)
    if cfg.task == "user":
        raise DataError("task='user' needs your data: train(config, data=...) or config.data='file.npz' "
                        "(CLI: --data file.npz).")
    tree = parse_geometry(cfg.geometry)
    hw = grid_shape(cfg.geometry)
    seed = cfg.resolved_data_seed
    if cfg.task in ("closedness", "symmetry"):
        return blobs(cfg.task, cfg.n_train, cfg.n_test, size=hw[0], seed=seed, recipe=cfg.blob_recipe,
                     progress=cfg.progress)
    if cfg.task == "digits32":
        from tensorexpr.experiments.digits32 import digits32

        n_test = cfg.n_test or 297
        return digits32(n_test=n_test, seed=seed, rotate_train=cfg.rotate_train, rotate_test=cfg.rotate_test,
                        n_train=min(cfg.n_train or 1797, 1797 - n_test))
    if cfg.task == "digits":
        return digits(seed=seed, levels=2 if cfg.representation == "one_hot" else None)
    return teacher(tree, cfg.n_train or 2000, cfg.n_test or 500, M=2, widths=cfg.teacher_widths, seed=seed, shape=hw)


def model_spec(data: Dataset) -> dict[str, Any]:
    """What a model needs from its data (stored in checkpoints for :func:`tensorexpr.experiments.load`).

    Parameters
    ----------
    data : Dataset

    Returns
    -------
    dict
        ``{"M", "n_classes", "in_features", "image_shape"}``; ``M`` is 4 for float data.
    """
    return {"M": data.M if data.M is not None else 4, "n_classes": data.n_classes, "in_features": data.in_features,
            "image_shape": [int(v) for v in data.X_train.shape[-2:]]}


def _warn_if_dead(model: nn.Module, ds: Dataset, cfg: TrainConfig, n: int = 256) -> None:
    """Warn when the freshly built model answers the same on ``n`` training inputs: every ReLU unit of some
    level is off for all of them (a dead draw), so no gradient reaches the weights below and training stalls."""
    import warnings

    from tensorexpr.core.errors import TrainingWarning

    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(ds.X_train[:n]).double()
    finally:
        model.train(was)
    if out.shape[0] > 1 and float(out.std(0).max()) <= 1e-12 * (1.0 + float(out.abs().max())):
        warnings.warn(
            f"{cfg.model} (seed {cfg.seed}) gives the same output on the first {out.shape[0]} training inputs at "
            f"initialization: some level's units are all off (dead ReLUs), so no gradient reaches the weights "
            f"below and training will stall. Hint: another seed, or a wider network.",
            TrainingWarning, stacklevel=3)


def make_model(cfg: TrainConfig, data: Dataset | dict) -> nn.Module:
    """The :class:`~tensorexpr.models.ConvAC`, :class:`~tensorexpr.models.ReLUNet` or structured model of ``cfg``.

    A scattering representation fits its per-coefficient scale on the training images when ``data`` is a
    :class:`Dataset`.

    Parameters
    ----------
    cfg : TrainConfig
    data : Dataset or dict
        The data, or a :func:`model_spec` dict (from a checkpoint).

    Returns
    -------
    torch.nn.Module
    """
    from tensorexpr.models import ConvAC, ReLUNet

    spec = data if isinstance(data, dict) else model_spec(data)
    tree = parse_geometry(cfg.geometry)
    M = spec["M"]
    if cfg.representation.startswith("scattering"):  # M is the coefficient count (checked by the layer)
        from tensorexpr.models.scattering import ScatteringLinear, parse_scattering

        M = parse_scattering(cfg.representation).n_coefficients(spec["in_features"])
        if cfg.model == "scatlinear":
            return ScatteringLinear(tuple(spec["image_shape"]), spec["n_classes"], cfg.representation,
                                    spec["in_features"], seed=cfg.seed, device=cfg.device)
    common = dict(outputs=spec["n_classes"], representation=cfg.representation, shared=cfg.shared,
                  in_features=spec["in_features"], seed=cfg.seed, device=cfg.device)
    if cfg.model not in ("convac", "relu"):
        from tensorexpr.models import structured_model

        return structured_model(cfg.model, tree, M, cfg.widths, kernel=cfg.kernel, pooling=cfg.pooling, **common)
    model = ConvAC(tree, M, cfg.widths, **common) if cfg.model == "convac" else \
        ReLUNet(tree, M, cfg.widths, pooling=cfg.pooling, bias=cfg.bias, init=cfg.init, **common)
    if hasattr(model.representation, "fit_scale") and not isinstance(data, dict):
        model.representation.fit_scale(data.X_train)  # scattering: per-coefficient RMS on the training images
    return model


def _optimizer(cfg: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    """Adam with the authors' per-parameter rules: biases at ``2 lr`` without decay, weights with decay."""
    biases = list(getattr(model, "biases", []))
    ids = {id(p) for p in biases}
    rest = [p for p in model.parameters() if id(p) not in ids]
    groups = [{"params": rest, "weight_decay": cfg.weight_decay, "lr_mult": 1.0}]
    if biases:
        groups.append({"params": biases, "weight_decay": 0.0, "lr_mult": 2.0})
    return torch.optim.Adam(groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)


def _set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for g in opt.param_groups:
        g["lr"] = lr * g.get("lr_mult", 1.0)


class _Batches:
    """Indices of step ``t``: the data in order, cycled (``sequential``) or reshuffled per pass (seeded)."""

    def __init__(self, n: int, batch: int, order: str, seed: int):
        self.n, self.batch, self.order, self.seed = n, batch, order, seed
        self._perms: dict[int, torch.Tensor] = {}

    def _perm(self, e: int) -> torch.Tensor:
        if e not in self._perms:
            if len(self._perms) > 1:  # keep two passes: a batch may straddle their boundary
                self._perms.pop(min(self._perms))
            self._perms[e] = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed * 100_003 + e))
        return self._perms[e]

    def __call__(self, t: int) -> torch.Tensor:
        pos = torch.arange(t * self.batch, (t + 1) * self.batch)
        if self.order == "sequential":
            return pos % self.n
        e, i = pos // self.n, pos % self.n
        if int(e[0]) == int(e[-1]):
            return self._perm(int(e[0]))[i]
        return torch.cat([self._perm(int(k))[i[e == k]] for k in torch.unique(e).tolist()])


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch: int = 500) -> tuple[float, float]:
    """``(mean cross-entropy, accuracy)`` on ``(X, y)``.

    The model is put in eval mode (and left there).

    Parameters
    ----------
    model : torch.nn.Module
    X, y : torch.Tensor
    batch : int, optional
        Inputs per forward pass.

    Returns
    -------
    tuple of (float, float)
    """
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, len(X), batch):
        out = model(X[i : i + batch])
        yy = y[i : i + batch].to(out.device)
        loss += float(nn.functional.cross_entropy(out, yy, reduction="sum"))
        correct += int((out.argmax(1) == yy).sum())
    return loss / len(X), correct / len(X)


@dataclass(frozen=True, eq=False)
class TrainResult:
    """Per-epoch history, parameter count, output files, and the trained model.

    Parameters
    ----------
    config : TrainConfig
    history : tuple of dict
        One record per epoch (evaluation block): ``epoch``, ``lr``, train/test loss and accuracy, ``seconds``
        (and ``iteration`` in iteration mode).
    n_params : int
    model : torch.nn.Module, optional
    files : dict, optional
        ``checkpoint``, ``metrics`` and ``curves`` paths when ``out_dir`` was set.
    resumed_from : int, optional
        Blocks loaded from a checkpoint.
    nonfinite : bool, optional
        Whether some training loss was not finite.
    """

    config: TrainConfig
    history: tuple[dict, ...]
    n_params: int
    model: Any = field(repr=False, default=None)
    files: dict = field(default_factory=dict)
    resumed_from: int = 0
    nonfinite: bool = False

    @property
    def final(self) -> dict:
        """The last history record (a copy), ``{}`` without history."""
        return dict(self.history[-1]) if self.history else {}

    @property
    def test_acc(self) -> float:
        """Test accuracy of the last record (NaN without history)."""
        return float(self.final.get("test_acc", float("nan")))

    def metrics(self) -> list[dict]:
        """History without wall-clock fields (what reproducibility compares).

        Returns
        -------
        list of dict
        """
        return [{k: v for k, v in h.items() if k != "seconds"} for h in self.history]

    def to_dict(self) -> dict:
        """A JSON-ready dict: config, history, parameter count, files, resume point, ``nonfinite`` and ``final``.

        Returns
        -------
        dict
        """
        return {"config": self.config.to_dict(), "history": list(self.history), "n_params": self.n_params,
                "files": dict(self.files), "resumed_from": self.resumed_from, "nonfinite": self.nonfinite,
                "final": self.final}

    def __repr__(self) -> str:
        f = self.final
        return (f"TrainResult({self.config.model} on {self.config.geometry}, task={self.config.task}, "
                f"epochs={len(self.history)}, params={self.n_params}, train_acc={f.get('train_acc', float('nan')):.4f}, "
                f"test_acc={f.get('test_acc', float('nan')):.4f})")


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _write_json(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(".json.tmp")
    from tensorexpr.core.numbers import encode_counts

    tmp.write_text(json.dumps(encode_counts(obj), indent=2, default=str))
    os.replace(tmp, path)


def plot_curves(history: list[dict], path: str | Path, title: str = "") -> Path:
    """Learning curves (loss and accuracy, train and test, per epoch or iteration) as a PNG.

    Parameters
    ----------
    history : list of dict
        :attr:`TrainResult.history` records.
    path : str or Path
    title : str, optional

    Returns
    -------
    Path
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["iteration"] if "iteration" in h else h["epoch"] + 1 for h in history]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4))
    a1.plot(ep, [h["train_loss"] for h in history], "o-", label="train")
    a1.plot(ep, [h["test_loss"] for h in history], "s-", label="test")
    xl = "iteration" if history and "iteration" in history[0] else "epoch"
    a1.set_xlabel(xl), a1.set_ylabel("cross-entropy"), a1.legend()
    a2.plot(ep, [h["train_acc"] for h in history], "o-", label="train")
    a2.plot(ep, [h["test_acc"] for h in history], "s-", label="test")
    a2.set_xlabel(xl), a2.set_ylabel("accuracy"), a2.legend()
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _resume(cfg: TrainConfig, model: nn.Module, opt: torch.optim.Optimizer, ckpt: Path, data_id: Any) -> list[dict]:
    """Load ``ckpt`` into ``model`` and ``opt`` and return its history; refuse one of another config or data."""
    state = torch.load(ckpt, map_location=model.device, weights_only=True)
    if state["config"] != cfg.identity():
        diff = sorted(k for k in cfg.identity() if state["config"].get(k) != cfg.identity()[k])
        raise ConfigError(f"Checkpoint {ckpt} was written by a different config (fields {diff} differ); "
                          f"use another out_dir or resume=False.")
    if state.get("data_fingerprint") != data_id:
        raise ConfigError(f"Checkpoint {ckpt} was trained on other data (fingerprint {state.get('data_fingerprint')} "
                          f"vs {data_id}); use another out_dir or resume=False.")
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optim"])
    return list(state["history"])


@dataclass(frozen=True)
class _Schedule:
    """The blocks of a run: ``n_blocks`` evaluation blocks, the steps of each, the learning rate of each step."""

    n_blocks: int
    steps_of: Callable[[int], range]
    lr_of: Callable[[int], float]


def _schedule(cfg: TrainConfig, n: int) -> _Schedule:
    """Iteration mode: blocks of ``eval_every`` steps; epoch mode: one block per pass over the ``n`` inputs."""
    if cfg.iterations:
        block = cfg.eval_every or max(1, cfg.iterations // 10)
        n_blocks = (cfg.iterations + block - 1) // block
        return _Schedule(n_blocks, lambda b: range(b * block, min((b + 1) * block, cfg.iterations)),
                         cfg.lr_at_iteration)
    per = (n + cfg.batch_size - 1) // cfg.batch_size
    return _Schedule(cfg.epochs, lambda b: range(b * per, (b + 1) * per), lambda t: cfg.lr_at(t // per))


def _progress_bar(cfg: TrainConfig, sched: _Schedule, start: int) -> Any:
    """A tqdm bar over all steps (``None`` without tqdm), disabled unless ``cfg.progress`` and a terminal."""
    total = sum(len(sched.steps_of(b)) for b in range(sched.n_blocks))
    show = cfg.progress and sys.stderr.isatty()
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None
    done = sum(len(sched.steps_of(b)) for b in range(start))
    return tqdm(total=total, initial=done, disable=not show, desc=f"{cfg.model}/{cfg.task}") if tqdm else None


def _run_block(cfg: TrainConfig, model: nn.Module, opt: torch.optim.Optimizer, ds: Dataset, batches: _Batches,
               sched: _Schedule, block_i: int, bar: Any) -> tuple[dict, bool]:
    """Train one block, evaluate on train and test; return its history record and whether a loss was not finite."""
    n = len(ds.X_train)
    nonfinite = False
    t0 = time.perf_counter()
    model.train()
    steps = sched.steps_of(block_i)
    for t in steps:
        _set_lr(opt, sched.lr_of(t))
        if cfg.iterations:
            idx = batches(t)
        else:  # epoch mode: one seeded permutation per epoch, a short last batch (as before)
            e, b = divmod(t, (n + cfg.batch_size - 1) // cfg.batch_size)
            perm = batches._perm(e) if cfg.order == "shuffle" else torch.arange(n)
            idx = perm[b * cfg.batch_size : (b + 1) * cfg.batch_size]
        xb, yb = ds.X_train[idx], ds.y_train[idx].to(model.device)
        loss = nn.functional.cross_entropy(model(xb), yb)
        if hasattr(model, "auxiliary_loss"):  # e.g. the learned-basis equivariance term
            loss = loss + model.auxiliary_loss(xb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if not torch.isfinite(loss):
            nonfinite = True
        opt.step()
        if bar is not None:
            bar.update(1)
            bar.set_postfix(block=block_i + 1, loss=f"{loss.item():.4f}")
    tr_loss, tr_acc = evaluate(model, ds.X_train, ds.y_train)
    te_loss, te_acc = evaluate(model, ds.X_test, ds.y_test)
    rec = {"epoch": block_i, "lr": sched.lr_of(steps[-1]), "train_loss": tr_loss, "train_acc": tr_acc,
           "test_loss": te_loss, "test_acc": te_acc, "seconds": time.perf_counter() - t0}
    if cfg.iterations:
        rec["iteration"] = steps[-1] + 1
    return rec, nonfinite


def _save_block(cfg: TrainConfig, model: nn.Module, opt: torch.optim.Optimizer, ds: Dataset, history: list[dict],
                out: Path, ckpt: Path, data_id: Any) -> None:
    """Write ``checkpoint.pt`` and ``metrics.json`` atomically after a finished block."""
    _atomic_save({"config": cfg.identity(), "model": model.state_dict(), "optim": opt.state_dict(),
                  "history": history, "model_spec": model_spec(ds), "data_fingerprint": data_id,
                  "full_config": cfg.to_dict()}, ckpt)
    _write_json({"config": cfg.to_dict(), "history": history, "n_params": model.n_params,
                 "model_spec": model_spec(ds)}, out / "metrics.json")


def train(config: TrainConfig | dict, resume: bool = True, stop_after: int | None = None, data: Any = None) -> TrainResult:
    """Train the model of ``config`` and return a :class:`TrainResult`.

    Parameters
    ----------
    config : TrainConfig or dict
        The run (a dict goes through :meth:`TrainConfig.from_dict`).
    resume : bool
        Continue from ``config.out_dir/checkpoint.pt`` when it exists and matches the config (and data).
    stop_after : int, optional
        Stop after this many epochs (evaluation blocks) have been *run in this call* (simulates an interruption).
    data : optional
        Your own data instead of the task's: a :class:`Dataset`, arrays ``(X_train, y_train, X_test, y_test)``,
        a mapping / ``.npz`` path with those keys, or ``(train, test)`` torch Datasets (validated; see
        :mod:`tensorexpr.experiments.userdata`).

    Returns
    -------
    TrainResult
        The history (all blocks, resumed ones included), the trained model and the files written.

    Raises
    ------
    ConfigError
        When ``config`` is invalid, or a checkpoint in ``out_dir`` was written by another config or on other data.
    DataError
        When the data are missing (``task="user"``) or invalid.

    Examples
    --------
    >>> from tensorexpr.experiments import TrainConfig, train
    >>> r = train(TrainConfig(geometry="line:16", task="teacher", widths=4, epochs=1, n_train=64, n_test=32,
    ...                        progress=False, device="cpu"))
    >>> len(r.history), r.n_params
    (1, 64)
    """
    cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)
    torch.manual_seed(cfg.seed)
    ds = make_dataset(cfg, data)
    model = make_model(cfg, ds)
    _warn_if_dead(model, ds, cfg)
    opt = _optimizer(cfg, model)
    history: list[dict] = []
    out = Path(cfg.out_dir) if cfg.out_dir else None
    ckpt = out / "checkpoint.pt" if out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    data_id = ds.meta.get("fingerprint")
    if ckpt is not None and resume and ckpt.exists():
        history = _resume(cfg, model, opt, ckpt, data_id)
    start = len(history)
    sched = _schedule(cfg, len(ds.X_train))
    batches = _Batches(len(ds.X_train), cfg.batch_size, cfg.order, cfg.seed)
    bar = _progress_bar(cfg, sched, start)
    nonfinite = False
    ran = 0
    for block_i in range(start, sched.n_blocks):
        if stop_after is not None and ran >= stop_after:
            break
        rec, bad = _run_block(cfg, model, opt, ds, batches, sched, block_i, bar)
        nonfinite = nonfinite or bad
        history.append(rec)
        ran += 1
        if out is not None:
            _save_block(cfg, model, opt, ds, history, out, ckpt, data_id)
    if bar is not None:
        bar.close()
    files: dict[str, str] = {}
    if out is not None:
        files = {"checkpoint": str(ckpt), "metrics": str(out / "metrics.json")}
        if history:
            files["curves"] = str(plot_curves(history, out / "curves.png",
                                              f"{cfg.model} {cfg.geometry} {cfg.task} (seed {cfg.seed})"))
    return TrainResult(cfg, tuple(history), model.n_params, model, files, start, nonfinite)
