"""Symmetry upper bound for weight-tied (convolutional) product networks: tying makes the grid tensor
invariant under tree automorphisms, and invariant functions have few degrees of freedom.

A convolution applies *the same* weights at every position of a level (Cohen & Shashua, ICLR 2017: the blob
ConvAC shares its 1x1 weights over the whole image). The grid tensor is then symmetric under permuting
the children of a node whose child subtrees carry identical tied weights, and a matricization of a
symmetric tensor cannot have the rank of a generic one: a 2x2 window split 2|2 is a symmetric matrix on
``Sym^2(C^M)``, of rank at most ``M(M+1)/2`` rather than ``M^2``. :func:`symmetry_bound` turns this into an
exact-integer upper bound at any scale (N = 1024 and beyond) by counting orbits with the wreath-product
structure of the tree, never enumerating ``[T]^I``. See docs/design.md ("Bounds", "Parametrized weights")
and docs/theory.md ("Weight sharing").

Ties are read only from the parametrization (:meth:`tensorexpr.core.network.Network.tie_key`): nothing is inferred
from object identity, names or equal values.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Mapping

import numpy as np

from tensorexpr.core.errors import NetworkError, NotApplicable
from tensorexpr.core.network import Network
from tensorexpr.core.partitions import Partition
from tensorexpr.core.validation import check_partition
from tensorexpr.bounds.analysis import Analysis, analysis_of
from tensorexpr.bounds.result import Bound, BoundContext, BoundProvider

__all__ = ["symmetry_bound", "SymmetryBound", "tie_signatures", "multichoose", "template_rank"]


def __getattr__(name: str) -> Any:
    """``M_SYMBOL`` on first use (sympy loads only for symbolic bounds)."""
    if name == "M_SYMBOL":
        from tensorexpr.bounds.geometry import m_symbol

        return m_symbol()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def multichoose(n: Any, k: int) -> Any:
    """``C(n + k - 1, k)``: multisets of size ``k`` from ``n`` kinds, exactly (ints or sympy expressions).

    It is the number of orbits of ``H wr S_k`` on ``X^k`` when ``H`` has ``n`` orbits on ``X``.

    Parameters
    ----------
    n : int or sympy.Expr
        Number of kinds.
    k : int
        Multiset size, ``k >= 1``.

    Returns
    -------
    int or sympy.Expr
        ``C(n + k - 1, k)``; for a symbolic ``n``, ``n`` itself when ``k == 1``, else an unevaluated binomial.
    """
    if isinstance(n, (int, np.integer)):
        n = int(n)
        num = 1
        for i in range(k):
            num *= n + i
        return num // math.factorial(k)
    import sympy as sp

    return n if k == 1 else sp.binomial(n + k - 1, k)  # kept unevaluated: binomial(M + 1, 2) reads as Sym^2


def template_rank(net: Network) -> int:
    """``q``: an upper bound on ``rank F`` that is exact for integer (or object) ``F``.

    Every leaf output lies in the column space ``U`` of ``F`` (``dim U = rank F``), so the orbit counts run
    over ``[q]``. A float ``F`` gets ``min(T, M)``: a floating-point rank could undercount, which an upper
    bound must never do.

    Parameters
    ----------
    net : Network
        The network; its ``F`` has shape ``(T, M)``.

    Returns
    -------
    int
        ``rank F`` over Q for an integer or object ``F``, else ``min(T, M)``.
    """
    F = np.asarray(net.F)
    T, M = F.shape
    if F.dtype.kind in "iuO":  # exact over Q: Fractions are scaled, never truncated
        from tensorexpr.core.rational import rank_over_Q

        return rank_over_Q(F)
    return min(T, M)


@dataclass(frozen=True)
class _Structure:
    """The live tree of ``net``: children, receptive fields, signature ids and group names per node."""

    order: tuple[str, ...]  # topological, leaves first
    children: Mapping[str, tuple[str, ...]]
    modes: Mapping[str, frozenset]
    sig: Mapping[str, int]  # canonical tie signature id per node
    sig_children: Mapping[int, tuple[tuple[int, int], ...]]  # sig -> ((child sig, multiplicity), ...)
    r_in: Mapping[str, int]
    levels: Mapping[str, int]
    root: str


def _check(net: Network) -> None:
    if not isinstance(net, Network):
        raise NetworkError(f"symmetry_bound needs a te.Network, got {type(net).__name__}.")
    if not net.op.multilinear:
        raise NotApplicable(
            f"symmetry_bound needs the product operator (a multilinear ConvAC); {net.name} uses {net.op.name!r}. "
            f"Hint: the op='product' twin of the architecture."
        )
    if not net.is_tree:
        raise NotApplicable(
            f"symmetry_bound needs a tree network; {net.name} is a DAG or has sum nodes (overlapping / mixed). "
            f"Hint: te.mincut_bound handles product DAGs."
        )
    if net.tree is None:
        raise NotApplicable(f"symmetry_bound needs a network built on a ModeTree; {net.name} has net.tree=None.")
    readers = Counter(nd.mode for nd in net.live_nodes if nd.kind == "leaf")
    twice = sorted(m for m, k in readers.items() if k > 1)
    if twice:
        raise NotApplicable(f"symmetry_bound needs each mode read by one leaf; modes {twice[:5]} are read twice.")


def tie_signatures(net: Network, analysis: Analysis | None = None) -> _Structure:
    """:func:`_tie_signatures`, once per :class:`~tensorexpr.bounds.analysis.Analysis` (a fresh one if none).

    Parameters
    ----------
    net : Network
        A product tree network on its mode tree, each mode read by one leaf.
    analysis : Analysis, optional
        Where the result is kept.

    Returns
    -------
    _Structure
        Tie signatures, children, widths and receptive fields of the nodes.

    Raises
    ------
    NetworkError
        When ``net`` is not a :class:`Network`.
    NotApplicable
        For a non-product operator, a DAG or sum nodes, no mode tree, or a mode read by several leaves.
    """
    _check(net)
    return analysis_of(net, analysis).derived(("symmetry.signatures",), lambda: _tie_signatures(net))


def _tie_signatures(net: Network) -> _Structure:
    """Canonical signatures of the live subtrees: equal signature = isomorphic by a tie-preserving map.

    ``sig(leaf) = ("leaf", tie_key, width)`` and ``sig(t) = (kind, tie_key, width, sorted child sigs)``.
    Two subtrees with equal signatures are related by a bijection of their nodes that keeps parent/child,
    node kind, output width and :meth:`~tensorexpr.core.network.Network.tie_key` (induction on the height):
    exactly the maps under which the tied network computes the same function (see :func:`symmetry_bound`).
    """
    _check(net)
    ids: dict[tuple, int] = {}
    sig: dict[str, int] = {}
    kids: dict[str, tuple[str, ...]] = {}
    sig_children: dict[int, tuple[tuple[int, int], ...]] = {}
    r_in: dict[str, int] = {}
    widths = net.widths
    order = []
    for nd in net.live_nodes:
        kids[nd.id] = tuple(nd.children)
        if nd.kind == "leaf":
            key: tuple = ("leaf", net.tie_key(nd.id), widths[nd.id])
            r_in[nd.id] = net.M
        else:
            cs = tuple(sorted(sig[c] for c in nd.children))
            key = (nd.kind, net.tie_key(nd.id), widths[nd.id], cs)
            r_in[nd.id] = widths[nd.children[0]]
        s = ids.setdefault(key, len(ids))
        sig[nd.id] = s
        if nd.kind != "leaf" and s not in sig_children:
            sig_children[s] = tuple(sorted(Counter(sig[c] for c in nd.children).items()))
        order.append(nd.id)
    return _Structure(tuple(order), kids, net.modes, sig, sig_children, r_in, net.levels, net.output)


# -- orbit counting ------------------------------------------------------------------------------------------
def _full_orbits(st: _Structure, q: Any) -> dict[int, Any]:
    """``n(s)``: orbits of the tie-automorphism group of a subtree of signature ``s`` on ``[q]^{modes}``.

    Leaf: ``q``. Internal: the group is the product over child classes ``C`` (equal signatures, ``k``
    copies) of ``Aut(C) wr S_k``, whose orbits are multisets of ``k`` orbits of ``Aut(C)``.
    """
    n: dict[int, Any] = {}
    for t in st.order:
        s = st.sig[t]
        if s in n:
            continue
        if not st.children[t]:
            n[s] = q
        else:
            v: Any = 1
            for c, k in st.sig_children[s]:
                v = v * multichoose(n[c], k)
            n[s] = v
    return n


def _group_names(st: _Structure) -> dict[int, Counter]:
    """Readable factors of each signature's automorphism group: Counter ``{factor: multiplicity}``."""
    names: dict[int, Counter] = {}
    for t in st.order:
        s = st.sig[t]
        if s in names:
            continue
        g: Counter = Counter()
        if st.children[t]:
            for c, k in st.sig_children[s]:
                if k > 1:
                    g[_wreath(names[c], k)] += 1
                else:
                    g.update(names[c])
        names[s] = g
    return names


