"""Certified lower bounds on the generic matricization rank by specializing the weights (the witness and its
closed-form rank are computed in :mod:`tensorexpr.rank.specialization`).

The proof technique of Cohen, Sharir & Shashua (COLT 2016, Theorem 1; formalised by Bentkamp in the AFP
entry "Deep_Learning"): pick one channel at every node above the first level, so that every sum over the
pooled channel collapses and the network computes an outer product of its first-level windows; ranks of
matricizations of outer products over disjoint modes multiply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tensorexpr.core.errors import NetworkError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.core.network import Network
from tensorexpr.build.convac import resolve_widths
from tensorexpr.core.partitions import Partition
from tensorexpr.core.validation import check_output, check_partition
from tensorexpr.rank.specialization import (shared_window_rank, specialization_value, specialization_witness,
                                            tied_second_windows, tied_window2_rank, windows)
from tensorexpr.bounds.analysis import Analysis, analysis_of
from tensorexpr.bounds.result import Bound, BoundContext, BoundProvider, Side

__all__ = ["specialization_bound", "specialization_report", "SpecializationBound"]


#: ``to_dict`` lists the mixed windows one by one up to this many (the symmetry bound's node cap).
_MAX_FACTORS_IN_DICT = 512


@dataclass(frozen=True)
class SpecializationBound(Bound):
    """A certified lower bound on the generic rank of ``[A]_{I,J}`` over an architecture (a :class:`Bound`).

    Attributes
    ----------
    value : int
        ``prod_w factor(w)`` over the windows ``w`` of the cut: first-level windows, or, for a convolution, the
        second-level windows the refinement takes (:func:`tensorexpr.rank.specialization.specialization_value`).
    factors : tuple of (window, factor)
        One entry per mixed window of the cut (pure windows contribute 1).
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
        """The :class:`Bound` fields plus ``M_eff``, the window factors and their histogram, for ``--json``.

        Returns
        -------
        dict
            JSON-ready; past ``_MAX_FACTORS_IN_DICT`` mixed windows only the histogram ``factor_counts`` is listed.
        """
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


def specialization_report(net_or_tree: Network | ModeTree, P: Partition, M: int | None = None,
                          widths: Any = None, shared: bool = False, output: int = 0,
                          analysis: Analysis | None = None) -> SpecializationBound:
    """Alias of :func:`specialization_bound` (both return the :class:`SpecializationBound`).

    Parameters
    ----------
    net_or_tree : Network or ModeTree
        The network, or a mode tree with ``M`` and ``widths``.
    P : Partition
        The partition ``(I, J)``.
    M : int, optional
        Number of representation functions (with a tree only).
    widths : int, sequence or mapping, optional
        The widths (with a tree only).
    shared : bool, optional
        Whether the leaf weights are tied.
    output : int, optional
        The output channel.
    analysis : Analysis, optional
        The network's analysis plan, reused across partitions.

    Returns
    -------
    SpecializationBound

    Raises
    ------
    NotApplicable
        When the network is not a product tree network on its mode tree, or its parametrization cannot be set as
        the proof needs.
    NetworkError
        On bad arguments (see :func:`specialization_bound`).
    """
    return specialization_bound(net_or_tree, P, M=M, widths=widths, shared=shared, output=output, analysis=analysis)


