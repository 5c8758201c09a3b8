"""Seeded data sets for the training experiments: blobs (closedness / symmetry), digits, teacher-student.

* :func:`blobs` is the "blob" data of Cohen & Shashua, ICLR 2017, on the authors' own recipe (the default,
  ``recipe="iclr2017"``, see :mod:`tensorexpr.experiments.blobs` and ``docs/theory.md``): with its default
  sizes it returns exactly the authors' 20,000 / 4,000 labelled images and labels, in generation order.
  ``recipe="centred"`` keeps this project's earlier generator (continuous tile sizes, blobs centred
  horizontally, a registration of our own for the symmetry score) as a named option only.
* :func:`digits` is scikit-learn's 8x8 digits (ships with the package, no download).
* :func:`teacher` labels random inputs with the argmax of a random deep :class:`~tensorexpr.models.ConvAC`
  on any geometry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from tensorexpr.core.modetree import ModeTree
from tensorexpr.experiments.blobs import AUTHOR_SIZES, RECIPE_VERSION, authors_blobs, closedness_scores, extreme_labels, symmetry_scores

__all__ = ["Dataset", "blobs", "BLOB_RECIPES", "blob_images", "closedness_score", "symmetry_score", "digits", "teacher", "TASKS", "DataError"]


from tensorexpr.core.errors import DataError  # noqa: F401  (re-exported: defined in errors.py)


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train/test tensors. ``X`` is ``(n, H, W)`` (or ``(n, N)``) of symbols (long) or ``(n, C, H, W)`` floats.

    Parameters
    ----------
    name : str
    X_train, y_train, X_test, y_test : torch.Tensor
        Inputs and integer labels.
    n_classes : int
    M : int or None
        Number of symbols of one-hot data; ``None`` for float data.
    in_features : int, optional
        Channels per position of float data.
    meta : dict, optional
        Provenance (recipe, seed, data fingerprint, ...).

    Raises
    ------
    DataError
        When ``X`` and ``y`` of a split have different lengths.
    """

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


def check_n(name: str, v: Any, lo: int = 1) -> int:
    """``v`` as an ``int``, refused unless it is an integer (not a bool) of at least ``lo``.

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    v : object
        The value to check.
    lo : int, default 1
        The least value allowed.

    Returns
    -------
    int
        ``int(v)``.

    Raises
    ------
    DataError
        ``v`` is not an integer ``>= lo``.
    """
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise DataError(f"{name} must be an integer >= {lo}, got {v!r}.")
    return int(v)


def _mirror_left(drop: np.ndarray, sym: np.ndarray) -> np.ndarray:
    """``drop`` (``(n, size, size)`` bool) with the left half of each ``sym`` mask mirrored onto its right half.

    An odd ``size`` keeps its middle column as drawn, so every flagged mask equals its left-right flip whatever the
    parity (the earlier code skipped odd sizes and left the flags false claims).
    """
    out = drop.copy()
    size = drop.shape[2]
    half = size // 2
    out[np.ix_(sym, np.arange(size), np.arange(size - half, size))] = drop[sym][:, :, :half][:, :, ::-1]
    return out


