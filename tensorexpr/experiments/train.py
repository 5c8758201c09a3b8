"""Training loop: seeded, resumable from per-epoch checkpoints, with JSON metrics and learning-curve plots.

``train(config)`` builds the data set and the model the config names, trains it with Adam (the authors'
schedule: lr x0.1 at 80% of the run) and returns a :class:`TrainResult`. With ``config.out_dir`` set, every
finished epoch is saved atomically (``checkpoint.pt``: model, optimizer and history; ``metrics.json``), and a
rerun with the same config resumes after the last finished epoch. Shuffling is seeded per epoch, so an
interrupted and resumed run gives the same metrics, bit for bit, as an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..specs import grid_shape, parse_geometry
from .config import ConfigError, TrainConfig
from .data import Dataset, blobs, digits, teacher

__all__ = ["train", "TrainResult", "make_dataset", "make_model", "evaluate", "plot_curves"]


def make_dataset(cfg: TrainConfig) -> Dataset:
    """The data set of ``cfg.task`` (seeded with ``cfg.seed``)."""
    tree = parse_geometry(cfg.geometry)
    hw = grid_shape(cfg.geometry)
    if cfg.task in ("closedness", "symmetry"):
        return blobs(cfg.task, cfg.n_train, cfg.n_test, size=hw[0], seed=cfg.seed)
    if cfg.task == "digits32":
        from .digits32 import digits32

        return digits32(n_test=cfg.n_test, seed=cfg.seed, rotate_train=cfg.rotate_train, rotate_test=cfg.rotate_test,
                        n_train=min(cfg.n_train, 1797 - cfg.n_test))
    if cfg.task == "digits":
        return digits(seed=cfg.seed, levels=2 if cfg.representation == "one_hot" else None)
    return teacher(tree, cfg.n_train, cfg.n_test, M=2, widths=cfg.teacher_widths, seed=cfg.seed, shape=hw)


def make_model(cfg: TrainConfig, data: Dataset) -> nn.Module:
    """The :class:`~tensorexpr.models.ConvAC` or :class:`~tensorexpr.models.ReLUNet` of ``cfg``."""
    from ..models import ConvAC, ReLUNet

    tree = parse_geometry(cfg.geometry)
    M = data.M if data.M is not None else 4
    if cfg.representation.startswith("scattering"):  # M is the coefficient count (checked by the layer)
        from ..models.scattering import ScatteringLinear, parse_scattering

        M = parse_scattering(cfg.representation).n_coefficients(data.in_features)
        if cfg.model == "scatlinear":
            return ScatteringLinear(tuple(data.X_train.shape[-2:]), data.n_classes, cfg.representation,
                                    data.in_features, seed=cfg.seed, device=cfg.device)
    common = dict(outputs=data.n_classes, representation=cfg.representation, shared=cfg.shared,
                  in_features=data.in_features, seed=cfg.seed, device=cfg.device)
    if cfg.model not in ("convac", "relu"):
        from ..models import structured_model

        return structured_model(cfg.model, tree, M, cfg.widths, kernel=cfg.kernel, pooling=cfg.pooling, **common)
    model = ConvAC(tree, M, cfg.widths, **common) if cfg.model == "convac" else \
        ReLUNet(tree, M, cfg.widths, pooling=cfg.pooling, **common)
    if hasattr(model.representation, "fit_scale"):  # scattering: per-coefficient RMS on the training images
        model.representation.fit_scale(data.X_train)
    return model


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch: int = 500) -> tuple[float, float]:
    """``(mean cross-entropy, accuracy)`` on ``(X, y)``."""
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
    """Per-epoch history, parameter count, output files, and the trained model."""

    config: TrainConfig
    history: tuple[dict, ...]
    n_params: int
    model: Any = field(repr=False, default=None)
    files: dict = field(default_factory=dict)
    resumed_from: int = 0
    nonfinite: bool = False

    @property
    def final(self) -> dict:
        return dict(self.history[-1]) if self.history else {}

    @property
    def test_acc(self) -> float:
        return float(self.final.get("test_acc", float("nan")))

    def metrics(self) -> list[dict]:
        """History without wall-clock fields (what reproducibility compares)."""
        return [{k: v for k, v in h.items() if k != "seconds"} for h in self.history]

    def to_dict(self) -> dict:
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
    tmp.write_text(json.dumps(obj, indent=2, default=str))
    os.replace(tmp, path)


def plot_curves(history: list[dict], path: str | Path, title: str = "") -> Path:
    """Learning curves (loss and accuracy, train and test, per epoch) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] + 1 for h in history]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4))
    a1.plot(ep, [h["train_loss"] for h in history], "o-", label="train")
    a1.plot(ep, [h["test_loss"] for h in history], "s-", label="test")
    a1.set_xlabel("epoch"), a1.set_ylabel("cross-entropy"), a1.legend()
    a2.plot(ep, [h["train_acc"] for h in history], "o-", label="train")
    a2.plot(ep, [h["test_acc"] for h in history], "s-", label="test")
    a2.set_xlabel("epoch"), a2.set_ylabel("accuracy"), a2.legend()
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def train(config: TrainConfig | dict, resume: bool = True, stop_after: int | None = None) -> TrainResult:
    """Train the model of ``config`` and return a :class:`TrainResult`.

    Parameters
    ----------
    config : TrainConfig or dict
    resume : bool
        Continue from ``config.out_dir/checkpoint.pt`` when it exists and matches the config.
    stop_after : int, optional
        Stop after this many epochs have been *run in this call* (simulates an interruption).

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
    data = make_dataset(cfg)
    model = make_model(cfg, data)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=cfg.betas)
    history: list[dict] = []
    out = Path(cfg.out_dir) if cfg.out_dir else None
    ckpt = out / "checkpoint.pt" if out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    if ckpt is not None and resume and ckpt.exists():
        state = torch.load(ckpt, map_location=model.device, weights_only=False)
        if state["config"] != cfg.identity():
            diff = sorted(k for k in cfg.identity() if state["config"].get(k) != cfg.identity()[k])
            raise ConfigError(f"Checkpoint {ckpt} was written by a different config (fields {diff} differ); "
                              f"use another out_dir or resume=False.")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optim"])
        history = list(state["history"])
    start = len(history)
    n = len(data.X_train)
    n_batches = (n + cfg.batch_size - 1) // cfg.batch_size
    show = cfg.progress and sys.stderr.isatty()
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None
    bar = tqdm(total=cfg.epochs * n_batches, initial=start * n_batches, disable=not show, desc=f"{cfg.model}/{cfg.task}") if tqdm else None
    nonfinite = False
    ran = 0
    for epoch in range(start, cfg.epochs):
        if stop_after is not None and ran >= stop_after:
            break
        t0 = time.perf_counter()
        for g in opt.param_groups:
            g["lr"] = cfg.lr_at(epoch)
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed * 100_003 + epoch))
        model.train()
        for b in range(n_batches):
            idx = perm[b * cfg.batch_size : (b + 1) * cfg.batch_size]
            xb, yb = data.X_train[idx], data.y_train[idx].to(model.device)
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
                bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.4f}")
        tr_loss, tr_acc = evaluate(model, data.X_train, data.y_train)
        te_loss, te_acc = evaluate(model, data.X_test, data.y_test)
        history.append({"epoch": epoch, "lr": cfg.lr_at(epoch), "train_loss": tr_loss, "train_acc": tr_acc,
                        "test_loss": te_loss, "test_acc": te_acc, "seconds": time.perf_counter() - t0})
        ran += 1
        if out is not None:
            _atomic_save({"config": cfg.identity(), "model": model.state_dict(), "optim": opt.state_dict(),
                          "history": history}, ckpt)
            _write_json({"config": cfg.to_dict(), "history": history, "n_params": model.n_params}, out / "metrics.json")
    if bar is not None:
        bar.close()
    files: dict[str, str] = {}
    if out is not None:
        files = {"checkpoint": str(ckpt), "metrics": str(out / "metrics.json")}
        if history:
            files["curves"] = str(plot_curves(history, out / "curves.png",
                                              f"{cfg.model} {cfg.geometry} {cfg.task} (seed {cfg.seed})"))
    return TrainResult(cfg, tuple(history), model.n_params, model, files, start, nonfinite)