def specialization_bound(net_or_tree: Network | ModeTree, P: Partition, M: int | None = None,
                         widths: Any = None, shared: bool = False, output: int = 0,
                         analysis: Analysis | None = None) -> SpecializationBound:
    """Certified lower bound on the generic rank of ``[A]_{I,J}`` for a ConvAC architecture.

    Parameters
    ----------
    net_or_tree : Network or ModeTree
        A product tree network on its mode tree, or a mode tree with ``M`` and ``widths``.
    P : Partition
    M, widths :
        For a mode tree only (see :func:`tensorexpr.build.convac.resolve_widths`).
    shared : bool
        For a mode tree: leaf weights tied per level (a convolution).
    output : int
        Output channel.
    analysis : Analysis, optional
        The network's analysis plan (:func:`~tensorexpr.analyze`): the witness is derived once and reused.

    Returns
    -------
    SpecializationBound

    Raises
    ------
    NotApplicable
        When the network is not a product tree network on its mode tree, or its parametrization cannot be set
        as the proof needs (the reason says which).
    NetworkError
        Bad arguments (a network with ``M=``, a tree without ``M`` or ``widths``, a bad partition or output).

    .. math::
        \\operatorname{rank} [\\mathcal{A}]_{I,J} \\;\\ge\\; \\prod_{w} \\min\\big(r_{in}(w),\\,
        M^{\\min(|I \\cap w|, |J \\cap w|)}\\big)

    over the first-level windows ``w`` (internal nodes whose children are all leaves), ``r_in(w)`` the width
    of ``w``'s leaves (``r_0``), for almost every weight setting of the architecture (tree, ``M``, widths;
    product pooling; unshared weights). With ``shared=True`` (convolutions) each mixed factor is
    at least ``min(r_in(w), M)``: tied leaves make each window tensor symmetric, and the factor is the exact
    rank of that symmetric window tensor at one seeded integer point
    (:func:`tensorexpr.rank.specialization.shared_window_rank`). For a
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
        net = net_or_tree
        check_partition(P, net.n_modes, "specialization_bound", net.name)
        check_output(output, net.outputs)
        memo = analysis_of(net, analysis)
        wit = memo.derived(("specialization.witness", output), lambda: specialization_witness(
            net, output, follows_tree=memo.tree_matches))
        tree, w, M_eff, sym, used = wit.tree, wit.widths, wit.M_eff, wit.symmetric, list(wit.assumptions)
        second = wit.second
    elif isinstance(net_or_tree, ModeTree):
        tree, memo = net_or_tree, None
        if isinstance(M, bool) or not isinstance(M, (int, np.integer)) or M < 1:
            raise NetworkError(f"specialization_bound on a ModeTree needs M= (an integer >= 1), got {M!r}.")
        if widths is None:
            raise NetworkError("specialization_bound on a ModeTree needs widths= (int, list per level or dict).")
        check_partition(P, tree.n_modes, "specialization_bound", "the tree")
        w, M_eff = resolve_widths(tree, widths, 1), int(M)
        sym = frozenset(windows(tree)) if shared else frozenset()
        second = tied_second_windows(tree, w) if shared else frozenset()
        used = ["product", "tree", "all-free" if not shared else "weights tied per level"]
    else:
        raise NetworkError(
            f"specialization_bound needs a te.Network or te.ModeTree, got {type(net_or_tree).__name__}."
        )
    if memo is None:  # a bare tree: windows of equal shape share one witness point within this call
        seen: dict[tuple, int | None] = {}

        def rank_of(r_in: int, m: int, i: int, j: int) -> int:
            if (r_in, m, i, j) not in seen:
                seen[r_in, m, i, j] = shared_window_rank(r_in, m, i, j)
            return seen[r_in, m, i, j]  # type: ignore[return-value]

        def rank2_of(r0: int, r1: int, m: int, pattern: tuple) -> int | None:
            if ("2", r0, r1, m, pattern) not in seen:
                seen["2", r0, r1, m, pattern] = tied_window2_rank(r0, r1, m, pattern)
            return seen["2", r0, r1, m, pattern]

        first = None
    else:
        def rank_of(r_in: int, m: int, i: int, j: int) -> int:
            return memo.derived(("specialization.window", r_in, m, i, j), lambda: shared_window_rank(r_in, m, i, j))

        def rank2_of(r0: int, r1: int, m: int, pattern: tuple) -> int | None:
            return memo.derived(("specialization.window2", r0, r1, m, pattern),
                                lambda: tied_window2_rank(r0, r1, m, pattern))

        first = memo.derived(("specialization.windows",), lambda: windows(tree))
    value, factors = specialization_value(tree, w, M_eff, sym, P, rank_of, first, second, rank2_of)
    return SpecializationBound(value, partition=P.name, assumptions=tuple(used), M_eff=M_eff, shared=bool(sym),
                               factors=factors)


def _provider(net: Network, P: Partition, ctx: BoundContext) -> SpecializationBound:
    return specialization_bound(net, P, output=ctx.output, analysis=ctx.analysis)


SPECIALIZATION = BoundProvider("specialization", "lower", _provider, needs=("product", "tree", "mode-tree"))
