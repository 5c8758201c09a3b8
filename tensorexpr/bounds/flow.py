"""Flow lower bound: route identity wires along a maximum flow of the tensor network (untied product trees).

The min-cut (:mod:`tensorexpr.bounds.mincut`) bounds the rank from above. On a tree network whose weights
are all free, a maximum flow bounds it from *below*, and when every bond dimension is a power of one base
the two meet, at any scale and for any partition (random ones included).

Theorem. Let ``net`` be a product tree network, every weight its own free block, every mode read by one
leaf, ``q = rank F`` (exact over Q). Fix a base ``p >= 2`` and give every hyper-edge of
:func:`~tensorexpr.bounds.mincut.network_hypergraph` the integer capacity ``k_e = floor(log_p d_e)``, with
``d_e = q`` on mode legs and on the leaf bonds between ``F`` and the leaf weight, and ``d_e`` = the width on
channel bonds. If ``f`` is the minimum cut (the maximum flow) between the ``I`` legs and the ``J`` legs for
these capacities, then

.. math::
    \\operatorname{rank}_{\\text{generic}} [\\mathcal{A}]_{I,J} \\;\\ge\\; p^{f}.

Proof. (1) *Templates.* Write ``F = B C`` with ``B`` (``T x q``) injective and ``C`` (``q x M``)
surjective. Every leaf computes ``F W_l = B X_l`` with ``X_l = C W_l``, and ``X_l`` ranges over all
``q x r`` matrices (``W_l = C^+ X_l``). Each mode is read once, so ``A = (B \\otimes \\cdots \\otimes B) A'``
with ``A'`` the network on the ``X_l`` and ``q``-dimensional modes, and ``[A] = B^{\\otimes I} [A']
(B^{\\otimes J})^T`` has the rank of ``[A']`` (Kronecker products of injective maps are injective). In
the hyper-graph, merging ``F`` with its leaf weight leaves the flow unchanged because the bond between
them has the capacity of the mode leg.
(2) *Wires.* Restrict every bond of dimension ``d`` to its first ``p^k`` coordinates, ``k = floor(log_p d)``
(all weights vanish outside): a copy tensor (a shared channel, or a mode) on ``p^k = p \\cdot p \\cdots p``
coordinates is the tensor product of ``k`` copy tensors on ``p`` coordinates, its *wires*.
(3) *Routing.* The incidence graph of a tree network is a tree; an integral maximum flow (capacities are
integers) decomposes into ``f`` paths from ``I`` legs to ``J`` legs using distinct wires of every bond
they cross. Choose every weight (each is free) as the tensor product, over its wires, of: the identity
``delta(a = b)`` between the two wires by which a path enters and leaves it; the all-ones vector on a wire a
path uses between two *other* members of the bond (contracting a copy tensor with all-ones leaves the
identity between the remaining members); and ``e_0`` on an unused wire (a copy tensor contracted with
``e_0`` everywhere is 1). The root's output column puts all-ones or ``e_0`` on its input wires.
Contracting, every path becomes ``delta(x_{I\\text{-wire}} = x_{J\\text{-wire}})`` and everything else a
nonzero rank-one factor, so ``[A']`` is, up to permutations, a Kronecker product of ``f`` identity
matrices of size ``p`` and rank-one matrices: rank ``p^f``. The rank at one (rational) weight setting
bounds the generic rank from below (the generic rank is the maximum rank). By max-flow/min-cut, ``f`` is
the integral minimum cut, which :func:`~tensorexpr.bounds.mincut.tree_mincut` computes exactly on the
capacities ``p^{k_e}`` (a product of powers of ``p`` is minimal exactly when the exponent sum is). QED.

When every dimension is a power of ``p`` the capacities are the min-cut's own, so this lower bound equals
the min-cut upper bound: the rank is certified. Several bases are tried and the best kept. Tied weights
(convolutions), fixed weights, identities, DAGs (a reused node copies a vector, which no linear routing
does) and modes read twice make the bound step aside (:class:`~tensorexpr.core.errors.NotApplicable`).
Cost: one dynamic program over the hyper-tree per base, linear in the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from tensorexpr.core.errors import NotApplicable
from tensorexpr.core.network import Network
from tensorexpr.core.partitions import Partition
from tensorexpr.core.rational import rank_over_Q
from tensorexpr.core.validation import check_output, check_partition
from tensorexpr.bounds.mincut import HyperEdge, tree_mincut, cached_hypergraph, cached_hypertree
from tensorexpr.bounds.analysis import Analysis, analysis_of
from tensorexpr.bounds.result import Bound, BoundContext, BoundProvider, Side

__all__ = ["flow_bound", "FlowBound", "FLOW_NEEDS"]

#: What the routing proof needs (checked from the network's own fields).
FLOW_NEEDS = ("product", "tree", "all-free", "modes-read-once")
_MAX_BASES = 4


@dataclass(frozen=True)
class FlowBound(Bound):
    """Result of :func:`flow_bound` (a lower :class:`Bound` on the generic rank).

    Attributes (beyond :class:`~tensorexpr.bounds.result.Bound`)
    ---------------------------------------------------------------
    base : int
        The wire dimension ``p`` of the best routing.
    wires : int
        The maximum flow ``f`` (``value = base ** wires``).
    cut : tuple of HyperEdge
        A minimum cut for the floored capacities (the bonds as the network has them).
    wire_dims : tuple of int
        The floored dimension ``p^k`` of each cut bond (``value`` is their product).
    """

    side: Side = "lower"
    method: str = "flow"
    base: int = 2
    wires: int = 0
    cut: tuple[HyperEdge, ...] = ()
    wire_dims: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The :class:`Bound` fields plus the base, wire count and the cut (first 64 edges), for ``--json``.

        Returns
        -------
        dict
            JSON-ready; counts of ``2^53`` or more are encoded (:func:`~tensorexpr.core.numbers.encode_counts`).
        """
        from tensorexpr.core.numbers import encode_counts

        return encode_counts({**super().to_dict(), "base": self.base, "wires": self.wires,
                "cut": [{**e.to_dict(), "wire_dim": w} for e, w in zip(self.cut[:64], self.wire_dims)],
                "cut_size": len(self.cut)})

    def __repr__(self) -> str:
        v = str(self.value) if self.value < 10**12 else f"{self.base}^{self.wires}"
        return f"FlowBound(rank >= {v}, partition={self.partition}, base={self.base}, wires={self.wires})"


