"""Seeded data sets for the training experiments: blobs (closedness / symmetry), digits, teacher-student.

* :func:`blobs` follows the "blob" tasks of Cohen & Shashua, ICLR 2017 (see docs/theory.md, "Experiments that
  fit a CPU"): random ellipses with a sine warp and a rotation, scaled into a random tile (centred
  horizontally, so that the mirror-symmetric drop masks are symmetric about the blob's axis), pixels dropped
  with ``p ~ U[0.1, 0.33]`` (half the time with a left-right mirror-symmetric drop mask), binarized at 0.1.
  Scores: closedness ``|I| / |closing(I)|`` and symmetry ``|I_reg & fliplr(I_reg)| / |I_reg|`` where
  ``I_reg`` is the image shifted so that the blob's bounding box is horizontally centred (our reading of
  "registered"). The lowest 40% of scores are class 0, the highest 40% class 1, the middle 20% dropped.
* :func:`digits` is scikit-learn's 8x8 digits (ships with the package, no download).
* :func:`teacher` labels random inputs with the argmax of a random deep :class:`~tensorexpr.models.ConvAC`
  on any geometry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from ..errors import TensorExprError
from ..modetree import ModeTree

__all__ = ["Dataset", "blobs", "blob_images", "closedness_score", "symmetry_score", "digits", "teacher", "TASKS", "DataError"]


from ..errors import DataError  # noqa: F401  (re-exported: defined in errors.py)


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train/test tensors. ``X`` is ``(n, H, W)`` (or ``(n, N)``) of symbols (long) or ``(n, C, H, W)`` floats."""

    name: str
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int
    M: int | None  # symbols for one_hot data; None for float data
    in_features: int = 1
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.X_train) != len(self.y_train) or len(self.X_test) != len(self.y_test):
            raise DataError("X and y lengths differ.")

    def __repr__(self) -> str:
        return (f"Dataset({self.name}, train={tuple(self.X_train.shape)}, test={tuple(self.X_test.shape)}, "
                f"classes={self.n_classes}, M={self.M})")


