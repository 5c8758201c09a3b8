"""The one tensor-network form of a product network: ``(inputs, output, size_dict)`` plus what each operand and
index is (docs/design.md, "One network form").

Grid tensors (:func:`tensorexpr.evaluate.grid.einsum_network`), contraction plans and the min-cut hypergraph
(:func:`tensorexpr.bounds.mincut.network_hypergraph`) all read this form, derived by one traversal of the
network, and :func:`hypertree_min_cut` is the one dynamic program over its hypertree (the exact product
min-cut of the bounds and the smallest-bond split of the contraction plans). The model (docs/conventions.md): a leaf is the template matrix ``F`` on its mode's index, then its
weight; a pool node's input channel is one index shared by its weight's row and every child's output (a
hyper-edge); a mode read by several leaves is one index shared by their ``F`` operands (a copy hyper-edge);
a node feeding several parents is unrolled once per use (operand labels get ``#k`` suffixes). Mode ``m`` is
index ``opt_einsum.get_symbol(m)``; the root's output channel is index ``get_symbol(N)``.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Literal, Mapping, Sequence

import numpy as np

from tensorexpr.core.errors import BudgetError, NetworkError
from tensorexpr.core.network import Network, Node

__all__ = ["TensorNetwork", "Operand", "Index", "tensor_network", "MAX_UNROLLED_OPERANDS", "Hypertree", "hypertree",
           "hypertree_min_cut"]

#: Unrolling a DAG (overlapping windows) into operands is refused beyond this many operands.
MAX_UNROLLED_OPERANDS = 4096


def _symbol(i: int) -> str:
    """opt_einsum's ``get_symbol`` (kept here so that core does not import opt_einsum at module import)."""
    import opt_einsum as oe

    return oe.get_symbol(i)


@dataclass(frozen=True)
class Operand:
    """One tensor of the network: the templates of a leaf, or a node's weight.

    Attributes
    ----------
    label : str
        ``F@<leaf id>`` for templates, the node id for a weight; ``#k`` for the k-th extra use of a DAG node.
    node : str
        The network node it belongs to.
    role : {"templates", "weight"}
    """

    label: str
    node: str
    role: Literal["templates", "weight"]


@dataclass(frozen=True)
class Index:
    """What one index (einsum letter) of the network is.

    Attributes
    ----------
    kind : {"mode", "rep", "channel", "output"}
        An input mode, a leaf's representation channel (between ``F`` and the leaf weight), a pool node's
        input channel, or the root's output channel.
    mode : int or None
        The mode, for ``kind == "mode"``.
    label : str
        ``mode m``, ``rep(<leaf>)``, ``in(<node>)`` or ``out``.
    """

    kind: Literal["mode", "rep", "channel", "output"]
    mode: int | None
    label: str


@dataclass(frozen=True, eq=False)
class TensorNetwork:
    """A product network as a tensor network, in opt_einsum's form.

    Attributes
    ----------
    inputs : tuple of str
        One index string per operand.
    output : str
        The output indices: the modes ``0..N-1`` (preceded by the output channel when ``output=None``).
    size_dict : mapping of str to int
        The dimension of every index.
    operands : tuple of Operand
        Which tensor each input is.
    arrays : tuple of numpy.ndarray
        The operands' values (the network's own frozen arrays; the root's weight sliced to one column for
        an integer ``output``).
    indices : mapping of str to Index
        What each index is, in order of first appearance.
    """

    inputs: tuple[str, ...]
    output: str
    size_dict: Mapping[str, int]
    operands: tuple[Operand, ...]
    arrays: tuple[np.ndarray, ...]
    indices: Mapping[str, Index]

    @property
    def equation(self) -> str:
        """The einsum equation ``"ab,bc,...->mnop"``."""
        return ",".join(self.inputs) + "->" + self.output

    def members(self) -> dict[str, list[int]]:
        """The operands holding each index, indices in order of first appearance.

        Returns
        -------
        dict of str to list of int
            Index -> positions in :attr:`inputs` of the operands holding it (one entry per occurrence, in order).
        """
        out: dict[str, list[int]] = {c: [] for c in self.indices}
        for k, term in enumerate(self.inputs):
            for c in term:
                out[c].append(k)
        return out


