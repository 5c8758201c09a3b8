"""The blob data of Cohen & Shashua (ICLR 2017), generated on the authors' recipe, draw for draw.

Each image is drawn from one seeded ``numpy.random.RandomState`` (seed 0 in the paper), with the calls
made in the recipe's order (``docs/theory.md``, "Experiments that fit a CPU"):

1. ellipse: half-width ``a = 16``, half-height ``b = int(2^U(3.5, 5) / 2)``, pixels
   ``((X - 15.5)/a)^2 + ((Y - 15.5)/b)^2 < 1`` (``X`` the column, ``Y`` the row);
2. sine warp: ``amp = U(0, 4)``, ``freq = U(0, 3 * 2 pi / 32)``; column ``i`` rolled down by
   ``int(amp sin(freq i))`` (truncation toward zero);
3. rotation by ``U(0, 180)`` degrees (``scipy.ndimage.rotate``, ``reshape=False``, cubic spline);
4. region of side ``2^s``, ``s = randint(4, 6)``, tile-aligned at row ``2^s randint(0, 2^(5-s))`` and
   column likewise; the image is zoomed by ``2^(s-5)`` into the region, the rest zeroed;
5. pixel drop ``p = U(0.1, 0.33)``; ``binomial(1, 1/2)`` picks a left-right symmetric mask (a
   ``2^s x 2^(s-1)`` Bernoulli(p) mask and its mirror) or a full ``2^s x 2^s`` one over the region;
6. binarize at ``> 0.1``; an empty image is discarded and everything is drawn again.

Scores: closedness ``|I| / |closing(pad(I, 1))|`` (scipy's cross structuring element, one iteration, the
pad cropped off) and symmetry ``|R & fliplr(R)| / |R|`` with ``R`` the region. 25,000 training and
5,000 test images are generated in that order from the one stream; within each set the lowest 40% of
a score are class 0 and the highest 40% class 1 (a stable sort, ties by generation order), which leaves
20,000 / 4,000 labelled images per task, kept in generation order (the authors' index files, which
their Caffe data layers read unshuffled).

Generation takes about a minute; the result is cached under the user cache directory
(``$TENSOREXPR_CACHE``, else ``$XDG_CACHE_HOME/tensorexpr``, else ``~/.cache/tensorexpr``), keyed by
:data:`RECIPE_VERSION`, the seed, the set sizes and the scipy version (its spline interpolation decides
pixels near the 0.1 threshold). Nothing is downloaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "RECIPE_VERSION",
    "AUTHOR_SIZES",
    "BlobSet",
    "render_blob",
    "generate_blobs",
    "closedness_scores",
    "symmetry_scores",
    "extreme_labels",
    "authors_blobs",
    "cache_dir",
]

#: Bump when anything that changes the generated pixels or scores changes (invalidates caches).
RECIPE_VERSION = "iclr2017-v1"
#: Generated (train, test) set sizes of the paper.
AUTHOR_SIZES = (25_000, 5_000)
#: Fraction of each set labelled at each extreme of a score.
POS_NEG_PROPORTION = 0.4

_S2 = 5  # log2 of the image side
_S = 2**_S2
_ELLIPSE_MIN_HEIGHT2 = 3.5
_WARP_MAX_FREQ = 3 * (2 * np.pi / _S)
_WARP_MAX_AMP = 4
_REGION_MIN2 = 4
_DROP_MIN, _DROP_MAX = 0.1, 0.33

_ROWS = np.arange(_S)[:, None]
_X, _Y = np.meshgrid(range(_S), range(_S))


def _ellipse(b: int) -> np.ndarray:
    """The recipe's filled ellipse of half-height ``b`` (a few microseconds on the 32x32 canvas)."""
    c = _S / 2 - 0.5
    return (((_X - c) / (_S / 2)) ** 2 + ((_Y - c) / b) ** 2 < 1).astype(float)