def _floor_power(d: int, p: int) -> int:
    """The largest power of ``p`` that is at most ``d`` (1 when ``d < p``)."""
    v = 1
    while v * p <= d:
        v *= p
    return v


def _smallest_root(d: int) -> int:
    """The least ``b`` with ``d = b^k`` for some ``k >= 1``."""
    for k in range(max(d.bit_length(), 1), 1, -1):
        b = round(d ** (1.0 / k))
        for c in (b - 1, b, b + 1):
            if c >= 2 and c**k == d:
                return c
    return d


def _bases(dims: Sequence[int], bases: Sequence[int] | None) -> list[int]:
    """Bases to try: the given ones, else the common root of all dimensions when there is one, else the
    smallest roots of the dimensions (2 and 3 first), at most a few."""
    if bases is not None:
        bad = [b for b in bases if isinstance(b, bool) or not isinstance(b, int) or b < 2]
        if bad:
            raise NotApplicable(f"flow bound: bases must be integers >= 2, got {list(bases)!r}.")
        return sorted(set(bases))
    ds = sorted({d for d in dims if d > 1})
    if not ds:
        return [2]
    roots = sorted({_smallest_root(d) for d in ds})
    common = [b for b in roots if all(_power_of(d, b) for d in ds)]
    if common:
        return common[:1]
    return sorted(set(roots), key=lambda b: (b not in (2, 3), b))[:_MAX_BASES]


def _power_of(d: int, b: int) -> bool:
    while d % b == 0:
        d //= b
    return d == 1


