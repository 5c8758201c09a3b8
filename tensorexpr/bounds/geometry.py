"""Pooling-geometry upper bound, numeric and symbolic (Cohen & Shashua, ICLR 2017; docs/theory.md [derived]).

Over the mode tree, for a partition ``(I, J)``:

.. math::
    c(t) = 1 \\text{ if } t \\text{ is pure}, \\qquad
    c(t) = \\min\\Big(M^{\\min(|I_t|, |J_t|)},\\; r_{in}(t) \\prod_{c \\in \\mathrm{ch}(t)} c(c)\\Big)

and ``rank [A]_{I,J} <= c(root)`` for every weight setting (``M`` is replaced by ``min(M, T)`` when the
network has ``T`` templates). Each output channel is one column of the root weight, so the number of
outputs does not enter: the bound is for every output alike. ``r_in(t)`` is the width of ``t``'s children
(with per-level widths ``r_0..r_{L-1}``, the children of a level-``l`` node output ``r_{l-1}``).

The same recursion runs on sympy symbols (``M``, ``r_0..r_{L-1}``, or one symbol per node for per-node
widths) and gives a closed-form expression whose substitution equals the numeric bound.
:func:`closed_form` returns the published generic ranks where they apply (odd/even on a window-2 line;
coarse halves of square pooling).
"""

from __future__ import annotations

import numpy as np

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping


from tensorexpr.core.errors import NetworkError, NotApplicable
from tensorexpr.core.modetree import ModeTree
from tensorexpr.core.network import Network, node_id
from tensorexpr.build.convac import resolve_widths
from tensorexpr.core.partitions import Partition
from tensorexpr.core.validation import check_partition
from tensorexpr.bounds.analysis import Analysis, analysis_of
from tensorexpr.bounds.result import Bound, Side

__all__ = ["geometry_bound", "GeometryBound", "closed_form", "ClosedForm", "width_symbols"]


if TYPE_CHECKING:
    import sympy as sp


def __getattr__(name: str) -> Any:
    """``M_SYMBOL`` on first use: sympy loads only when a symbolic bound is asked for (import time)."""
    if name == "M_SYMBOL":
        return m_symbol()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def m_symbol() -> "sp.Symbol":
    """The sympy symbol ``M`` (positive integer) every symbolic bound uses for the number of templates.

    Returns
    -------
    sympy.Symbol
        Equal (and, through sympy's own symbol cache, identical) on every call.
    """
    import sympy as sp

    return sp.Symbol("M", positive=True, integer=True)


def width_symbols(depth: int) -> tuple["sp.Symbol", ...]:
    """``r_0 .. r_{depth-1}`` as positive integer sympy symbols.

    Parameters
    ----------
    depth : int
        Number of levels.

    Returns
    -------
    tuple of sympy.Symbol
    """
    import sympy as sp

    return tuple(sp.Symbol(f"r_{l}", positive=True, integer=True) for l in range(depth))




