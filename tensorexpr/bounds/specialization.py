"""Certified lower bounds on the generic matricization rank by specializing the weights.

The proof technique of Cohen, Sharir & Shashua (COLT 2016, Theorem 1; formalised by Bentkamp in the AFP
entry "Deep_Learning"): pick one channel at every node above the first level, so that every sum over the
pooled channel collapses and the network computes an outer product of its first-level windows; ranks of
matricizations of outer products over disjoint modes multiply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import NetworkError
from ..modetree import ModeTree
from ..network import Network, resolve_widths
from ..partitions import Partition

__all__ = ["specialization_bound", "specialization_report", "SpecializationBound"]


@dataclass(frozen=True)
class SpecializationBound:
    """A certified lower bound on the generic rank of ``[A]_{I,J}`` over an architecture.

    Attributes
    ----------
    value : int
        ``prod_w factor(w)`` over the first-level windows ``w``.
    factors : tuple of (window, factor)
        One entry per mixed first-level window (pure windows contribute 1).
    M_eff : int
        ``rank F`` (``M`` for a tree input): the number of independent representation functions seen.
    shared : bool
        Weights tied per level (a convolution): a mixed window's factor is the exact rank of its symmetric
        window tensor at one seeded integer point (at least ``min(r_in, M_eff)``, at most
        ``min(r_in, C(M+i-1, i), C(M+j-1, j))``).
    """

    value: int
    partition: str
    M_eff: int
    shared: bool
    factors: tuple[tuple[tuple[int, ...], int], ...] = field(default=(), repr=False)
    certifies: str = (
        "a lower bound on the generic rank: weights attaining it exist, so rank >= value for almost every "
        "weight setting (a Zariski-open dense set), not for every setting"
    )

    def __int__(self) -> int:
        return self.value

    def __index__(self) -> int:
        return self.value

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "partition": self.partition, "M_eff": self.M_eff, "shared": self.shared,
                "factors": [[list(w), f] for w, f in self.factors], "certifies": self.certifies}

    def __repr__(self) -> str:
        v = str(self.value) if self.value < 10**12 else f"~2^{math.log2(self.value):.1f}"
        return (f"SpecializationBound(rank >= {v}, partition={self.partition}, mixed_windows={len(self.factors)}, "
                f"M_eff={self.M_eff}{', shared' if self.shared else ''})")


def _f_rank(F: np.ndarray) -> int:
    if F.dtype.kind in "iO":
        import flint

        return int(flint.fmpz_mat(F.shape[0], F.shape[1], [int(x) for x in F.ravel()]).rank())
    return int(np.linalg.matrix_rank(np.asarray(F, dtype=np.float64)))


def _from_network(net: Network) -> tuple[ModeTree, dict[frozenset, int], int, bool]:
    if net.tree is None or not net.is_tree or any(nd.kind == "linear" for nd in net.live_nodes):
        raise NetworkError(
            f"specialization_bound needs a tree network (HT/CP built by te.convac / te.hierarchical); "
            f"{net.name} is a DAG or mixed network. Hint: pass its mode tree with M= and widths=, or use "
            f"te.rank(net, P, method='exact')."
        )
    if not net.op.multilinear:
        raise NetworkError(
            f"specialization_bound applies to product (ConvAC) networks; {net.name} uses {net.op.name!r}."
        )
    structured = [nd.id for nd in net.live_nodes if getattr(nd.param, "basis", None) is not None]
    if structured:
        # the proof sets weights to chosen values (a selected channel above the first level, chosen leaf
        # columns); a fixed map (group / attribute convolution) may not reach them: a p4 net with 1x1 patches
        # has generic rank 2 where this construction would claim 3 (tests/test_group.py)
        from ..errors import NotApplicable

        raise NotApplicable(
            f"specialization_bound sets weights freely, but {net.name} ties node(s) {structured[:3]} through a fixed "
            f"linear map (group or attribute convolution), which may not reach those values. Hint: use "
            f"te.certify, whose instance ranks redraw the blocks through the map."
        )
    by_modes = {modes: nid for nid, modes in net.modes.items()}
    widths = {n: net.widths[by_modes[n]] for n in net.tree.nodes}
    # tying is read from the weights themselves (one array at several leaves), not only from the flag: the
    # untied formula's construction needs independent leaves, and setting tied ones equal is always allowed
    tied = net.is_tied
    return net.tree, widths, _f_rank(np.asarray(net.F)), tied


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
                          widths: Any = None, shared: bool = False) -> SpecializationBound:
    """The specialization lower bound with its per-window factors (see :func:`specialization_bound`)."""
    if isinstance(net_or_tree, Network):
        if M is not None or widths is not None:
            raise NetworkError("Pass either a Network, or a ModeTree with M= and widths=, not both.")
        tree, w, M_eff, shared = _from_network(net_or_tree)
    elif isinstance(net_or_tree, ModeTree):
        tree = net_or_tree
        if isinstance(M, bool) or not isinstance(M, (int, np.integer)) or M < 1:
            raise NetworkError(f"specialization_bound on a ModeTree needs M= (an integer >= 1), got {M!r}.")
        if widths is None:
            raise NetworkError("specialization_bound on a ModeTree needs widths= (int, list per level or dict).")
        w, M_eff = resolve_widths(tree, widths, 1), int(M)
    else:
        raise NetworkError(
            f"specialization_bound needs a te.Network or te.ModeTree, got {type(net_or_tree).__name__}."
        )
    if not isinstance(P, Partition) or P.n_modes != tree.n_modes:
        raise NetworkError(
            f"Partition must be a te.Partition over the tree's {tree.n_modes} modes, got {P!r}."
        )
    factors = []
    value = 1 if M_eff > 0 else 0  # rank F = 0: the grid tensor vanishes
    for node in tree.internal_nodes:
        kids = tree.children(node)
        if not all(tree.is_leaf(c) for c in kids):
            continue
        i, j = P.side(node)
        if i == 0 or j == 0:
            continue
        r_in = w[kids[0]]
        f = _shared_window_rank(r_in, M_eff, i, j) if shared else min(r_in, M_eff ** min(i, j))
        factors.append((tuple(sorted(node)), f))
        value *= f
    return SpecializationBound(value, P.name, M_eff, shared, tuple(factors))


def specialization_bound(net_or_tree: Network | ModeTree, P: Partition, M: int | None = None,
                         widths: Any = None, shared: bool = False) -> int:
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

    Examples
    --------
    >>> import tensorexpr as te
    >>> specialization_bound(te.ModeTree.line(16), te.Partition.odd_even(16), M=3, widths=2)
    256
    >>> specialization_bound(te.ModeTree.line(16), te.Partition.left_right(16), M=3, widths=2)
    1
    """
    return specialization_report(net_or_tree, P, M=M, widths=widths, shared=shared).value
