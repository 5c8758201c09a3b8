"""Min-cut upper bound on the separation rank (Levine, Yakira, Cohen & Shashua, ICLR 2018).

A product network is a tensor network (:func:`tensorexpr.einsum_network`): every operand (a template
matrix ``F`` or a weight) is a vertex, and every einsum letter is a *hyper-edge* joining all operands that
carry it, with capacity ``log(dim)``. The modes are open legs: each ``I`` mode is tied to a source and each
``J`` mode to a sink. For any cut separating the source from the sink, contracting each side gives

.. math::
    \\operatorname{rank} [A]_{I,J} \\le \\prod_{e \\in \\text{cut}} \\dim(e),

because the matricization factors through the tensor product of the cut bonds. The minimum over cuts is
computed with :func:`networkx.minimum_cut` on Lawler's digraph: a hyper-edge ``e`` becomes two vertices
``e_in -> e_out`` with capacity ``log dim(e)``, plus uncapacitated arcs ``v -> e_in`` and ``e_out -> v`` for
each member ``v``. Cutting ``e_in -> e_out`` splits the members arbitrarily at the price of one bond, which is
exactly what a shared letter (copy tensor / shared channel) allows. Modelling a hyper-edge as a star
(``hyperedges="star"``) charges one bond per separated member and is looser; it exists only for comparison.

The reported :attr:`MinCutResult.bound` is the exact integer product of the cut dimensions, recomputed from
the cut, so it is a valid upper bound whatever solver found the cut.

Solvers (``solver=``), all on the hypergraph built once from the network's own graph
(:func:`network_hypergraph`, no einsum, no operand limit):

* ``"dp"`` (trees): the incidence graph of a tree network is a tree, and a dynamic program over it with
  states ``S``/``T`` per operand and ``S``/``T``/``cut`` per hyper-edge minimizes the *product* of the cut
  dimensions directly in Python integers. A product of positive integers is monotone in each factor, so
  the principle of optimality holds and the minimum is exact for any dimensions.
* ``"maxflow"`` (DAGs): :func:`scipy.sparse.csgraph.maximum_flow` on Lawler's digraph. Capacities must be
  integers. When every dimension is a power of one base ``b`` the capacity is the exponent (exact). With
  two primes ``p < q`` the cost of a cut is ``a log p + b log q``; the solver runs at two rational slopes
  ``lambda_lo < log q / log p < lambda_hi`` (integer capacities ``a den + b num``). The optimal value
  ``f(lambda) = min_C (a_C + lambda b_C)`` is concave and piecewise linear, so when both runs return cuts
  with the same exponents ``(a, b)`` that cut is optimal on the whole bracket, in particular at the true
  slope: the minimum is exact (``details["exact_minimum"]``). Otherwise, and for three or more primes,
  scaled logs are used and ``exact_minimum`` is False (the bound is still a valid upper bound).
* ``"networkx"``: the previous einsum-based implementation (for comparison tests only; 4,096 operands max).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from tensorexpr.core.errors import NetworkError
from tensorexpr.core.network import Network
from tensorexpr.core.tensornet import Hypertree, hypertree, hypertree_min_cut, tensor_network
from tensorexpr.core.partitions import Partition
from tensorexpr.core.validation import check_output, check_partition
from tensorexpr.bounds.analysis import Analysis, analysis_of
from tensorexpr.bounds.result import Bound, Side

#: Unrolled operands the min-cut hypergraph may hold (a DAG reused k ways unrolls k-fold per level).
_MAX_OPERANDS = 1 << 22

__all__ = ["mincut_bound", "MinCutResult", "HyperEdge", "network_hypergraph", "HYPEREDGE_MODELS"]

HYPEREDGE_MODELS = ("lawler", "star")
_SRC, _SNK = "__source__", "__sink__"


@dataclass(frozen=True)
class HyperEdge:
    """One einsum letter: its dimension, member operands and, for modes, the mode number."""

    letter: str
    dim: int
    members: tuple[int, ...]
    mode: int | None = None
    label: str = ""
    kind: str = "channel"  # "mode" (an input leg), "rep" (a leaf's F-to-weight bond) or "channel"

    def to_dict(self) -> dict[str, Any]:
        """The edge's fields, for ``--json``.

        Returns
        -------
        dict
            ``letter``, ``dim``, ``members`` (operand indices), ``mode``, ``label`` and ``kind``.
        """
        return {"letter": self.letter, "dim": self.dim, "members": list(self.members), "mode": self.mode,
                "label": self.label, "kind": self.kind}


def _check_net(net: Network) -> None:
    if not isinstance(net, Network):
        raise NetworkError(f"mincut_bound needs a te.Network, got {type(net).__name__}. Hint: te.convac(tree, M, widths).")
    if not net.op.multilinear:
        raise NetworkError(
            f"mincut_bound needs a product (ConvAC) network; {net.name} uses operator {net.op.name!r}, whose grid "
            f"tensor is not a tensor network. Hint: bound the ConvAC twin (op='product') or use te.rank(..., 'numeric')."
        )
    if any(nd.kind == "sum" for nd in net.live_nodes):
        raise NetworkError(
            f"mincut_bound: {net.name} has sum nodes (a mixed decomposition), which are not tensor networks. "
            f"Hint: bound each summand separately; rank is subadditive, rank(A + B) <= rank A + rank B."
        )


def _power_exponent(d: int, b: int) -> int | None:
    e = 0
    while d % b == 0:
        d //= b
        e += 1
    return e if d == 1 else None


def _capacities(dims: Sequence[int]) -> dict[int, int]:
    """Exact integer capacities: exponents of a common base when there is one, else scaled logs."""
    ds = sorted({d for d in dims if d > 1})
    if not ds:
        return {}
    for b in range(2, ds[0] + 1):
        exps = {d: _power_exponent(d, b) for d in ds}
        if all(e is not None for e in exps.values()):
            return exps  # type: ignore[return-value]
    return {d: round(1e9 * math.log(d)) for d in ds}


@dataclass(frozen=True)
class MinCutResult(Bound):
    """A minimum cut of the tensor network between ``I``'s legs and ``J``'s legs (an upper :class:`Bound`).

    Attributes
    ----------
    value : int
        Exact product of the dimensions of the cut hyper-edges: an upper bound on ``rank [A]_{I,J}``
        for *every* weight setting of this architecture (``bound`` is the same number).
    cut : tuple of HyperEdge
        The cut bonds and legs.
    source_side, sink_side : tuple of str
        Operand labels (network node ids; ``F@x3`` is the template matrix of leaf ``x3``) on each side.
    """

    side: Side = "upper"
    method: str = "mincut"
    cut: tuple[HyperEdge, ...] = ()
    source_side: tuple[str, ...] = ()
    sink_side: tuple[str, ...] = ()
    hyperedges: str = "lawler"
    network: str = ""

    @property
    def bound(self) -> int:
        """The min-cut upper bound on the separation rank (``value``)."""
        return self.value

    @property
    def log2_bound(self) -> float:
        """``log2`` of the bound: the sum of ``log2`` of the cut edges' dimensions (finite past float range)."""
        return sum(math.log2(e.dim) for e in self.cut)

    def describe_cut(self, limit: int = 8) -> str:
        """The cut's hyper-edges as text, ``label (dim d)`` each.

        Parameters
        ----------
        limit : int, optional
            How many edges to list; the rest are counted.

        Returns
        -------
        str
        """
        parts = [f"{e.label} (dim {e.dim})" for e in self.cut[:limit]]
        more = f", ... {len(self.cut) - limit} more" if len(self.cut) > limit else ""
        return ", ".join(parts) + more

    def to_dict(self) -> dict[str, Any]:
        """The :class:`Bound` fields plus the bound, the cut and both sides, for ``--json``.

        Returns
        -------
        dict
            JSON-ready; counts of ``2^53`` or more are encoded (:func:`~tensorexpr.core.numbers.encode_counts`).
        """
        from tensorexpr.core.numbers import encode_counts

        return encode_counts({
            **super().to_dict(),
            "bound": self.bound,
            "log2_bound": self.log2_bound,
            "partition": self.partition,
            "hyperedges": self.hyperedges,
            "network": self.network,
            "cut": [e.to_dict() for e in self.cut],
            "source_side": list(self.source_side),
            "sink_side": list(self.sink_side),
        })

    def __repr__(self) -> str:
        return (f"MinCutResult(bound={self.bound}, partition={self.partition}, cut={len(self.cut)} edges: "
                f"{self.describe_cut(4)}, model={self.hyperedges})")