def _render(g: Counter) -> str:
    if not g:
        return "1"
    return " x ".join(f"{f}^{m}" if m > 1 else f for f, m in sorted(g.items(), key=lambda x: (len(x[0]), x[0])))


def _wreath(inner: Counter, k: int) -> str:
    if not inner:
        return f"S{k}"
    body = _render(inner)
    return f"({body}) wr S{k}" if (" " in body or "^" in body) else f"{body} wr S{k}"


@dataclass(frozen=True)
class NodeSymmetry:
    """One mixed node: the groups fixing each side pointwise, their orbit counts and the recursion value.

    ``c = min(span_I, span_J, r_in * prod c(children))`` with ``span_X <= orbits_X``; ``binding`` names the
    term that attained it. The group names are rendered on first use (a 256x256 grid has 65,000 mixed nodes,
    and certification needs only the numbers).
    """

    node: str
    orbits_I: int
    orbits_J: int
    product: int
    c: int
    span_I: int = 0
    span_J: int = 0
    groups: Any = field(default=None, repr=False, compare=False)  # () -> {node: (group_I, group_J)}

    @property
    def group_I(self) -> str:
        """The group fixing the node's ``J`` side pointwise, acting on its ``I`` side, by name (``"1"``: trivial)."""
        return self.groups()[self.node][0] if self.groups is not None else "1"

    @property
    def group_J(self) -> str:
        """The group fixing the node's ``I`` side pointwise, acting on its ``J`` side, by name (``"1"``: trivial)."""
        return self.groups()[self.node][1] if self.groups is not None else "1"

    @property
    def binding(self) -> str:
        """The term that attained ``c``: ``orbits_I``, ``orbits_J``, ``span_I``, ``span_J``, else ``product``."""
        for name in ("orbits_I", "orbits_J", "span_I", "span_J"):
            if self.c == getattr(self, name):
                return name
        return "product"

    def to_dict(self) -> dict[str, Any]:
        """The row's fields, for ``--json``.

        Returns
        -------
        dict
            ``node``, the groups and orbit counts of both sides, the spans, ``product``, ``c`` and ``binding``.
        """
        return {"node": self.node, "group_I": self.group_I, "group_J": self.group_J, "orbits_I": self.orbits_I,
                "orbits_J": self.orbits_J, "span_I": self.span_I, "span_J": self.span_J, "product": self.product,
                "c": self.c, "binding": self.binding}


