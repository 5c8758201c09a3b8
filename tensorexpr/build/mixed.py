"""Mixed tensor decompositions (Cohen, Tamari & Shashua, ICLR 2018, eq. 4) as a constructor of :class:`Network`.

Two mode trees ``T`` and ``Tbar`` over the same modes (e.g. two dilated 1-D networks with different dilation
orders) run side by side, in inclusion order, through *mixture nodes* ``mix(T, Tbar)`` (interior nodes of
both trees, not the root). Two conventions:

``convention="swap"`` (default, the paper's eq. 4)
    Both trees are tree decompositions (eq. 3, :func:`tensorexpr.tree_decomposition`) of size ``r`` on the
    same discretizers. At each mixture node ``mu`` half the channels change sides,

    .. math::
        \\phi^{\\mu,\\gamma} \\leftrightarrow \\bar\\phi^{\\mu,\\gamma} \\quad (\\gamma < r/2),

    and the output is ``A = phi^{[N]} + phibar^{[N]}``. In the one network form the swap is four ``linear``
    nodes with FIXED 0/1 diagonal weights and two ``sum`` nodes per mixture node.

``convention="sum"`` (the project's earlier convention, kept as an explicit option)
    Both trees are ConvACs (:func:`tensorexpr.convac` nodes: one weight after the product), and at each
    mixture node the two tensors are summed, ``phi(m) = phi_a(m) + phi_b(m)``, the sum feeding the parent
    of ``m`` in both trees; the two roots are summed. Mixture nodes may be leaves here.

With no mixture nodes both conventions give the plain sum of the two networks (docs/theory.md, "Mixed
decompositions and interconnectivity").
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Mapping

import numpy as np

from tensorexpr.build.dilated import check_int, resolve_F, edge_id, tree_decomposition
from tensorexpr.core.errors import GeometryError, NetworkError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.core.operators import Operator, get_operator
from tensorexpr.core.params import FIXED
from tensorexpr.core.network import Network, Node, node_id
from tensorexpr.build.convac import draw_weight, resolve_widths

__all__ = ["mixed", "common_nodes", "MIXED_CONVENTIONS", "swap_ids"]

#: the conventions of :func:`mixed`
MIXED_CONVENTIONS = ("swap", "sum")


def common_nodes(tree_a: ModeTree, tree_b: ModeTree, include_leaves: bool = False) -> tuple[frozenset, ...]:
    """Nodes (mode sets) present in both trees, excluding the root (and leaves unless asked), in tree-a order.

    Parameters
    ----------
    tree_a, tree_b : ModeTree
        Two trees over the same modes.
    include_leaves : bool, optional
        Keep the leaves too.

    Returns
    -------
    tuple of frozenset
    """
    b = set(tree_b.nodes)
    return tuple(
        n for n in tree_a.nodes
        if n in b and n != tree_a.root and (include_leaves or not tree_a.is_leaf(n))
    )


def _fmt(node: frozenset) -> str:
    return "{" + ",".join(map(str, sorted(node))) + "}"


def swap_ids(node: frozenset) -> tuple[str, str]:
    """Ids of the two post-swap values at mixture node ``node`` (what tree a and tree b read above it).

    Parameters
    ----------
    node : frozenset of int
        The mixture node.

    Returns
    -------
    tuple of (str, str)
        ``(id read by tree a, id read by tree b)``.
    """
    return node_id(node, "mix.a."), node_id(node, "mix.b.")


def check_mixture_nodes(tree_a: ModeTree, tree_b: ModeTree, mixture_nodes: Any, leaves_ok: bool) -> list[frozenset]:
    """The mixture nodes as mode sets, checked against both trees.

    Parameters
    ----------
    tree_a, tree_b : ModeTree
        The two trees.
    mixture_nodes : iterable of iterable of int
        The nodes to mix at.
    leaves_ok : bool
        Whether leaves are allowed (``convention="sum"``).

    Returns
    -------
    list of frozenset
        In the order given.

    Raises
    ------
    NetworkError
        When ``mixture_nodes`` is a string or an item is not a set of modes.
    GeometryError
        When a node is not in both trees, is a leaf and ``leaves_ok`` is false, or is listed twice.
    """
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
                f"{' (and the leaves)' if internal and leaves_ok else ''}. Hint: te.mixed needs nodes present in "
                f"both trees."
            )
        if len(node) == 1 and not leaves_ok:
            raise GeometryError(
                f"Mixture node {_fmt(node)} is a leaf; eq. 4 mixes at interior nodes (both trees read the same "
                f"discretizers at a leaf, so a swap there is void). Hint: convention='sum' allows leaves."
            )
        if node in mix:
            raise GeometryError(f"Mixture node {_fmt(node)} is listed twice.")
        mix.append(node)
    return mix


def mixed(
    tree_a: ModeTree,
    tree_b: ModeTree,
    mixture_nodes: Iterable[Iterable[int]],
    M: int | None = None,
    widths: Any = None,
    outputs: int = 1,
    seed: int | None = None,
    integer: bool = False,
    widths_b: Any = None,
    weights: tuple[Mapping[frozenset, Any], Mapping[frozenset, Any]] | None = None,
    F: Any = None,
    int_range: int = 1000,
    op: str | Operator = "product",
    convention: str = "swap",
) -> Network:
    """A mixed decomposition of two networks on ``tree_a`` (``T``) and ``tree_b`` (``Tbar``) joined at
    ``mixture_nodes``.

    .. math::
        A = \\phi^{[N]} + \\bar\\phi^{[N]}, \\quad \\text{at each } \\mu \\in \\mathrm{mix}(T, \\bar T):\\;
        \\phi^{\\mu,\\gamma} \\leftrightarrow \\bar\\phi^{\\mu,\\gamma} \\;(\\gamma < r/2)

    Cohen, Tamari & Shashua, "Boosting Dilated Convolutional Networks with Mixed Tensor Decompositions",
    ICLR 2018, eq. 4 (``convention="swap"``); see the module docstring for ``convention="sum"``.

    Parameters
    ----------
    tree_a, tree_b : ModeTree
        Over the same modes ``0..N-1``.
    mixture_nodes : iterable of mode sets
        Each must be an interior node of both trees other than the root (``"sum"`` also allows leaves).
    M : int, optional
        ``"swap"``: the number of discretizers (rows of ``F``), default ``r``; the network's
        ``Network.M`` is ``r``. ``"sum"``: the number of representation functions (required).
    widths : int, sequence or dict
        ``"swap"``: the size constant ``r``, an int, even when there are mixture nodes. ``"sum"``: widths of
        tree a (see :func:`tensorexpr.core.network.resolve_widths`); ``widths_b`` defaults to it.
    weights : (dict, dict), optional
        Explicit weights of the two trees: ``"swap"``: ``{interior node: (a_I, a_II)}`` as for
        :func:`tensorexpr.tree_decomposition`; ``"sum"``: ``{node: matrix}`` as for :func:`tensorexpr.hierarchical`.
    F : array, optional
        ``"swap"``: the ``(M, r)`` discretizers (default :func:`tensorexpr.build.dilated.discretizers`);
        ``"sum"``: the ``(T, M)`` template matrix.
    op : str or Operator
        Pooling operator ``g`` (``"swap"`` only; the sum convention is the product ConvAC).
    integer : bool
        Integer weights (exact ranks apply).
    convention : {"swap", "sum"}

    Returns
    -------
    Network
        ``meta["weights"]`` holds the two trees' weights, ``meta["mixture_nodes"]`` the mixture nodes.

    Raises
    ------
    GeometryError
        Trees over different modes, or mixture nodes that are not nodes of both trees.
    NetworkError
        Bad ``M``, widths or weights.

    Examples
    --------
    >>> a, b = ModeTree.dilated(8), ModeTree.dilated(8, "swapped")
    >>> net = mixed(a, b, [{0, 1, 2, 3}, {4, 5, 6, 7}], widths=2, seed=0)
    >>> net.M, te.grid_tensor(net).shape
    (2, (2, 2, 2, 2, 2, 2, 2, 2))
    """
    for name, t in (("tree_a", tree_a), ("tree_b", tree_b)):
        if not isinstance(t, ModeTree):
            raise NetworkError(f"{name} must be a ModeTree, got {type(t).__name__}. Hint: te.ModeTree.dilated(n, order).")
    if tree_a.n_modes != tree_b.n_modes:
        raise GeometryError(f"tree_a has {tree_a.n_modes} modes but tree_b has {tree_b.n_modes}; mixing needs the same modes.")
    if convention not in MIXED_CONVENTIONS:
        raise NetworkError(f"Unknown mixed convention {convention!r}; expected one of {MIXED_CONVENTIONS}.")
    if convention == "sum":
        if get_operator(op).name != "product":
            raise NetworkError("convention='sum' builds product ConvACs only. Hint: convention='swap' takes op=.")
        if M is None:
            raise NetworkError("convention='sum' needs M (the number of representation functions).")
        return _mixed_sum(tree_a, tree_b, mixture_nodes, M, widths, outputs, seed, integer, widths_b, weights, F,
                          int_range)
    if widths_b is not None:
        raise NetworkError("convention='swap' has one size constant r (widths=r); widths_b applies to 'sum' only.")
    return _mixed_swap(tree_a, tree_b, mixture_nodes, M, widths, outputs, seed, integer, weights, F, int_range, op)


def _mixed_swap(tree_a: ModeTree, tree_b: ModeTree, mixture_nodes: Any, M: int | None, widths: Any, outputs: int,
                seed: int | None, integer: bool, weights: Any, F: Any, int_range: int,
                op: str | Operator) -> Network:
    if widths is None:
        raise NetworkError("convention='swap' needs widths=r, the size constant (an even int when mixing).")
    r = check_int("widths (the size constant r)", widths)
    mix = check_mixture_nodes(tree_a, tree_b, mixture_nodes, leaves_ok=False)
    if mix and r % 2:
        raise NetworkError(f"At each mixture node eq. 4 swaps half of the r channels; r={r} is odd. Hint: an even r.")
    Fm = resolve_F(F, M, r, seed, integer, int_range)
    if weights is not None and (not isinstance(weights, (tuple, list)) or len(weights) != 2):
        raise NetworkError("weights must be a pair (weights of tree a, weights of tree b).")
    rng = np.random.default_rng(seed)
    nets = []
    for k, (tag, tree) in enumerate((("a", tree_a), ("b", tree_b))):
        w = None if weights is None else weights[k]
        sub_seed = None if seed is None else int(rng.integers(2**31))
        nets.append(tree_decomposition(tree, r, outputs=outputs, op=op, seed=sub_seed, integer=integer, F=Fm,
                                       weights=w, int_range=int_range, prefix=f"{tag}."))
    mixset = set(mix)
    dt = np.int64 if integer else np.float64
    low = np.diag((np.arange(r) < r // 2).astype(dt))  # gamma in [r/2]: the swapped half
    high = np.diag((np.arange(r) >= r // 2).astype(dt))
    # pool and edge nodes of both trees, re-pointed at the post-swap values above mixture nodes; mode sets
    # grow strictly from child to parent, so sorting by size then tree gives a topological order
    leaves = [Node(node_id(n), "leaf", (), None, mode=next(iter(n))) for n in tree_a.leaves]
    items: list[tuple[int, int, str, frozenset]] = []
    for tag, tree in (("a", tree_a), ("b", tree_b)):
        items += [(len(n), 0, tag, n) for n in tree.internal_nodes]
    items += [(len(m), 1, "mix", m) for m in mix]
    items.sort(key=lambda t: (t[0], t[1], t[2], sorted(t[3])))
    trees = {"a": tree_a, "b": tree_b}
    nodes: list[Node] = list(leaves)
    for _, _, tag, n in items:
        if tag == "mix":
            pa, pb = node_id(n, "a."), node_id(n, "b.")
            sa, sb = swap_ids(n)
            for src, keep, take in ((sa, pa, pb), (sb, pb, pa)):
                nodes.append(Node(f"{src}:keep", "linear", (keep,), high, param=FIXED))
                nodes.append(Node(f"{src}:swap", "linear", (take,), low, param=FIXED))
                nodes.append(Node(src, "sum", (f"{src}:keep", f"{src}:swap")))
            continue
        net = nets[0 if tag == "a" else 1]
        tree = trees[tag]
        edges = []
        for k, c in enumerate(tree.children(n)):
            if tree.is_leaf(c):
                child = node_id(c)
            elif c in mixset:
                child = swap_ids(c)[0 if tag == "a" else 1]
            else:
                child = node_id(c, f"{tag}.")
            e = net.node(edge_id(n, k, f"{tag}."))
            edges.append(Node(e.id, "linear", (child,), e.weight))
        nodes += edges
        nodes.append(Node(node_id(n, f"{tag}."), "pool", tuple(e.id for e in edges), None))
    nodes.append(Node("out.sum", "sum", (node_id(tree_a.root, "a."), node_id(tree_b.root, "b."))))
    # a fixed identity on top keeps one weighted output node, so per-output slicing works as for any network
    nodes.append(Node("out", "linear", ("out.sum",), np.eye(outputs, dtype=np.int64), param=FIXED))
    mixtxt = ",".join(_fmt(m) for m in mix) or "none"
    out = Network(tuple(nodes), "out", r, get_operator(op), Fm, integer, None, {},
                  name=f"mixed({tree_a.name} + {tree_b.name} @ {mixtxt}, r={r})")
    return replace(out, meta={"mixture_nodes": tuple(mix), "seed": seed, "r": r, "convention": "swap",
                              "trees": (tree_a, tree_b), "weights": (nets[0].meta["weights"], nets[1].meta["weights"])})


def _mixed_sum(
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
    """The ``convention="sum"`` mixed decomposition: two ConvACs on ``tree_a`` and ``tree_b`` joined at ``mixture_nodes``.

    .. math::
        A = A_a + A_b, \\quad \\text{where at each mixture node } m:\\;
        \\phi_a(m), \\phi_b(m) \\leftarrow \\phi_a(m) + \\phi_b(m)

    Our convention, not the paper's eq. 4 (which swaps half the channels; :func:`mixed` with
    ``convention="swap"``): kept because it needs no even width and allows leaves as mixture nodes.

    Parameters
    ----------
    tree_a, tree_b : ModeTree
        Over the same modes ``0..N-1``.
    mixture_nodes : iterable of mode sets
        Each must be a node of both trees (a leaf or an internal node, not the root).
    widths : int, sequence or dict
        Widths of tree a (see :func:`tensorexpr.core.network.resolve_widths`); ``widths_b`` defaults to it. The
        two trees must give a mixture node the same width.
    weights : (dict, dict), optional
        Explicit weights per tree node (as for :func:`tensorexpr.hierarchical`) instead of random ones.
    integer : bool
        Integer weights (exact ranks apply).

    Examples
    --------
    >>> a, b = ModeTree.dilated(8, [1, 2, 4]), ModeTree.dilated(8, [2, 1, 4])
    >>> net = mixed(a, b, [{0, 1, 2, 3}], M=2, widths=2, seed=0, convention="sum")
    >>> te.grid_tensor(net).shape
    (2, 2, 2, 2, 2, 2, 2, 2)
    """
    mix = check_mixture_nodes(tree_a, tree_b, mixture_nodes, leaves_ok=True)
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
                d[n] = draw_weight(rng, (r_in, ww[n]), integer, int_range)
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
    return replace(net, meta={"mixture_nodes": tuple(mix), "seed": seed, "widths": widths, "convention": "sum",
                              "trees": (tree_a, tree_b), "weights": (wts[0], wts[1])})
