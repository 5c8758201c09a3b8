"""Hierarchical attribute convolutions: channel mixing is a convolution along attribute axes.

Jacobsen, Oyallon, Mallat & Smeulders, "Hierarchical Attribute CNNs", ICML 2017 workshop (docs/theory.md).
The channel index of level ``j`` is an attribute vector ``v = (v_{j-K+1}, ..., v_j)`` (the last ``K = keep``
attributes). Level ``j`` convolves its input along every input attribute axis with ``n_j`` kernels (the new
attribute ``v_j`` indexes them), then sums out the oldest attributes so that ``K`` remain:

.. math::
    x_j(v_{j-K+1}, \\dots, v_j) = \\sum_{v_{old}} \\sum_{v'} x_{j-1}(v') \\, k_{v_j}(v - v')

Along each axis the offset ``v - v'`` is taken **periodically** (``padding="periodic"``: circulant mixing) or
with **zero padding** (``padding="zero"``: Toeplitz, offsets ``-(s//2) .. s - 1 - s//2``), for kernels of
``support`` ``s`` (default: the whole axis). In weight terms ``vec(W_j) = B_j theta_j`` with a fixed
non-negative integer map ``B_j`` (:class:`~tensorexpr.build.tying.LevelMap`), ``theta_j`` of size
``n_j * prod_i s_i``. The first level (representation -> ``v_0``) and the root (-> outputs) are dense, free.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from tensorexpr.core.errors import GeometryError, NetworkError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.build.tying import LevelMap, draw_block, tied_tree_network

__all__ = ["PADDINGS", "AttributeLayer", "attribute_layer", "attribute_maps", "attribute_convac", "plain_param_count"]

PADDINGS = ("periodic", "zero")


@dataclass(frozen=True)
class AttributeLayer:
    """One attribute convolution: input attribute sizes, new attribute size, supports, kept attributes.

    Parameters
    ----------
    in_sizes : tuple of int
        Sizes of the input's attribute axes (the channel index is their C-order product).
    new : int
        Size of the attribute this layer creates.
    supports : tuple of int
        Kernel support along each input axis (at most the axis size).
    padding : {"periodic", "zero"}
    keep : int
        Attributes kept (the last ``keep`` of the input axes plus the new one); the others are summed out.
    """

    in_sizes: tuple[int, ...]
    new: int
    supports: tuple[int, ...]
    padding: str
    keep: int

    @property
    def out_sizes(self) -> tuple[int, ...]:
        """Sizes of the kept attribute axes: the last ``keep`` of ``in_sizes + (new,)``."""
        return (self.in_sizes + (self.new,))[-self.keep:]

    @property
    def n_dropped(self) -> int:
        """Number of attribute axes summed out by this layer."""
        return len(self.in_sizes) + 1 - len(self.out_sizes)


def _offset(v: int, v_in: int, n: int, s: int, padding: str) -> int | None:
    """Kernel index of the offset ``v - v_in`` along an axis of size ``n`` (None outside the support)."""
    if padding == "periodic":
        o = (v - v_in + s // 2) % n
    else:
        o = v - v_in + s // 2
    return o if 0 <= o < s else None


def attribute_layer(in_sizes: Sequence[int], new: int, support: int | None, padding: str, keep: int) -> tuple[AttributeLayer, LevelMap]:
    """The layer and its map ``vec(W) = B theta``: ``W[(v'), (v_kept)] = sum_{v_dropped} k_{v_new}(v - v')``.

    Parameters
    ----------
    in_sizes : sequence of int
        Input attribute sizes.
    new : int
        Size of the new attribute.
    support : int or None
        Kernel support along every axis (``None``: the whole axis).
    padding : {"periodic", "zero"}
        Offsets wrap around (periodic) or fall off the axis (zero).
    keep : int
        Attributes kept.

    Returns
    -------
    layer : AttributeLayer
    map : LevelMap
        ``kind="attribute"``; a non-negative integer (Toeplitz) map, entries above 1 where summed-out axes add.

    Raises
    ------
    NetworkError
        On an unknown ``padding``.

    References
    ----------
    Jacobsen, Oyallon, Mallat & Smeulders, "Hierarchical Attribute CNNs", ICML 2017 workshop
    (hierarchical attribute CNNs; docs/theory.md).
    """
    if padding not in PADDINGS:
        raise NetworkError(f"padding={padding!r} is unknown; expected one of {PADDINGS}.")
    sizes = tuple(int(n) for n in in_sizes)
    sup = tuple(n if support is None else min(int(support), n) for n in sizes)
    lay = AttributeLayer(sizes, int(new), sup, padding, int(keep))
    n_in = int(np.prod(sizes))
    out_sizes = lay.out_sizes
    n_out = int(np.prod(out_sizes))
    n_k = int(np.prod(sup)) if sup else 1
    basis = np.zeros((n_in * n_out, lay.new * n_k), dtype=np.int64)
    d = lay.n_dropped
    for vin in itertools.product(*[range(n) for n in sizes]):
        i = int(np.ravel_multi_index(vin, sizes)) if sizes else 0
        for vfull in itertools.product(*[range(n) for n in sizes]):
            offs = [_offset(v, w, n, s, padding) for v, w, n, s in zip(vfull, vin, sizes, sup)]
            if any(o is None for o in offs):
                continue
            k = int(np.ravel_multi_index(offs, sup)) if sup else 0
            for w in range(lay.new):
                out = (vfull + (w,))[d:]
                j = int(np.ravel_multi_index(out, out_sizes))
                basis[i * n_out + j, w * n_k + k] += 1
    return lay, LevelMap(n_in, n_out, basis, "attribute")


def _dense(rows: int, cols: int) -> LevelMap:
    return LevelMap(rows, cols, np.eye(rows * cols, dtype=np.int64), "free")


def attribute_maps(tree: ModeTree, M: int, widths: Any, outputs: int, support: int | None = None,
                   padding: str = "periodic", keep: int = 3) -> tuple[dict[int, LevelMap], list[AttributeLayer]]:
    """The map of every level: dense ``M -> n_0`` at the leaves, attribute convs, dense root ``-> outputs``.

    Parameters
    ----------
    tree : ModeTree
        A balanced tree.
    M : int
        Representation functions.
    widths : int or sequence of int
        Attribute size created per level (``tree.depth`` of them).
    outputs : int
    support : int, optional
        Kernel support (``None``: the whole axis).
    padding : {"periodic", "zero"}, optional
    keep : int, optional
        Attributes kept per level (default 3).

    Returns
    -------
    maps : dict of int to LevelMap
    layers : list of AttributeLayer
        The attribute convolutions of levels ``1..L-1``.

    Raises
    ------
    NetworkError
        On malformed ``widths``, ``keep`` or ``support``, or an unknown padding.
    GeometryError
        On an unbalanced tree (the same class :func:`tensorexpr.build.p4.p4_maps` raises: it is the geometry).

    References
    ----------
    Jacobsen, Oyallon, Mallat & Smeulders, "Hierarchical Attribute CNNs", ICML 2017 workshop
    (hierarchical attribute CNNs; docs/theory.md).
    """
    L = tree.depth
    if isinstance(widths, (int, np.integer)) and not isinstance(widths, bool):
        n = [int(widths)] * L
    elif isinstance(widths, Sequence) and not isinstance(widths, str):
        n = [int(w) for w in widths]
    else:
        raise NetworkError(f"widths (attribute sizes per level) must be an int or a list, got {widths!r}.")
    if len(n) != L or any(w < 1 for w in n):
        raise NetworkError(f"widths {n} must be {L} positive attribute sizes (one per level of {tree.name}).")
    if isinstance(keep, bool) or not isinstance(keep, (int, np.integer)) or keep < 1:
        raise NetworkError(f"keep must be an integer >= 1 (attributes kept per level; the seed keeps 3), got {keep!r}.")
    if support is not None and (isinstance(support, bool) or not isinstance(support, (int, np.integer)) or support < 1):
        raise NetworkError(f"support must be None (whole axis) or an integer >= 1, got {support!r}.")
    if any(tree.levels[c] != tree.levels[p] - 1 for p in tree.internal_nodes for c in tree.children(p)):
        raise GeometryError(f"attribute nets need a balanced tree (every child one level below its parent); {tree.name} is not.")
    maps = {0: _dense(M, n[0])}
    layers: list[AttributeLayer] = []
    sizes: tuple[int, ...] = (n[0],)
    for lv in range(1, L):
        lay, m = attribute_layer(sizes, n[lv], support, padding, keep)
        maps[lv] = m
        layers.append(lay)
        sizes = lay.out_sizes
    maps[L] = _dense(int(np.prod(sizes)), outputs)
    return maps, layers


def plain_param_count(maps: dict[int, LevelMap]) -> int:
    """Free parameters of the unconstrained net with the same widths (one dense matrix per level).

    Parameters
    ----------
    maps : dict of int to LevelMap

    Returns
    -------
    int
        ``sum(rows * cols)`` over the levels.
    """
    return int(sum(m.rows * m.cols for m in maps.values()))


def attribute_convac(tree: ModeTree, M: int, widths: Any, outputs: int = 1, support: int | None = None,
                     padding: str = "periodic", keep: int = 3, op: str = "product", seed: int | None = None,
                     integer: bool = False, F: Any = None, int_range: int = 1000):
    """A random attribute-convolution ConvAC (or generalized net) on ``tree``.

    ``widths[l]`` is the size ``n_l`` of the attribute created at level ``l``; level ``l`` outputs
    ``prod`` of the last ``keep`` attribute sizes channels. See the module docstring for the tying.

    Parameters
    ----------
    tree : ModeTree
        A balanced tree.
    M : int
        Representation functions.
    widths : int or sequence of int
        Attribute size per level.
    outputs : int, optional
    support : int, optional
        Kernel support (``None``: the whole axis).
    padding : {"periodic", "zero"}, optional
    keep : int, optional
        Attributes kept per level.
    op : str, optional
        Pooling operator.
    seed : int, optional
    integer : bool, optional
        Integer parameters in ``[-int_range, int_range]``, else standard normals.
    F : array_like, optional
        Template matrix; default the identity.
    int_range : int, optional

    Returns
    -------
    Network

    Raises
    ------
    NetworkError
        When ``tree`` is not a :class:`ModeTree`, ``M`` or ``outputs`` is not a positive integer, or from
        :func:`attribute_maps`.
    GeometryError
        From :func:`attribute_maps`, on an unbalanced tree.

    References
    ----------
    Jacobsen, Oyallon, Mallat & Smeulders, "Hierarchical Attribute CNNs", ICML 2017 workshop
    (hierarchical attribute CNNs; docs/theory.md).

    Examples
    --------
    >>> import tensorexpr as te
    >>> net = te.attribute_convac(te.ModeTree.line(8), M=2, widths=2, seed=0)
    >>> [net.widths[i] for i in ("x0", "t0-1", "t0-3")], net.n_params
    ([2, 4, 8], 24)
    """
    if not isinstance(tree, ModeTree):
        raise NetworkError(f"attribute_convac needs a ModeTree, got {type(tree).__name__}. Hint: te.ModeTree.line(8).")
    for name, v in (("M", M), ("outputs", outputs)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise NetworkError(f"{name} must be an integer >= 1, got {v!r}.")
    maps, _ = attribute_maps(tree, int(M), widths, int(outputs), support, padding, keep)
    rng = np.random.default_rng(seed)
    blocks = {lv: draw_block(rng, m.n_free, integer, int_range) for lv, m in maps.items()}
    return tied_tree_network(tree, int(M), maps, blocks, op, F, integer, name=f"attribute-convac({tree.name})",
                             meta={"family": "attribute", "widths": widths, "support": support, "padding": padding,
                                   "keep": keep, "seed": seed})
