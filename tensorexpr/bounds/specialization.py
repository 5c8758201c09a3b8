"""Certified lower bounds on the generic matricization rank by specializing the weights.

The proof technique of Cohen, Sharir & Shashua (COLT 2016, Theorem 1; formalised by Bentkamp in the AFP
entry "Deep_Learning"): pick one channel at every node above the first level, so that every sum over the
pooled channel collapses and the network computes an outer product of its first-level windows; ranks of
matricizations of outer products over disjoint modes multiply.
"""

from __future__ import annotations

import weakref

import math
from fractions import Fraction
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from tensorexpr.core.errors import NetworkError, NotApplicable
from tensorexpr.core.modetree import ModeTree
from tensorexpr.core.network import Network
from tensorexpr.build.convac import resolve_widths
from tensorexpr.core.params import Tied
from tensorexpr.core.partitions import Partition
from tensorexpr.core.rational import exact_matrix, rank_over_Q
from tensorexpr.core.validation import check_output, check_partition
from tensorexpr.bounds.assumptions import tree_matches
from tensorexpr.bounds.result import Bound, Side

__all__ = ["specialization_bound", "specialization_report", "SpecializationBound"]


#: ``to_dict`` lists the mixed windows one by one up to this many (the symmetry bound's node cap).
_MAX_FACTORS_IN_DICT = 512


@dataclass(frozen=True)
class SpecializationBound(Bound):
    """A certified lower bound on the generic rank of ``[A]_{I,J}`` over an architecture (a :class:`Bound`).

    Attributes
    ----------
    value : int
        ``prod_w factor(w)`` over the first-level windows ``w``.
    factors : tuple of (window, factor)
        One entry per mixed first-level window (pure windows contribute 1).
    M_eff : int
        ``rank F`` over Q (``M`` for a tree input): the number of independent representation functions seen.
    shared : bool
        Some window has leaves tied to one block (a convolution): that window's factor is the exact rank of
        its symmetric window tensor at one seeded integer point (at least ``min(r_in, M_eff)``, at most
        ``min(r_in, C(M+i-1, i), C(M+j-1, j))``).
    """

    side: Side = "lower"
    method: str = "specialization"
    M_eff: int = 0
    shared: bool = False
    factors: tuple[tuple[tuple[int, ...], int], ...] = field(default=(), repr=False)
    certifies: str = (
        "a lower bound on the generic rank: weights attaining it exist, so rank >= value for almost every "
        "weight setting (a Zariski-open dense set), not for every setting"
    )

    def to_dict(self) -> dict[str, Any]:
        from tensorexpr.core.numbers import encode_counts

        from collections import Counter

        # A 256x256 grid has 16384 mixed windows: listing each would be megabytes per certificate, so past
        # _MAX_FACTORS_IN_DICT only the exact histogram stays (value = prod factor^count either way).
        many = len(self.factors) > _MAX_FACTORS_IN_DICT
        hist = sorted(Counter(f for _, f in self.factors).items())
        return encode_counts({**super().to_dict(), "M_eff": self.M_eff, "shared": self.shared,
                              "factors": (f"{len(self.factors)} mixed windows, omitted (over {_MAX_FACTORS_IN_DICT});"
                                          " SpecializationBound.factors has them") if many
                              else [[list(w), f] for w, f in self.factors],
                              "factor_counts": [[f, k] for f, k in hist], "certifies": self.certifies})

    def __repr__(self) -> str:
        v = str(self.value) if self.value < 10**12 else f"~2^{math.log2(self.value):.1f}"
        return (f"SpecializationBound(rank >= {v}, partition={self.partition}, mixed_windows={len(self.factors)}, "
                f"M_eff={self.M_eff}{', shared' if self.shared else ''})")


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


_PARAM_CHECKS: "weakref.WeakKeyDictionary[Network, dict]" = weakref.WeakKeyDictionary()


def _memo(cache: "weakref.WeakKeyDictionary[Network, dict]", net: Network, output: int, fn: Any) -> Any:
    """``fn(net, output)`` once per (network, output), a :class:`NotApplicable` remembered and raised again:
    networks are immutable, and a profile asks once per partition."""
    per = cache.setdefault(net, {})
    if output not in per:
        try:
            per[output] = fn(net, output)
        except NotApplicable as exc:
            per[output] = exc
    if isinstance(per[output], NotApplicable):
        raise per[output]
    return per[output]


