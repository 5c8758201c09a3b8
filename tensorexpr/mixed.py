"""Mixed tensor decompositions (Cohen, Tamari & Shashua, ICLR 2018) as a constructor of :class:`Network`.

Two mode trees ``T_a`` and ``T_b`` over the same modes (e.g. two dilated 1-D networks with different
dilation orders) are evaluated side by side. At every *mixture node* ``m`` (a mode set that is a node of
both trees) the two tensors are summed,

.. math::
    \\phi(m) = \\phi_a(m) + \\phi_b(m),

by a ``sum`` node, and that sum feeds the parent of ``m`` in **both** trees (the interconnection). The two
root outputs are summed. This is the construction of DESIGN.md section 2; the paper's exact theorem is
[recalled] (THEORY.md), and its text was not available to check the construction against, so treat the
summation convention as ours. With no mixture nodes the network is exactly the sum of the two networks.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Mapping

import numpy as np

from .errors import GeometryError, NetworkError
from .modetree import ModeTree
from .params import FIXED
from .network import Network, Node, _draw, node_id, resolve_widths

__all__ = ["mixed", "common_nodes"]


def common_nodes(tree_a: ModeTree, tree_b: ModeTree, include_leaves: bool = False) -> tuple[frozenset, ...]:
    """Nodes (mode sets) present in both trees, excluding the root (and leaves unless asked), in tree-a order."""
    b = set(tree_b.nodes)
    return tuple(
        n for n in tree_a.nodes
        if n in b and n != tree_a.root and (include_leaves or not tree_a.is_leaf(n))
    )


def _fmt(node: frozenset) -> str:
    return "{" + ",".join(map(str, sorted(node))) + "}"


def mixed(
    tree_a: ModeTree,
    tree_b: ModeTree,
    mixture_nodes: Iterable[Iterable[int]],
    M: int,
    widths: Any = None,
    outputs: int = 1,
    seed: int | None = None,
    integer: bool = False,
    widths_b: Any = None,
    weights: tuple[Mapping[frozenset, Any], Mapping[frozenset, Any]] | None = None,
    F: Any = None,
    int_range: int = 1000,
) -> Network:
    """A mixed decomposition of two ConvACs on ``tree_a`` and ``tree_b`` joined at ``mixture_nodes``.

    .. math::
        A = A_a + A_b, \\quad \\text{where at each mixture node } m:\\;
        \\phi_a(m), \\phi_b(m) \\leftarrow \\phi_a(m) + \\phi_b(m)

    Cohen, Tamari & Shashua, "Boosting Dilated Convolutional Networks with Mixed Tensor Decompositions",
    ICLR 2018.

    Parameters
    ----------
    tree_a, tree_b : ModeTree
        Over the same modes ``0..N-1``.
    mixture_nodes : iterable of mode sets
        Each must be a node of both trees (a leaf or an internal node, not the root).
    widths : int, sequence or dict
        Widths of tree a (see :func:`tensorexpr.network.resolve_widths`); ``widths_b`` defaults to it. The
        two trees must give a mixture node the same width.
    weights : (dict, dict), optional
        Explicit weights per tree node (as for :func:`tensorexpr.hierarchical`) instead of random ones.
    integer : bool
        Integer weights (exact ranks apply).

    Examples
    --------
    >>> a, b = ModeTree.dilated(8, [1, 2, 4]), ModeTree.dilated(8, [2, 1, 4])
    >>> net = mixed(a, b, [{0, 1, 2, 3}], M=2, widths=2, seed=0)
    >>> net.grid_tensor().shape
    (2, 2, 2, 2, 2, 2, 2, 2)
    """
    for name, t in (("tree_a", tree_a), ("tree_b", tree_b)):
        if not isinstance(t, ModeTree):
            raise NetworkError(f"{name} must be a ModeTree, got {type(t).__name__}. Hint: te.ModeTree.dilated(n, order).")
    if tree_a.n_modes != tree_b.n_modes:
        raise GeometryError(f"tree_a has {tree_a.n_modes} modes but tree_b has {tree_b.n_modes}; mixing needs the same modes.")
    if isinstance(M, bool) or not isinstance(M, (int, np.integer)) or M < 1:
        raise NetworkError(f"M (number of representation functions) must be an integer >= 1, got {M!r}.")
    if isinstance(mixture_nodes, (str, bytes)):
        raise NetworkError(f"mixture_nodes must be a list of mode sets, got {mixture_nodes!r}.")
    common = common_nodes(tree_a, tree_b, include_leaves=True)
    mix: list[frozenset] = []
    for raw in mixture_nodes:
        try:
            node = frozenset(int(m) for m in raw)
        except TypeError:
            raise NetworkError(f"A mixture node must be a set of modes, got {raw!r}.") from None
        if node not in common:
            internal = [_fmt(n) for n in common if len(n) > 1]
            raise GeometryError(
                f"Mixture node {_fmt(node)} is not a node of both trees ({tree_a.name}, {tree_b.name}). "
                f"Common non-root nodes: {internal or 'none besides the leaves'}"
                f"{' (and the leaves)' if internal else ''}. Hint: te.mixed needs nodes present in both trees."
            )
        mix.append(node)
    mixset = set(mix)
    if weights is None:
        wa_w = resolve_widths(tree_a, widths, outputs)
        wb_w = resolve_widths(tree_b, widths if widths_b is None else widths_b, outputs)
        rng = np.random.default_rng(seed)
        wts: list[dict[frozenset, np.ndarray]] = []
        for tree, ww in ((tree_a, wa_w), (tree_b, wb_w)):
            d = {}
            for n in tree.nodes:
                r_in = M if tree.is_leaf(n) else ww[tree.children(n)[0]]
                d[n] = _draw(rng, (r_in, ww[n]), integer, int_range)
            wts.append(d)
    else:
        wts = [dict(weights[0]), dict(weights[1])]
    # widths at mixture nodes must agree
    for m in mix:
        ra, rb = np.shape(wts[0][m])[1], np.shape(wts[1][m])[1]
        if ra != rb:
            raise NetworkError(
                f"Mixture node {_fmt(m)} has width {ra} in tree_a but {rb} in tree_b; the sum needs equal widths. "
                f"Hint: pass widths_b so both trees give that node the same width."
            )
    # emit nodes: parents have strictly larger mode sets, so sorting by size is a topological order
    items = [(len(n), 0, "a", n) for n in tree_a.nodes] + [(len(n), 0, "b", n) for n in tree_b.nodes]
    items += [(len(m), 1, "mix", m) for m in mix]
    items.sort(key=lambda t: (t[0], t[1], t[2], sorted(t[3])))
    trees = {"a": tree_a, "b": tree_b}

    def ref(tag: str, n: frozenset) -> str:
        return node_id(n, "mix.") if n in mixset else node_id(n, f"{tag}.")

    nodes: list[Node] = []
    for _, _, tag, n in items:
        if tag == "mix":
            nodes.append(Node(node_id(n, "mix."), "sum", (node_id(n, "a."), node_id(n, "b."))))
            continue
        tree = trees[tag]
        W = wts[0 if tag == "a" else 1][n]
        if tree.is_leaf(n):
            nodes.append(Node(node_id(n, f"{tag}."), "leaf", (), W, mode=next(iter(n))))
        else:
            nodes.append(Node(node_id(n, f"{tag}."), "pool", tuple(ref(tag, c) for c in tree.children(n)), W))
    nodes.append(Node("out.sum", "sum", (node_id(tree_a.root, "a."), node_id(tree_b.root, "b."))))
    # an identity map on top keeps one weighted output node, so per-output slicing works as for any network
    r_out = np.shape(wts[0][tree_a.root])[1]
    nodes.append(Node("out", "linear", ("out.sum",), np.eye(r_out, dtype=np.int64), param=FIXED))
    mixtxt = ",".join(_fmt(m) for m in mix) or "none"
    net = Network(tuple(nodes), "out", int(M), "product", F, integer, None, {},
                  name=f"mixed({tree_a.name} + {tree_b.name} @ {mixtxt})")
    return replace(net, meta={"mixture_nodes": tuple(mix), "seed": seed, "widths": widths,
                              "weights": (wts[0], wts[1])})