def mincut_bound(net: Network, P: Partition, output: int = 0, hyperedges: str = "lawler",
                 solver: str = "auto", analysis: Analysis | None = None) -> MinCutResult:
    """Min-cut upper bound on ``rank [A]_{I,J}`` (Levine et al., ICLR 2018, the "min-cut" claim).

    .. math::
        \\operatorname{rank}[A]_{I,J} \\le \\min_{C \\text{ separating } I \\text{ from } J}
        \\prod_{e \\in C} \\dim(e)

    Works for product networks on trees and DAGs (overlapping networks: a reused mode is a copy hyper-edge).

    Parameters
    ----------
    net : Network
        A product network without sum nodes.
    P : Partition
    output : int
        Output channel (the root letter is sliced to size 1).
    hyperedges : {"lawler", "star"}
        ``"lawler"`` is the correct hyper-edge model; ``"star"`` (one edge per member, looser) is for comparison.
    solver : {"auto", "dp", "maxflow", "networkx"}
        ``"auto"``: exact tree DP when the hypergraph is a tree, else scipy max-flow (module docstring).
        ``"networkx"`` (and ``hyperedges="star"``) use the previous einsum-based path.
    analysis : Analysis, optional
        The network's analysis plan (:func:`~tensorexpr.analyze`): its hypergraph is built once and reused.

    Returns
    -------
    MinCutResult
        ``.bound`` (also ``.value``), the cut and the two sides.

    Raises
    ------
    NetworkError
        Sum nodes, an unknown ``hyperedges`` or ``solver``, a bad partition or output.

    References
    ----------
    Levine, Yakira, Cohen & Shashua, "Deep Learning and Quantum Entanglement", ICLR 2018.

    Examples
    --------
    >>> import tensorexpr as te
    >>> net = te.convac(te.ModeTree.line(8), M=3, widths=2, seed=0)
    >>> te.mincut_bound(net, te.Partition.odd_even(8)).bound
    16
    """
    _check_net(net)
    if hyperedges not in HYPEREDGE_MODELS:
        raise NetworkError(f"hyperedges={hyperedges!r} is unknown; expected one of {HYPEREDGE_MODELS}.")
    check_partition(P, net.n_modes, "mincut_bound", net.name)
    check_output(output, net.outputs)
    if solver not in ("auto", "dp", "maxflow", "networkx"):
        raise NetworkError(f"solver={solver!r} is unknown; expected 'auto', 'dp', 'maxflow' or 'networkx'.")
    if hyperedges == "lawler" and solver != "networkx":
        return fast_mincut(net, P, output, solver, analysis)
    import networkx as nx  # the reference solver only: imported on use (it costs 0.1 s at import)

    labels, edges = network_hypergraph(net, output)
    cap = _capacities([e.dim for e in edges])
    g = nx.DiGraph()
    g.add_node(_SRC)
    g.add_node(_SNK)
    for k in range(len(labels)):
        g.add_node(k)
    for idx, e in enumerate(edges):
        mem: list[Any] = list(e.members)
        if e.mode is not None:
            mem.append(_SRC if e.mode in P.I else _SNK)
        c = cap.get(e.dim, 0)
        if hyperedges == "lawler":
            ein, eout = ("e_in", idx), ("e_out", idx)
            g.add_edge(ein, eout, capacity=c)
            for v in mem:  # no capacity attribute = infinite in networkx
                g.add_edge(v, ein)
                g.add_edge(eout, v)
        else:
            hub = ("hub", idx)
            for v in mem:
                g.add_edge(v, hub, capacity=c)
                g.add_edge(hub, v, capacity=c)
    _, (S, T) = nx.minimum_cut(g, _SRC, _SNK)
    cut: list[HyperEdge] = []
    for idx, e in enumerate(edges):
        if hyperedges == "lawler":
            if ("e_in", idx) in S and ("e_out", idx) in T:
                cut.append(e)
        else:
            hub_src = ("hub", idx) in S
            mem = list(e.members) + ([_SRC if e.mode in P.I else _SNK] if e.mode is not None else [])
            for v in mem:
                if (v in S) != hub_src:  # one spoke per member on the other side of its hub
                    cut.append(e)
    bound = math.prod(e.dim for e in cut)
    src = tuple(labels[k] for k in range(len(labels)) if k in S)
    snk = tuple(labels[k] for k in range(len(labels)) if k in T)
    return MinCutResult(bound, partition=P.name, assumptions=("product",), cut=tuple(cut), source_side=src,
                        sink_side=snk, hyperedges=hyperedges, network=net.name,
                        details={"n_operands": len(labels), "n_hyperedges": len(edges)})


