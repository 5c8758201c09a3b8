"""The built-in bound providers, in the order :func:`~tensorexpr.certify` runs them: :data:`DEFAULT_PROVIDERS`.

Every provider has one signature, ``compute(net, P, ctx) -> Bound`` (``ctx`` a
:class:`~tensorexpr.bounds.result.BoundContext`: the analysis plan, the output, the seed and the best bounds so
far), declares the facts it needs (checked before the call) and raises
:class:`~tensorexpr.core.errors.NotApplicable` when a finer hypothesis fails. The list is explicit and ordered
(cheap first, the instance ranks last); a new bound is ``DEFAULT_PROVIDERS.add(BoundProvider(...))`` passed as
``certify(..., providers=...)`` (docs/design.md, "Add a bound").

================  =====  ===========================================================
name              side   needs
================  =====  ===========================================================
trivial           upper  (none; the ``rank F`` cap only where product and read-once)
symmetry          upper  product, tree, mode-tree (tied weights)
specialization    lower  product, tree, mode-tree (and a parametrization it can set)
geometry          upper  product, tree, mode-tree
coarse            lower  product, tree
gram              lower  product, tree, mode-tree, integer-F
mincut            upper  product
flow              lower  product, tree, all-free, modes-read-once
structured        lower  (an integer instance; product networks); expensive
exact             lower  (an integer instance, dense and small); expensive
================  =====  ===========================================================
"""

from __future__ import annotations

from typing import Any

from tensorexpr.core.numbers import format_count
from tensorexpr.core.errors import BudgetError, RankError
from tensorexpr.core.network import Network
from tensorexpr.core.partitions import Partition
from tensorexpr.core.rational import rank_over_Q
from tensorexpr.core.validation import check_partition
from tensorexpr.bounds.analysis import Analysis, analysis_of
from tensorexpr.bounds.circuit import CIRCUIT
from tensorexpr.bounds.coarse import COARSE
from tensorexpr.bounds.flow import FLOW
from tensorexpr.bounds.gram import GRAM
from tensorexpr.bounds.instance import DENSE_EXACT_MAX_ENTRIES, integer_twin
from tensorexpr.bounds.restriction import RESTRICTION
from tensorexpr.bounds.result import Bound, BoundContext, BoundProvider, BoundProviders
from tensorexpr.bounds.specialization import SPECIALIZATION
from tensorexpr.bounds.symmetry import SYMMETRY

__all__ = ["trivial_bound", "instance_rank_bound", "DEFAULT_PROVIDERS"]


def trivial_bound(net: Network, P: Partition, output: int = 0, analysis: Analysis | None = None) -> Bound:
    """``min(T^{|I|}, T^{|J|})`` (the matrix shape), and ``rank(F)^{min(|I|,|J|)}`` where it holds.

    .. math::
        \\mathcal{A} = \\mathcal{W} \\times_1 F \\times_2 F \\cdots \\times_N F
        \\;\\Rightarrow\\; \\operatorname{rank}[\\mathcal{A}]_{I,J} \\le
        \\operatorname{rank}(F)^{\\min(|I|, |J|)}

    The factorisation needs a product network in which every mode's template row enters each product term
    once (``modes-read-once``); an overlapping network reads a mode in several windows, so the tensor is
    polynomial of higher degree in that row and the cap does not hold. ``rank F`` is exact over Q.

    Parameters
    ----------
    net : Network
        Any network.
    P : Partition
        The partition ``(I, J)``.
    output : int, optional
        The output channel (the bound is the same for all).
    analysis : Analysis, optional
        The network's analysis plan, reused across partitions.

    Returns
    -------
    Bound
        The smallest cap, ``side="upper"``; ``details["attained_by"]`` names it.

    Raises
    ------
    PartitionError
        When ``P`` is not a partition of the network's modes.
    """
    check_partition(P, net.n_modes, "the trivial bound", net.name)
    T = net.n_templates
    caps = {"T^|I|": T ** len(P.I), "T^|J|": T ** len(P.J)}
    used: list[str] = []
    details: dict[str, Any] = {"T": T}
    analysis = analysis_of(net, analysis)
    why = analysis.fact("product") or analysis.fact("modes-read-once")
    if why is None:
        r_F = rank_over_Q(net.F)
        caps["rank(F)^min(|I|,|J|)"] = r_F ** min(len(P.I), len(P.J))
        details["rank_F"] = r_F
        used = ["product", "modes-read-once"]
    else:
        details["rank_F_cap"] = f"not used: {why}"
    which = min(caps, key=lambda k: caps[k])
    details["attained_by"] = which
    return Bound(caps[which], "upper", "trivial", P.name, tuple(used), details)


