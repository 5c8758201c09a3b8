"""Tilings of an index set by a mode tree and the rank bounds of Theorem 7 (Cohen, Tamari & Shashua, ICLR 2018).

The tiling ``Theta(I; T)`` (Def. 6) is the set of maximal nodes of ``T`` contained in ``I``: their union is
``I`` and no node's parent lies inside ``I``. For the tree decomposition (eq. 3) with the product operator,
discretizers spanning ``R^r`` and ``emptyset != I != [N]``, Theorem 7 states

.. math::
    \\operatorname{rank} [A]_I \\le r^{\\min(|\\Theta(I;T)|,\\, |\\Theta(I^c;T)|)}

for all weights, and for all weights but a null set

.. math::
    \\operatorname{rank} [A]_I \\ge r^{\\#\\{(\\nu_1,\\nu_2) \\in \\Theta(I;T) \\times \\Theta(I^c;T):\\;
    \\nu_1, \\nu_2 \\text{ siblings in } T \\text{ of depth} > 1\\}}.

(docs/theory.md, "Mixed decompositions and interconnectivity", [checked].)
"""

from __future__ import annotations

from typing import Iterable

from tensorexpr.bounds.result import Bound
from tensorexpr.core.errors import GeometryError, PartitionError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.core.partitions import Partition

__all__ = ["tiling", "node_depths", "sibling_pairs", "tiling_bounds"]


def node_depths(tree: ModeTree) -> dict[frozenset, int]:
    """Distance of every node from the root (the root has depth 0, its children depth 1).

    Parameters
    ----------
    tree : ModeTree
        The mode tree.

    Returns
    -------
    dict of frozenset to int
    """
    depth = {tree.root: 0}
    for n in reversed(tree.nodes):  # parents before children
        for c in tree.children(n):
            depth[c] = depth[n] + 1
    return depth


def tiling(tree: ModeTree, I: Iterable[int]) -> tuple[frozenset, ...]:
    """``Theta(I; T)``: the maximal nodes of ``tree`` inside ``I`` (Def. 6), in the tree's node order.

    Parameters
    ----------
    tree : ModeTree
        The mode tree.
    I : iterable of int
        The index set.

    Returns
    -------
    tuple of frozenset

    Raises
    ------
    PartitionError
        When ``I`` holds a mode outside the tree.

    References
    ----------
    N. Cohen, R. Tamari and A. Shashua, "Boosting Dilated Convolutional Networks with Mixed Tensor
    Decompositions", ICLR 2018.
    """
    I = frozenset(int(i) for i in I)
    if not I <= tree.root:
        raise PartitionError(f"Index set {sorted(I - tree.root)[:10]} lies outside the tree's modes 0..{tree.n_modes - 1}.")
    par = tree.parent
    return tuple(n for n in tree.nodes if n <= I and (n == tree.root or not par[n] <= I))


def sibling_pairs(tree: ModeTree, P: Partition, min_depth: int = 2) -> tuple[tuple[frozenset, frozenset], ...]:
    """Pairs ``(nu1, nu2)`` in ``Theta(I;T) x Theta(J;T)`` that are siblings of depth ``>= min_depth``.

    Parameters
    ----------
    tree : ModeTree
        The mode tree.
    P : Partition
        The partition ``(I, J)``.
    min_depth : int, optional
        Smallest depth counted (Theorem 7 uses depth > 1).

    Returns
    -------
    tuple of (frozenset, frozenset)

    Raises
    ------
    PartitionError
        When ``P`` holds a mode outside the tree.
    """
    ti, tj = set(tiling(tree, P.I)), set(tiling(tree, P.J))
    depth = node_depths(tree)
    par = tree.parent
    return tuple((a, b) for a in tree.nodes if a in ti for b in tree.nodes
                 if b in tj and a != tree.root and b != tree.root and par[a] == par[b] and depth[a] >= min_depth)


def tiling_bounds(tree: ModeTree, P: Partition, r: int) -> tuple[Bound, Bound]:
    """Theorem 7's ``(lower, upper)`` bounds on ``rank [A]_{I,J}`` of the tree decomposition of size ``r``.

    The upper bound holds for every weight setting; the lower bound for all weights outside a null set (it
    bounds the generic rank). Both need the product operator and discretizers spanning ``R^r``; the
    theorem is stated for binary trees, and a tree with a wider node is refused.

    >>> lo, up = tiling_bounds(ModeTree.line(4), Partition([0, 2], 4), 2)
    >>> lo.value, up.value
    (4, 4)

    Parameters
    ----------
    tree : ModeTree
        A binary mode tree.
    P : Partition
        The partition ``(I, J)``, both sides non-empty.
    r : int
        The decomposition's size (channels at every node), ``r >= 1``.

    Returns
    -------
    lower : Bound
        ``r^{#sibling pairs}``, a bound on the generic rank.
    upper : Bound
        ``r^{min(|Theta(I)|, |Theta(J)|)}``, for every weight setting.

    Raises
    ------
    GeometryError
        When ``tree`` is not a :class:`ModeTree`, has a node of fan-in other than 2, or ``r`` is not a positive int.
    PartitionError
        When ``P`` is not a partition of the tree's modes, or one side is empty.

    References
    ----------
    N. Cohen, R. Tamari and A. Shashua, "Boosting Dilated Convolutional Networks with Mixed Tensor
    Decompositions", ICLR 2018.
    """
    if not isinstance(tree, ModeTree):
        raise GeometryError(f"tiling_bounds needs a ModeTree, got {type(tree).__name__}.")
    if not isinstance(P, Partition) or P.n_modes != tree.n_modes:
        raise PartitionError(f"tiling_bounds needs a Partition of the tree's {tree.n_modes} modes, got {P!r}.")
    if not P.I or not P.J:
        raise PartitionError(f"Theorem 7 needs emptyset != I != [N]; got {P!r}.")
    wide = [sorted(n) for n in tree.internal_nodes if len(tree.children(n)) != 2]
    if wide:
        raise GeometryError(f"Theorem 7 is stated for binary trees; node {wide[0]} has another fan-in.")
    if isinstance(r, bool) or not isinstance(r, int) or r < 1:
        raise GeometryError(f"r must be a positive integer, got {r!r}.")
    ti, tj = tiling(tree, P.I), tiling(tree, P.J)
    pairs = sibling_pairs(tree, P)
    assumptions = ("product", "discretizers span R^r", "binary tree")
    det = {"theta_I": [sorted(n) for n in ti], "theta_J": [sorted(n) for n in tj],
           "sibling_pairs": [(sorted(a), sorted(b)) for a, b in pairs], "r": r}
    up = Bound(r ** min(len(ti), len(tj)), "upper", "tiling (Theorem 7)", P.name, assumptions, det)
    lo = Bound(r ** len(pairs), "lower", "tiling (Theorem 7, generic)", P.name, assumptions, det)
    return lo, up