def _check_parametrization(net: Network, output: int) -> tuple[set[str], list[str]]:
    """Cached :func:`_check_parametrization_uncached` (copies, so callers may edit them)."""
    sym, used = _memo(_PARAM_CHECKS, net, output, _check_parametrization_uncached)
    return set(sym), list(used)


def _check_parametrization_uncached(net: Network, output: int) -> tuple[set[str], list[str]]:
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


_FROM_NETWORK: "weakref.WeakKeyDictionary[Network, dict]" = weakref.WeakKeyDictionary()


def _from_network(net: Network, output: int = 0) -> tuple[ModeTree, dict[frozenset, int], int, set[frozenset], list[str]]:
    """Cached per (network, output): the tree, widths per tree node, ``rank F`` and the symmetric windows."""
    tree, widths, M_eff, sym, used = _memo(_FROM_NETWORK, net, output, _from_network_uncached)
    return tree, widths, M_eff, set(sym), list(used)


def _from_network_uncached(net: Network, output: int) -> tuple[ModeTree, dict[frozenset, int], int, set[frozenset], list[str]]:
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
    if not tree_matches(net):
        raise NotApplicable(f"{net.name}: its graph does not follow its mode tree net.tree node for node.")
    by_modes = {net.modes[nd.id]: nd.id for nd in net.live_nodes}
    widths = {n: net.widths[by_modes[n]] for n in net.tree.nodes}
    sym_ids, used = _check_parametrization(net, output)
    sym = {net.modes[i] for i in sym_ids}
    return net.tree, widths, _f_rank(np.asarray(net.F)), sym, used


@lru_cache(maxsize=16)
def _windows(tree: ModeTree) -> tuple[frozenset, ...]:
    """The first-level windows: internal nodes whose children are all leaves."""
    return tuple(n for n in tree.internal_nodes if all(tree.is_leaf(c) for c in tree.children(n)))


#: Largest window matricization (entries) whose rank is computed exactly for tied weights.
_SHARED_WINDOW_MAX_ENTRIES = 1 << 20


@lru_cache(maxsize=None)
def _shared_window_rank(r_in: int, M: int, i: int, j: int) -> int:
    """Certified lower bound on the generic rank of a tied window: ``sum_{b<r_in} c_b (u_b^{(x)i})(u_b^{(x)j})^T``.

    With tied leaf weights every leaf of the window applies the same ``u_b``, so the window tensor is
    symmetric and its rank is at most ``min(r_in, C(M+i-1, i), C(M+j-1, j))``, not ``M^{min(i,j)}``. The
    proof's bound ``min(r_in, M)`` (term ``b`` uses ``u_b = e_b``) is raised to the exact rank over Q at one
    seeded integer point, itself a lower bound on the generic rank; the same point serves every window
    with the same ``(i, j)``, as tying requires.
    """
    base = min(r_in, M)
    if M ** (i + j) > _SHARED_WINDOW_MAX_ENTRIES or i + j < 2:
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


def specialization_report(net_or_tree: Network | ModeTree, P: Partition, M: int | None = None,
                          widths: Any = None, shared: bool = False, output: int = 0) -> SpecializationBound:
    """Alias of :func:`specialization_bound` (both return the :class:`SpecializationBound`)."""
    return specialization_bound(net_or_tree, P, M=M, widths=widths, shared=shared, output=output)


