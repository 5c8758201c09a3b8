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
the cut; capacities fed to the max-flow are exact integers (exponents when every dimension is a power of one
base, else ``round(1e9 * log dim)``, so the cut is minimal up to ties within 1e-9 in log space).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import networkx as nx

from ..errors import NetworkError
from ..network import Network, Node
from ..partitions import Partition
from ..validation import check_output, check_partition
from .result import Bound, Side

__all__ = ["mincut_bound", "MinCutResult", "HyperEdge", "tensor_hypergraph", "HYPEREDGE_MODELS"]

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

    def to_dict(self) -> dict[str, Any]:
        return {"letter": self.letter, "dim": self.dim, "members": list(self.members), "mode": self.mode,
                "label": self.label}


def _operand_labels(net: Network) -> list[str]:
    """Network node id of every operand of :func:`einsum_network`, in its order (``F@x3`` for templates).

    Mirrors the traversal of :func:`tensorexpr.grid.einsum_network`; DAG nodes unrolled k times get
    ``#k`` suffixes.
    """
    labels: list[str] = []
    seen: dict[str, int] = {}

    def tag(base: str) -> str:
        k = seen.get(base, 0)
        seen[base] = k + 1
        return base if k == 0 else f"{base}#{k}"

    def build(nd: Node) -> None:
        if nd.kind == "leaf":
            labels.append(tag(f"F@{nd.id}"))
            if nd.weight is not None:
                labels.append(tag(nd.id))
            return
        if nd.weight is not None:
            labels.append(tag(nd.id))
        for c in nd.children:
            build(net.node(c))

    build(net.node(net.output))
    return labels


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


def tensor_hypergraph(net: Network, output: int = 0) -> tuple[list[str], list[HyperEdge]]:
    """The tensor network of ``net`` as ``(operand labels, hyper-edges)`` (letters of dimension 1 dropped)."""
    from ..grid import einsum_network

    _check_net(net)
    eq, ops = einsum_network(net, output)
    terms = eq.split("->")[0].split(",")
    labels = _operand_labels(net)
    if len(labels) != len(terms):  # pragma: no cover - guards the mirrored traversal
        raise NetworkError(f"internal: {len(labels)} operand labels for {len(terms)} einsum terms.")
    import opt_einsum as oe

    mode_of = {oe.get_symbol(m): m for m in range(net.n_modes)}
    members: dict[str, list[int]] = {}
    dims: dict[str, int] = {}
    for k, (term, op) in enumerate(zip(terms, ops)):
        for ch, d in zip(term, op.shape):
            members.setdefault(ch, []).append(k)
            dims[ch] = int(d)
    edges = []
    for ch, mem in members.items():
        mode = mode_of.get(ch)
        if mode is None and (dims[ch] == 1 or len(mem) < 2):
            continue  # a summed dangling letter or a size-1 bond never separates anything
        if mode is not None:
            lab = f"mode {mode}"
        elif labels[mem[0]].startswith("F@"):
            lab = f"rep({labels[mem[0]][2:]})"  # leaf 1x1 conv input: the M representation channels
        else:
            lab = f"in({labels[mem[0]]})"  # input channel of a pooling node (shared by its children)
        edges.append(HyperEdge(ch, dims[ch], tuple(mem), mode, lab))
    return labels, edges


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
        return self.value

    @property
    def log2_bound(self) -> float:
        return sum(math.log2(e.dim) for e in self.cut)

    def describe_cut(self, limit: int = 8) -> str:
        parts = [f"{e.label} (dim {e.dim})" for e in self.cut[:limit]]
        more = f", ... {len(self.cut) - limit} more" if len(self.cut) > limit else ""
        return ", ".join(parts) + more

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "bound": self.bound,
            "log2_bound": self.log2_bound,
            "partition": self.partition,
            "hyperedges": self.hyperedges,
            "network": self.network,
            "cut": [e.to_dict() for e in self.cut],
            "source_side": list(self.source_side),
            "sink_side": list(self.sink_side),
        }

    def __repr__(self) -> str:
        return (f"MinCutResult(bound={self.bound}, partition={self.partition}, cut={len(self.cut)} edges: "
                f"{self.describe_cut(4)}, model={self.hyperedges})")


def mincut_bound(net: Network, P: Partition, output: int = 0, hyperedges: str = "lawler") -> MinCutResult:
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
    labels, edges = tensor_hypergraph(net, output)
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