# -- hypergraph from the network's own graph (no einsum) ------------------------------------------------
def network_hypergraph(net: Network, output: int = 0) -> tuple[list[str], list[HyperEdge]]:
    """Operands and hyper-edges of the tensor network of ``net``, read from the one tensor-network form
    (:func:`tensorexpr.core.tensornet.tensor_network`).

    Operands: ``F@<leaf>`` and each weighted node (DAG nodes are unrolled per use, ``#k`` suffixes).
    Hyper-edges: each mode (dim ``T``), each leaf's representation channel (``rep(<leaf>)``, dim ``M``), each
    weighted node's input channel (``in(<node>)``); the root's output channel is sliced to one column, and
    an index of dimension 1 or with a single member (other than a mode) never separates anything, so it is
    dropped. Linear in the size of the unrolled network.

    Parameters
    ----------
    net : Network
        A product network without sum nodes.
    output : int
        The output channel.

    Returns
    -------
    labels : list of str
    edges : list of HyperEdge
        In order of first appearance; ``letter`` is the index of the tensor-network form.

    Raises
    ------
    NetworkError
        For a non-product operator, sum nodes or a bad output.
    """
    _check_net(net)
    check_output(output, net.outputs)
    tn = tensor_network(net, output, max_operands=_MAX_OPERANDS)
    labels = [op.label for op in tn.operands]
    edges = []
    for c, mem in tn.members().items():
        ix = tn.indices[c]
        dim = tn.size_dict[c]
        if ix.mode is None and (dim == 1 or len(mem) < 2):
            continue
        kind = ix.kind if ix.kind in ("mode", "rep") else "channel"
        edges.append(HyperEdge(c, dim, tuple(mem), ix.mode, ix.label, kind))
    return labels, edges


