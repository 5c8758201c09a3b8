"""The tree decomposition of a dilated ConvNet (Cohen, Tamari & Shashua, ICLR 2018, eq. 3) as a Network.

On a mode tree ``T`` with ``r`` channels (the paper's "size constant") and discretizers
``v(1), ..., v(M)`` in ``R^r``, the leaves are ``phi^{{j},gamma} = [v(1)_gamma, ..., v(M)_gamma]`` and every
interior node ``nu`` with children ``C_I(nu), C_II(nu)`` has two weight vectors per output channel:

.. math::
    \\phi^{\\nu,\\gamma} = \\Big(\\sum_{\\alpha=1}^{r} a^{\\nu,\\gamma,I}_\\alpha \\phi^{C_I(\\nu),\\alpha}\\Big)
    \\otimes_g \\Big(\\sum_{\\alpha=1}^{r} a^{\\nu,\\gamma,II}_\\alpha \\phi^{C_{II}(\\nu),\\alpha}\\Big).

This is a size-2 dilated convolution followed by the pooling operator ``g``: one weight per *edge*, and no
weight after the product, unlike the ConvAC node of :func:`tensorexpr.convac` (docs/theory.md, "Mixed
decompositions and interconnectivity"). In the one network form the leaves carry no weight (``Network.M = r``
representation channels, and ``F`` is the ``M x r`` matrix whose rows are the discretizers), each child
edge is a ``linear`` node, and each interior node is a ``pool`` node with ``weight=None`` (a fixed identity).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

import numpy as np

from tensorexpr.core.errors import NetworkError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.core.network import Network, Node, node_id
from tensorexpr.build.convac import draw_weight
from tensorexpr.core.operators import Operator, get_operator

__all__ = ["tree_decomposition", "dilated", "discretizers", "edge_id", "random_binary_tree"]

#: per interior node, one ``(r_in, r_out)`` matrix per child, in the tree's child order
EdgeWeights = Mapping[frozenset, Sequence[Any]]


def edge_id(node: frozenset, k: int, prefix: str = "") -> str:
    """Id of the ``linear`` node on the edge from the ``k``-th child of ``node`` (``t0-3<1`` for k=1).

    Parameters
    ----------
    node : frozenset of int
        The parent's receptive field.
    k : int
        The child's index.
    prefix : str, optional
        Put in front of the id.

    Returns
    -------
    str
    """
    return f"{node_id(node, prefix)}<{k}"


def check_int(name: str, v: Any, low: int = 1) -> int:
    """``v`` as an int when it is an integer (not a bool) ``>= low``.

    Parameters
    ----------
    name : str
        What ``v`` is, for the message.
    v : object
        The value.
    low : int, optional
        The smallest accepted value.

    Returns
    -------
    int

    Raises
    ------
    NetworkError
        When ``v`` is not an integer ``>= low``.
    """
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
        raise NetworkError(f"{name} must be an integer >= {low}, got {v!r}.")
    return int(v)


def discretizers(M: int, r: int, seed: int | None = None, integer: bool = False, int_range: int = 1000) -> np.ndarray:
    """Default discretizers: the ``M x r`` matrix ``[I_r; random rows]`` (rows ``v(1)..v(M)``), which spans
    ``R^r`` whenever ``M >= r`` (the hypothesis of Theorem 7).

    Parameters
    ----------
    M : int
        Number of discretizers (rows), ``M >= r``.
    r : int
        Channels (columns).
    seed : int, optional
        Seed of the random rows.
    integer : bool, optional
        Integer rows.
    int_range : int, optional
        Bound of the integer entries.

    Returns
    -------
    numpy.ndarray
        ``(M, r)``.

    Raises
    ------
    NetworkError
        When ``M`` or ``r`` is not a positive int, or ``M < r``.
    """
    M, r = check_int("M (number of discretizers)", M), check_int("r (channels)", r)
    if M < r:
        raise NetworkError(
            f"The default discretizers need M >= r to span R^r, got M={M}, r={r}. Hint: pass F (an M x r matrix) "
            f"explicitly, or raise M."
        )
    rng = np.random.default_rng(None if seed is None else seed + 7919)  # not the weights' stream
    extra = draw_weight(rng, (M - r, r), integer, int_range)
    eye = np.eye(r, dtype=np.int64 if integer else np.float64)
    return np.vstack([eye, extra]) if M > r else eye


def resolve_F(F: Any, M: int | None, r: int, seed: int | None, integer: bool, int_range: int) -> np.ndarray:
    """The discretizer matrix: ``F`` as given (checked), or :func:`discretizers` when None.

    Parameters
    ----------
    F : array_like, torch.Tensor or None
        The discretizers ``v(1)..v(M)`` as rows, shape ``(M, r)``.
    M : int or None
        Their number; ``r`` when None and ``F`` is None.
    r : int
        Channels.
    seed : int or None
        Seed of the default discretizers.
    integer : bool
        Integer default discretizers.
    int_range : int
        Bound of their integer entries.

    Returns
    -------
    numpy.ndarray
        ``(M, r)``.

    Raises
    ------
    NetworkError
        When ``F`` is not ``(M, r)``, or (default discretizers) ``M < r`` or a size is not a positive int.
    """
    if F is None:
        return discretizers(r if M is None else M, r, seed, integer, int_range)
    if hasattr(F, "detach"):
        F = F.detach().cpu().numpy()
    F = np.asarray(F)
    if F.ndim != 2 or F.shape[1] != r:
        raise NetworkError(
            f"F holds the discretizers v(1)..v(M) in R^r as rows, so it must have shape (M, r={r}); got {F.shape}."
        )
    if M is not None and F.shape[0] != M:
        raise NetworkError(f"M={M} but F has {F.shape[0]} rows (one per discretizer). Hint: leave M out.")
    return F


def _check_weights(tree: ModeTree, weights: EdgeWeights, r: int, outputs: int) -> dict[frozenset, tuple]:
    out = {}
    for n in tree.internal_nodes:
        if n not in weights:
            raise NetworkError(f"weights lacks interior node {sorted(n)}; give one (r, r) matrix per child.")
        ws = tuple(weights[n])
        kids = tree.children(n)
        if len(ws) != len(kids):
            raise NetworkError(
                f"Node {sorted(n)} has {len(kids)} children but weights gives {len(ws)} matrices; eq. 3 has one "
                f"weight per child edge."
            )
        r_out = outputs if n == tree.root else r
        for k, w in enumerate(ws):
            if np.shape(w) != (r, r_out):
                raise NetworkError(
                    f"Edge weight {k} of node {sorted(n)} has shape {np.shape(w)}, expected ({r}, {r_out}) "
                    f"(input channels, output channels{' = outputs' if n == tree.root else ''})."
                )
        out[n] = ws
    return out


def tree_decomposition(
    tree: ModeTree,
    r: int,
    M: int | None = None,
    outputs: int = 1,
    op: str | Operator = "product",
    seed: int | None = None,
    integer: bool = False,
    F: Any = None,
    weights: EdgeWeights | None = None,
    int_range: int = 1000,
    prefix: str = "",
) -> Network:
    """The tree decomposition of eq. 3 on ``tree`` (a dilated ConvNet with size-2 filters when ``tree`` is binary).

    .. math::
        \\phi^{\\nu,\\gamma} = \\mathop{g}_{k}\\Big(\\sum_{\\alpha} a^{\\nu,\\gamma,k}_\\alpha
        \\phi^{C_k(\\nu),\\alpha}\\Big), \\qquad \\phi^{\\{j\\},\\gamma} = [v(1)_\\gamma, \\ldots, v(M)_\\gamma]

    Cohen, Tamari & Shashua, "Boosting Dilated Convolutional Networks with Mixed Tensor Decompositions",
    ICLR 2018, eq. 3. The paper's trees are binary; a node with more children gets one edge weight per
    child, pooled by the same ``g``.

    Parameters
    ----------
    tree : ModeTree
    r : int
        Channels of every node (the size constant); the root outputs ``outputs`` channels.
    M : int, optional
        Number of discretizers (template rows); defaults to ``r``, or to the rows of ``F``.
    op : str or Operator
        Pooling operator ``g`` from the registry (product: the tensor decomposition).
    seed, integer, int_range
        Random weights as in :func:`tensorexpr.convac` (integers in ``[-int_range, int_range]``).
    F : array (M, r), optional
        The discretizers as rows; default :func:`discretizers` (``[I_r; random rows]``, spanning ``R^r``).
    weights : mapping, optional
        ``{interior node: (a_I, a_II, ...)}``, each ``(r, r)`` (``(r, outputs)`` at the root), column
        ``gamma`` holding ``a^{nu,gamma,k}``; random when omitted.
    prefix : str
        Prefix of the node ids (the mixed decomposition uses ``a.`` and ``b.``).

    Returns
    -------
    Network
        Leaves without weight, a ``linear`` node per edge (free weights), a ``pool`` node per interior
        node with ``weight=None``. ``net.tree`` is None (the ConvAC-only tree bounds must not apply);
        the mode tree is in ``net.meta["tree"]``.

    Raises
    ------
    NetworkError
        A bad ``r``, ``M``, ``outputs`` or operator.

    Examples
    --------
    >>> net = tree_decomposition(ModeTree.dilated(8), r=2, seed=0)
    >>> net.M, net.n_templates, te.grid_tensor(net).shape
    (2, 2, (2, 2, 2, 2, 2, 2, 2, 2))
    """
    if not isinstance(tree, ModeTree):
        raise NetworkError(f"tree_decomposition needs a ModeTree, got {type(tree).__name__}. Hint: te.ModeTree.dilated(8).")
    if tree.n_modes < 2:
        raise NetworkError(f"A tree decomposition needs at least 2 modes, got {tree!r}.")
    r = check_int("r (channels)", r)
    outputs = check_int("outputs", outputs)
    if M is not None:
        M = check_int("M (number of discretizers)", M)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise NetworkError(f"seed must be None or a non-negative integer, got {seed!r}.")
    Fm = resolve_F(F, M, r, seed, integer, int_range)
    if weights is None:
        rng = np.random.default_rng(seed)
        weights = {n: tuple(draw_weight(rng, (r, outputs if n == tree.root else r), integer, int_range)
                            for _ in tree.children(n)) for n in tree.internal_nodes}
    ws = _check_weights(tree, weights, r, outputs)
    nodes = [Node(node_id(n, prefix), "leaf", (), None, mode=next(iter(n))) for n in tree.leaves]
    for n in tree.internal_nodes:  # post-order: children first
        kids = tree.children(n)
        edges = [Node(edge_id(n, k, prefix), "linear", (node_id(c, prefix),), ws[n][k]) for k, c in enumerate(kids)]
        nodes += edges
        nodes.append(Node(node_id(n, prefix), "pool", tuple(e.id for e in edges), None))
    net = Network(tuple(nodes), node_id(tree.root, prefix), r, get_operator(op), Fm, integer, None, {},
                  name=f"tree_decomposition({tree.name}, r={r})")
    return replace(net, meta={"tree": tree, "r": r, "seed": seed, "weights": ws})


def dilated(n: int, r: int, order: Any = "contiguous", **kwargs: Any) -> Network:
    """The dilated ConvNet with size-2 filters on ``n = 2^L`` inputs: :func:`tree_decomposition` on
    ``ModeTree.dilated(n, order)`` (``"contiguous"`` is the paper's baseline dilations ``1, 2, 4, ...``;
    ``"swapped"`` exchanges the dilations of layers ``2k-1`` and ``2k``).

    >>> dilated(8, 2, "swapped", seed=0).meta["tree"].name
    'dilated:8:swapped'

    Parameters
    ----------
    n : int
        Modes (a power of two).
    r : int
        Channels per node.
    order : str or sequence of int
        ``contiguous``, ``reversed``, or the dilation at each level.
    **kwargs
        Passed to :func:`tree_decomposition`.

    Returns
    -------
    Network
        The tree decomposition on the dilated 1-D mode tree.

    Raises
    ------
    GeometryError
        An ``n`` that is not a power of two, or an unknown ``order``.
    """
    return tree_decomposition(ModeTree.dilated(n, order), r, **kwargs)


def random_binary_tree(n: int, rng: np.random.Generator) -> ModeTree:
    """A random binary mode tree over ``n`` modes: every set is split into two random non-empty parts, so
    every binary tree shape and leaf assignment has positive probability.

    Parameters
    ----------
    n : int
        Number of modes, ``n >= 1``.
    rng : numpy.random.Generator
        The random source.

    Returns
    -------
    ModeTree

    Raises
    ------
    NetworkError
        When ``n`` is not a positive int.
    """
    n = check_int("n", n, 1)

    def split(modes: list[int]) -> Any:
        if len(modes) == 1:
            return modes[0]
        perm = [modes[i] for i in rng.permutation(len(modes))]
        k = int(rng.integers(1, len(modes)))
        return (split(sorted(perm[:k])), split(sorted(perm[k:])))

    return ModeTree.from_nested(split(list(range(n))), name=f"random_binary({n})")