def _trivial(net: Network, P: Partition, ctx: BoundContext) -> Bound:
    return trivial_bound(net, P, ctx.output, ctx.analysis)


def _geometry(net: Network, P: Partition, ctx: BoundContext) -> Bound:
    from tensorexpr.bounds.geometry import geometry_bound

    return geometry_bound(net, P, analysis=ctx.analysis)


def _mincut(net: Network, P: Partition, ctx: BoundContext) -> Bound:
    from tensorexpr.bounds.mincut import mincut_bound

    return mincut_bound(net, P, output=ctx.output, analysis=ctx.analysis)


def instance_rank_bound(method: str, net: Network, P: Partition, output: int = 0, seed: int = 0,
                        upper: int | None = None, analysis: Analysis | None = None) -> Bound:
    """The exact rank of one seeded integer instance (:func:`~tensorexpr.bounds.instance.integer_twin`):
    rank over GF(p) <= rank over Q <= the generic rank (or, for ReLU operators, the maximum rank).

    Parameters
    ----------
    method : str
        The rank method, ``"structured"`` or ``"exact"`` (any of :data:`~tensorexpr.rank.RANK_METHODS`).
    net : Network
        The architecture.
    P : Partition
        The partition ``(I, J)``.
    output : int, optional
        The output channel.
    seed : int, optional
        Seed of the integer twin.
    upper : int, optional
        The best upper bound so far; ``structured`` is refused when it exceeds the method's ``max_rank``.
    analysis : Analysis, optional
        The network's analysis plan (the twin is built once per seed).

    Returns
    -------
    Bound
        A lower bound, ``method=method``; ``details`` has the field and the twin's seed.

    Raises
    ------
    PartitionError
        When ``P`` is not a partition of the network's modes.
    NetworkError
        When ``F`` or a fixed weight holds non-integral floats, so no integer twin exists.
    RankError
        When ``structured`` is not registered, or the rank method refuses the twin.
    BudgetError
        When ``upper`` exceeds the structured ``max_rank``, the dense exact matrix would exceed
        ``DENSE_EXACT_MAX_ENTRIES`` entries, or the rank computation runs over its budget.
    """
    from tensorexpr.rank import RANK_METHODS, rank

    check_partition(P, net.n_modes, f"the {method} instance rank", net.name)
    if method == "structured":
        if "structured" not in RANK_METHODS:
            raise RankError("rank method 'structured' is not registered in this build.")
        from tensorexpr.rank import structured as _st

        cap = getattr(_st, "DEFAULT_MAX_RANK", None)
        if cap is not None and upper is not None and upper > cap:
            raise BudgetError(f"upper bound {format_count(upper)} exceeds the structured method's max_rank={cap}: the exact rank "
                              f"could not be formed.")
    if method == "exact":
        entries = net.n_templates ** len(P.I) * net.n_templates ** len(P.J)
        if entries > DENSE_EXACT_MAX_ENTRIES:
            raise BudgetError(
                f"dense exact rank needs a {net.n_templates}^{len(P.I)} x {net.n_templates}^{len(P.J)} matrix, over "
                f"{DENSE_EXACT_MAX_ENTRIES:,} entries."
            )
    twin = analysis_of(net, analysis).derived(("integer-twin", seed), lambda: integer_twin(net, seed))
    res = rank(twin, P, method=method, output=output)
    return Bound(res.rank, "lower", method, P.name,
                 ("an integer instance with the same parametrization (blocks redrawn, constants kept)",),
                 {"field": res.field, "twin_seed": seed, "shape": list(res.shape), "certifies": res.certifies})


def _structured(net: Network, P: Partition, ctx: BoundContext) -> Bound:
    return instance_rank_bound("structured", net, P, ctx.output, ctx.seed, ctx.upper, ctx.analysis)


def _exact(net: Network, P: Partition, ctx: BoundContext) -> Bound:
    return instance_rank_bound("exact", net, P, ctx.output, ctx.seed, ctx.upper, ctx.analysis)


#: The built-in providers, in the order certify runs them (cheap first; the instance ranks last).
DEFAULT_PROVIDERS = BoundProviders((
    BoundProvider("trivial", "upper", _trivial),
    SYMMETRY,
    SPECIALIZATION,
    BoundProvider("geometry", "upper", _geometry, needs=("product", "tree", "mode-tree")),
    COARSE,
    GRAM,
    BoundProvider("mincut", "upper", _mincut, needs=("product",)),
    CIRCUIT,
    FLOW,
    BoundProvider("structured", "lower", _structured, expensive=True),
    BoundProvider("exact", "lower", _exact, expensive=True),
    RESTRICTION,
))