@dataclass(frozen=True)
class SymmetryBound(Bound):
    """Result of :func:`symmetry_bound`: ``value`` is an upper bound on ``rank [A]_{I,J}`` for every weight
    setting of the tied architecture.

    Attributes (beyond :class:`~tensorexpr.bounds.result.Bound`)
    ---------------------------------------------------------------
    q : int
        The number of template directions the orbit counts run over (``rank F``, exact for integer ``F``).
    root_groups : (str, str)
        The groups used at the root: automorphisms fixing ``J`` pointwise (acting on ``I``) and vice versa.
    nodes : tuple of NodeSymmetry
        Every mixed node, leaves first.
    expr, wide_expr : sympy.Expr or None
        With ``symbolic=True``: the recursion in ``M`` (= ``q``) and width symbols, and its value for widths
        large enough not to bind (the pure symmetry count), e.g. ``(M(M+1)/2)^(N/4)`` for checkerboard under
        square pooling.
    values : dict
        Symbol -> number that turns ``expr`` into ``value``.
    """

    q: int = 0
    root_groups: tuple[str, str] = ("1", "1")
    rows: tuple[tuple[Any, ...], ...] = field(default=(), repr=False, compare=False)
    groups: Any = field(default=None, repr=False, compare=False)
    expr: Any = field(default=None, repr=False)
    wide_expr: Any = field(default=None, repr=False)
    values: Mapping[Any, int] = field(default_factory=dict, repr=False)

    def subs(self, values: Mapping[Any, Any]) -> Any:
        """Substitute numbers (keys: symbols or their names) into the symbolic bound.

        Parameters
        ----------
        values : mapping
            Symbol (or symbol name) -> number.

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
            raise NetworkError("symmetry_bound(..., symbolic=False) has no expression; pass symbolic=True.")
        syms = {s.name: s for s in self.expr.free_symbols}
        return self.expr.subs({syms.get(k, k) if isinstance(k, str) else k: v for k, v in values.items()})

    @cached_property
    def nodes(self) -> tuple[NodeSymmetry, ...]:
        """Every mixed node, leaves first (built on first use from the numbers kept in ``rows``)."""
        return tuple(NodeSymmetry(*r, groups=self.groups) for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        """The :class:`Bound` fields plus ``q``, the root groups, the per-node rows and the expressions, for ``--json``.

        Returns
        -------
        dict
            JSON-ready; past ``_MAX_NODES_IN_DICT`` mixed nodes the rows are omitted (counted only).
        """
        d = super().to_dict()
        many = len(self.rows) > _MAX_NODES_IN_DICT
        d.update({"q": self.q, "root_groups": list(self.root_groups),
                  "nodes": (f"{len(self.rows)} mixed nodes, omitted (over {_MAX_NODES_IN_DICT}); "
                            f"SymmetryBound.nodes has them") if many else [n.to_dict() for n in self.nodes],
                  "expr": None if self.expr is None else str(self.expr),
                  "wide_expr": None if self.wide_expr is None else str(self.wide_expr),
                  "values": {str(k): v for k, v in self.values.items()}})
        from tensorexpr.core.numbers import encode_counts

        return encode_counts(d)

    def __repr__(self) -> str:
        v = self.value
        vs = str(v) if v < 10**12 else f"~2^{_log2(v):.2f}"
        return (f"SymmetryBound(rank <= {vs}, partition={self.partition}, q={self.q}, "
                f"root groups I: {_short(self.root_groups[0])}, J: {_short(self.root_groups[1])})")


#: ``to_dict`` lists the mixed nodes up to this many (an image-scale net has tens of thousands).
_MAX_NODES_IN_DICT = 512


def _short(s: str) -> str:
    return s if len(s) < 60 else s[:57] + "..."


def _log2(x: int) -> float:
    b = x.bit_length() - 1
    return b + math.log2((x >> max(b - 52, 0)) / (1 << min(b, 52)))


def _side_orbits(st: _Structure, inside: Mapping[str, int], size: Mapping[str, int], n: Mapping[int, Any],
                 names: Mapping[int, Counter]) -> tuple[dict[str, Any], dict[str, Counter]]:
    """Per node ``t``: orbits on ``[q]^{S_t}`` of the automorphisms of ``t``'s subtree that fix every mode
    of the other side pointwise (``S`` = the side counted by ``inside``), and that group's factors."""
    orb: dict[str, Any] = {}
    grp: dict[str, Counter] = {}
    for t in st.order:
        if inside[t] == size[t]:  # pure on this side: the whole automorphism group acts
            orb[t], grp[t] = n[st.sig[t]], names[st.sig[t]]
            continue
        if inside[t] == 0:  # nothing of this side below: functions of no variables
            orb[t], grp[t] = 1, Counter()
            continue
        v: Any = 1
        g: Counter = Counter()
        pure = Counter(st.sig[c] for c in st.children[t] if inside[c] == size[c])
        for s, k in sorted(pure.items()):
            v = v * multichoose(n[s], k)
            if k > 1:
                g[_wreath(names[s], k)] += 1
            else:
                g.update(names[s])
        for c in st.children[t]:
            if inside[c] != size[c]:
                v = v * orb[c]
                g.update(grp[c])
        orb[t], grp[t] = v, g
    return orb, grp