def render_blob(rs: np.random.RandomState) -> tuple[np.ndarray, tuple[int, int, int], bool] | None:
    """One attempt of the recipe: ``(binary image, (row, col, side) of the region, symmetric mask)``.

    Consumes exactly the draws of one pass of the recipe from ``rs``; returns ``None`` for an empty image
    (the caller draws again, as the authors' loop does).

    Parameters
    ----------
    rs : numpy.random.RandomState
        The recipe's random stream (advanced in place).

    Returns
    -------
    tuple or None
        ``(image (32, 32) bool, (row, col, side), symmetric_mask)``, or ``None`` for an empty image.

    References
    ----------
    Cohen & Shashua, "Inductive Bias of Deep Convolutional Networks through Pooling Geometry", ICLR 2017
    (the blob tasks, checked against the authors' code HUJI-Deep/inductive-pooling; docs/theory.md).
    """
    from scipy import ndimage

    b = int((2 ** rs.uniform(_ELLIPSE_MIN_HEIGHT2, _S2)) / 2)
    amp = rs.uniform(0, _WARP_MAX_AMP)  # drawn before the frequency: left operand first
    shift = (amp * np.sin(rs.uniform(0, _WARP_MAX_FREQ) * np.arange(_S))).astype(int)
    img = _ellipse(b)[(_ROWS - shift[None, :]) % _S, np.arange(_S)[None, :]]  # roll column i down by shift[i]
    img = ndimage.rotate(img, rs.uniform(0, 180.0), reshape=False)
    s2 = rs.randint(_REGION_MIN2, _S2 + 1)
    side = 2**s2
    r0 = side * rs.randint(0, 2 ** (_S2 - s2))
    c0 = side * rs.randint(0, 2 ** (_S2 - s2))
    scaled = ndimage.zoom(img, 2.0 ** (s2 - _S2))
    out = np.zeros((_S, _S))
    out[r0 : r0 + side, c0 : c0 + side] = scaled
    p = rs.uniform(_DROP_MIN, _DROP_MAX)
    sym = bool(rs.binomial(n=1, p=0.5) > 0.5)
    if sym:
        half = rs.binomial(n=1, p=p, size=(side, side // 2))
        mask = np.concatenate((half, half[:, ::-1]), axis=1)
    else:
        mask = rs.binomial(n=1, p=p, size=(side, side))
    out[r0 : r0 + side, c0 : c0 + side] *= 1 - mask
    binary = out > 0.1
    if not binary.any():
        return None
    return binary, (int(r0), int(c0), int(side)), sym


@dataclass(frozen=True, eq=False)
class BlobSet:
    """Generated images in generation order with their regions, mask types and both scores.

    Parameters
    ----------
    images : numpy.ndarray
        ``(n, 32, 32)`` ``uint8``.
    regions : numpy.ndarray
        ``(n, 3)`` ``int64``: row, col, side.
    symmetric_mask : numpy.ndarray
        ``(n,)`` bool.
    closedness, symmetry : numpy.ndarray
        ``(n,)`` float64 scores.
    meta : dict, optional
    """

    images: np.ndarray  # (n, 32, 32) uint8
    regions: np.ndarray  # (n, 3) int64: row, col, side
    symmetric_mask: np.ndarray  # (n,) bool
    closedness: np.ndarray  # (n,) float64
    symmetry: np.ndarray  # (n,) float64
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.images)

    def score(self, task: str) -> np.ndarray:
        """The scores of ``task``.

        Parameters
        ----------
        task : {"closedness", "symmetry"}

        Returns
        -------
        numpy.ndarray

        Raises
        ------
        KeyError
            On another task.
        """
        return {"closedness": self.closedness, "symmetry": self.symmetry}[task]

    def __repr__(self) -> str:
        return f"BlobSet(n={len(self)}, symmetric_masks={int(self.symmetric_mask.sum())}, meta={self.meta})"


def closedness_scores(images: np.ndarray) -> np.ndarray:
    """``|I| / |binary_closing(pad(I, 1))|`` per image of a ``(n, H, W)`` stack, cropped back to ``H x W``.

    One batched closing with the cross structuring element extended by a unit axis (equal, slice by
    slice, to scipy's default 2-D element with one iteration).

    Parameters
    ----------
    images : numpy.ndarray
        ``(n, H, W)`` binary images.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` float64 (NaN for an empty image).

    References
    ----------
    Cohen & Shashua, "Inductive Bias of Deep Convolutional Networks through Pooling Geometry", ICLR 2017
    (the blob tasks, checked against the authors' code HUJI-Deep/inductive-pooling; docs/theory.md).
    """
    from scipy import ndimage

    I = np.asarray(images, dtype=bool)
    padded = np.pad(I, ((0, 0), (1, 1), (1, 1)), constant_values=False)
    cross = ndimage.generate_binary_structure(2, 1)[None]
    closed = ndimage.binary_closing(padded, structure=cross)[:, 1:-1, 1:-1]
    return I.sum((1, 2)).astype(float) / closed.sum((1, 2)).astype(float)


def symmetry_scores(images: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """``|R & fliplr(R)| / |R|`` per image, ``R`` the image's region ``(row, col, side)``.

    Parameters
    ----------
    images : numpy.ndarray
        ``(n, H, W)`` binary images.
    regions : numpy.ndarray
        ``(n, 3)``: row, col, side.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` float64 (NaN for an empty region).

    References
    ----------
    Cohen & Shashua, "Inductive Bias of Deep Convolutional Networks through Pooling Geometry", ICLR 2017
    (the blob tasks, checked against the authors' code HUJI-Deep/inductive-pooling; docs/theory.md).
    """
    out = np.empty(len(images))
    for k, (im, (r0, c0, side)) in enumerate(zip(np.asarray(images, dtype=bool), np.asarray(regions))):
        R = im[r0 : r0 + side, c0 : c0 + side]
        out[k] = float((R & R[:, ::-1]).sum()) / float(R.sum())
    return out


def extreme_labels(scores: np.ndarray, proportion: float = POS_NEG_PROPORTION) -> np.ndarray:
    """Labels ``0`` for the lowest and ``1`` for the highest ``int(n * proportion)`` scores, ``-1`` between.

    A stable sort, so ties keep generation order (as the authors' ``sorted``).

    Parameters
    ----------
    scores : numpy.ndarray
    proportion : float, optional
        Fraction labelled at each end (default 0.4).

    Returns
    -------
    numpy.ndarray
        ``int64`` labels in ``{-1, 0, 1}``.

    Examples
    --------
    >>> extreme_labels([0.3, 0.1, 0.9, 0.5, 0.7], 0.4).tolist()
    [0, 0, 1, -1, 1]
    """
    n = len(scores)
    k = int(n * proportion)
    order = np.argsort(np.asarray(scores), kind="stable")
    lab = np.full(n, -1, dtype=np.int64)
    lab[order[:k]] = 0
    lab[order[n - k :]] = 1
    return lab


def generate_blobs(n: int, rs: np.random.RandomState, progress: bool = False, desc: str = "blobs") -> BlobSet:
    """``n`` non-empty images from ``rs`` in generation order (empty attempts are redrawn).

    Parameters
    ----------
    n : int
    rs : numpy.random.RandomState
    progress : bool, optional
        A tqdm bar.
    desc : str, optional
        The bar's label.

    Returns
    -------
    BlobSet

    References
    ----------
    Cohen & Shashua, "Inductive Bias of Deep Convolutional Networks through Pooling Geometry", ICLR 2017
    (the blob tasks, checked against the authors' code HUJI-Deep/inductive-pooling; docs/theory.md).
    """
    from tqdm.auto import tqdm

    images = np.empty((n, _S, _S), dtype=np.uint8)
    regions = np.empty((n, 3), dtype=np.int64)
    sym = np.empty(n, dtype=bool)
    k = 0
    with tqdm(total=n, desc=desc, disable=not progress, unit="img") as bar:
        while k < n:
            got = render_blob(rs)
            if got is None:
                continue
            images[k], regions[k], sym[k] = got
            k += 1
            bar.update(1)
    return BlobSet(images, regions, sym, closedness_scores(images), symmetry_scores(images, regions))


def cache_dir() -> Path:
    """The user cache directory of tensorexpr (not created here).

    ``$TENSOREXPR_CACHE`` when set, else ``$XDG_CACHE_HOME/tensorexpr`` or ``~/.cache/tensorexpr``.

    Returns
    -------
    Path
    """
    if os.environ.get("TENSOREXPR_CACHE"):
        return Path(os.environ["TENSOREXPR_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tensorexpr"


def _cache_path(seed: int, sizes: tuple[int, int]) -> Path:
    import scipy

    return cache_dir() / "blobs" / f"{RECIPE_VERSION}-seed{seed}-{sizes[0]}-{sizes[1]}-scipy{scipy.__version__}.npz"


def _save(path: Path, sets: tuple[BlobSet, BlobSet]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {}
        for name, s in zip(("train", "test"), sets):
            arrays[f"{name}_bits"] = np.packbits(s.images.astype(bool), axis=-1)
            arrays[f"{name}_regions"] = s.regions
            arrays[f"{name}_sym"] = s.symmetric_mask
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.replace(tmp, path)
    except OSError:  # a read-only cache is only slower, never wrong
        pass


def _load(path: Path) -> tuple[BlobSet, BlobSet] | None:
    try:
        with np.load(path) as z:
            out = []
            for name in ("train", "test"):
                im = np.unpackbits(z[f"{name}_bits"], axis=-1, count=_S).astype(np.uint8)
                reg = z[f"{name}_regions"]
                out.append(BlobSet(im, reg, z[f"{name}_sym"], closedness_scores(im), symmetry_scores(im, reg)))
        return out[0], out[1]
    except (OSError, KeyError, ValueError):
        return None


def authors_blobs(seed: int = 0, sizes: tuple[int, int] = AUTHOR_SIZES, cache: bool = True,
                  progress: bool = True) -> tuple[BlobSet, BlobSet]:
    """The generated ``(train, test)`` sets of the recipe: one ``RandomState(seed)`` stream, train first.

    Scores are recomputed from the cached pixels (cheap), so a cache holds only images and regions. A cache that
    cannot be written or read is ignored.

    Parameters
    ----------
    seed : int, optional
    sizes : tuple of (int, int), optional
        Images generated for the train and test sets.
    cache : bool, optional
        Read and write the cache under :func:`cache_dir`.
    progress : bool, optional

    Returns
    -------
    tuple of (BlobSet, BlobSet)
        Each with ``meta`` naming the recipe, seed, cache path and set.

    References
    ----------
    Cohen & Shashua, "Inductive Bias of Deep Convolutional Networks through Pooling Geometry", ICLR 2017
    (the blob tasks, checked against the authors' code HUJI-Deep/inductive-pooling; docs/theory.md).
    """
    sizes = (int(sizes[0]), int(sizes[1]))
    path = _cache_path(seed, sizes)
    if cache and path.exists():
        got = _load(path)
        if got is not None:
            return _with_meta(got, seed, path)
    rs = np.random.RandomState(seed)
    train = generate_blobs(sizes[0], rs, progress, desc=f"blob train set (seed {seed})")
    test = generate_blobs(sizes[1], rs, progress, desc=f"blob test set (seed {seed})")
    if cache:
        _save(path, (train, test))
    return _with_meta((train, test), seed, path if cache else None)


def _with_meta(sets: tuple[BlobSet, BlobSet], seed: int, path: Path | None) -> tuple[BlobSet, BlobSet]:
    meta = {"recipe": RECIPE_VERSION, "seed": seed, "cache": str(path) if path else None}
    return tuple(BlobSet(s.images, s.regions, s.symmetric_mask, s.closedness, s.symmetry, dict(meta, set=name))
                 for s, name in zip(sets, ("train", "test")))  # type: ignore[return-value]