@dataclass(frozen=True)
class GeometryBound(Bound):
    """Result of :func:`geometry_bound` (an upper :class:`Bound`, for every weight setting).

    Attributes
    ----------
    value : int or None
        The numeric bound (None when only symbols were given).
    expr : sympy.Expr or None
        The symbolic bound (``symbolic=True``).
    values : dict
        Symbol -> number substitution that turns ``expr`` into ``value`` (when known).
    per_node : dict
        ``{node id: c(t)}`` for the mixed nodes (numeric only).
    """

    value: int | None  # type: ignore[assignment]
    side: Side = "upper"
    method: str = "geometry"
    expr: Any = None
    values: Mapping[Any, int] = field(default_factory=dict)
    per_node: Mapping[str, int] = field(default_factory=dict, compare=False)
    network: str = ""

    def __post_init__(self) -> None:
        if self.value is not None:
            super().__post_init__()
        else:
            object.__setattr__(self, "assumptions", tuple(self.assumptions))

    def __index__(self) -> int:
        return self.__int__()

    def __int__(self) -> int:
        if self.value is None:
            raise NetworkError("This GeometryBound is symbolic only; call .subs({...}) with numbers.")
        return self.value

    def subs(self, values: Mapping[Any, Any]) -> Any:
        """Substitute numbers (keys: symbols or their names) into the symbolic bound.

        Parameters
        ----------
        values : mapping
            Symbol (or symbol name, e.g. ``"M"``, ``"r_0"``) -> number.

        Returns
        -------
        sympy.Expr
            The expression after substitution (a number when every symbol is given).

        Raises
        ------
        NetworkError
            When the bound was computed with ``symbolic=False``.
        """
        if self.expr is None:
            raise NetworkError("geometry_bound(..., symbolic=False) has no expression; pass symbolic=True.")
        syms = {s.name: s for s in self.expr.free_symbols}
        sub = {syms.get(k, k) if isinstance(k, str) else k: v for k, v in values.items()}
        return self.expr.subs(sub)

    def to_dict(self) -> dict[str, Any]:
        """The :class:`Bound` fields plus the expression (as text), its values and the network, for ``--json``.

        Returns
        -------
        dict
            JSON-ready; counts of ``2^53`` or more are encoded (:func:`~tensorexpr.core.numbers.encode_counts`).
        """
        from tensorexpr.core.numbers import encode_counts

        return encode_counts({
            **super().to_dict(),
            "expr": None if self.expr is None else str(self.expr),
            "values": {str(k): v for k, v in self.values.items()},
            "network": self.network,
        })

    def __repr__(self) -> str:
        parts = [f"value={self.value}"] if self.value is not None else []
        if self.expr is not None:
            e = str(self.expr)
            parts.append(f"expr={e if len(e) < 120 else e[:117] + '...'}")
        return f"GeometryBound({', '.join(parts)}, partition={self.partition})"


def _tree_and_widths(obj: Any, widths: Any, M: Any, analysis: Analysis | None
                     ) -> tuple[ModeTree, dict[frozenset, int] | None, int | None, str]:
    if isinstance(obj, Network):
        net = obj
        analysis = analysis_of(net, analysis)
        if not net.op.multilinear:
            raise NotApplicable(
                f"geometry_bound needs a product (ConvAC) network; {net.name} uses {net.op.name!r}, for which the "
                f"recursion does not bound the rank. Hint: use the op='product' twin."
            )
        if not analysis.tree_matches:
            raise NotApplicable(
                f"geometry_bound is defined on a mode tree that the graph follows node for node; {net.name} is a "
                f"DAG, has sum or linear nodes (overlapping / mixed), or has no net.tree. Hint: te.mincut_bound "
                f"handles product DAGs."
            )
        tree = net.tree

        def tree_widths() -> dict[frozenset, int]:
            # map through the receptive fields: formatting node ids of mirror trees costs O(N log N) string
            # work at 256x256
            by_modes = {net.modes[nd.id]: net.widths[nd.id] for nd in net.live_nodes}
            return {n: by_modes[n] for n in tree.nodes}

        w = analysis.derived(("geometry.widths",), tree_widths)
        base = min(net.M, net.n_templates)
        return tree, w, base, net.name
    if not isinstance(obj, ModeTree):
        raise NetworkError(f"geometry_bound needs a ModeTree or a Network, got {type(obj).__name__}.")
    w = None if widths is None else resolve_widths(obj, widths, 1)
    if M is not None and (isinstance(M, bool) or not isinstance(M, (int, np.integer)) or M < 1):
        raise NetworkError(f"M must be a positive integer, got {M!r}.")
    return obj, w, None if M is None else int(M), obj.name