def _spans(st: _Structure, inside: Mapping[str, int], size: Mapping[str, int], d: Mapping[str, Any],
           minimum: Any) -> dict[str, Any]:
    """``D(t)``: a bound on the dimension of the space holding the column spaces (side counted by ``inside``)
    of *all* channels of ``t`` together; ``d`` bounds the channel span of pure nodes (see the proof, step 5)."""
    D: dict[str, Any] = {}
    for t in st.order:
        if inside[t] == 0:
            D[t] = 1
            continue
        if inside[t] == size[t]:
            D[t] = d[t]
            continue
        pure = Counter(st.sig[c] for c in st.children[t] if inside[c] == size[c])
        rep = {st.sig[c]: c for c in st.children[t]}
        sym: Any = 1
        for s_, k in sorted(pure.items()):
            sym = sym * multichoose(d[rep[s_]], k)
        v: Any = minimum(st.r_in[t], sym) if pure else 1
        for c in st.children[t]:
            if 0 < inside[c] < size[c]:
                v = v * D[c]
        D[t] = v
    return D


def _pure_spans(st: _Structure, q: Any, width_of: Mapping[str, Any], minimum: Any) -> dict[str, Any]:
    """``d(t)``: a bound on ``dim span{phi_t[g]}`` (the node's channel vectors): ``min(r_out, q)`` at a leaf,
    ``min(r_out, r_in, prod over child classes C(d + k - 1, k))`` above (tied copies give symmetric powers)."""
    d: dict[str, Any] = {}
    for t in st.order:
        if not st.children[t]:
            d[t] = minimum(width_of[t], q)
            continue
        cls = Counter(st.sig[c] for c in st.children[t])
        rep = {st.sig[c]: c for c in st.children[t]}
        v: Any = 1
        for s_, k in sorted(cls.items()):
            v = v * multichoose(d[rep[s_]], k)
        d[t] = minimum(width_of[t], st.r_in[t], v)
    return d


