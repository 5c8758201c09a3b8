"""The built-in bound providers :func:`~tensorexpr.certify` composes (docs/design.md, "Bounds").

Each is one :func:`~tensorexpr.bounds.result.register_bound_provider` call: a name, a side, a cost (cheap
first), the assumptions it needs (checked from the network's own fields before the call) and a
``compute(net, P, output, **context) -> Bound`` that raises :class:`~tensorexpr.core.errors.NotApplicable` when
a finer hypothesis fails. Context keywords a provider may accept: ``seed`` (of the integer instance),
``upper`` and ``lower`` (the best bounds so far).

================  =====  =====  ===========================================================
name              side   cost   needs
================  =====  =====  ===========================================================
trivial           upper  0      (none; the ``rank F`` cap only where product and read-once)
specialization    lower  1      product, tree, mode-tree (and a parametrization it can set)
geometry          upper  2      product, tree, mode-tree
mincut            upper  3      product
structured        lower  10     (an integer instance; product networks)
exact             lower  20     (an integer instance, dense and small)
================  =====  =====  ===========================================================
"""

from __future__ import annotations

from typing import Any

from tensorexpr.core.numbers import format_count
from tensorexpr.core.errors import BudgetError, RankError
from tensorexpr.core.network import Network
from tensorexpr.core.partitions import Partition
from tensorexpr.core.rational import rank_over_Q
from tensorexpr.core.validation import check_partition
from tensorexpr.bounds.assumptions import check_assumption
from tensorexpr.bounds.result import Bound, BoundProvider, register_bound_provider

__all__ = ["trivial_bound", "instance_rank_bound"]


def trivial_bound(net: Network, P: Partition, output: int = 0) -> Bound:
    """``min(T^{|I|}, T^{|J|})`` (the matrix shape), and ``rank(F)^{min(|I|,|J|)}`` where it holds.

    .. math::
        \\mathcal{A} = \\mathcal{W} \\times_1 F \\times_2 F \\cdots \\times_N F
        \\;\\Rightarrow\\; \\operatorname{rank}[\\mathcal{A}]_{I,J} \\le
        \\operatorname{rank}(F)^{\\min(|I|, |J|)}

    The factorisation needs a product network in which every mode's template row enters each product term
    once (``modes-read-once``); an overlapping network reads a mode in several windows, so the tensor is
    polynomial of higher degree in that row and the cap does not hold. ``rank F`` is exact over Q.
    """
    check_partition(P, net.n_modes, "the trivial bound", net.name)
    T = net.n_templates
    caps = {"T^|I|": T ** len(P.I), "T^|J|": T ** len(P.J)}
    used: list[str] = []
    details: dict[str, Any] = {"T": T}
    why = check_assumption(net, "product") or check_assumption(net, "modes-read-once")
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


def _specialization(net: Network, P: Partition, output: int = 0) -> Bound:
    from tensorexpr.bounds.specialization import specialization_bound

    return specialization_bound(net, P, output=output)


def _geometry(net: Network, P: Partition, output: int = 0) -> Bound:
    from tensorexpr.bounds.geometry import geometry_bound

    return geometry_bound(net, P)


def _mincut(net: Network, P: Partition, output: int = 0) -> Bound:
    from tensorexpr.bounds.mincut import mincut_bound

    return mincut_bound(net, P, output=output)


def instance_rank_bound(method: str, net: Network, P: Partition, output: int = 0, seed: int = 0,
                        upper: int | None = None) -> Bound:
    """The exact rank of one seeded integer instance (:func:`~tensorexpr.bounds.certificate.integer_twin`):
    rank over GF(p) <= rank over Q <= the generic rank (or, for ReLU operators, the maximum rank)."""
    from tensorexpr.rank import RANK_METHODS, rank
    from tensorexpr.bounds.certificate import DENSE_EXACT_MAX_ENTRIES, integer_twin

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
    twin = integer_twin(net, seed)
    res = rank(twin, P, method=method, output=output)
    return Bound(res.rank, "lower", method, P.name,
                 ("an integer instance with the same parametrization (blocks redrawn, constants kept)",),
                 {"field": res.field, "twin_seed": seed, "shape": list(res.shape), "certifies": res.certifies})


def _structured(net: Network, P: Partition, output: int = 0, seed: int = 0, upper: int | None = None) -> Bound:
    return instance_rank_bound("structured", net, P, output, seed, upper)


def _exact(net: Network, P: Partition, output: int = 0, seed: int = 0, upper: int | None = None) -> Bound:
    return instance_rank_bound("exact", net, P, output, seed, upper)


register_bound_provider(BoundProvider("trivial", "upper", trivial_bound, cost=0.0))
register_bound_provider(BoundProvider("specialization", "lower", _specialization, cost=1.0,
                                      needs=("product", "tree", "mode-tree")))
register_bound_provider(BoundProvider("geometry", "upper", _geometry, cost=2.0, needs=("product", "tree", "mode-tree")))
register_bound_provider(BoundProvider("mincut", "upper", _mincut, cost=3.0, needs=("product",)))
register_bound_provider(BoundProvider("structured", "lower", _structured, cost=10.0))
register_bound_provider(BoundProvider("exact", "lower", _exact, cost=20.0))