def geometry_bound(
    tree_or_net: ModeTree | Network,
    P: Partition,
    symbolic: bool = False,
    M: int | None = None,
    widths: Any = None,
    analysis: Analysis | None = None,
) -> GeometryBound:
    """Pooling-geometry upper bound ``c(root)`` on ``rank [A]_{I,J}`` (ICLR 2017; docs/theory.md [derived]).

    Parameters
    ----------
    tree_or_net : ModeTree or Network
        A tree network (product operator) or a mode tree with ``M`` and ``widths``.
    P : Partition
    symbolic : bool
        Also return a sympy expression in ``M`` and ``r_0..r_{L-1}`` (one symbol per node, ``r_<node id>``,
        when the widths are per node, i.e. given as a dict).
    M, widths :
        For a tree: the representation size and widths (see :func:`tensorexpr.core.network.resolve_widths`).
        Either may be None when ``symbolic=True``; the value is then None.
    analysis : Analysis, optional
        For a network: its analysis plan (:func:`~tensorexpr.analyze`), reused across partitions.

    Returns
    -------
    GeometryBound
        ``value`` (None when symbolic without numbers), ``expr`` when symbolic, per-node values.

    Raises
    ------
    NotApplicable
        A non-product network, or one whose graph does not follow its mode tree.
    NetworkError
        A bad ``M`` or ``widths``, or neither a tree nor a network.

    References
    ----------
    Cohen & Shashua, "Inductive Bias of Deep Convolutional Networks through Pooling Geometry", ICLR 2017.

    Examples
    --------
    >>> import tensorexpr as te
    >>> t = te.ModeTree.line(8)
    >>> te.geometry_bound(t, te.Partition.left_right(8), M=3, widths=2).value
    2
    >>> te.geometry_bound(t, te.Partition.left_right(8), symbolic=True).expr
    Min(M**4, r_2)
    """
    tree, w, base, name = _tree_and_widths(tree_or_net, widths, M, analysis)
    check_partition(P, tree.n_modes, "geometry_bound", "the tree")
    value = None
    per_node: dict[str, int] = {}
    if w is not None and base is not None:
        c: dict[frozenset, int] = {}
        for n in tree.nodes:
            if P.is_pure(n):
                c[n] = 1
                continue
            kids = tree.children(n)
            cap = base ** min(P.side(n))
            c[n] = min(cap, w[kids[0]] * math.prod(c[k] for k in kids))
            per_node[node_id(n)] = c[n]
        value = c[tree.root]
    expr, values = None, {}
    if symbolic:
        expr, values = _symbolic(tree, P, tree_or_net, widths, base, w)
    used = ("product", "tree", "mode-tree") if isinstance(tree_or_net, Network) else ("product", "tree")
    return GeometryBound(value, partition=P.name, assumptions=used, expr=expr, values=values, per_node=per_node,
                         network=name)


def _per_level(tree: ModeTree, w: Mapping[frozenset, int]) -> list[int] | None:
    """Widths as one per level, or None when two same-level parents have different-width children."""
    lv: dict[int, int] = {}
    for n in tree.internal_nodes:
        l, r = tree.levels[n], w[tree.children(n)[0]]
        if lv.setdefault(l, r) != r:
            return None
    return [lv.get(l, 1) for l in range(1, tree.depth + 1)]


def _symbolic(tree: ModeTree, P: Partition, obj: Any, widths: Any, base: int | None,
              w: Mapping[frozenset, int] | None) -> tuple[Any, dict[Any, int]]:
    import sympy as sp

    M_SYMBOL = m_symbol()
    per_node = isinstance(widths, Mapping) or (w is not None and _per_level(tree, w) is None)
    values: dict[Any, int] = {}
    if base is not None:
        values[M_SYMBOL] = base
    sym_of: dict[frozenset, Any] = {}
    if per_node:
        for n in tree.internal_nodes:
            s = sp.Symbol(f"r_{node_id(tree.children(n)[0])}", positive=True, integer=True)
            sym_of[n] = s
            if w is not None:
                values[s] = w[tree.children(n)[0]]
    else:
        rs = width_symbols(tree.depth)
        for n in tree.internal_nodes:
            sym_of[n] = rs[tree.levels[n] - 1]
        if w is not None:
            lv = _per_level(tree, w)
            values.update({rs[l]: lv[l] for l in range(tree.depth)})  # type: ignore[index]
    c: dict[frozenset, Any] = {}
    for n in tree.nodes:
        if P.is_pure(n):
            c[n] = sp.Integer(1)
            continue
        kids = tree.children(n)
        c[n] = sp.Min(M_SYMBOL ** min(P.side(n)), sym_of[n] * sp.Mul(*[c[k] for k in kids]))
    return c[tree.root], values


