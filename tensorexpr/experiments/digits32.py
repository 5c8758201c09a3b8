"""scikit-learn's digits at 32x32, optionally rotated: the shared data set of the rotation and small-data
experiments (docs/theory.md, "Structured CNNs").

The 8x8 images (values 0..16, shipped with scikit-learn, no download) are scaled to [0, 1], padded by one
pixel of background on each side (10x10, so that rotations do not clip the digit) and upsampled by
``32/10`` with linear interpolation. Rotations use ``scipy.ndimage.rotate`` (linear interpolation,
``reshape=False``, background 0); a rotation by a multiple of 90 degrees is exact (``np.rot90``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from tensorexpr.experiments.data import Dataset, DataError, check_n

__all__ = ["digits32", "digit_images32", "rotate_images", "ROTATIONS"]

#: The rotation modes of :func:`digits32`: none, a random multiple of 90 degrees, a random angle.
ROTATIONS = ("none", "90", "random")


def digit_images32(size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """All 1797 digits as float32 images ``(n, size, size)`` in [0, 1], and their labels.

    Each 8x8 digit is padded by one pixel and zoomed (linear interpolation) to ``size x size``.

    Parameters
    ----------
    size : int, optional
        Image side (>= 10).

    Returns
    -------
    images : numpy.ndarray
        ``float32``, shape ``(1797, size, size)``.
    labels : numpy.ndarray
        ``int64``.

    Raises
    ------
    DataError
        When ``size < 10``.
    """
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    size = check_n("size", size, 10)
    d = load_digits()
    X = np.pad(d.images.astype(np.float64) / 16.0, ((0, 0), (1, 1), (1, 1)))
    X = zoom(X, (1, size / 10, size / 10), order=1)
    return np.clip(X, 0.0, 1.0).astype(np.float32), d.target.astype(np.int64)


def rotate_images(X: np.ndarray, angles: Any) -> np.ndarray:
    """Rotate each image ``X[i]`` (``(n, H, W)``) counter-clockwise by ``angles[i]`` degrees.

    Multiples of 90 degrees are exact (``np.rot90``); other angles use linear interpolation with zero fill.

    Parameters
    ----------
    X : numpy.ndarray
        Shape ``(n, H, W)``.
    angles : float or array_like
        Broadcast to ``(n,)``.

    Returns
    -------
    numpy.ndarray
        Same shape and dtype, clipped to [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> rotate_images(np.array([[[1.0, 0.0], [0.0, 0.0]]]), 90).tolist()
    [[[0.0, 0.0], [1.0, 0.0]]]
    """
    from scipy.ndimage import rotate

    X = np.asarray(X)
    angles = np.broadcast_to(np.asarray(angles, dtype=np.float64), (len(X),))
    out = np.empty_like(X)
    for i, (img, a) in enumerate(zip(X, angles)):
        q = a / 90.0
        if float(q).is_integer():
            out[i] = np.rot90(img, int(q) % 4)  # exact, no interpolation
        else:
            out[i] = rotate(img, a, reshape=False, order=1, mode="constant", cval=0.0)
    return np.clip(out, 0.0, 1.0)


def digits32(n_test: int = 297, seed: int = 0, rotate_train: str = "none", rotate_test: str = "none",
             n_train: int | None = None, size: int = 32) -> Dataset:
    """Digits at ``size x size`` as float images ``(n, 1, size, size)``, split with a seeded permutation.

    Parameters
    ----------
    n_test : int
        Test images; the rest (or ``n_train`` of them) train.
    seed : int
        Seeds the split and the rotation angles.
    rotate_train, rotate_test : {"none", "90", "random"}
        Rotate each image by a random multiple of 90 degrees, or by an angle drawn uniformly from [0, 360).
    n_train : int, optional
        Keep only the first ``n_train`` training images (small-data experiments).
    size : int, optional
        Image side (>= 10).

    Returns
    -------
    Dataset
        ``n_classes = 10``, ``M = None`` (float data).

    Raises
    ------
    DataError
        On an unknown rotation mode, an ``n_test`` that leaves no training data, an ``n_train`` above what is
        left, or a bad size.

    Examples
    --------
    >>> d = digits32(n_test=100, n_train=50)
    >>> tuple(d.X_train.shape), tuple(d.X_test.shape), d.n_classes
    ((50, 1, 32, 32), (100, 1, 32, 32), 10)
    """
    for name, r in (("rotate_train", rotate_train), ("rotate_test", rotate_test)):
        if r not in ROTATIONS:
            raise DataError(f"{name}={r!r} is not a rotation mode; expected one of {ROTATIONS}.")
    X, y = digit_images32(size)
    n_test = check_n("n_test", n_test)
    if n_test >= len(X):
        raise DataError(f"n_test={n_test} leaves no training data out of {len(X)} digits.")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(X))
    X, y = X[perm], y[perm]
    Xtr, ytr, Xte, yte = X[n_test:], y[n_test:], X[:n_test], y[:n_test]
    if n_train is not None:
        n_train = check_n("n_train", n_train)
        if n_train > len(Xtr):
            raise DataError(f"n_train={n_train} exceeds the {len(Xtr)} digits left after the test split.")
        Xtr, ytr = Xtr[:n_train], ytr[:n_train]

    def rot(Z: np.ndarray, mode: str) -> np.ndarray:
        if mode == "none":
            return Z
        ang = 90.0 * rng.integers(0, 4, len(Z)) if mode == "90" else rng.uniform(0.0, 360.0, len(Z))
        return rotate_images(Z, ang)

    Xtr, Xte = rot(Xtr, rotate_train), rot(Xte, rotate_test)
    t = lambda a: torch.as_tensor(np.ascontiguousarray(a)[:, None], dtype=torch.float32)  # noqa: E731
    return Dataset(f"digits32[{rotate_train}/{rotate_test}]", t(Xtr), torch.as_tensor(ytr), t(Xte),
                   torch.as_tensor(yte), 10, None, 1,
                   {"size": size, "seed": seed, "rotate_train": rotate_train, "rotate_test": rotate_test})
