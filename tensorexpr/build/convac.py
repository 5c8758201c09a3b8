"""Constructors of tree networks: the HT decomposition (ConvAC on a mode tree), its CP special case and
``hierarchical`` with given weights (docs/conventions.md, "ConvAC on a tree")."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

import numpy as np

from tensorexpr.core.errors import NetworkError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.core.network import Network, Node, freeze_weight, node_id
from tensorexpr.core.operators import Operator, get_operator
from tensorexpr.core.params import ParamSpec, Tied, freeze_vector
from tensorexpr.core.types import Widths

__all__ = ["convac", "cp", "hierarchical", "resolve_widths", "draw_weight"]


# -- constructors --------------------------------------------------------------------------------------------
def resolve_widths(tree: ModeTree, widths: Widths, outputs: int) -> dict[frozenset, int]:
    """Output width of every tree node.

    ``widths`` is an int (every level), a sequence ``r_0..r_{L-1}`` (one per level: the children of a
    level-``l`` node output ``r_{l-1}`` channels), or a dict ``{node: width}`` giving each non-root node's
    output width. The root outputs ``outputs`` channels.

    Parameters
    ----------
    tree : ModeTree
        The mode tree.
    widths : int, sequence of int or mapping
        The widths, as above.
    outputs : int
        Channels of the root.

    Returns
    -------
    dict of frozenset to int
        Width of every node, the root included.

    Raises
    ------
    NetworkError
        When ``outputs`` or a width is not a positive int, a sequence has other than ``depth`` entries, a dict
        misses or names an unknown node, or two siblings get different widths.
    """
    if isinstance(outputs, bool) or not isinstance(outputs, (int, np.integer)) or outputs < 1:
        raise NetworkError(f"outputs must be a positive integer, got {outputs!r}.")
    depth = tree.depth
    out: dict[frozenset, int] = {tree.root: int(outputs)}
    if isinstance(widths, Mapping):
        wmap = {frozenset(k) if not isinstance(k, frozenset) else k: v for k, v in widths.items()}
        unknown = [sorted(k) for k in wmap if k not in tree.levels]
        if unknown:
            raise NetworkError(f"widths names nodes {unknown[:3]} that are not in {tree!r}.")
        for node in tree.nodes:
            if node == tree.root:
                continue
            if node not in wmap:
                raise NetworkError(f"widths dict lacks node {sorted(node)}; give every non-root node a width.")
            out[node] = wmap[node]
    else:
        if isinstance(widths, (int, np.integer)) and not isinstance(widths, bool):
            per_level = [int(widths)] * depth
        elif isinstance(widths, Sequence) and not isinstance(widths, str):
            per_level = list(widths)
            if len(per_level) != depth:
                raise NetworkError(
                    f"widths has {len(per_level)} entries but the tree has depth {depth}: give r_0..r_{depth - 1}, "
                    f"one per level (or an int, or a dict per node)."
                )
        else:
            raise NetworkError(f"widths must be an int, a list per level or a dict per node, got {widths!r}.")
        for node in tree.nodes:
            if node != tree.root:
                out[node] = per_level[tree.levels[tree.parent[node]] - 1]
    for node, w in out.items():
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1:
            raise NetworkError(f"Width of node {sorted(node)} must be a positive integer, got {w!r}.")
        out[node] = int(w)
    for node in tree.internal_nodes:
        ws = {out[c] for c in tree.children(node)}
        if len(ws) > 1:
            raise NetworkError(
                f"Children of node {sorted(node)} get mismatched widths {sorted(ws)}; siblings share the "
                f"pooled channel index, so they need one width."
            )
    return out


def hierarchical(
    tree: ModeTree,
    weights: Mapping[frozenset, Any],
    M: int,
    op: str | Operator = "product",
    F: Any = None,
    integer: bool = False,
    shared: bool = False,
    name: str | None = None,
    prefix: str = "",
    meta: Mapping[str, Any] | None = None,
) -> Network:
    """A network on ``tree`` from explicit weights: ``{leaf: (M, r), internal: (r_in, r_out)}``.

    A ``None`` weight is a fixed identity (channels pass through). ``shared=True`` declares a convolution:
    the weights of all nodes of one level (and one shape) are one tied parameter block, and must be equal.
    Otherwise every weight is a free block of its own, whatever arrays are passed (ties are never read from
    object identity; see :mod:`tensorexpr.core.params`).

    Parameters
    ----------
    tree : ModeTree
    weights : mapping of tree node to array or None
        ``(M, r)`` at leaves, ``(r_in, r_out)`` at internal nodes; None is a fixed identity.
    M : int
    op : str or Operator
    F : array, optional
        Template matrix ``(T, M)``, identity by default.
    integer : bool
        Declare the weights integer (checked) so exact and prime-field ranks apply.
    shared : bool
        One tied block per level (the weights of a level must then be equal).
    name, prefix, meta :
        Labels (names are never read for facts).

    Returns
    -------
    Network

    Raises
    ------
    NetworkError
        A node missing from ``weights``, shapes that do not chain, unequal weights under ``shared=True``, or
        non-integral weights under ``integer=True``.
    """
    nodes = []
    ids = {n: node_id(n, prefix) for n in tree.nodes}
    params: dict[str, np.ndarray] = {}
    first: dict[str, frozenset] = {}
    first_w: dict[str, np.ndarray] = {}  # the (frozen) array each block was read from: the same object is equal
    for n in tree.nodes:
        if n not in weights:
            raise NetworkError(f"weights lacks node {sorted(n)}.")
        w = weights[n]
        param: ParamSpec = None
        if shared and w is not None:
            w = freeze_weight(w)
            block = f"{prefix}level{tree.levels[n]}[{w.shape[0]}x{w.shape[1]}]"  # one convolution per level and shape
            if block not in params:
                params[block], first[block], first_w[block] = freeze_vector(w), n, w
            elif w is not first_w[block] and (params[block].size != w.size
                                              or not np.array_equal(params[block], w.reshape(-1))):
                raise NetworkError(
                    f"shared=True ties every node of level {tree.levels[n]}, but nodes {sorted(first[block])} and "
                    f"{sorted(n)} have different weights. Hint: pass equal weights, or shared=False for a "
                    f"locally connected (untied) network."
                )
            param = Tied(block)
        elif w is not None:  # its own free block, declared here so the Network need not rebuild the node
            w = freeze_weight(w)
            if ids[n] in params:
                raise NetworkError(f"Duplicate node id {ids[n]!r}.")
            params[ids[n]] = w.reshape(-1)  # a read-only view of the frozen weight: no second copy
            param = Tied(ids[n])
        if tree.is_leaf(n):
            nodes.append(Node(ids[n], "leaf", (), w, mode=next(iter(n)), param=param))
        else:
            nodes.append(Node(ids[n], "pool", tuple(ids[c] for c in tree.children(n)), w, param=param))
    return Network(
        tuple(nodes), ids[tree.root], M, get_operator(op), F, integer, tree, params, name or tree.name,
        **({} if meta is None else {"meta": dict(meta)}),
    )


def draw_weight(rng: np.random.Generator, shape: tuple[int, int], integer: bool, int_range: int) -> np.ndarray:
    """A random weight matrix: uniform integers in ``[-int_range, int_range]`` or standard normal.

    Parameters
    ----------
    rng : numpy.random.Generator
        The random source.
    shape : tuple of (int, int)
        ``(in, out)``.
    integer : bool
        Draw int64 integers instead of floats.
    int_range : int
        Bound of the integer entries.

    Returns
    -------
    numpy.ndarray
    """
    if integer:
        return rng.integers(-int_range, int_range + 1, size=shape).astype(np.int64)
    return rng.standard_normal(shape)


def convac(
    tree: ModeTree,
    M: int,
    widths: Widths,
    outputs: int = 1,
    shared: bool = False,
    op: str | Operator = "product",
    seed: int | None = None,
    integer: bool = False,
    F: Any = None,
    int_range: int = 1000,
) -> Network:
    """A random ConvAC (HT decomposition) on ``tree``, or its generalized counterpart for ``op != "product"``.

    .. math::
        \\phi_t[g] = \\sum_a W_t[a, g] \\, g_{op}\\big(\\phi_c[a] : c \\in \\mathrm{children}(t)\\big)

    Cohen, Sharir & Shashua, COLT 2016 (HT = deep ConvAC); Cohen & Shashua, ICML 2016 (generalized).

    Parameters
    ----------
    tree : ModeTree
    M : int
        Representation functions per position.
    widths : int, sequence or dict
        See :func:`resolve_widths`.
    outputs : int
        Output channels ``Y`` of the root.
    shared : bool
        Tie the weights of all nodes of a level (a convolution rather than a locally connected layer).
    op : str
        Pooling operator name from the registry.
    seed : int, optional
    integer : bool
        Draw integers in ``[-int_range, int_range]`` so exact and prime-field ranks apply.
    F : array, optional
        Template matrix ``(T, M)``, identity by default.

    Returns
    -------
    Network
        A tree network on ``tree`` (``net.tree`` set), its weights free or tied per level.

    Raises
    ------
    NetworkError
        A bad ``M``, ``widths``, ``outputs``, operator, ``F`` or integer range.

    Examples
    --------
    >>> net = convac(ModeTree.line(4), M=2, widths=2, seed=0)
    >>> te.grid_tensor(net).shape
    (2, 2, 2, 2)
    """
    if not isinstance(tree, ModeTree):
        raise NetworkError(f"convac needs a ModeTree, got {type(tree).__name__}. Hint: te.ModeTree.line(n).")
    if isinstance(M, bool) or not isinstance(M, (int, np.integer)) or M < 1:
        raise NetworkError(f"M (number of representation functions) must be an integer >= 1, got {M!r}.")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise NetworkError(f"seed must be None or a non-negative integer, got {seed!r}.")
    if integer and (isinstance(int_range, bool) or not isinstance(int_range, (int, np.integer))
                    or not 1 <= int_range <= 2**40):
        raise NetworkError(
            f"int_range must be an integer in [1, 2^40] (weights are drawn from [-int_range, int_range]), got "
            f"{int_range!r}."
        )
    out_w = resolve_widths(tree, widths, outputs)
    rng = np.random.default_rng(seed)
    weights: dict[frozenset, np.ndarray] = {}
    tied: dict[tuple[int, tuple[int, int]], np.ndarray] = {}
    for n in tree.nodes:
        r_in = M if tree.is_leaf(n) else out_w[tree.children(n)[0]]
        shape = (r_in, out_w[n])
        if shared:
            key = (tree.levels[n], shape)
            if key not in tied:
                tied[key] = draw_weight(rng, shape, integer, int_range)
                tied[key].setflags(write=False)  # one frozen array for the whole level: no per-node copy
            weights[n] = tied[key]
        else:
            w = draw_weight(rng, shape, integer, int_range)
            w.setflags(write=False)  # a fresh array nobody else holds: frozen in place, not copied again
            weights[n] = w
    # meta passed in: a replace() afterwards would validate the whole network a second time
    return hierarchical(tree, weights, M, op, F, integer, shared, name=f"convac({tree.name})",
                        meta={"widths": widths, "seed": seed})


def cp(n: int, M: int, Z: int, outputs: int = 1, **kwargs: Any) -> Network:
    """The CP decomposition ``A = sum_z a_z u_{z,1} (x) ... (x) u_{z,N}``: a shallow ConvAC with ``Z`` channels.

    Parameters
    ----------
    n : int
        Modes (at least 2).
    M : int
        Representation functions per position.
    Z : int
        Channels (CP rank) of the single hidden level.
    outputs : int
    **kwargs
        Passed to :func:`convac` (``shared``, ``op``, ``seed``, ``integer``, ``F``).

    Returns
    -------
    Network
        The shallow network on :meth:`ModeTree.shallow`.

    Raises
    ------
    NetworkError
        ``n < 2``, or what :func:`convac` refuses.

    References
    ----------
    Cohen, Sharir & Shashua, COLT 2016 (the shallow network is the CP decomposition).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise NetworkError(f"cp needs n >= 2 modes (one mode has no partition to separate), got {n!r}.")
    net = convac(ModeTree.shallow(n), M, [Z], outputs=outputs, **kwargs)
    return replace(net, name=f"cp(n={n}, Z={Z})")
