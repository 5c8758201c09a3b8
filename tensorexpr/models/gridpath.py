"""The fast path of the tree models on 2x2 pooling grids: fixed permutations and reshapes, no index pooling.

The general path (:mod:`tensorexpr.models.base`) gathers every node's children with an index tensor; its
backward is an ``index_put`` with accumulation, which dominates a training step and gets *slower* with
more threads. Most trained models are a ``2^k x 2^k`` grid pooled 2x2 at every level after a fixed
permutation of the positions -- the identity for square pooling, ``mirror_source`` on rows and columns for
mirror pooling (the authors' ``Permutation QUAD2`` Caffe layer, Cohen & Shashua, ICLR 2017). For those
trees each level is

.. math::
    x \\mapsto \\mathrm{view}_{(B, h/2, 2, w/2, 2, r)}(P x) \\xrightarrow{\\text{reduce over the two window axes}}
    (B, h/2, w/2, r),

where ``P`` is the level's permutation, applied as one gather whose backward is the gather of the inverse
permutation (no accumulation). :func:`grid_plan` recognizes such trees *from their structure* (never from
names): it rebuilds every level's nodes from the candidate permutations of
:data:`tensorexpr.core.pooling.GRID_GEOMETRIES` and compares them with the tree's nodes and children, so an
arbitrary tree keeps the general path and a recognized one computes the same function (summation order
aside) -- ``tests/test_fastpath.py`` checks outputs and gradients against the general path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from tensorexpr.core.pooling import GRID_GEOMETRIES
from tensorexpr.core.modetree import ModeTree
from tensorexpr.models.layers import Stage

__all__ = ["GridPlan", "grid_plan", "permute_positions", "window_sum", "window_max"]


@dataclass(frozen=True, eq=False)
class GridPlan:
    """A recognized ``side x side`` grid tree.

    ``geometries[k]`` names the permutation applied before pooling level ``k + 1``; ``perms[k]`` is it as a
    flat index (``None`` for the identity); ``rows[k]`` maps each position of level ``k`` (row-major) to its
    row in stage ``k`` (used to lay out unshared weights).

    Parameters
    ----------
    side : int
    geometries : tuple of str
        Keys of :data:`tensorexpr.core.pooling.GRID_GEOMETRIES`.
    perms : tuple of (numpy.ndarray or None)
    rows : tuple of numpy.ndarray
    """

    side: int
    geometries: tuple[str, ...]
    perms: tuple[np.ndarray | None, ...]
    rows: tuple[np.ndarray, ...]


def _try_level(cur: np.ndarray, nodes: set, kids: dict, geometry: str) -> np.ndarray | None:
    p = GRID_GEOMETRIES[geometry](cur)
    h, w = p.shape
    nxt = np.empty((h // 2, w // 2), dtype=object)
    for i in range(h // 2):
        for j in range(w // 2):
            win = [p[2 * i, 2 * j], p[2 * i, 2 * j + 1], p[2 * i + 1, 2 * j], p[2 * i + 1, 2 * j + 1]]
            u = frozenset().union(*win)
            if u not in nodes or set(kids.get(u, ())) != set(win) or len(kids[u]) != 4:
                return None
            nxt[i, j] = u
    return nxt


def grid_plan(tree: ModeTree, stages: list[Stage]) -> GridPlan | None:
    """The fast-path plan of ``tree`` compiled into ``stages``, or ``None`` when the tree is not such a grid.

    Parameters
    ----------
    tree : ModeTree
    stages : list of Stage
        From :func:`tensorexpr.models.layers.compile_tree`.

    Returns
    -------
    GridPlan or None
        ``None`` unless ``tree`` is a ``2^k x 2^k`` grid pooled 2x2 after a square or mirror permutation per level.
    """
    N = tree.n_modes
    side = int(round(np.sqrt(N)))
    if side * side != N or side < 2 or side & (side - 1):
        return None
    L = side.bit_length() - 1
    if len(stages) != L + 1:
        return None
    nodes = set(tree.nodes)
    kids = {n: tree.children(n) for n in tree.internal_nodes}
    cur = np.empty((side, side), dtype=object)
    for r in range(side):
        for c in range(side):
            cur[r, c] = frozenset({r * side + c})
    levels, geoms, perms = [cur], [], []
    for _ in range(L):
        for g in GRID_GEOMETRIES:
            if g == "mirror" and cur.shape[0] < 2:  # pragma: no cover - loop ends at 1x1
                continue
            nxt = _try_level(cur, nodes, kids, g)
            if nxt is not None:
                break
        else:
            return None
        h = cur.shape[0]
        flat = GRID_GEOMETRIES[g](np.arange(h * h).reshape(h, h)).ravel().astype(np.int64)
        geoms.append(g)
        perms.append(None if np.array_equal(flat, np.arange(h * h)) else flat)
        cur = nxt
        levels.append(cur)
    rows = []
    for st, lev in zip(stages, levels):
        where = {n: k for k, n in enumerate(st.nodes)}
        if set(where) != set(lev.ravel().tolist()):
            return None
        rows.append(np.array([where[n] for n in lev.ravel().tolist()], dtype=np.int64))
    return GridPlan(side, tuple(geoms), tuple(perms), tuple(rows))


class _Permute(torch.autograd.Function):
    """``x[:, perm]`` whose backward is ``grad[:, inverse]``: a gather both ways, no ``index_put``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, perm: torch.Tensor, inv: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(inv)
        return x.index_select(1, perm)

    @staticmethod
    def backward(ctx, g: torch.Tensor):  # type: ignore[override]
        (inv,) = ctx.saved_tensors
        return g.index_select(1, inv), None, None