# -- published closed forms --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClosedForm:
    """A published (or directly derived) generic rank for a recognised (geometry, partition) pair."""

    expr: Any
    claim: str
    source: str
    tag: str
    kind: str = "exact"  # "exact": the generic rank; "upper": an upper bound on it

    def to_dict(self) -> dict[str, Any]:
        """The closed form for ``--json``.

        Returns
        -------
        dict
            ``expr`` (as text), ``claim``, ``source``, ``tag`` and ``kind``.
        """
        return {"expr": str(self.expr), "claim": self.claim, "source": self.source, "tag": self.tag,
                "kind": self.kind}


def tree_shape(tree: ModeTree) -> tuple[str, tuple[int, ...]] | None:
    """The standard geometry ``tree`` is, from its structure (never its name); see
    :attr:`tensorexpr.core.modetree.ModeTree.standard_shape`.

    Parameters
    ----------
    tree : ModeTree

    Returns
    -------
    tuple or None
        ``("line", (N,))``, ``("grid-square" | "grid-mirror", (h, w))``, or ``None``.
    """
    return tree.standard_shape


def closed_form(tree: ModeTree | Network, P: Partition) -> ClosedForm | None:
    """The closed-form generic rank of a recognised case, or None.

    ``tree`` is a :class:`ModeTree` or a tree :class:`Network` (its ``net.tree`` is used). The geometry is
    recognised from the tree's structure (:func:`tree_shape`), never from its name. Recognised
    (docs/theory.md):

    * window-2 line, odd/even partition: ``min(r_0, M)^{N/2}`` (COLT 2016, Thm. 1 lower bound [checked]; the
      equality is [derived]).
    * line or square grid, coarse half (left/right; top/bottom on grids) split by the root's children:
      ``min(r_{L-1}, M^{N/2})`` as an upper bound ([derived], ICLR 2017 worked case: "rank <= r_{L-1}");
      ``kind="upper"`` because lower widths can cut it further (the min-cut sees e.g. ``r_{L-2}^2``).

    Parameters
    ----------
    tree : ModeTree or Network
    P : Partition

    Returns
    -------
    ClosedForm or None
        The published closed form for a recognised geometry and partition (recognised from the tree's
        structure, never its name), else None.

    Raises
    ------
    PartitionError
        A partition of another size.
    """
    if isinstance(tree, Network):
        if tree.tree is None:
            raise NetworkError(
                f"closed_form needs a mode tree; {tree.name} has none (a DAG or mixed network). Hint: pass a "
                f"network built by te.convac / te.hierarchical, or its te.ModeTree."
            )
        tree = tree.tree
    if not isinstance(tree, ModeTree):
        raise NetworkError(f"closed_form needs a te.ModeTree or a tree te.Network, got {type(tree).__name__}.")
    check_partition(P, tree.n_modes, "closed_form", "the tree")
    import sympy as sp

    M_SYMBOL = m_symbol()
    N = tree.n_modes
    rs = width_symbols(max(tree.depth, 1))
    shape = tree_shape(tree)
    kind = None if shape is None else shape[0]
    if kind == "line" and P.I in (frozenset(range(0, N, 2)), frozenset(range(1, N, 2))):
        return ClosedForm(sp.Min(rs[0], M_SYMBOL) ** (N // 2), "odd/even on a window-2 line",
                          "Cohen, Sharir & Shashua, COLT 2016, Thm. 1", "[derived]")
    if kind in ("line", "grid-square") and all(
        P.is_pure(k) for k in tree.children(tree.root)
    ) and min(len(P.I), len(P.J)) == N // 2:
        return ClosedForm(sp.Min(rs[tree.depth - 1], M_SYMBOL ** (N // 2)), "coarse half, root children pure",
                          "Cohen & Shashua, ICLR 2017 (square pooling, coarse partition)", "[derived]", "upper")
    return None