def cached_hypergraph(net: Network, output: int = 0, analysis: Analysis | None = None
                      ) -> tuple[list[str], list[HyperEdge]]:
    """:func:`network_hypergraph`, built once per (analysis, output): it does not depend on the partition.

    Parameters
    ----------
    net : Network
        A product network without sum nodes.
    output : int, optional
        The output channel.
    analysis : Analysis, optional
        Where the result is kept; a fresh one when omitted.

    Returns
    -------
    labels : list of str
        One label per operand.
    edges : list of HyperEdge
        The hyper-edges (einsum letters).

    Raises
    ------
    NetworkError
        For a non-product operator, sum nodes or a bad output.
    """
    return analysis_of(net, analysis).derived(("mincut.hypergraph", output), lambda: network_hypergraph(net, output))


def _hypertree(n_ops: int, edges: Sequence[HyperEdge]) -> Hypertree | None:
    """The :class:`~tensorexpr.core.tensornet.Hypertree` of the hypergraph; None when it is not a forest."""
    return hypertree(n_ops, [e.members for e in edges])


def cached_hypertree(net: Network, output: int = 0, analysis: Analysis | None = None) -> Hypertree | None:
    """:func:`_hypertree` of :func:`cached_hypergraph`, once per (analysis, output).

    Parameters
    ----------
    net : Network
        A product network without sum nodes.
    output : int, optional
        The output channel.
    analysis : Analysis, optional
        Where the result is kept; a fresh one when omitted.

    Returns
    -------
    Hypertree or None
        None when the incidence graph is not a forest (DAGs).
    """
    analysis = analysis_of(net, analysis)

    def build() -> Hypertree | None:
        labels, edges = cached_hypergraph(net, output, analysis)
        return _hypertree(len(labels), edges)

    return analysis.derived(("mincut.hypertree", output), build)