def flow_bound(net: Network, P: Partition, output: int = 0, bases: Sequence[int] | None = None,
               analysis: Analysis | None = None) -> FlowBound:
    """Certified lower bound ``p^f`` on the generic rank of ``[A]_{I,J}`` by routing wires (module docstring).

    Parameters
    ----------
    net : Network
        A product tree network whose weights are all free (a locally connected ConvAC), each mode read once.
    P : Partition
    output : int
        Output channel.
    bases : sequence of int, optional
        Wire dimensions to try; by default the common root of all bond dimensions when they have one (the
        bound then equals the min-cut), else a few small roots.
    analysis : Analysis, optional
        The network's analysis plan (:func:`~tensorexpr.analyze`), to reuse its hypertree across partitions.

    Returns
    -------
    FlowBound
        The lower bound ``p^f``, with the base ``p``, the wire count ``f`` and the cut that attains it.

    Raises
    ------
    NotApplicable
        Tied, fixed or identity weights, a DAG, a mode read twice, or a non-product operator.

    References
    ----------
    Levine, Yakira, Cohen & Shashua, "Deep Learning and Quantum Entanglement: Fundamental Connections with
    Implications to Network Design", ICLR 2018: a ConvAC is a tensor network and its separation rank is bounded
    by a min-cut of that network. The matching lower bound by routed wires, and its proof (module docstring),
    are this library's own (docs/theory.md, "Min-cut bounds"); tightness at widths that are powers of one base
    is the statement attributed to that line of work, which we prove here rather than cite.

    Examples
    --------
    >>> import tensorexpr as te
    >>> net = te.convac(te.ModeTree.grid(8, 8), M=2, widths=4, seed=0)
    >>> P = te.Partition.random(64, seed=1)
    >>> flow_bound(net, P).value == te.mincut_bound(net, P).bound
    True
    """
    check_partition(P, net.n_modes, "flow_bound", net.name)
    check_output(output, net.outputs)
    analysis = analysis_of(net, analysis)
    for need in FLOW_NEEDS:
        why = analysis.fact(need)
        if why is not None:
            raise NotApplicable(f"flow bound: assumption {need!r} fails: {why}")
    q = rank_over_Q(net.F)
    if q == 0:
        return FlowBound(0, partition=P.name, assumptions=FLOW_NEEDS, details={"q": 0}, base=2, wires=0)
    labels, edges = cached_hypergraph(net, output, analysis)
    tree = cached_hypertree(net, output, analysis)
    if tree is None:  # pragma: no cover - excluded by the tree assumption
        raise NotApplicable("flow bound: the network's hyper-graph is not a tree.")
    dims = [q if e.kind in ("mode", "rep") else e.dim for e in edges]
    best: tuple[int, int, int, tuple[HyperEdge, ...], tuple[int, ...]] | None = None
    for p in _bases(dims, bases):
        floor = {d: _floor_power(d, p) for d in set(dims)}
        floored = [floor[d] for d in dims]
        res = tree_mincut(len(labels), edges, P, dims=floored, tree=tree)
        assert res is not None
        value, cut_idx, _ = res
        wires = value.bit_length() - 1 if p == 2 else _log_exact(value, p)
        if best is None or value > best[0]:
            best = (value, p, wires, tuple(edges[j] for j in cut_idx), tuple(floored[j] for j in cut_idx))
    assert best is not None
    value, p, wires, cut, wire_dims = best
    return FlowBound(value, partition=P.name, assumptions=FLOW_NEEDS,
                     details={"q": q, "base": p, "wires": wires, "cut_size": len(cut)},
                     base=p, wires=wires, cut=cut, wire_dims=wire_dims)


def _log_exact(v: int, p: int) -> int:
    k = 0
    while v % p == 0 and v > 1:
        v //= p
        k += 1
    return k


def _provider(net: Network, P: Partition, ctx: BoundContext) -> FlowBound:
    return flow_bound(net, P, ctx.output, analysis=ctx.analysis)


FLOW = BoundProvider("flow", "lower", _provider, needs=FLOW_NEEDS)