def symmetry_bound(net: Network, P: Partition, symbolic: bool = False,
                   analysis: Analysis | None = None) -> SymmetryBound:
    """Upper bound on ``rank [A]_{I,J}`` for a product tree network with tied weights, for every weight
    setting of its parametrization.

    .. math::
        c(t) = 1 \\text{ if } t \\text{ is pure}, \\qquad
        c(t) = \\min\\Big(\\#\\tfrac{[q]^{I_t}}{G_{I}(t)},\\; \\#\\tfrac{[q]^{J_t}}{G_{J}(t)},\\;
               \\mathrm{span}_I(t),\\; \\mathrm{span}_J(t),\\;
               r_{in}(t) \\prod_{c \\in \\mathrm{ch}(t)} c(c)\\Big), \\qquad
        \\operatorname{rank}[\\mathcal{A}]_{I,J} \\le c(\\mathrm{root}),

    where ``q = rank F``, ``G(t)`` is the group of tie-preserving automorphisms of ``t``'s subtree,
    ``G_I(t)`` its subgroup fixing every ``J`` mode (acting on ``I_t``), and ``#X/G`` counts orbits.
    Without ties ``G`` is trivial and this is the pooling-geometry bound (``#[q]^{I_t} = q^{|I_t|}``); with
    ties it is smaller, e.g. ``(M(M+1)/2)^{N/4}`` for checkerboard under square pooling.

    **Proof.** (1) *Invariance.* Call a bijection ``s`` of the nodes of ``t``'s subtree a *tie
    automorphism* when it keeps parent/child and maps every node to one with the same kind, output width and
    ``tie_key`` (so, for every parameter value, the same weight). Induction on height shows
    ``phi_{s(u)}[g](x o s^{-1}) = phi_u[g](x)``: for a leaf, both apply the same weight to the same template
    row of the one template matrix ``F`` (``F`` is the same for every mode); for a pool node, the product
    over children is commutative and ``s`` permutes the children onto those of ``s(u)``, which apply the same
    weight. As ``s(t) = t``, every channel ``phi_t[g]`` is invariant: ``phi_t[g](x o s^{-1}) = phi_t[g](x)``.
    (2) *Columns are invariant functions.* Fix the ``J_t`` entries of ``x``; the column of
    ``[phi_t[g]]_{I_t,J_t}`` is a function of ``x_{I_t}`` invariant under ``G_I(t)`` (its elements move only
    ``I`` positions). It also lies in ``U^{(x) I_t}``, ``U`` the column space of ``F`` (every leaf output
    is ``F w``). The ``G_I(t)``-invariant subspace of ``U^{(x) n}`` has dimension
    ``|G|^{-1} sum_s tr(s) = |G|^{-1} sum_s q^{cyc(s)}`` (characteristic 0), which by Burnside is the number
    of orbits of ``G_I(t)`` on ``[q]^{I_t}``. So ``rank <= #orbits`` for every channel, and likewise with
    ``I`` and ``J`` swapped. (3) *Structure of ``G_I(t)``.* An automorphism fixing a ``J`` mode fixes all its
    ancestors, so it fixes every node that contains a ``J`` mode and there may only permute the *pure-I*
    children, within classes of equal signature; inside a pure-I subtree every tie automorphism is allowed,
    and all such choices combine freely. Hence ``G_I(t)`` is the direct product, over the nodes ``u`` below
    ``t`` containing a ``J`` mode and the classes ``C`` of ``k`` equal-signature pure-I children of ``u``, of
    ``G(C) wr S_k``, on disjoint modes: its orbit count is the product of ``C(n(C) + k - 1, k)``, with
    ``n(leaf) = q`` and ``n(C) = prod over its child classes of C(n + k - 1, k)`` (multisets of orbits).
    (4) *Recursion.* ``phi_t[g] = sum_{a < r_in} W_t[a, g] (x)_c phi_c[a]``; the matricization of a product
    over disjoint modes is a Kronecker product, so each term has rank ``<= prod_c c(c)`` by induction (a
    pure child is a vector, rank 1), and the sum of ``r_in`` terms has rank ``<= r_in prod_c c(c)``. Each
    of the three terms bounds the rank of every channel of ``t``, hence so does their minimum ``c(t)``,
    which feeds the induction at the parent. At the root, every output channel is bounded alike.
    (5) *Spans of tied copies.* Let ``d(t)`` bound ``dim span{phi_t[g]}`` for a pure node: ``min(r, q)`` at a
    leaf. Children of one class compute the same vectors up to the tie automorphism that relabels their modes,
    so ``(x)_{c in C} phi_c[a] = phi_C[a]^{(x) k}`` lies in ``Sym^k(V_C)``, of dimension
    ``C(d(C) + k - 1, k)``; the ``r_in`` vectors ``S_a = (x)_C phi_C[a]^{(x) k_C}`` span at most
    ``min(r_in, prod_C C(d(C) + k_C - 1, k_C))`` dimensions, and ``phi_t[g] = sum_a W[a, g] S_a`` (also at most
    ``r_out``) gives ``d(t)``. At a mixed node the column spaces of all channels lie in
    ``span_a{S_a^I} (x) (x)_{c mixed} Col_I(c)``, ``S_a^I`` over the pure-I children, so ``span_I(t) =
    min(r_in, prod_C C(d(C)+k-1, k)) * prod_{c mixed} span_I(c)`` (1 without pure-I children) bounds their
    dimension, hence every channel's rank; likewise ``span_J``. ``c(t)`` takes the minimum with these too
    (they never exceed the orbit counts, and can be smaller: two tied windows of ``r_0 = 2`` channels on one
    side give ``dim Sym^2(C^2) = 3``, not ``r_1``).

    Parameters
    ----------
    net : Network
        A product (ConvAC) tree network on a mode tree; any parametrization (free, tied, fixed, identity).
    P : Partition
    symbolic : bool
        Also build the sympy recursion in ``M`` (standing for ``q``) and width symbols ``r_0..r_{L-1}`` (per
        level when the widths are per level, else ``r_<child id>``), and its wide-width limit.
    analysis : Analysis, optional
        The network's analysis plan (:func:`~tensorexpr.analyze`), to reuse its orbit tables across partitions.

    Raises
    ------
    NotApplicable
        Not a product operator, not a tree, no mode tree, or a mode read twice.

    Returns
    -------
    SymmetryBound
        ``value``, the per-node groups and, when ``symbolic``, the sympy recursion.

    Examples
    --------
    >>> import tensorexpr as te
    >>> net = te.convac(te.ModeTree.grid(4, 4), M=2, widths=[4, 9], shared=True, seed=0)
    >>> te.symmetry_bound(net, te.Partition.grid(4, 4, "checkerboard")).value
    81
    >>> b = te.symmetry_bound(net, te.Partition.grid(4, 4, "checkerboard"), symbolic=True)
    >>> b.wide_expr
    binomial(M + 1, 2)**4
    >>> b.wide_expr.subs(te.bounds.symmetry.M_SYMBOL, 2)
    81
    """
    analysis = analysis_of(net, analysis)
    st = tie_signatures(net, analysis)
    check_partition(P, net.n_modes, "symmetry_bound", net.name, NetworkError)
    q, n, names, d = network_tables(net, st, analysis)
    # Nodes with equal signatures and equally split children have equal recursion values: compute once per
    # such *pattern* (a handful for regular partitions, however large the grid).
    pv, pattern_of, mult = partition_patterns(st, P, d)
    inJ_p = {t: pv.size[t] - pv.inI[t] for t in pv.order}
    oI, DI = side_numbers(pv, pv.inI, pv.size, n, pv.d)  # type: ignore[arg-type]
    oJ, DJ = side_numbers(pv, inJ_p, pv.size, n, pv.d)  # type: ignore[arg-type]
    c: dict[int, int] = {}
    row_of: dict[int, tuple[int, ...]] = {}
    for t in pv.order:
        if pv.inI[t] == 0 or inJ_p[t] == 0:
            c[t] = 1
            continue
        prod = pv.r_in[t] * math.prod(c[k] for k in pv.children[t])
        c[t] = min(oI[t], oJ[t], DI[t], DJ[t], prod)
        row_of[t] = (oI[t], oJ[t], prod, c[t], DI[t], DJ[t])
    rows = tuple((t, *row_of[pattern_of[t]]) for t in st.order if pattern_of[t] in row_of)
    expr = wide = None
    values: dict[Any, int] = {}
    if symbolic:
        size, inI = _sizes(st), _inside(st, P)
        expr, wide, values = _symbolic(net, st, inI, {t: size[t] - inI[t] for t in st.order}, size, q)
    gI = _render(_root_group(pv, pv.inI, pv.size, names, mult))  # type: ignore[arg-type]
    gJ = _render(_root_group(pv, inJ_p, pv.size, names, mult))  # type: ignore[arg-type]
    groups = _GroupNames(st, P, n, names)
    return SymmetryBound(
        value=c[pv.root], side="upper", method="symmetry", partition=P.name,
        assumptions=("product", "tree", "mode-tree"),
        details={"q": q, "root_group_I": gI, "root_group_J": gJ},
        q=q, root_groups=(gI, gJ), rows=rows, groups=groups, expr=expr, wide_expr=wide,
        values=values,
    )