# -- blobs: the "centred" variant (the authors' recipe is in blobs.py) -------------------------------------------------------------------------------------------------
def blob_images(n: int, size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``centred`` variant: ``(images, symmetric_mask)``, ``n`` binary ``size x size`` images and mask flags.

    A sine-warped ellipse per image, centred horizontally, with random pixel drops; for half of the images
    the drop mask is mirror-symmetric (``drop == drop[:, ::-1]``, for odd and even ``size`` alike; an odd size
    keeps its middle column as drawn).

    Parameters
    ----------
    n : int
    size : int, optional
        Image side (>= 4).
    seed : int, optional

    Returns
    -------
    images : numpy.ndarray
        ``uint8``, shape ``(n, size, size)``, values 0/1.
    symmetric_mask : numpy.ndarray
        ``bool``, shape ``(n,)``.

    Raises
    ------
    DataError
        When ``n < 1`` or ``size < 4``.
    """
    n, size = check_n("n", n), check_n("size", size, 4)
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
    drop = _mirror_left(drop, sym)
    img = np.where(drop, 0.0, soft) > 0.1
    return img.astype(np.uint8), sym


def closedness_score(img: np.ndarray) -> float:
    """The authors' closedness ``|I| / |binary_closing(pad(I, 1))|`` (1 for a closed shape; less with gaps).

    Parameters
    ----------
    img : numpy.ndarray
        A binary image.

    Returns
    -------
    float

    References
    ----------
    Cohen & Shashua, "Inductive Bias of Deep Convolutional Networks through Pooling Geometry", ICLR 2017
    (the blob tasks; the authors' code HUJI-Deep/inductive-pooling).
    """
    return float(closedness_scores(np.asarray(img)[None])[0])


def symmetry_score(img: np.ndarray, region: tuple[int, int, int] | None = None) -> float:
    """The authors' symmetry ``|R & fliplr(R)| / |R|`` of the region ``(row, col, side)`` (default: the image).

    Parameters
    ----------
    img : numpy.ndarray
        A binary image.
    region : tuple of (int, int, int), optional
        ``(row, col, side)`` of a square region; default the whole (square) image.

    Returns
    -------
    float

    Raises
    ------
    DataError
        For a non-square image without a region, or an empty image.

    References
    ----------
    Cohen & Shashua, "Inductive Bias of Deep Convolutional Networks through Pooling Geometry", ICLR 2017
    (the blob tasks; the authors' code HUJI-Deep/inductive-pooling).
    """
    img = np.asarray(img)
    if region is None:
        region = (0, 0, img.shape[0]) if img.shape[0] == img.shape[1] else None
    if region is None:
        raise DataError(f"symmetry_score needs a square image or an explicit region, got shape {img.shape}.")
    if not img.any():
        raise DataError("symmetry_score of an empty region is undefined (the recipe redraws empty images).")
    return float(symmetry_scores(img[None], np.asarray([region]))[0])


def centred_closedness_score(img: np.ndarray) -> float:
    """``|I| / |binary_closing(I)|`` of the ``centred`` variant (3x3 square element, two iterations).

    Parameters
    ----------
    img : numpy.ndarray
        A binary image.

    Returns
    -------
    float
    """
    from scipy.ndimage import binary_closing

    closed = binary_closing(img.astype(bool), structure=np.ones((3, 3), bool), iterations=2, border_value=0)
    closed |= img.astype(bool)
    return float(img.sum() / max(closed.sum(), 1))


def centred_symmetry_score(img: np.ndarray) -> float:
    """``|I_reg & fliplr(I_reg)| / |I_reg|`` (``centred`` variant), ``I_reg`` with its bounding box centred.

    Parameters
    ----------
    img : numpy.ndarray
        A binary integer or boolean image.

    Returns
    -------
    float
        0 for an empty image.
    """
    cols = np.flatnonzero(img.any(0))
    if cols.size == 0:
        return 0.0
    w = img.shape[1]
    shift = int(round((w - 1 - cols[-1] - cols[0]) / 2))
    reg = np.roll(img, shift, axis=1) if shift else img
    return float((reg & reg[:, ::-1]).sum() / max(reg.sum(), 1))


_SCORES: dict[str, Callable[[np.ndarray], float]] = {"closedness": centred_closedness_score,
                                                     "symmetry": centred_symmetry_score}


def _centred_blobs(task: str, n_train: int, n_test: int, size: int, seed: int) -> Dataset:
    """The project's earlier blob variant (``recipe="centred"``), kept as a named option."""
    n_train, n_test = check_n("n_train", n_train), check_n("n_test", n_test)
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
    return Dataset(f"blobs-centred-{task}", X[:n_train], y[:n_train], X[n_train:], y[n_train:], 2, 2, 1,
                   {"recipe": "centred", "size": size, "seed": seed,
                    "threshold": [float(s[order[k - 1]]), float(s[order[-k]])]})


#: Blob generators by name: the authors' recipe (default) and the project's earlier variant.
BLOB_RECIPES = ("iclr2017", "centred")


def blobs(task: str, n_train: int | None = None, n_test: int | None = None, size: int = 32, seed: int = 0,
          recipe: str = "iclr2017", generated: tuple[int, int] = AUTHOR_SIZES, progress: bool = True,
          cache: bool = True) -> Dataset:
    """The closedness or symmetry blob task: binary images (symbols 0/1, ``M = 2``), two classes.

    Parameters
    ----------
    task : {"closedness", "symmetry"}
    n_train, n_test : int, optional
        ``recipe="iclr2017"``: how many labelled images to keep, the first ones in generation order (the
        authors' index-file order); default all (20,000 / 4,000). ``recipe="centred"``: set sizes
        (default 2000 / 500).
    size : int
        Image side; the authors' recipe is 32 only.
    seed : int
        ``RandomState`` seed of the recipe (0 is the paper's data).
    recipe : {"iclr2017", "centred"}
    generated : (int, int)
        Images generated for the train and test sets before labelling (the paper: 25,000 and 5,000).
    progress, cache : bool
        Progress bar while generating; keep the generated sets in the user cache directory.

    Returns
    -------
    Dataset
        ``n_classes = 2``, ``M = 2``.

    Raises
    ------
    DataError
        On an unknown task or recipe, ``size != 32`` with the authors' recipe, a negative or non-integer seed,
        malformed ``generated``, or more images asked for than were labelled.

    References
    ----------
    Cohen & Shashua, "Inductive Bias of Deep Convolutional Networks through Pooling Geometry", ICLR 2017
    (the blob tasks; the authors' code HUJI-Deep/inductive-pooling).

    Examples
    --------
    >>> d = blobs("symmetry")  # doctest: +SKIP
    >>> d.X_train.shape, d.X_test.shape  # doctest: +SKIP
    (torch.Size([20000, 32, 32]), torch.Size([4000, 32, 32]))
    """
    if task not in _SCORES:
        raise DataError(f"Unknown blob task {task!r}; expected one of {sorted(_SCORES)}.")
    if recipe not in BLOB_RECIPES:
        raise DataError(f"Unknown blob recipe {recipe!r}; expected one of {BLOB_RECIPES} "
                        f"('iclr2017' is the authors' data).")
    if recipe == "centred":
        return _centred_blobs(task, 2000 if n_train is None else n_train, 500 if n_test is None else n_test,
                              size, seed)
    if size != 32:
        raise DataError(f"The authors' blob recipe draws 32x32 images, got size={size}; use a 32x32 grid "
                        f"geometry, or recipe='centred' for other sizes.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"seed must be an integer >= 0 (a numpy RandomState seed), got {seed!r}.")
    gen = tuple(check_n("generated", g) for g in generated)
    if len(gen) != 2:
        raise DataError(f"generated must be (n_train, n_test) images to generate, got {generated!r}.")
    sets = authors_blobs(int(seed), gen, cache=cache, progress=progress)
    parts = []
    for name, st, want in zip(("train", "test"), sets, (n_train, n_test)):
        lab = extreme_labels(st.score(task))
        keep = np.flatnonzero(lab >= 0)
        if want is not None:
            want = check_n(f"n_{name}", want)
            if want > len(keep):
                raise DataError(f"n_{name}={want} exceeds the {len(keep)} labelled {name} images of "
                                f"{gen} generated; generate more with generated=(...) or ask for fewer.")
            keep = keep[:want]
        parts.append((torch.as_tensor(st.images[keep].astype(np.int64)), torch.as_tensor(lab[keep]), keep))
    (Xtr, ytr, ktr), (Xte, yte, kte) = parts
    return Dataset(f"blobs-{task}", Xtr, ytr, Xte, yte, 2, 2, 1,
                   {"recipe": RECIPE_VERSION, "seed": int(seed), "generated": list(gen),
                    "train_index": ktr, "test_index": kte, "cache": sets[0].meta.get("cache")})


# -- digits ------------------------------------------------------------------------------------------------
def digits(n_test: int = 297, seed: int = 0, levels: int | None = 2) -> Dataset:
    """scikit-learn's 1797 digits (8x8, values 0..16), split with a seeded permutation.

    ``levels=k`` quantizes pixels into symbols ``0..k-1`` (for ``one_hot``, ``M = k``); ``levels=None``
    keeps floats in [0, 1] with one channel (for ``gaussian`` / ``linear``).

    Parameters
    ----------
    n_test : int, optional
        Test images; the rest train.
    seed : int, optional
        Seed of the split.
    levels : int or None, optional
        Quantization levels (>= 2), or ``None`` for floats.

    Returns
    -------
    Dataset
        ``n_classes = 10``.

    Raises
    ------
    DataError
        When ``n_test`` is not a positive integer or leaves no training data, or ``levels < 2``.
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    X = d.images.astype(np.float64) / 16.0
    n_test = check_n("n_test", n_test)
    if n_test >= len(X):
        raise DataError(f"n_test={n_test} leaves no training data out of {len(X)} digits.")
    perm = np.random.default_rng(seed).permutation(len(X))
    X, y = X[perm], d.target[perm].astype(np.int64)
    if levels is None:
        Xt, M = torch.as_tensor(X[:, None], dtype=torch.float32), None
    else:
        levels = check_n("levels", levels, 2)
        Xt, M = torch.as_tensor(np.minimum((X * levels).astype(np.int64), levels - 1)), levels
    yt = torch.as_tensor(y)
    n_train = len(X) - n_test
    return Dataset("digits", Xt[:n_train], yt[:n_train], Xt[n_train:], yt[n_train:], 10, M, 1, {"levels": levels})


# -- teacher-student ---------------------------------------------------------------------------------------
def teacher(tree: ModeTree, n_train: int = 2000, n_test: int = 500, M: int = 2, widths: Any = 4, n_classes: int = 2,
            seed: int = 0, scale: float = 3.0, shape: tuple[int, int] | None = None) -> Dataset:
    """Random symbol inputs labelled by a random deep ConvAC (its weights multiplied by ``scale``).

    The label is ``argmax_y (log h_y(x) - median_x log h_y)``: centring each output by its median over the
    sample keeps the classes balanced (a raw argmax is almost always one class).

    Parameters
    ----------
    tree : ModeTree
        The teacher's mode tree.
    n_train, n_test : int, optional
    M : int, optional
        Symbols per position.
    widths : int or sequence, optional
        The teacher's widths.
    n_classes : int, optional
    seed : int, optional
        Seeds the inputs (and, offset by 7919, the teacher).
    scale : float, optional
    shape : tuple of (int, int), optional
        Reshape the inputs to ``(n, H, W)``.

    Returns
    -------
    Dataset
        ``meta["class_balance"]`` counts the labels.

    Raises
    ------
    DataError
        When ``n_train`` or ``n_test`` is not a positive integer.
    """
    from tensorexpr.models import ConvAC

    n_train, n_test = check_n("n_train", n_train), check_n("n_test", n_test)
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