def tensor_network(net: Network, output: int | None = 0, max_operands: int = MAX_UNROLLED_OPERANDS
                   ) -> TensorNetwork:
    """The tensor-network form of a product network (see the module docstring).

    Parameters
    ----------
    net : Network
        A product (multilinear) network without sum nodes.
    output : int or None
        An output channel (the network is sliced to it: :meth:`Network.output_slice`), or None to keep the
        channel as the leading output index.
    max_operands : int
        Refuse to unroll a DAG into more operands than this.

    Returns
    -------
    TensorNetwork

    Raises
    ------
    NetworkError
        For a non-product operator or sum nodes (mixtures are sums of tensor networks, not one).
    BudgetError
        When unrolling a DAG would exceed ``max_operands``.
    """
    if not net.op.multilinear:
        raise NetworkError(f"A tensor network needs the product operator; {net.name} uses {net.op.name!r}. "
                           f"Hint: the ReLU networks are evaluated bottom-up (grid_tensor(method='bottom-up')).")
    if any(nd.kind == "sum" for nd in net.live_nodes):
        raise NetworkError(f"{net.name} has sum nodes (a mixed decomposition), which no single tensor network "
                           f"expresses; use the bottom-up evaluator, or bound each summand.")
    if output is not None:
        net = net.output_slice(output)
    N = net.n_modes
    T = net.n_templates
    sym = [_symbol(i) for i in range(N + 1)]
    inputs: list[str] = []
    operands: list[Operand] = []
    arrays: list[np.ndarray] = []
    sizes: dict[str, int] = {}
    indices: dict[str, Index] = {}
    uses: dict[str, int] = {}
    fresh = [N + 1]

    def new_index(kind: Literal["mode", "rep", "channel", "output"], dim: int, label: str,
                  mode: int | None = None) -> str:
        c = _symbol(fresh[0])
        fresh[0] += 1
        sizes[c] = int(dim)
        indices[c] = Index(kind, mode, label)
        return c

    def mode_index(m: int) -> str:
        c = sym[m]
        if c not in indices:
            sizes[c] = T
            indices[c] = Index("mode", m, f"mode {m}")
        return c

    def add(term: str, node: str, role: Literal["templates", "weight"], base: str, arr: np.ndarray) -> None:
        if len(inputs) >= max_operands:
            raise BudgetError(
                f"Unrolling the DAG {net.name} into a tensor network exceeds {max_operands} operands. Hint: use "
                f"the bottom-up evaluator (grid_tensor(method='bottom-up')); bounds read the network's graph."
            )
        k = uses.get(base, 0)
        uses[base] = k + 1
        inputs.append(term)
        operands.append(Operand(base if k == 0 else f"{base}#{k}", node, role))
        arrays.append(arr)

    root = net.node(net.output)
    root_out = sym[N]
    root_dim = root.weight.shape[1] if root.weight is not None else net.widths[root.id]
    sizes[root_out] = int(root_dim)
    indices[root_out] = Index("output", None, "out")
    # iterative preorder (weight before children, children in order): no recursion limit at 256x256
    stack: list[tuple[Node, str]] = [(root, root_out)]
    while stack:
        nd, out = stack.pop()
        if nd.kind == "leaf":
            m = mode_index(nd.mode)  # type: ignore[arg-type]
            if nd.weight is None:
                add(m + out, nd.id, "templates", f"F@{nd.id}", net.F)
            else:
                mu = new_index("rep", net.M, f"rep({nd.id})")
                add(m + mu, nd.id, "templates", f"F@{nd.id}", net.F)
                add(mu + out, nd.id, "weight", nd.id, nd.weight)
            continue
        if nd.weight is None:  # identity pool: the children share the parent's index directly
            for c in reversed(nd.children):
                stack.append((net.node(c), out))
            continue
        a = new_index("channel", int(nd.weight.shape[0]), f"in({nd.id})")
        add(a + out, nd.id, "weight", nd.id, nd.weight)
        for c in reversed(nd.children):
            stack.append((net.node(c), a))
    out_letters = "".join(sym[m] for m in range(N))
    if output is None:
        out_letters = root_out + out_letters
    ordered = {c: indices[c] for c in dict.fromkeys(c for t in inputs for c in t)}
    return TensorNetwork(tuple(inputs), out_letters, MappingProxyType(dict(sizes)), tuple(operands), tuple(arrays),
                         MappingProxyType(ordered))


# -- the one hypertree dynamic program ------------------------------------------------------------------------
@dataclass(frozen=True)
class Hypertree:
    """The BFS structure of a hyper-forest's operand-index incidence graph (partition-free).

    Attributes
    ----------
    order : tuple of (int, int)
        ``(0, operand)`` or ``(1, edge)``, parents before children.
    par_v : tuple of int
        The parent operand of each edge.
    kids_v : tuple of tuple of int
        The child operands of each edge.
    kids_e : tuple of tuple of int
        The child edges of each operand.
    roots : tuple of int
        One operand per connected component.
    """

    order: tuple[tuple[int, int], ...]
    par_v: tuple[int, ...]
    kids_v: tuple[tuple[int, ...], ...]
    kids_e: tuple[tuple[int, ...], ...]
    roots: tuple[int, ...]