def specialization_bound(net_or_tree: Network | ModeTree, P: Partition, M: int | None = None,
                         widths: Any = None, shared: bool = False, output: int = 0) -> SpecializationBound:
    """Certified lower bound on the generic rank of ``[A]_{I,J}`` for a ConvAC architecture.

    .. math::
        \\operatorname{rank} [\\mathcal{A}]_{I,J} \\;\\ge\\; \\prod_{w} \\min\\big(r_{in}(w),\\,
        M^{\\min(|I \\cap w|, |J \\cap w|)}\\big)

    over the first-level windows ``w`` (internal nodes whose children are all leaves), ``r_in(w)`` the width
    of ``w``'s leaves (``r_0``), for almost every weight setting of the architecture (tree, ``M``, widths;
    product pooling; unshared weights). With ``shared=True`` (convolutions) each mixed factor is
    at least ``min(r_in(w), M)``: tied leaves make each window tensor symmetric, and the factor is the exact
    rank of that symmetric window tensor at one seeded integer point (see ``_shared_window_rank``). For a
    :class:`Network`, ``M`` is replaced by ``rank F``.

    **What it certifies.** The rank of the matricization is a lower-semicontinuous polynomial function of
    the weights; the bound is attained at one explicit weight setting, so it holds on a non-empty
    Zariski-open, hence dense and full-measure, set: a lower bound on the *generic* rank, not on every weight
    setting (zero weights give rank 0). Cohen, Sharir & Shashua, COLT 2016, Thm. 1 (the odd/even case gives
    ``min(r_0, M)^{N/2}``).

    **Proof.** Above the first level set ``W_t[a, g] = [a = 0]``: every node then outputs the outer product
    of its children's channel 0, and the root is ``(x)_w phi_w[0] (x) (x)_l phi_l[0]`` over first-level
    windows ``w`` and leaves ``l`` attached higher up. Matricizing an outer product over disjoint modes gives
    a Kronecker product (up to permutations), so ranks multiply; a leaf factor and a pure window are
    vectors on one side (rank 1 when nonzero). In a mixed window with ``k = min(r_in, M^{min(|I_w|,|J_w|)})``
    let term ``a < k`` use, at each leaf, the column ``F e_{i}`` for a multi-index chosen so that the ``k``
    terms have pairwise distinct index tuples on the ``I`` side and on the ``J`` side (possible as
    ``k <= M^{|I_w|}, M^{|J_w|}``), and set ``W_w[a, 0] = 1`` for ``a < k``, else 0. With ``F`` of full
    column rank the Kronecker products of distinct basis columns are independent, so
    ``[phi_w[0]] = sum_{a<k} x_a y_a^T`` has rank ``k``. With shared weights every leaf uses ``e_a`` for
    term ``a``, giving ``k = min(r_in, M)``. A rank-deficient ``F = B C`` (``B`` injective) is an
    architecture with ``M' = rank F``.

    **Parametrized weights.** The proof chooses weights, so it runs over the free parameters only: leaf and
    window weights must be free or tied through the identity map (a block per role and shape; a window
    whose leaves share a block gets the symmetric factor), and tied weights stay tied. Identity (``None``)
    and fixed weights above the first level stay constants and are tracked exactly (their channel scalars
    must leave the output nonzero). Otherwise the bound raises :class:`~tensorexpr.core.errors.NotApplicable`
    with the reason, and certificates record it.

    Examples
    --------
    >>> import tensorexpr as te
    >>> specialization_bound(te.ModeTree.line(16), te.Partition.odd_even(16), M=3, widths=2).value
    256
    >>> specialization_bound(te.ModeTree.line(16), te.Partition.left_right(16), M=3, widths=2).value
    1
    """
    if isinstance(net_or_tree, Network):
        if M is not None or widths is not None:
            raise NetworkError("Pass either a Network, or a ModeTree with M= and widths=, not both.")
        check_partition(P, net_or_tree.n_modes, "specialization_bound", net_or_tree.name)
        check_output(output, net_or_tree.outputs)
        tree, w, M_eff, sym, used = _from_network(net_or_tree, output)
    elif isinstance(net_or_tree, ModeTree):
        tree = net_or_tree
        if isinstance(M, bool) or not isinstance(M, (int, np.integer)) or M < 1:
            raise NetworkError(f"specialization_bound on a ModeTree needs M= (an integer >= 1), got {M!r}.")
        if widths is None:
            raise NetworkError("specialization_bound on a ModeTree needs widths= (int, list per level or dict).")
        check_partition(P, tree.n_modes, "specialization_bound", "the tree")
        w, M_eff = resolve_widths(tree, widths, 1), int(M)
        sym = {n for n in tree.internal_nodes if all(tree.is_leaf(c) for c in tree.children(n))} if shared else set()
        used = ["product", "tree", "all-free" if not shared else "weights tied per level"]
    else:
        raise NetworkError(
            f"specialization_bound needs a te.Network or te.ModeTree, got {type(net_or_tree).__name__}."
        )
    factors = []
    value = 1 if M_eff > 0 else 0  # rank F = 0: the grid tensor vanishes
    for node in _windows(tree):
        kids = tree.children(node)
        i, j = P.side(node)
        if i == 0 or j == 0:
            continue
        r_in = w[kids[0]]
        f = _shared_window_rank(r_in, M_eff, i, j) if node in sym else min(r_in, M_eff ** min(i, j))
        factors.append((tuple(sorted(node)), f))
        value *= f
    return SpecializationBound(value, partition=P.name, assumptions=tuple(used), M_eff=M_eff, shared=bool(sym),
                               factors=tuple(factors))