def tree_mincut(n_ops: int, edges: Sequence[HyperEdge], P: Partition, dims: Sequence[int] | None = None,
             tree: Hypertree | None = None) -> tuple[int, list[int], list[int]] | None:
    """Exact min-product cut on a hypertree (:func:`~tensorexpr.core.tensornet.hypertree_min_cut`, modes
    pinned to their side of ``P``); None when the incidence graph is not a forest.

    ``dims`` overrides the edges' dimensions (same structure, other capacities); ``tree`` is the
    precomputed hypertree of ``edges``. Returns ``(bound, cut edge indices, operand sides)`` with
    side 0 = source (``I``), 1 = sink.

    Parameters
    ----------
    n_ops : int
        Number of operands.
    edges : sequence of HyperEdge
        The hyper-edges.
    P : Partition
        The partition; mode edges are pinned to the side of their mode.
    dims : sequence of int, optional
        Capacities to use instead of ``e.dim``.
    tree : Hypertree, optional
        The hypertree of ``edges``, when already built.
    """
    if tree is None:
        tree = _hypertree(n_ops, edges)
        if tree is None:
            return None
    dim = [e.dim for e in edges] if dims is None else list(dims)
    I = P.I
    forced = [None if e.mode is None else (0 if e.mode in I else 1) for e in edges]
    return hypertree_min_cut(tree, dim, forced)


def _prime_factors(d: int) -> dict[int, int]:
    out: dict[int, int] = {}
    q = 2
    while q * q <= d:
        while d % q == 0:
            out[q] = out.get(q, 0) + 1
            d //= q
        q += 1
    if d > 1:
        out[d] = out.get(d, 0) + 1
    return out