def _check_n(name: str, v: Any, lo: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise DataError(f"{name} must be an integer >= {lo}, got {v!r}.")
    return int(v)


# -- blobs -------------------------------------------------------------------------------------------------
def blob_images(n: int, size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(images, symmetric_mask)``: ``n`` binary ``size x size`` blob images (uint8) and the mask-type flags."""
    n, size = _check_n("n", n), _check_n("size", size, 4)
    rng = np.random.default_rng(seed)
    tile = rng.uniform(0.45, 1.0, n) * size  # side of the tile holding the blob
    cy = rng.uniform(tile / 2, size - tile / 2)
    cx = np.full(n, size / 2.0)  # centred horizontally: the symmetric drop masks share the image's mirror axis
    rng.uniform(tile / 2, size - tile / 2)  # (keeps the random stream of earlier versions aligned)
    a = rng.uniform(0.25, 0.5, n) * tile
    b = rng.uniform(0.12, 0.5, n) * tile
    theta = rng.uniform(0, np.pi, n)
    amp = rng.uniform(0.0, 0.25, n) * tile
    freq = rng.uniform(0.5, 3.0, n) * 2 * np.pi / tile
    phase = rng.uniform(0, 2 * np.pi, n)
    r, c = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5, indexing="ij")
    dy = r[None] - cy[:, None, None]
    dx = c[None] - cx[:, None, None]
    dx = dx + amp[:, None, None] * np.sin(freq[:, None, None] * dy + phase[:, None, None])  # sine warp
    ct, st = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    u, v = ct * dx + st * dy, -st * dx + ct * dy
    soft = np.clip(1.0 - (u / a[:, None, None]) ** 2 - (v / b[:, None, None]) ** 2, 0.0, 1.0)
    p = rng.uniform(0.1, 0.33, n)
    drop = rng.random((n, size, size)) < p[:, None, None]
    sym = rng.random(n) < 0.5
    half = drop[:, :, : size // 2]
    drop[sym] = np.concatenate([half[sym], half[sym][:, :, ::-1]], axis=2) if size % 2 == 0 else drop[sym]
    img = np.where(drop, 0.0, soft) > 0.1
    return img.astype(np.uint8), sym


def closedness_score(img: np.ndarray) -> float:
    """``|I| / |binary_closing(I)|`` (1 for a closed shape; smaller with holes and gaps)."""
    from scipy.ndimage import binary_closing

    closed = binary_closing(img.astype(bool), structure=np.ones((3, 3), bool), iterations=2, border_value=0)
    closed |= img.astype(bool)
    return float(img.sum() / max(closed.sum(), 1))


def symmetry_score(img: np.ndarray) -> float:
    """``|I_reg & fliplr(I_reg)| / |I_reg|`` with ``I_reg`` the image with its bounding box centred horizontally."""
    cols = np.flatnonzero(img.any(0))
    if cols.size == 0:
        return 0.0
    w = img.shape[1]
    shift = int(round((w - 1 - cols[-1] - cols[0]) / 2))
    reg = np.roll(img, shift, axis=1) if shift else img
    return float((reg & reg[:, ::-1]).sum() / max(reg.sum(), 1))


_SCORES: dict[str, Callable[[np.ndarray], float]] = {"closedness": closedness_score, "symmetry": symmetry_score}


def blobs(task: str, n_train: int = 2000, n_test: int = 500, size: int = 32, seed: int = 0) -> Dataset:
    """The closedness or symmetry blob task: binary images (symbols 0/1, ``M = 2``), two classes."""
    if task not in _SCORES:
        raise DataError(f"Unknown blob task {task!r}; expected one of {sorted(_SCORES)}.")
    n_train, n_test = _check_n("n_train", n_train), _check_n("n_test", n_test)
    total = n_train + n_test
    raw = int(np.ceil(total / 0.8)) + 4
    while True:
        img, _ = blob_images(raw, size, seed)
        img = img[img.reshape(raw, -1).sum(1) >= 4]  # drop near-empty images (common only on tiny grids)
        if 2 * int(0.4 * len(img)) >= total:
            break
        raw *= 2
    s = np.array([_SCORES[task](im) for im in img])
    order = np.argsort(s, kind="stable")
    k = int(0.4 * len(s))
    idx = np.concatenate([order[:k], order[-k:]])
    lab = np.concatenate([np.zeros(k, np.int64), np.ones(k, np.int64)])
    if len(idx) < total:
        raise DataError(f"Only {len(idx)} labelled blobs for {total} requested; internal sizing error.")
    perm = np.random.default_rng(seed + 1).permutation(len(idx))[:total]
    X = torch.as_tensor(img[idx[perm]].astype(np.int64))
    y = torch.as_tensor(lab[perm])
    return Dataset(f"blobs-{task}", X[:n_train], y[:n_train], X[n_train:], y[n_train:], 2, 2, 1,
                   {"size": size, "seed": seed, "threshold": [float(s[order[k - 1]]), float(s[order[-k]])]})


# -- digits ------------------------------------------------------------------------------------------------
def digits(n_test: int = 297, seed: int = 0, levels: int | None = 2) -> Dataset:
    """scikit-learn's 1797 digits (8x8, values 0..16), split with a seeded permutation.

    ``levels=k`` quantizes pixels into symbols ``0..k-1`` (for ``one_hot``, ``M = k``); ``levels=None``
    keeps floats in [0, 1] with one channel (for ``gaussian`` / ``linear``).
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    X = d.images.astype(np.float64) / 16.0
    n_test = _check_n("n_test", n_test)
    if n_test >= len(X):
        raise DataError(f"n_test={n_test} leaves no training data out of {len(X)} digits.")
    perm = np.random.default_rng(seed).permutation(len(X))
    X, y = X[perm], d.target[perm].astype(np.int64)
    if levels is None:
        Xt, M = torch.as_tensor(X[:, None], dtype=torch.float32), None
    else:
        levels = _check_n("levels", levels, 2)
        Xt, M = torch.as_tensor(np.minimum((X * levels).astype(np.int64), levels - 1)), levels
    yt = torch.as_tensor(y)
    n_train = len(X) - n_test
    return Dataset("digits", Xt[:n_train], yt[:n_train], Xt[n_train:], yt[n_train:], 10, M, 1, {"levels": levels})


# -- teacher-student ---------------------------------------------------------------------------------------
def teacher(tree: ModeTree, n_train: int = 2000, n_test: int = 500, M: int = 2, widths: Any = 4, n_classes: int = 2,
            seed: int = 0, scale: float = 3.0, shape: tuple[int, int] | None = None) -> Dataset:
    """Random symbol inputs labelled by a random deep ConvAC (offsets ``U(-scale, scale)``).

    The label is ``argmax_y (log h_y(x) - median_x log h_y)``: centring each output by its median over the
    sample keeps the classes balanced (a raw argmax is almost always one class).
    """
    from ..models import ConvAC

    n_train, n_test = _check_n("n_train", n_train), _check_n("n_test", n_test)
    net = ConvAC(tree, M, widths, outputs=n_classes, seed=seed + 7919, device="cpu")
    with torch.no_grad():
        for p in net.weights:
            p.mul_(scale)
    g = torch.Generator().manual_seed(seed)
    X = torch.randint(0, M, (n_train + n_test, tree.n_modes), generator=g)
    with torch.no_grad():
        out = net(X)
        y = (out - out.median(0).values).argmax(1)  # per-class median centring keeps the classes balanced
    if shape is not None:
        X = X.reshape(len(X), *shape)
    return Dataset(f"teacher({tree.name})", X[:n_train], y[:n_train], X[n_train:], y[n_train:], n_classes, M, 1,
                   {"class_balance": torch.bincount(y, minlength=n_classes).tolist()})


TASKS = ("closedness", "symmetry", "digits", "teacher")
