"""Pooling geometries as pure functions that return nested tuples of modes.

Each function returns the root of a nested-tuple tree (ints are modes); :class:`ModeTree.from_nested`
turns it into the canonical value object. Conventions (docs/conventions.md): position ``(row, col)`` of an
``h x w`` grid is mode ``row * w + col``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from tensorexpr.core.errors import GeometryError

__all__ = ["line_nested", "grid_nested", "shallow_nested", "dilated_nested", "mirror_source", "GRID_GEOMETRIES"]


def _check_positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise GeometryError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def line_nested(n: int, window: int = 2) -> tuple:
    """Contiguous 1-D pooling: windows ``(0..w-1), (w..2w-1), ...`` at every level.

    Parameters
    ----------
    n : int
        Number of modes.
    window : int, optional
        Pooling window of every level (default 2).

    Returns
    -------
    tuple
        The root of a nested-tuple tree; ``(0,)`` for ``n = 1``.

    Raises
    ------
    GeometryError
        When ``n`` or ``window`` is not a positive integer, ``window < 2`` for ``n > 1``, or ``window`` does not
        divide the length of some level.

    Examples
    --------
    >>> line_nested(4)
    ((0, 1), (2, 3))
    >>> line_nested(9, 3)
    ((0, 1, 2), (3, 4, 5), (6, 7, 8))
    """
    n = _check_positive("n", n)
    window = _check_positive("window", window)
    if n == 1:
        return (0,)
    if window < 2:
        raise GeometryError(f"Pooling window must be >= 2 for a line of {n} modes, got {window}.")
    level: list[Any] = list(range(n))
    while len(level) > 1:
        if len(level) % window:
            raise GeometryError(
                f"Pooling window {window} does not divide the {len(level)} positions of a level of "
                f"line({n}); use n = {window}**k, or ModeTree.from_nested for uneven trees."
            )
        level = [tuple(level[i : i + window]) for i in range(0, len(level), window)]
    return level[0]


def mirror_source(h: int) -> np.ndarray:
    """Row permutation of mirror pooling: ``src(i) = i/2`` if ``i`` is even else ``h-1-i//2``.

    Applied before a 2-wide contiguous pooling, window ``(2k, 2k+1)`` pools row ``k`` with its mirror image
    ``h-1-k`` (the authors' QUAD2 permutation layer).

    Parameters
    ----------
    h : int
        Number of rows (or columns).

    Returns
    -------
    numpy.ndarray
        Integer array of length ``h``: new row ``i`` is old row ``src(i)``.

    References
    ----------
    Cohen & Shashua, "Inductive Bias of Deep Convolutional Networks through Pooling Geometry", ICLR 2017, Sec. 5.

    Examples
    --------
    >>> mirror_source(4).tolist()
    [0, 3, 1, 2]
    """
    i = np.arange(h)
    return np.where(i % 2 == 0, i // 2, h - 1 - i // 2)


def _pool_grid(pos: np.ndarray, kh: int, kw: int) -> np.ndarray:
    h, w = pos.shape
    out = np.empty((h // kh, w // kw), dtype=object)
    for r in range(h // kh):
        for c in range(w // kw):
            block = pos[r * kh : (r + 1) * kh, c * kw : (c + 1) * kw]
            out[r, c] = tuple(block.ravel().tolist())
    return out


def _square(pos: np.ndarray) -> np.ndarray:
    return pos


def _mirror(pos: np.ndarray) -> np.ndarray:
    h, w = pos.shape
    return pos[np.ix_(mirror_source(h), mirror_source(w))]


GRID_GEOMETRIES: dict[str, Callable[[np.ndarray], np.ndarray]] = {"square": _square, "mirror": _mirror}


def _level_windows(window: Any) -> list[tuple[int, int]]:
    """``k``, ``(kh, kw)`` or a list of per-level windows (each ``k`` or ``(kh, kw)``) -> list of pairs."""
    def pair(x: Any) -> tuple[int, int]:
        if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
            return (_check_positive("window", int(x)),) * 2  # type: ignore[return-value]
        if isinstance(x, tuple) and len(x) == 2 and all(isinstance(v, (int, np.integer)) for v in x):
            return (_check_positive("window height", int(x[0])), _check_positive("window width", int(x[1])))
        raise GeometryError(f"A 2-D window must be k or (kh, kw), got {x!r}.")

    if isinstance(window, list):
        if not window:
            raise GeometryError("The list of per-level windows is empty.")
        return [pair(x) for x in window]
    return [pair(window)]


def grid_nested(h: int, w: int, window: tuple[int, int] | int = (2, 2), geometry: str = "square") -> tuple:
    """2-D pooling over an ``h x w`` grid with ``kh x kw`` windows at every level.

    ``window`` may also be a *list* of per-level windows, bottom level first, the last one repeating
    (``[3, 2]`` pools a 6x6 grid by 3x3 then 2x2; ``[2, 2, 2, 3]`` a 24x24 grid).

    ``geometry="square"`` pools contiguous blocks (a quad tree for 2x2). ``geometry="mirror"`` permutes
    rows and columns with :func:`mirror_source` before every pooling layer, so each window holds a
    position and its horizontal, vertical and diagonal mirror images. When one side reaches 1 the window
    shrinks to 1 along it. Position ``(row, col)`` is mode ``row * w + col`` (docs/conventions.md).

    Parameters
    ----------
    h, w : int
        Grid height and width.
    window : int, (int, int) or list, optional
        The window of every level, or a list of per-level windows.
    geometry : {"square", "mirror"}, optional
        A key of :data:`GRID_GEOMETRIES`.

    Returns
    -------
    tuple
        The root of a nested-tuple tree (a bare mode for a 1x1 grid).

    Raises
    ------
    GeometryError
        On a non-positive side or window, an empty window list, an unknown geometry, mirror pooling with a
        window other than 2x2, a window of one position, or a window that does not divide a level.

    References
    ----------
    Cohen & Shashua, "Inductive Bias of Deep Convolutional Networks through Pooling Geometry", ICLR 2017.

    Examples
    --------
    >>> grid_nested(2, 4, (2, 2))
    ((0, 1, 4, 5), (2, 3, 6, 7))
    >>> grid_nested(6, 6, [3, 2])[0]
    (0, 1, 2, 6, 7, 8, 12, 13, 14)
    """
    h = _check_positive("h", h)
    w = _check_positive("w", w)
    levels = _level_windows(window)
    if geometry not in GRID_GEOMETRIES:
        raise GeometryError(f"Unknown grid geometry {geometry!r}; expected one of {sorted(GRID_GEOMETRIES)}.")
    for kh0, kw0 in levels:
        if geometry == "mirror" and (kh0, kw0) != (2, 2):
            raise GeometryError(f"Mirror pooling is defined for 2x2 windows, got {kh0}x{kw0}.")
        if h * w > 1 and kh0 * kw0 < 2:
            raise GeometryError(f"Pooling window {kh0}x{kw0} pools nothing; use a window with >= 2 positions.")
    pos = np.empty((h, w), dtype=object)
    for r in range(h):
        for c in range(w):
            pos[r, c] = r * w + c
    permute = GRID_GEOMETRIES[geometry]
    level = 0
    while pos.size > 1:
        ch, cw = pos.shape
        kh0, kw0 = levels[min(level, len(levels) - 1)]  # the last window repeats
        level += 1
        kh, kw = min(kh0, ch), min(kw0, cw)
        if ch % kh or cw % kw:
            raise GeometryError(
                f"Window {kh}x{kw} does not divide a {ch}x{cw} level of grid({h}, {w}); "
                f"use sides that are powers of the window."
            )
        pos = _pool_grid(permute(pos), kh, kw)
    return pos[0, 0]


def shallow_nested(n: int) -> tuple:
    """One global pooling node over all modes: the CP decomposition's tree.

    Parameters
    ----------
    n : int
        Number of modes.

    Returns
    -------
    tuple
        ``(0, 1, ..., n-1)``.

    Raises
    ------
    GeometryError
        When ``n`` is not a positive integer.

    Examples
    --------
    >>> shallow_nested(3)
    (0, 1, 2)
    """
    n = _check_positive("n", n)
    return tuple(range(n))


def dilated_nested(n: int, order: Any = "contiguous") -> tuple:
    """The mode tree of a 1-D dilated ConvNet with window 2 and dilations ``d_1, ..., d_L`` (``n = 2^L``).

    Layer ``l`` pools the level-``(l-1)`` node containing mode ``i`` with the one containing ``i + d_l``
    (for ``i`` whose bit ``d_l`` is 0), lower modes first. Hence a level-``l`` node is the set of modes that
    agree with one of its modes on every bit except ``d_1, ..., d_l``.

    Parameters
    ----------
    n : int
        Number of modes, a power of 2 (>= 2).
    order : str or sequence of int, optional
        ``"contiguous"`` (dilations ``1, 2, 4, ...``: ``line(n)``, neighbours pooled first), ``"reversed"``
        (dilations ``n/2, ..., 2, 1``: modes at distance ``n/2`` pooled first), ``"swapped"`` (the dilations
        of layers ``2k-1`` and ``2k`` exchanged, ``2, 1, 8, 4, ...``; the paper's ``Tbar``, whose even-level
        nodes are those of ``line(n)``), or an explicit permutation of ``(1, 2, 4, ..., n/2)``.

    Returns
    -------
    tuple
        The root of a nested-tuple tree.

    Raises
    ------
    GeometryError
        When ``n`` is not a power of 2 (>= 2), ``order`` is an unknown string, not a sequence of ints, or not a
        permutation of the dilations.

    References
    ----------
    Cohen, Tamari & Shashua, "Boosting Dilated Convolutional Networks with Mixed Tensor Decompositions",
    ICLR 2018.

    Examples
    --------
    >>> dilated_nested(4, "reversed")
    ((0, 2), (1, 3))
    """
    n = _check_positive("n", n)
    if n < 2 or n & (n - 1):
        raise GeometryError(f"A dilated tree needs n a power of 2 (>= 2), got n={n}.")
    L = n.bit_length() - 1
    base = [2**k for k in range(L)]
    if isinstance(order, str):
        if order == "contiguous":
            dil = base
        elif order == "reversed":
            dil = base[::-1]
        elif order == "swapped":  # the dilations of layers 2k-1 and 2k exchanged (ICLR 2018, Tbar)
            dil = [d for k in range(0, L - 1, 2) for d in (base[k + 1], base[k])] + base[L - L % 2:]
        else:
            raise GeometryError(f"Unknown dilation order {order!r}; expected 'contiguous', 'reversed', 'swapped' or a "
                                f"permutation of {base}.")
    else:
        try:
            dil = [int(d) for d in order]
        except (TypeError, ValueError):
            raise GeometryError(f"Dilation order must be a string or a sequence of ints, got {order!r}.") from None
        if sorted(dil) != base:
            raise GeometryError(f"Dilations {dil} must be a permutation of {base} for n={n}.")
    level: dict[int, Any] = {i: i for i in range(n)}  # representative mode (bits d_1..d_l cleared) -> subtree
    for d in dil:
        level = {i: (level[i], level[i + d]) for i in level if not i & d}
    (root,) = level.values()
    return root
