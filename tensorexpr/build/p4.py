"""p4 group-equivariant ConvACs: rotations by multiples of 90 degrees tie filters across orientations.

Diaconu & Worrall, "Learning to Convolve: A Generalized Weight-Tying Approach", ICML 2019 (docs/theory.md).
The group ``p4 = Z_4`` acts on a ``S x S`` grid of positions and on ``k x k`` patches as
``torch.rot90(x, s, (-2, -1))``: pixel ``(a, b)`` goes to ``(S - 1 - b, a)``. Both the square and the
mirror quad trees on ``2^L x 2^L`` grids map onto themselves (:func:`tree_rotation_closed`).

The network, on patch features ``x[(p, d)]`` (pixel ``p`` of the patch, representation function ``d`` of
the pixel, ``M_net = k^2 M``):

.. math::
    \\text{lift:}\\quad W_0[(p, d), (r, b)] = \\psi_b(\\rho^{-r} p, d)
    \\qquad\\text{(the basis } \\psi_b \\text{ and its rotated copies)}

.. math::
    \\text{group conv:}\\quad W_l[(r, k), (r', k')] = w_{k, k'}(r' - r \\bmod 4)
    \\qquad\\text{(block circulant, } W[(g,k),(g',k')] = w_{k,k'}(g^{-1} g'))

.. math::
    \\text{root:}\\quad W_L[(r, k), y] = w_{k, y}\\qquad\\text{(invariant pooling over the rotation index)}

Rotating the input shifts every hidden orientation index by one and moves positions by the rotation; product
(or ReLU-max/avg) pooling is symmetric in the children, so the output is invariant. Every weight is
``Tied(block, basis)`` with a 0/1 selection basis: certify and integer twins redraw the free block.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from tensorexpr.core.errors import GeometryError, NetworkError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.core.partitions import Partition
from tensorexpr.build.tying import LevelMap, draw_block, selection_basis, tied_tree_network

__all__ = [
    "ORDER",
    "rot_positions",
    "tree_side",
    "tree_rotation_closed",
    "feature_rotation",
    "template_rotation",
    "lift_map",
    "permutation_lift_map",
    "group_map",
    "invariant_map",
    "p4_maps",
    "group_convac",
    "rotate_grid_tensor",
    "rotate_partition",
    "level_widths",
]

#: Order of the rotation group p4.
ORDER = 4


def rot_positions(side: int, s: int = 1) -> np.ndarray:
    """``perm[m]``: where position ``m = a * side + b`` goes under ``torch.rot90(x, s, (-2, -1))``.

    Pixel ``(a, b)`` goes to ``(side - 1 - b, a)`` per quarter turn.

    Parameters
    ----------
    side : int
        Side of the square grid.
    s : int, optional
        Number of quarter turns (taken mod 4).

    Returns
    -------
    numpy.ndarray
        ``int64`` permutation of ``0..side^2-1``.

    Examples
    --------
    >>> rot_positions(2).tolist()
    [2, 0, 3, 1]
    """
    a, b = np.divmod(np.arange(side * side), side)
    for _ in range(s % ORDER):
        a, b = side - 1 - b, a
    return (a * side + b).astype(np.int64)


def tree_side(tree: ModeTree) -> int:
    """The side ``S`` of a square grid tree (``S^2`` modes, position ``row * S + col``).

    Parameters
    ----------
    tree : ModeTree

    Returns
    -------
    int

    Raises
    ------
    GeometryError
        When the number of modes is not a square.
    """
    side = math.isqrt(tree.n_modes)
    if side * side != tree.n_modes:
        raise GeometryError(f"p4 acts on a square grid of positions; the tree has {tree.n_modes} modes, not a square. "
                            f"Hint: te.ModeTree.grid(8, 8).")
    return side


def tree_rotation_closed(tree: ModeTree) -> bool:
    """True when every node of ``tree`` rotated by 90 degrees is again a node (square and mirror quad trees).

    Parameters
    ----------
    tree : ModeTree
        A tree over a square grid.

    Returns
    -------
    bool

    Raises
    ------
    GeometryError
        When the number of modes is not a square.

    Examples
    --------
    >>> tree_rotation_closed(ModeTree.grid(4, 4)), tree_rotation_closed(ModeTree.line(16))
    (True, False)
    """
    perm = rot_positions(tree_side(tree))
    nodes = set(tree.nodes)
    return all(frozenset(int(perm[m]) for m in n) in nodes for n in tree.nodes)


def feature_rotation(kernel: int, M: int, s: int = 1) -> np.ndarray:
    """``q[e]``: the feature index that feature ``e = (p, d)`` of a patch moves to when the patch is rotated.

    Parameters
    ----------
    kernel : int
        Patch side ``k``.
    M : int
        Representation functions per pixel.
    s : int, optional
        Number of quarter turns.

    Returns
    -------
    numpy.ndarray
        ``int64`` permutation of ``0..k^2 M - 1``; feature ``e = p * M + d``.
    """
    pix = rot_positions(kernel, s)
    p, d = np.divmod(np.arange(kernel * kernel * M), M)
    return (pix[p] * M + d).astype(np.int64)


def template_rotation(F: Any, kernel: int, M: int, s: int = 1) -> np.ndarray:
    """``pi[i]``: the template that template ``i`` becomes when its patch is rotated (rows of ``F`` matched).

    Parameters
    ----------
    F : array_like
        The ``T x k^2 M`` template matrix.
    kernel : int
        Patch side ``k``.
    M : int
        Representation functions per pixel.
    s : int, optional
        Number of quarter turns.

    Returns
    -------
    numpy.ndarray
        ``int64`` permutation of the templates.

    Raises
    ------
    NetworkError
        When ``F`` has the wrong number of columns, or the template set is not closed under the rotation.
    """
    F = np.asarray(F)
    q = feature_rotation(kernel, M, s)
    if F.shape[1] != q.size:
        raise NetworkError(f"F has {F.shape[1]} features but a {kernel}x{kernel} patch of {M} functions has {q.size}.")
    rotated = np.empty_like(F)
    rotated[:, q] = F
    index = {F[i].tobytes(): i for i in range(F.shape[0])}
    pi = np.empty(F.shape[0], dtype=np.int64)
    for i in range(F.shape[0]):
        j = index.get(np.ascontiguousarray(rotated[i]).tobytes())
        if j is None:
            raise NetworkError(f"Template {i} rotated by {90 * s} degrees is not a template: the template set is not "
                               f"closed under p4, so the invariance oracle does not apply.")
        pi[i] = j
    return pi


def lift_map(kernel: int, M: int, B: int) -> LevelMap:
    """Lifting: basis filters ``psi_b`` (``B x k x k x M`` free) and their rotated copies, channel ``r * B + b``.

    Parameters
    ----------
    kernel : int
        Patch side ``k``.
    M : int
        Representation functions per pixel.
    B : int
        Filters per orientation.

    Returns
    -------
    LevelMap
        ``kind="lift"``, shape ``(k^2 M, 4 B)``.

    References
    ----------
    Diaconu & Worrall, "Learning to Convolve: A Generalized Weight-Tying Approach", ICML 2019.
    """
    return permutation_lift_map([feature_rotation(kernel, M, r) for r in range(ORDER)], B)


def permutation_lift_map(perms: Sequence[np.ndarray], B: int) -> LevelMap:
    """Lifting for any feature space on which a quarter turn acts by a permutation: ``W[q_r[e], (r, b)] = psi_b[e]``.

    ``perms[r][e]`` is where feature ``e`` moves under ``r`` quarter turns (``perms[0]`` the identity). Pixel
    patches use :func:`feature_rotation`; scattering coefficients use
    :func:`tensorexpr.models.scattering.coefficient_rotation` (positions move, orientations shift).

    Parameters
    ----------
    perms : sequence of numpy.ndarray
        Four permutations of the features.
    B : int
        Filters per orientation.

    Returns
    -------
    LevelMap
        ``kind="lift"``.

    Raises
    ------
    NetworkError
        When ``perms`` is not four permutations of the same features.

    References
    ----------
    Diaconu & Worrall, "Learning to Convolve: A Generalized Weight-Tying Approach", ICML 2019.
    """
    q = [np.asarray(p, dtype=np.int64) for p in perms]
    rows, cols = q[0].size, ORDER * B
    if len(q) != ORDER or any(sorted(p.tolist()) != list(range(rows)) for p in q):
        raise NetworkError(f"A p4 lift needs {ORDER} permutations of the {rows} features, got {len(q)} arrays.")
    index = np.empty((rows, cols), dtype=np.int64)
    for r in range(ORDER):
        for b in range(B):
            index[q[r], r * B + b] = b * rows + np.arange(rows)
    return LevelMap(rows, cols, selection_basis(index, B * rows), "lift")


def group_map(K_in: int, K_out: int) -> LevelMap:
    """Group convolution over the rotation index: ``W[(r,k),(r',k')] = w[k, k', (r'-r) mod 4]`` (block circulant).

    Parameters
    ----------
    K_in, K_out : int
        Filters per orientation in and out.

    Returns
    -------
    LevelMap
        ``kind="group"``, shape ``(4 K_in, 4 K_out)``, ``4 K_in K_out`` free parameters.

    References
    ----------
    Diaconu & Worrall, "Learning to Convolve: A Generalized Weight-Tying Approach", ICML 2019.
    """
    r, k, r2, k2 = np.meshgrid(np.arange(ORDER), np.arange(K_in), np.arange(ORDER), np.arange(K_out), indexing="ij")
    index = (k * K_out + k2) * ORDER + (r2 - r) % ORDER
    return LevelMap(ORDER * K_in, ORDER * K_out, selection_basis(index, K_in * K_out * ORDER), "group")


def invariant_map(K_in: int, outputs: int) -> LevelMap:
    """Invariant pooling at the root: ``W[(r, k), y] = w[k, y]`` (sum over orientations, then mix).

    Parameters
    ----------
    K_in : int
        Filters per orientation of the last hidden level.
    outputs : int
        Output channels.

    Returns
    -------
    LevelMap
        ``kind="invariant"``, shape ``(4 K_in, outputs)``.
    """
    r, k, y = np.meshgrid(np.arange(ORDER), np.arange(K_in), np.arange(outputs), indexing="ij")
    return LevelMap(ORDER * K_in, outputs, selection_basis(k * outputs + y, K_in * outputs), "invariant")


def level_widths(tree: ModeTree, widths: int | Sequence[int]) -> list[int]:
    """Per-level widths ``B_0..B_{L-1}`` (filters per orientation) from an int or a list.

    Parameters
    ----------
    tree : ModeTree
    widths : int or sequence of int
        One width for every level, or ``tree.depth`` widths.

    Returns
    -------
    list of int

    Raises
    ------
    NetworkError
        When ``widths`` is neither, has the wrong length, or holds a width below 1.
    """
    L = tree.depth
    if isinstance(widths, (int, np.integer)) and not isinstance(widths, bool):
        out = [int(widths)] * L
    elif isinstance(widths, Sequence) and not isinstance(widths, str):
        out = [int(w) for w in widths]
    else:
        raise NetworkError(f"widths must be an int or a list per level, got {widths!r}.")
    if len(out) != L or any(w < 1 for w in out):
        raise NetworkError(f"widths {out} must be {L} positive ints (one per level of {tree.name}).")
    return out


def p4_maps(tree: ModeTree, M: int, widths: Any, outputs: int, kernel: int) -> dict[int, LevelMap]:
    """The tied map of every level: lift at the leaves, group convs in between, invariant pooling at the root.

    Parameters
    ----------
    tree : ModeTree
        A balanced tree (every child one level below its parent).
    M : int
        Representation functions per pixel.
    widths : int or sequence of int
        Filters per orientation per level (see :func:`level_widths`).
    outputs : int
    kernel : int
        Patch side.

    Returns
    -------
    dict of int to LevelMap

    Raises
    ------
    NetworkError
        On bad ``widths``.
    GeometryError
        When ``tree`` is not balanced.

    References
    ----------
    Diaconu & Worrall, "Learning to Convolve: A Generalized Weight-Tying Approach", ICML 2019.
    """
    B = level_widths(tree, widths)
    if any(tree.levels[n] != tree.levels[tree.parent[n]] - 1 for n in tree.nodes if n != tree.root):
        raise GeometryError(f"p4 networks need a balanced tree (every child one level below its parent); {tree.name} is not.")
    maps = {0: lift_map(kernel, M, B[0])}
    for lv in range(1, tree.depth):
        maps[lv] = group_map(B[lv - 1], B[lv])
    maps[tree.depth] = invariant_map(B[-1], outputs)
    return maps


def check_int(v: Any, what: str, lo: int = 1) -> int:
    """``v`` as an int when it is an integer (not a bool) ``>= lo``.

    Parameters
    ----------
    v : object
        The value.
    what : str
        What it is, for the message.
    lo : int, optional
        The smallest accepted value.

    Returns
    -------
    int

    Raises
    ------
    NetworkError
        When ``v`` is not an integer ``>= lo``.
    """
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise NetworkError(f"{what} must be an integer >= {lo}, got {v!r}.")
    return int(v)


def group_convac(tree: ModeTree, M: int, widths: Any, outputs: int = 1, kernel: int = 2, op: str = "product",
                 seed: int | None = None, integer: bool = False, F: Any = None, int_range: int = 1000):
    """A random p4 group-equivariant ConvAC (or generalized net for ``op != "product"``) on a square grid tree.

    Every position holds a ``kernel x kernel`` patch with ``M`` representation functions per pixel, so the
    network's ``M`` is ``kernel**2 * M`` (default ``F = I``: the templates are single-feature patches, a set
    closed under rotation). Level ``l`` has ``4 * widths[l]`` channels (orientation, filter); the weights are
    tied as in the module docstring.

    Parameters
    ----------
    tree : ModeTree
        A balanced square-grid tree closed under rotation (square or mirror quad tree).
    M : int
        Representation functions per pixel.
    widths : int or sequence of int
        Filters per orientation per level.
    outputs : int, optional
    kernel : int, optional
        Patch side.
    op : str, optional
        Pooling operator (docs/conventions.md, "Operators").
    seed : int, optional
        Seed of the parameter draw.
    integer : bool, optional
        Integer parameters in ``[-int_range, int_range]`` (exact paths), else standard normals.
    F : array_like, optional
        Template matrix; default the identity.
    int_range : int, optional

    Returns
    -------
    Network

    Raises
    ------
    NetworkError
        When ``tree`` is not a :class:`ModeTree`, ``M``, ``kernel`` or ``outputs`` is not a positive integer, or
        ``widths`` is malformed.
    GeometryError
        When the tree is not over a square grid, not closed under rotation, or not balanced.

    References
    ----------
    Diaconu & Worrall, "Learning to Convolve: A Generalized Weight-Tying Approach", ICML 2019.

    Examples
    --------
    >>> import tensorexpr as te
    >>> net = te.group_convac(te.ModeTree.grid(2, 2), M=1, widths=[2], kernel=2, seed=0)
    >>> net.M, net.widths["x0"], net.n_params
    (4, 8, 10)
    """
    if not isinstance(tree, ModeTree):
        raise NetworkError(f"group_convac needs a ModeTree, got {type(tree).__name__}. Hint: te.ModeTree.grid(4, 4).")
    M, kernel, outputs = check_int(M, "M"), check_int(kernel, "kernel"), check_int(outputs, "outputs")
    tree_side(tree)
    if not tree_rotation_closed(tree):
        raise GeometryError(f"{tree.name} does not map onto itself under 90-degree rotations, so p4 tying does not "
                            f"give an invariant network. Hint: square or mirror grid trees.")
    maps = p4_maps(tree, M, widths, outputs, kernel)
    rng = np.random.default_rng(seed)
    blocks = {lv: draw_block(rng, m.n_free, integer, int_range) for lv, m in maps.items()}
    return tied_tree_network(tree, kernel * kernel * M, maps, blocks, op, F, integer, name=f"p4-convac({tree.name})",
                             meta={"family": "p4", "widths": widths, "kernel": kernel, "M_pixel": M, "seed": seed})


def rotate_grid_tensor(A: np.ndarray, side: int, pi: np.ndarray, s: int = 1) -> np.ndarray:
    """The grid tensor of the rotated function: ``A'[d] = A[d']`` with ``d'_{g(m)} = pi(d_m)``.

    For an invariant network ``A' == A`` (positions and templates both move).

    Parameters
    ----------
    A : numpy.ndarray
        A grid tensor with ``side^2`` axes.
    side : int
        Side of the grid.
    pi : numpy.ndarray
        The template permutation (:func:`template_rotation`).
    s : int, optional
        Number of quarter turns.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    NetworkError
        When ``A`` has more than 32 axes.
    """
    perm = rot_positions(side, s)
    pi = np.asarray(pi)
    A1 = A[np.ix_(*[pi] * A.ndim)] if A.ndim <= 32 else None
    if A1 is None:  # pragma: no cover
        raise NetworkError("rotate_grid_tensor supports at most 32 modes.")
    # axis m of the result reads axis perm[m] of A1
    return np.transpose(A1, axes=perm)


def rotate_partition(P: Partition, side: int, s: int = 1) -> Partition:
    """``g . P``: the partition with both sides moved by the rotation.

    Parameters
    ----------
    P : Partition
    side : int
        Side of the grid.
    s : int, optional
        Number of quarter turns.

    Returns
    -------
    Partition
        Named ``rot<90 s>(<name>)``.

    Examples
    --------
    >>> rotate_partition(Partition([0, 1], 4), 2).rows
    (0, 2)
    """
    perm = rot_positions(side, s)
    return Partition([int(perm[m]) for m in P.I], P.n_modes, name=f"rot{90 * s}({P.name})")