class _GroupNames:
    """``() -> {node: (group_I, group_J)}``, rendered on first call: certification needs only the numbers, and a
    256x256 grid has 65,000 mixed nodes. A class rather than a closure so that bounds pickle (the report
    certifies its networks in worker processes)."""

    def __init__(self, st: _Structure, P: Partition, n: Mapping[int, Any], names: Mapping[int, str]) -> None:
        self._args = (st, P, n, names)
        self._memo: dict[str, tuple[str, str]] | None = None

    def __call__(self) -> dict[str, tuple[str, str]]:
        if self._memo is None:
            st, P, n, names = self._args
            size, inI = _sizes(st), _inside(st, P)
            inJ = {t: size[t] - inI[t] for t in st.order}
            _, a = _side_orbits(st, inI, size, n, names)
            _, b = _side_orbits(st, inJ, size, n, names)
            self._memo = {t: (_render(a[t]), _render(b[t])) for t in a}
        return self._memo


def network_tables(net: Network, st: _Structure, analysis: Analysis | None = None
                    ) -> tuple[int, dict[int, Any], dict[int, Counter], dict[str, Any]]:
    """The partition-free tables, once per analysis: ``q``, full orbit counts ``n`` and group names per
    signature, and the channel-span bounds ``d`` per node.

    Parameters
    ----------
    net : Network
        The network.
    st : _Structure
        Its :func:`tie_signatures`.
    analysis : Analysis, optional
        Where the tables are kept.

    Returns
    -------
    q : int
        :func:`template_rank`.
    n : dict of int to int
        Full orbit count per signature.
    groups : dict of int to Counter
        Group names per signature.
    d : dict of str to int
        Channel-span bound per node.
    """
    def build() -> tuple[int, dict[int, Any], dict[int, Counter], dict[str, Any]]:
        q = template_rank(net)
        return q, _full_orbits(st, q), _group_names(st), _pure_spans(st, q, net.widths, min)

    return analysis_of(net, analysis).derived(("symmetry.tables",), build)


