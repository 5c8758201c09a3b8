"""The one tensor-network form of a product network: ``(inputs, output, size_dict)`` plus what each operand and
index is (docs/design.md, "One network form").

Grid tensors (:func:`tensorexpr.evaluate.grid.einsum_network`), contraction plans and the min-cut hypergraph
(:func:`tensorexpr.bounds.mincut.network_hypergraph`) all read this form, derived by one traversal of the
network. The model (docs/conventions.md): a leaf is the template matrix ``F`` on its mode's index, then its
weight; a pool node's input channel is one index shared by its weight's row and every child's output (a
hyper-edge); a mode read by several leaves is one index shared by their ``F`` operands (a copy hyper-edge);
a node feeding several parents is unrolled once per use (operand labels get ``#k`` suffixes). Mode ``m`` is
index ``opt_einsum.get_symbol(m)``; the root's output channel is index ``get_symbol(N)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, Mapping

import numpy as np

from tensorexpr.core.errors import BudgetError, NetworkError
from tensorexpr.core.network import Network, Node

__all__ = ["TensorNetwork", "Operand", "Index", "tensor_network", "MAX_UNROLLED_OPERANDS"]

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
        """The operands holding each index, indices in order of first appearance."""
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