def hypertree(n_ops: int, members: Sequence[Sequence[int]]) -> Hypertree | None:
    """The :class:`Hypertree` of operands ``0..n_ops-1`` and hyper-edges ``members[j]``; None unless a forest.

    Parameters
    ----------
    n_ops : int
    members : sequence of sequence of int
        The operands of each hyper-edge (an operand listed twice in one edge is a cycle).

    Returns
    -------
    Hypertree or None
    """
    inc: list[list[int]] = [[] for _ in range(n_ops)]
    n_inc = 0
    for j, mem in enumerate(members):
        for v in mem:
            inc[v].append(j)
        n_inc += len(mem)
    par_e = [-1] * n_ops
    par_v = [-1] * len(members)
    order: list[tuple[int, int]] = []
    roots: list[int] = []
    seen_v = [False] * n_ops
    seen_e = [False] * len(members)
    for r in range(n_ops):
        if seen_v[r]:
            continue
        seen_v[r] = True
        roots.append(r)
        i = len(order)
        order.append((0, r))
        while i < len(order):
            kind, x = order[i]
            i += 1
            if kind == 0:
                for j in inc[x]:
                    if not seen_e[j]:
                        seen_e[j] = True
                        par_v[j] = x
                        order.append((1, j))
            else:
                for v in members[x]:
                    if not seen_v[v]:
                        seen_v[v] = True
                        par_e[v] = x
                        order.append((0, v))
    if n_inc != n_ops + len(members) - len(roots):  # a forest has |incidences| = |V| + |E| - components
        return None
    kids_v: list[list[int]] = [[] for _ in range(len(members))]
    for v in range(n_ops):
        if par_e[v] >= 0:
            kids_v[par_e[v]].append(v)
    kids_e: list[list[int]] = [[] for _ in range(n_ops)]
    for j in range(len(members)):
        kids_e[par_v[j]].append(j)
    return Hypertree(tuple(order), tuple(par_v), tuple(map(tuple, kids_v)), tuple(map(tuple, kids_e)),
                     tuple(roots))


def hypertree_min_cut(tree: Hypertree, costs: Sequence[Any], forced: Sequence[int | None],
                      mul: Callable[[Any, Any], Any] = operator.mul, one: Any = 1) -> tuple[Any, list[int], list[int]]:
    """The cheapest two-colouring of a hyper-forest's operands: exact dynamic program, linear in its size.

    An edge is *cut* when its operands are not all on one side; the cost of a colouring is the ``mul``-product
    of the costs of its cut edges, and an edge forced to side ``s`` counts as cut unless it and all its
    operands lie on ``s`` (a mode pinned to its side of a partition, an output index pinned to its half).

    .. math::
        \\min_{\\sigma: V \\to \\{0, 1\\}} \\prod_{e \\text{ cut by } \\sigma} c_e

    Parameters
    ----------
    tree : Hypertree
    costs : sequence
        Per edge: an int dimension (``mul`` the product: the exact min-cut bound of Levine et al., ICLR 2018),
        or a float log-size with ``mul`` the sum and ``one = 0.0`` (``inf`` for an edge that must not be cut).
    forced : sequence of int or None
        Per edge: the side it is pinned to, or None.
    mul, one :
        The cost monoid.

    Returns
    -------
    total :
        The minimum cost.
    cut : list of int
        The cut edges.
    side : list of int
        The side (0 or 1) of every operand.
    """
    n_ops, n_e = len(tree.kids_e), len(tree.kids_v)
    kids_v, kids_e = tree.kids_v, tree.kids_e
    fv0, fv1 = [one] * n_ops, [one] * n_ops  # best cost of the subtree below operand v, given v's side
    ge0, ge1 = [one] * n_e, [one] * n_e  # best cost below edge e, given its parent operand's side
    ch0, ch1 = [0] * n_e, [0] * n_e  # 0/1 = uncut on that side, 2 = cut
    for kind, x in reversed(tree.order):
        if kind == 0:
            a = b = one
            for j in kids_e[x]:
                a, b = mul(a, ge0[j]), mul(b, ge1[j])
            fv0[x], fv1[x] = a, b
            continue
        s0 = s1 = one
        free = costs[x]
        for v in kids_v[x]:
            a, b = fv0[v], fv1[v]
            s0, s1 = mul(s0, a), mul(s1, b)
            free = mul(free, a if a <= b else b)
        f = forced[x]
        if f != 1 and s0 <= free:
            ge0[x], ch0[x] = s0, 0
        else:
            ge0[x], ch0[x] = free, 2
        if f != 0 and s1 <= free:
            ge1[x], ch1[x] = s1, 1
        else:
            ge1[x], ch1[x] = free, 2
    side = [0] * n_ops
    total = one
    for r in tree.roots:
        side[r] = 0 if fv0[r] <= fv1[r] else 1
        total = mul(total, fv0[r] if fv0[r] <= fv1[r] else fv1[r])
    cut: list[int] = []
    for kind, x in tree.order:
        if kind == 0:
            continue
        ch = (ch0 if side[tree.par_v[x]] == 0 else ch1)[x]
        if ch == 2:
            cut.append(x)
            for v in kids_v[x]:
                side[v] = 0 if fv0[v] <= fv1[v] else 1
        else:
            for v in kids_v[x]:
                side[v] = ch
    return total, cut, side