def _sizes(st: _Structure) -> dict[str, int]:
    size: dict[str, int] = {}
    for t in st.order:
        kids = st.children[t]
        size[t] = sum(size[k] for k in kids) if kids else 1
    return size


def _inside(st: _Structure, P: Partition) -> dict[str, int]:
    """``|I ∩ modes(t)|`` per node, bottom-up (a tree reads each mode once: checked by ``tie_signatures``)."""
    I = P.I
    out: dict[str, int] = {}
    for t in st.order:
        kids = st.children[t]
        out[t] = sum(out[k] for k in kids) if kids else int(next(iter(st.modes[t])) in I)
    return out


def side_numbers(st: _Structure, inside: Mapping[str, int], size: Mapping[str, int], n: Mapping[int, Any],
                  d: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The orbit counts of :func:`_side_orbits` and the spans of :func:`_spans` in one pass, numbers only.

    Parameters
    ----------
    st : _Structure
        The :func:`tie_signatures`.
    inside : mapping of str to int
        Number of a node's modes on the side.
    size : mapping of str to int
        Size of each node's receptive field.
    n : mapping of int to int
        Full orbit count per signature.
    d : mapping of str to int
        Channel-span bound per node.

    Returns
    -------
    orbits : dict of str to int
        Per node, the orbit count on the side.
    spans : dict of str to int
        Per node, the span bound on the side.
    """
    orb: dict[str, Any] = {}
    D: dict[str, Any] = {}
    sig, children, r_in = st.sig, st.children, st.r_in
    for t in st.order:
        k_in = inside[t]
        if k_in == size[t]:
            orb[t], D[t] = n[sig[t]], d[t]
            continue
        if k_in == 0:
            orb[t] = D[t] = 1
            continue
        pure: dict[int, list[str]] = {}
        v: Any = 1
        span: Any = 1
        for ch in children[t]:
            if inside[ch] == size[ch]:
                pure.setdefault(sig[ch], []).append(ch)
            else:
                v = v * orb[ch]
                span = span * D[ch]
        if pure:
            sym: Any = 1
            for s_, members in pure.items():
                k = len(members)
                v = v * multichoose(n[s_], k)
                sym = sym * multichoose(d[members[0]], k)
            span = span * min(r_in[t], sym)
        orb[t], D[t] = v, span
    return orb, D


@dataclass(frozen=True)
class _PatternView:
    """The network's live tree quotiented by *patterns*: a pattern is a signature together with the patterns
    of its children (in order), so it fixes the node's split ``(|I_t|, |J_t|)`` and every recursion value.
    It has the fields of :class:`_Structure` that the numeric recursions read, keyed by pattern id."""

    order: tuple[int, ...]
    children: Mapping[int, tuple[int, ...]]
    sig: Mapping[int, int]
    r_in: Mapping[int, int]
    size: Mapping[int, int]
    inI: Mapping[int, int]
    d: Mapping[int, Any]
    root: int
    rep: Mapping[int, str]  # the first node of each pattern


def partition_patterns(st: _Structure, P: Partition, d: Mapping[str, Any]) -> tuple[_PatternView, dict[str, int], dict[int, int]]:
    """The pattern view of ``st`` for ``P``, the pattern of every node, and how many nodes have each.

    Parameters
    ----------
    st : _Structure
        The :func:`tie_signatures`.
    P : Partition
        The partition ``(I, J)``.
    d : mapping of str to int
        Channel-span bound per node.

    Returns
    -------
    view : _PatternView
        The structure with nodes merged by pattern (signature, children's patterns, side of a leaf).
    pattern_of : dict of str to int
        Each node's pattern.
    mult : dict of int to int
        How many nodes have each pattern.
    """
    I = P.I
    intern: dict[tuple, int] = {}
    pattern_of: dict[str, int] = {}
    mult: dict[int, int] = {}
    children: dict[int, tuple[int, ...]] = {}
    sig: dict[int, int] = {}
    r_in: dict[int, int] = {}
    size: dict[int, int] = {}
    inI: dict[int, int] = {}
    dd: dict[int, Any] = {}
    rep: dict[int, str] = {}
    for t in st.order:
        kids = st.children[t]
        if kids:
            ks = tuple(pattern_of[k] for k in kids)
            key: tuple = (st.sig[t], ks)
        else:
            ks = ()
            key = (st.sig[t], next(iter(st.modes[t])) in I)
        p = intern.get(key)
        if p is None:
            p = intern[key] = len(intern)
            children[p], sig[p], r_in[p], dd[p], rep[p] = ks, st.sig[t], st.r_in[t], d[t], t
            if ks:
                size[p], inI[p] = sum(size[k] for k in ks), sum(inI[k] for k in ks)
            else:
                size[p], inI[p] = 1, int(key[1])
        pattern_of[t] = p
        mult[p] = mult.get(p, 0) + 1
    order = tuple(range(len(intern)))
    return _PatternView(order, children, sig, r_in, size, inI, dd, pattern_of[st.root], rep), pattern_of, mult


def _root_group(st: Any, inside: Mapping[Any, int], size: Mapping[Any, int],
                names: Mapping[int, Counter], mult: Mapping[Any, int] | None = None) -> Counter:
    """The root's group fixing the other side pointwise (step 3 of the proof): the product, over the mixed
    nodes, of ``G(C) wr S_k`` for each class of ``k`` pure children; the whole group at a pure root.
    ``mult`` counts the nodes each entry of ``st.order`` stands for (patterns), 1 by default."""
    root = st.root
    if inside[root] == size[root]:
        return Counter(names[st.sig[root]])
    factors: Counter = Counter()
    for t in st.order:
        if 0 < inside[t] < size[t]:
            pure = Counter(st.sig[c] for c in st.children[t] if inside[c] == size[c])
            times = 1 if mult is None else mult[t]
            for item in pure.items():
                factors[item] += times
    g: Counter = Counter()
    for (s_, k), times in factors.items():
        if k > 1:
            g[_wreath(names[s_], k)] += times
        else:
            for f, m in names[s_].items():
                g[f] += m * times
    return g


def _symbolic(net: Network, st: _Structure, inI: Mapping[str, int], inJ: Mapping[str, int],
              size: Mapping[str, int], q: int) -> tuple[Any, Any, dict[Any, int]]:
    """The recursion on sympy symbols: ``M`` for ``q`` and one width symbol per level (or per node)."""
    import sympy as sp

    from tensorexpr.bounds.geometry import m_symbol, width_symbols

    M_SYMBOL = m_symbol()
    n = _full_orbits(st, M_SYMBOL)
    names = _group_names(st)
    oI, _ = _side_orbits(st, inI, size, n, names)
    oJ, _ = _side_orbits(st, inJ, size, n, names)
    internal = [t for t in st.order if st.children[t]]
    per_level: dict[int, int] = {}
    uniform = True
    for t in internal:
        if per_level.setdefault(st.levels[t], st.r_in[t]) != st.r_in[t]:
            uniform = False
    values: dict[Any, int] = {M_SYMBOL: q}
    sym: dict[str, Any] = {}
    if uniform:
        depth = max(st.levels.values())
        rs = width_symbols(depth)
        for t in internal:
            sym[t] = rs[st.levels[t] - 1]
        values.update({rs[l - 1]: per_level[l] for l in per_level})
    else:
        for t in internal:
            s = sp.Symbol(f"r_{st.children[t][0]}", positive=True, integer=True)
            sym[t] = s
            values[s] = st.r_in[t]
    parent = {k: t for t in internal for k in st.children[t]}
    out_w = {t: (sym[parent[t]] if t in parent else sp.Integer(net.widths[t])) for t in st.order}
    r_in_sym = _Sym(st, sym)
    d = _pure_spans(r_in_sym, M_SYMBOL, out_w, sp.Min)
    DI, DJ = _spans(r_in_sym, inI, size, d, sp.Min), _spans(r_in_sym, inJ, size, d, sp.Min)
    c: dict[str, Any] = {}
    for t in st.order:
        if inI[t] == 0 or inJ[t] == 0:
            c[t] = sp.Integer(1)
            continue
        c[t] = sp.Min(oI[t], oJ[t], DI[t], DJ[t], sym[t] * sp.Mul(*[c[k] for k in st.children[t]]))
    root = st.root
    wide = sp.Min(oI[root], oJ[root]) if inI[root] and inJ[root] else sp.Integer(1)
    return c[root], wide, values


class _Sym:
    """A view of a :class:`_Structure` whose ``r_in`` are the width symbols (for the symbolic recursion)."""

    def __init__(self, st: _Structure, sym: Mapping[str, Any]) -> None:
        self.order, self.children, self.sig, self.r_in = st.order, st.children, st.sig, dict(sym)


def _provider(net: Network, P: Partition, ctx: BoundContext) -> SymmetryBound:
    check_partition(P, net.n_modes, "symmetry_bound", net.name)
    if not net.is_tied:  # without ties the recursion is the geometry bound's; credit it to that provider
        raise NotApplicable("symmetry bound: no tied weights, so it equals the geometry bound (which runs next).")
    return symmetry_bound(net, P, analysis=ctx.analysis)


SYMMETRY = BoundProvider("symmetry", "upper", _provider, needs=("product", "tree", "mode-tree"))