def permute_positions(x: torch.Tensor, perm: torch.Tensor, inv: torch.Tensor) -> torch.Tensor:
    """Positions of ``x`` (``(B, n, r)``) reordered by the permutation ``perm`` (``inv`` its inverse).

    Parameters
    ----------
    x : torch.Tensor
    perm, inv : torch.Tensor
        A permutation of ``0..n-1`` and its inverse.

    Returns
    -------
    torch.Tensor
        ``x[:, perm]``; its backward is a gather by ``inv``.
    """
    return _Permute.apply(x, perm, inv)


class _WindowSum(torch.autograd.Function):
    """2x2 window sums of row-major ``(B, h*h, r)`` positions: two strided adds forward, one expand backward.

    (``sum`` over the window axes of a 6-D view, or ``avg_pool2d`` on the channels-last view, cost 2-6x
    more: the first reduces over non-contiguous axes, the second's backward zero-fills and scatters.)
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, h: int) -> torch.Tensor:  # type: ignore[override]
        B, _, r = x.shape
        t = x.contiguous().view(B, h // 2, 2, h // 2, 2 * r)
        u = (t[:, :, 0] + t[:, :, 1]).view(B, h // 2, h // 2, 2, r)  # row pairs, then column pairs
        return (u[..., 0, :] + u[..., 1, :]).reshape(B, (h // 2) ** 2, r)

    @staticmethod
    def backward(ctx, g: torch.Tensor):  # type: ignore[override]
        B, n, r = g.shape
        h2 = int(round(n**0.5))
        g = g.view(B, h2, 1, h2, 1, r).expand(B, h2, 2, h2, 2, r)
        return g.reshape(B, 4 * n, r), None


def window_sum(x: torch.Tensor, h: int) -> torch.Tensor:
    """``(B, h*h, r) -> (B, h*h/4, r)``: the sum over each 2x2 window of the row-major ``h x h`` grid.

    Parameters
    ----------
    x : torch.Tensor
    h : int
        Grid side (even).

    Returns
    -------
    torch.Tensor

    Examples
    --------
    >>> import torch
    >>> window_sum(torch.arange(16.0).view(1, 16, 1), 4).ravel().tolist()
    [10.0, 18.0, 42.0, 50.0]
    """
    return _WindowSum.apply(x, h)


def window_max(x: torch.Tensor, h: int) -> torch.Tensor:
    """``(B, h*h, r) -> (B, h*h/4, r)``: the max over each 2x2 window (``max_pool2d`` on the channels-last view).

    At ties the gradient goes to one maximum, as in ``MaxPool2d`` and Caffe (the general path splits it).

    Parameters
    ----------
    x : torch.Tensor
    h : int
        Grid side (even).

    Returns
    -------
    torch.Tensor

    Examples
    --------
    >>> import torch
    >>> window_max(torch.arange(16.0).view(1, 16, 1), 4).ravel().tolist()
    [5.0, 7.0, 13.0, 15.0]
    """
    B, _, r = x.shape
    y = torch.nn.functional.max_pool2d(x.contiguous().view(B, h, h, r).permute(0, 3, 1, 2), 2)
    return y.permute(0, 2, 3, 1).reshape(B, (h // 2) ** 2, r)
