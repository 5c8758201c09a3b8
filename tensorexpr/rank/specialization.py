"""The specialization witness: a weight setting whose matricization rank has a closed form.

The proof technique of Cohen, Sharir & Shashua (COLT 2016, Theorem 1; formalised by Bentkamp in the AFP entry
"Deep_Learning"): pick one channel at every node above the first level, so that every sum over the pooled
channel collapses and the network computes an outer product of its first-level windows; ranks of
matricizations of outer products over disjoint modes multiply. This module computes that rank (the rank of
one explicit instance, in closed form); :mod:`tensorexpr.bounds.specialization` turns it into the certified
lower bound on the generic rank, and :mod:`tensorexpr.rank.structured` uses it to refuse over-budget work early.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Mapping

import numpy as np

from tensorexpr.core.errors import NetworkError, NotApplicable
from tensorexpr.core.facts import tree_matches
from tensorexpr.core.modetree import ModeTree
from tensorexpr.core.network import Network
from tensorexpr.core.params import Tied
from tensorexpr.core.partitions import Partition
from tensorexpr.core.rational import exact_matrix, rank_over_Q

__all__ = ["Witness", "specialization_witness", "specialization_value", "shared_window_rank", "windows",
           "SHARED_WINDOW_MAX_ENTRIES"]


def _f_rank(F: np.ndarray) -> int:
    """``rank F`` over Q, exactly: Fractions by common denominators, floats at their exact binary value
    (a float SVD could over- or under-count, and this number enters lower and upper bounds)."""
    return rank_over_Q(F)


def _roles(net: Network) -> dict[str, str]:
    """``leaf``, ``window`` (a pool whose children are all leaves) or ``higher``, per live node."""
    out = {}
    for nd in net.live_nodes:
        if nd.kind == "leaf":
            out[nd.id] = "leaf"
        else:
            out[nd.id] = "window" if all(net.node(c).kind == "leaf" for c in nd.children) else "higher"
    return out


def _check_parametrization(net: Network, output: int) -> tuple[set[str], list[str]]:
    """Check that the proof's weight choices exist in ``net``'s parametrization; return the windows whose
    leaves share a block (symmetric factor) and the assumptions used. Raises :class:`NotApplicable`.

    The proof sets leaf and window weights (per window) and every higher weight to ``e_a 1^T``. So: leaves
    and windows must be free or tied through the identity map, each block serving one role and one shape;
    higher nodes may also be identities or constants (``None`` / FIXED), tracked exactly: with every window
    and higher leaf outputting equal channels, channel ``g`` of a higher node is ``s_t[g] X_t`` for one
    tensor ``X_t``, and the bound needs ``s_root[output] != 0``.
    """
    roles = _roles(net)
    used = ["product", "tree", "mode-tree"]
    for nd in net.live_nodes:
        kind = net.weight_kind(nd.id)
        if roles[nd.id] != "higher" and kind in ("identity", "fixed"):
            raise NotApplicable(
                f"node {nd.id!r} ({roles[nd.id]}) has a {kind} weight; the specialization proof chooses every "
                f"leaf and first-level window weight, so it does not apply (other bounds still do)"
            )
        if isinstance(nd.param, Tied) and nd.param.basis is not None:
            raise NotApplicable(
                f"node {nd.id!r} is tied to block {nd.param.block!r} through a fixed linear map; the proof's weight "
                f"choices need not lie in its image"
            )
    parent_role = {c: roles[nd.id] for nd in net.live_nodes for c in nd.children}
    constants_above = any(roles[nd.id] == "higher" and net.weight_kind(nd.id) in ("identity", "fixed")
                          for nd in net.live_nodes)
    for b, users in net.block_users.items():
        if len(users) == 1:  # a block of its own: one role, one shape, one side
            continue
        rs = {roles[u] for u in users}
        leaf_sides = {parent_role.get(u) == "window" for u in users if roles[u] == "leaf"}
        if constants_above and len(leaf_sides) > 1:
            # constants above the windows read every channel, so leaves under higher nodes must output equal
            # channels, which a block shared with window leaves cannot do without collapsing the windows
            raise NotApplicable(
                f"parameter block {b!r} is shared by leaves inside first-level windows and leaves under higher "
                f"nodes, and identity/fixed weights above the first level read every channel"
            )
        shapes = {net.node(u).weight.shape for u in users}  # type: ignore[union-attr]
        if len(rs) > 1 or len(shapes) > 1:
            raise NotApplicable(
                f"parameter block {b!r} is shared by nodes of different roles or shapes ({sorted(rs)}, "
                f"{sorted(shapes)}); the proof sets each role's weights separately"
            )
    if not net.all_free:
        used.append("tied weights stay tied (one value per block)")
    # exact channel scalars above the windows (windows and higher leaves output equal channels: s = 1);
    # without constants above the windows every scalar is a product of ones
    s: dict[str, list[int | Fraction]] = {net.output: [1] * net.widths[net.output]}
    for nd in (net.live_nodes if constants_above else ()):
        if roles[nd.id] != "higher":
            s[nd.id] = [1] * net.widths[nd.id]  # exact ints (Fractions appear only through fixed weights)
            continue
        kids = [s[c] for c in nd.children]
        prod = [math.prod(k[a] for k in kids) for a in range(len(kids[0]))]
        kind = net.weight_kind(nd.id)
        if kind == "identity":
            s[nd.id] = prod
        elif kind == "fixed":
            W = exact_matrix(nd.weight)
            s[nd.id] = [sum((W[a, g] * prod[a] for a in range(len(prod))), start=Fraction(0))
                        for g in range(W.shape[1])]
        else:  # free, or tied through the identity to higher nodes of one shape: W = e_a 1^T, a common a
            a = 0 if kind == "tied" else next((i for i, v in enumerate(prod) if v != 0), 0)
            s[nd.id] = [prod[a]] * net.widths[nd.id]
    if s[net.output][output] == 0:
        raise NotApplicable(
            "with the proof's weight choices the constant weights above the first level cancel the output "
            "channel; the specialization bound does not apply"
        )
    if any(net.weight_kind(nd.id) in ("identity", "fixed") for nd in net.live_nodes):
        used.append("identity/fixed weights above the first level kept as constants")
    sym = set()
    for nd in net.live_nodes:
        if roles[nd.id] == "window":
            blocks = [net.node(c).param.block for c in nd.children]  # type: ignore[union-attr]
            if len(set(blocks)) < len(blocks):
                sym.add(nd.id)
    return sym, used


@dataclass(frozen=True)
class Witness:
    """What the specialization proof needs of a network, independent of the partition.

    Attributes
    ----------
    tree : ModeTree
    widths : dict of frozenset to int
        Width per tree node.
    M_eff : int
        ``rank F`` over Q.
    symmetric : frozenset of frozenset
        First-level windows whose leaves share one parameter block (a convolution).
    assumptions : tuple of str
        What the proof used.
    second : frozenset of frozenset
        Second-level windows (:func:`second_windows`) whose weights the refinement may choose: every child a
        symmetric window, no identity or fixed weight above the first level, and a parameter block shared
        with no node outside this set.
    """

    tree: ModeTree
    widths: Mapping[frozenset, int]
    M_eff: int
    symmetric: frozenset
    assumptions: tuple[str, ...]
    second: frozenset = frozenset()


def specialization_witness(net: Network, output: int = 0, follows_tree: bool | None = None) -> Witness:
    """The partition-free part of the specialization proof for ``net`` (see :func:`specialization_value`).

    Parameters
    ----------
    net : Network
    output : int
    follows_tree : bool, optional
        :func:`~tensorexpr.core.facts.tree_matches` of ``net`` when the caller has it already (an analysis
        plan); computed here when None.

    Returns
    -------
    Witness

    Raises
    ------
    NotApplicable
        Not a product tree network that follows its mode tree, or a parametrization whose weights the proof
        cannot set (fixed or identity leaf/window weights, basis ties, blocks shared across roles).
    """
    if net.tree is None or not net.is_tree or any(nd.kind == "linear" for nd in net.live_nodes):
        raise NotApplicable(
            f"specialization_bound needs a tree network (HT/CP built by te.convac / te.hierarchical); "
            f"{net.name} is a DAG or mixed network. Hint: pass its mode tree with M= and widths=, or use "
            f"te.rank(net, P, method='exact')."
        )
    if not net.op.multilinear:
        raise NotApplicable(
            f"specialization_bound applies to product (ConvAC) networks; {net.name} uses {net.op.name!r}."
        )
    if not (tree_matches(net) if follows_tree is None else follows_tree):
        raise NotApplicable(f"{net.name}: its graph does not follow its mode tree net.tree node for node.")
    by_modes = {net.modes[nd.id]: nd.id for nd in net.live_nodes}
    widths = {n: net.widths[by_modes[n]] for n in net.tree.nodes}
    sym_ids, used = _check_parametrization(net, output)
    sym = frozenset(net.modes[i] for i in sym_ids)
    second = _second_level(net, sym, by_modes, widths)
    return Witness(net.tree, widths, _f_rank(np.asarray(net.F)), sym, tuple(used), second)


def _second_level(net: Network, sym: frozenset, by_modes: Mapping[frozenset, str],
                  widths: Mapping[frozenset, int]) -> frozenset:
    """The second-level windows whose weights the refinement of :func:`specialization_value` may choose.

    The refinement keeps every weight inside such a window generic and sets the higher ones to ``e_0 1^T``;
    so no identity or fixed weight may sit above the first level, and a window's block must serve only such
    windows (a block shared with a node set to ``e_0 1^T`` cannot also be generic).
    """
    tree = net.tree
    assert tree is not None
    first = set(windows(tree))
    if any(net.weight_kind(by_modes[n]) in ("identity", "fixed") for n in tree.internal_nodes if n not in first):
        return frozenset()
    cand = {n for n in second_windows(tree, widths) if all(c in sym for c in tree.children(n))}
    ids = {by_modes[n] for n in cand}
    users = net.block_users
    ok = set()
    for n in cand:
        nd = net.node(by_modes[n])
        block = nd.param.block if isinstance(nd.param, Tied) else None
        if block is not None and all(u in ids for u in users.get(block, (nd.id,))):
            ok.add(n)
    return frozenset(ok)


def second_windows(tree: ModeTree, widths: Mapping[frozenset, int]) -> tuple[frozenset, ...]:
    """The second-level windows the refinement can take: internal nodes whose children are all first-level
    windows (internal nodes whose children are all leaves) reading leaves of one width.

    Parameters
    ----------
    tree : ModeTree
        The mode tree.
    widths : mapping of frozenset to int
        Width per tree node.

    Returns
    -------
    tuple of frozenset
        Their receptive fields, in the order of ``tree.internal_nodes``.
    """
    first = set(windows(tree))
    return tuple(n for n in tree.internal_nodes if n not in first and all(c in first for c in tree.children(n))
                 and len({widths[tree.children(c)[0]] for c in tree.children(n)}) == 1)


def tied_second_windows(tree: ModeTree, widths: Mapping[frozenset, int]) -> frozenset:
    """:func:`second_windows` of a tree with one tied block per level and shape (``convac(shared=True)``).

    A second-level window's block is shared with every node of its height and shape, and the refinement keeps it
    generic while the bound sets the other nodes' weights to a selection; so it applies only when every
    internal node of height 2 is such a window, and to none otherwise.

    Parameters
    ----------
    tree : ModeTree
        The mode tree.
    widths : mapping of frozenset to int
        Width per tree node.

    Returns
    -------
    frozenset of frozenset
    """
    cand = set(second_windows(tree, widths))
    height2 = {n for n in tree.internal_nodes if tree.levels[n] == 2}
    return frozenset(cand) if cand == height2 else frozenset()


_PRIME = 2_147_483_647  # 2^31 - 1: residues multiply in int64 without overflow


def _power_mod(u: np.ndarray, k: int) -> np.ndarray:
    """``u^{(x) k}`` mod ``_PRIME`` (length ``M^k``)."""
    v = np.ones(1, dtype=np.int64)
    for _ in range(k):
        v = (v[:, None] * u[None, :] % _PRIME).reshape(-1)
    return v


def tied_window2_rank(r0: int, r1: int, M: int, pattern: tuple[tuple[int, int], ...]) -> int | None:
    """Certified lower bound on the generic rank of a tied second-level window, or None when too large.

    The window's channel 0 is ``sum_{b<r1} w[b] prod_c phi_c[b]`` over its children ``c`` (first-level
    windows), ``phi_c[b] = sum_{a<r0} W[a, b] prod_{l in c} u_a(x_l)``; every leaf applies the same ``u``
    and every child the same ``W`` (the values a convolution forces, and a valid choice for any
    parametrization). Its matricization is ``sum_b w[b] (x)_c [phi_c[b]]``, Kronecker products of the
    children's ``(M^{i_c} x M^{j_c})`` matrices. The value is its rank over ``GF(p)``, ``p = 2^31 - 1``, at
    one seeded integer point: the rank mod ``p`` of an integer matrix is at most its rank over Q, which is at
    most the generic rank (docs/theory.md, "Weight sharing").

    Parameters
    ----------
    r0 : int
        Width of the leaves (channels ``a``).
    r1 : int
        Width of the first-level windows (channels ``b``).
    M : int
        Number of representation functions (``rank F``).
    pattern : tuple of (int, int)
        ``(|I cap c|, |J cap c|)`` per child ``c``; the rank depends only on this multiset.

    Returns
    -------
    int or None
        The rank at the point; None when the matrix has more than ``SHARED_WINDOW_MAX_ENTRIES`` entries or
        one side is empty.
    """
    import zlib

    rows = M ** sum(i for i, _ in pattern)
    cols = M ** sum(j for _, j in pattern)
    if rows * cols > SHARED_WINDOW_MAX_ENTRIES or rows == 1 or cols == 1:
        return None
    import flint

    rng = np.random.default_rng(zlib.crc32(repr((r0, r1, M, sorted(pattern))).encode()))
    U = rng.integers(-1000, 1001, size=(r0, M)) % _PRIME
    W = rng.integers(-1000, 1001, size=(r0, r1)) % _PRIME
    w = rng.integers(-1000, 1001, size=r1) % _PRIME
    child: dict[tuple[int, int], np.ndarray] = {}
    for i, j in set(pattern):  # [phi_c[b]] for every b, one stack per (i, j)
        C = np.zeros((r1, M**i, M**j), dtype=np.int64)
        for a in range(r0):
            outer = _power_mod(U[a], i)[:, None] * _power_mod(U[a], j)[None, :] % _PRIME
            C = (C + W[a][:, None, None] * outer[None] % _PRIME) % _PRIME
        child[i, j] = C
    A = np.zeros((rows, cols), dtype=np.int64)
    for b in range(r1):
        K = np.ones((1, 1), dtype=np.int64)
        for ij in pattern:
            K = np.kron(K, child[ij][b]) % _PRIME
        A = (A + w[b] * K % _PRIME) % _PRIME
    return int(flint.nmod_mat(rows, cols, A.ravel().tolist(), _PRIME).rank())


def windows(tree: ModeTree) -> tuple[frozenset, ...]:
    """The first-level windows: internal nodes whose children are all leaves.

    Parameters
    ----------
    tree : ModeTree
        The mode tree.

    Returns
    -------
    tuple of frozenset
        The receptive fields of those nodes, in the order of ``tree.internal_nodes``.
    """
    return tuple(n for n in tree.internal_nodes if all(tree.is_leaf(c) for c in tree.children(n)))


#: Largest window matricization (entries) whose rank is computed exactly for tied weights.
SHARED_WINDOW_MAX_ENTRIES = 1 << 20


def shared_window_rank(r_in: int, M: int, i: int, j: int) -> int:
    """Certified lower bound on the generic rank of a tied window: ``sum_{b<r_in} c_b (u_b^{(x)i})(u_b^{(x)j})^T``.

    With tied leaf weights every leaf of the window applies the same ``u_b``, so the window tensor is
    symmetric and its rank is at most ``min(r_in, C(M+i-1, i), C(M+j-1, j))``, not ``M^{min(i,j)}``. The
    proof's bound ``min(r_in, M)`` (term ``b`` uses ``u_b = e_b``) is raised to the exact rank over Q at one
    seeded integer point, itself a lower bound on the generic rank; the same point serves every window
    with the same ``(i, j)``, as tying requires.

    Parameters
    ----------
    r_in : int
        Number of channels summed over (the window's input width).
    M : int
        Number of representation functions.
    i, j : int
        Number of the window's leaves in ``I`` and in ``J``.

    Returns
    -------
    int
        ``max(min(r_in, M), rank over Q at the seeded point)``; only ``min(r_in, M)`` when ``M^(i+j)`` exceeds
        ``SHARED_WINDOW_MAX_ENTRIES`` or ``i + j < 2``.
    """
    base = min(r_in, M)
    if M ** (i + j) > SHARED_WINDOW_MAX_ENTRIES or i + j < 2:
        return base
    import flint

    rng = np.random.default_rng(12345 + 97 * r_in + 31 * M + 7 * i + j)
    U = rng.integers(-1000, 1001, size=(r_in, M))
    c = rng.integers(1, 1001, size=r_in)

    def power(u: np.ndarray, k: int) -> list[int]:
        v = [1]
        for _ in range(k):
            v = [a * int(b) for a in v for b in u]
        return v

    rows, cols = M**i, M**j
    mat = [[0] * cols for _ in range(rows)]
    for b in range(r_in):
        x, y = power(U[b], i), power(U[b], j)
        cb = int(c[b])
        for p_, xv in enumerate(x):
            if xv:
                row = mat[p_]
                for q, yv in enumerate(y):
                    row[q] += cb * xv * yv
    point = int(flint.fmpz_mat(mat).rank())
    return max(base, point)


def specialization_value(tree: ModeTree, widths: Mapping[frozenset, int], M_eff: int, symmetric: frozenset | set,
                         P: Partition, window_rank: Callable[[int, int, int, int], int] = shared_window_rank,
                         first_windows: tuple[frozenset, ...] | None = None,
                         second: frozenset | set = frozenset(),
                         window2_rank: Callable[[int, int, int, tuple], int | None] = tied_window2_rank,
                         ) -> tuple[int, tuple[tuple[tuple[int, ...], int], ...]]:
    """The rank of the specialized instance: ``prod_w min(r_in(w), M_eff^{min(|I_w|, |J_w|)})``.

    **Second-level refinement.** For a window ``t`` in ``second`` (its children all first-level windows) the
    weights inside ``t`` stay generic and only those above are set to ``e_0 1^T``, so ``t`` contributes the
    generic rank of its own channel 0 instead of the product of its children's factors; the factor is the
    larger of the two (:func:`tied_window2_rank`, or the product when that is None). Each factor is the rank
    on a non-empty Zariski-open set of the weights inside its window, and finitely many such sets of the same
    parameters meet, so one weight setting attains every factor at once and the product is a lower bound on
    the generic rank. The callers pass only windows whose children read leaves of one width (the point needs
    one leaf weight shape and one child weight shape), and whose blocks no node outside ``second`` shares.

    Parameters
    ----------
    tree, widths, M_eff, symmetric :
        As in :class:`Witness`.
    P : Partition
    window_rank : callable
        ``(r_in, M, i, j) -> int`` for a symmetric window (a memoised :func:`shared_window_rank`).
    first_windows : tuple of frozenset, optional
        :func:`windows` of ``tree``, when already computed.
    second : set of frozenset, optional
        Second-level windows to refine (:attr:`Witness.second`); none by default.
    window2_rank : callable
        ``(r0, r1, M, pattern) -> int or None`` (a memoised :func:`tied_window2_rank`).

    Returns
    -------
    value : int
    factors : tuple of (window modes, factor)
        One per mixed window of the cut: a refined second-level window, or a first-level window not below one.

    Raises
    ------
    NetworkError
        A window in ``second`` whose children read leaves of different widths.
    """
    factors = []
    value = 1 if M_eff > 0 else 0  # rank F = 0: the grid tensor vanishes

    def first_factor(node: frozenset, i: int, j: int) -> int:
        r_in = widths[tree.children(node)[0]]
        return window_rank(r_in, M_eff, i, j) if node in symmetric else min(r_in, M_eff ** min(i, j))

    covered: set[frozenset] = set()
    for node in (sorted(second, key=min) if second and M_eff > 0 else ()):
        kids = tree.children(node)
        if len({widths[tree.children(c)[0]] for c in kids}) > 1:  # second_windows never passes one
            raise NetworkError(f"second-level window {sorted(node)} reads leaves of several widths; the refinement "
                               f"needs one. Hint: pass second_windows(tree, widths), which leaves such windows out.")
        covered.update(kids)
        i, j = P.side(node)
        if i == 0 or j == 0:
            continue
        sides = [P.side(c) for c in kids]
        base = math.prod(first_factor(c, a, b) for c, (a, b) in zip(kids, sides) if a and b)
        r0, r1 = widths[tree.children(kids[0])[0]], widths[kids[0]]
        f = max(base, window2_rank(r0, r1, M_eff, tuple(sorted(sides))) or 0)
        factors.append((tuple(sorted(node)), f))
        value *= f
    for node in (windows(tree) if first_windows is None else first_windows):
        if node in covered:
            continue
        i, j = P.side(node)
        if i == 0 or j == 0:
            continue
        f = first_factor(node, i, j)
        factors.append((tuple(sorted(node)), f))
        value *= f
    return value, tuple(factors)