def _lawler_maxflow(n_ops: int, edges: list[HyperEdge], P: Partition, caps: list[int]) -> tuple[list[int], list[int]]:
    """Min cut of Lawler's digraph with integer ``caps`` per hyper-edge: (cut edge indices, operand sides)."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_flow

    S, Tn = n_ops, n_ops + 1
    base = n_ops + 2
    inf = sum(caps) + 1
    if inf >= 2**31 - 1:
        raise NetworkError(f"min-cut capacities sum to {inf}, beyond int32. Hint: this network is too large for "
                           f"the max-flow solver's integer capacities.")
    rows: list[int] = []
    cols: list[int] = []
    data: list[int] = []
    for j, e in enumerate(edges):
        ein, eout = base + 2 * j, base + 2 * j + 1
        rows.append(ein); cols.append(eout); data.append(caps[j])
        mem = list(e.members)
        if e.mode is not None:
            mem.append(S if e.mode in P.I else Tn)
        for v in mem:
            rows.append(v); cols.append(ein); data.append(inf)
            rows.append(eout); cols.append(v); data.append(inf)
    n = base + 2 * len(edges)
    G = csr_matrix((np.asarray(data, dtype=np.int32), (np.asarray(rows), np.asarray(cols))), shape=(n, n))
    G.sum_duplicates()
    res = maximum_flow(G, S, Tn)
    F = res.flow if hasattr(res, "flow") else res.residual
    R = (G - F).tocsr()
    R.data[R.data < 0] = 0
    R.eliminate_zeros()
    # source side: reachable from S in the residual graph (reverse arcs with positive flow count too)
    back = F.T.tocsr()
    back.data[back.data < 0] = 0
    back.eliminate_zeros()
    reach = np.zeros(n, dtype=bool)
    reach[S] = True
    todo = [S]
    Rind, Rptr = R.indices, R.indptr
    Bind, Bptr = back.indices, back.indptr
    while todo:
        u = todo.pop()
        for w in list(Rind[Rptr[u]:Rptr[u + 1]]) + list(Bind[Bptr[u]:Bptr[u + 1]]):
            if not reach[w]:
                reach[w] = True
                todo.append(w)
    cut = [j for j in range(len(edges)) if reach[base + 2 * j] and not reach[base + 2 * j + 1]]
    side = [0 if reach[v] else 1 for v in range(n_ops)]
    return cut, side


def _maxflow_exact(n_ops: int, edges: list[HyperEdge], P: Partition) -> tuple[list[int], list[int], bool]:
    """Lawler max-flow with exact integer capacities where provable (see the module docstring)."""
    from fractions import Fraction

    dims = [e.dim for e in edges]
    fac = {d: _prime_factors(d) for d in set(dims)}
    primes = sorted({q for f in fac.values() for q in f})
    if len(primes) <= 1:
        cut, side = _lawler_maxflow(n_ops, edges, P, [sum(fac[d].values()) for d in dims])
        return cut, side, True
    if len(primes) == 2:
        p, q = primes
        lam = math.log(q) / math.log(p)
        def run(fr: Fraction) -> tuple[list[int], list[int], tuple[int, int]]:
            caps = [fac[d].get(p, 0) * fr.denominator + fac[d].get(q, 0) * fr.numerator for d in dims]
            cut, side = _lawler_maxflow(n_ops, edges, P, caps)
            vec = (sum(fac[dims[j]].get(p, 0) for j in cut), sum(fac[dims[j]].get(q, 0) for j in cut))
            return cut, side, vec
        for den in (64, 4096, 1 << 16):
            lo, hi = Fraction(math.floor(lam * den) - 1, den), Fraction(math.ceil(lam * den) + 1, den)
            c1, s1, v1 = run(lo)
            c2, s2, v2 = run(hi)
            if v1 == v2:
                return c1, s1, True
        best = min(((c1, s1, v1), (c2, s2, v2)), key=lambda t: p ** t[2][0] * q ** t[2][1])
        return best[0], best[1], False
    logs = [math.log(d) for d in dims]
    K = max(1, int((2**30) / (sum(logs) + 1)))
    cut, side = _lawler_maxflow(n_ops, edges, P, [max(1, round(K * x)) for x in logs])
    return cut, side, False


def fast_mincut(net: Network, P: Partition, output: int = 0, solver: str = "auto",
                analysis: Analysis | None = None) -> MinCutResult:
    """Min-cut bound on the network's own hypergraph: exact tree DP, or scipy max-flow on DAGs.

    Parameters
    ----------
    net : Network
        A product network without sum nodes (trees and DAGs).
    P : Partition
        The partition ``(I, J)``.
    output : int, optional
        The output channel.
    solver : str, optional
        ``"auto"`` (tree DP when the hypergraph is a tree, else max-flow), ``"dp"`` (trees only) or ``"maxflow"``.
    analysis : Analysis, optional
        The network's analysis plan, reused across partitions.

    Returns
    -------
    MinCutResult
        The upper bound ``prod_{e in cut} dim(e)``, the cut and both sides.

    Raises
    ------
    NetworkError
        When ``P`` does not fit the network, for a non-product network or sum nodes, or ``solver="dp"`` on a DAG.

    References
    ----------
    Y. Levine, D. Yakira, N. Cohen and A. Shashua, "Deep Learning and Quantum Entanglement: Fundamental
    Connections with Implications to Network Design", ICLR 2018.
    """
    import time

    t0 = time.perf_counter()
    check_partition(P, net.n_modes, "mincut_bound", net.name, NetworkError)
    analysis = analysis_of(net, analysis)
    labels, edges = cached_hypergraph(net, output, analysis)
    res = None
    if solver in ("auto", "dp"):
        tree = cached_hypertree(net, output, analysis)
        res = None if tree is None else tree_mincut(len(labels), edges, P, tree=tree)
        if res is None and solver == "dp":
            raise NetworkError(f"solver='dp' needs a tree network; {net.name} has shared modes or reused nodes. "
                               f"Hint: solver='maxflow'.")
    if res is not None:
        _, cut_idx, side = res
        used, exact = "dp", True
    else:
        cut_idx, side, exact = _maxflow_exact(len(labels), edges, P)
        used = "maxflow"
    cut = tuple(edges[j] for j in cut_idx)
    bound = math.prod(e.dim for e in cut)
    src = tuple(labels[k] for k in range(len(labels)) if side[k] == 0)
    snk = tuple(labels[k] for k in range(len(labels)) if side[k] == 1)
    return MinCutResult(bound, partition=P.name, assumptions=("product",), cut=cut, source_side=src, sink_side=snk,
                        hyperedges="lawler", network=net.name,
                        details={"n_operands": len(labels), "n_hyperedges": len(edges), "solver": used,
                                 "exact_minimum": exact, "seconds": round(time.perf_counter() - t0, 4)})
