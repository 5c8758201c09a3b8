"""Certified separation ranks: a lower and an upper bound on the *generic* rank of an architecture.

What is certified
-----------------
:func:`certify` bounds the **generic rank** of the architecture of ``net``: its graph, widths, ``M``, template
matrix ``F``, operator and weight tying, with the weights free. For product networks the generic rank is
the maximum of ``rank [A]_{I,J}`` over all weights and is attained for almost every weight setting
(the rank is lower semicontinuous; the rank-deficient set is a proper algebraic subset).

* Upper bounds hold for *every* weight setting: the min-cut (:func:`~tensorexpr.mincut_bound`), the
  pooling-geometry recursion (:func:`~tensorexpr.geometry_bound`) and the trivial
  ``min(T^{|I|}, T^{|J|}, M^{min(|I|,|J|)})``.
* Lower bounds: the specialization bound (a theorem about the generic rank, product tree networks), and the exact rank of one seeded integer instance over GF(p) or Q
  (rank over GF(p) <= rank over Q <= generic rank). The instance is ``net`` itself when it is integer,
  else an integer twin with the same graph, shapes and tying (the weights of ``net`` do not matter).

For non-product operators (ReLU networks) there is no generic rank: the interval then bounds the *maximum*
rank over weight settings (``details["certifies"]`` says which).

``certified`` is True only when the best lower bound equals the best upper bound.

How it composes
---------------
:func:`certify` walks an explicit, ordered list of providers (:data:`~tensorexpr.bounds.providers.DEFAULT_PROVIDERS`
unless ``providers=`` is given), each ``compute(net, P, ctx) -> Bound``. Before calling one it checks the facts
the provider declares (``needs``) against the network's own fields, through the network's
:class:`~tensorexpr.bounds.analysis.Analysis`; a provider whose facts fail, or that raises
:class:`~tensorexpr.core.errors.NotApplicable`, steps aside and the certificate records why. Once the bounds meet,
the rest are skipped as unable to change the answer; expensive providers (the instance ranks) also stop when
``budget_seconds`` is spent.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from tensorexpr.core.errors import NetworkError, NotApplicable, RankError, TensorExprError
from tensorexpr.core.network import Network
from tensorexpr.core.partitions import Partition
from tensorexpr.core.validation import check_output, check_partition
from tensorexpr.bounds.analysis import Analysis, analysis_of
from tensorexpr.bounds.instance import DENSE_EXACT_MAX_ENTRIES, integer_twin
from tensorexpr.bounds.providers import DEFAULT_PROVIDERS
from tensorexpr.bounds.result import Bound, BoundContext, BoundProvider, BoundProviders

__all__ = ["certify", "Certificate", "integer_twin", "DENSE_EXACT_MAX_ENTRIES"]

_PRETTY = {"mincut": "min-cut", "trivial": "trivial (matrix shape)", "exact": "exact (dense)"}


def _fmt(v: int) -> str:
    """The one big-number format (:func:`tensorexpr.core.numbers.format_count`)."""
    from tensorexpr.core.numbers import format_count

    return format_count(v)


@dataclass(frozen=True)
class Certificate:
    """An interval ``lower <= generic rank <= upper`` and the methods that produced each end.

    Attributes
    ----------
    lower, upper : int
    certified : bool
        ``lower == upper``: the generic rank is known exactly.
    lower_method, upper_method : str
    seconds : float
    details : dict
        Per provider: ``{"value", "role", "seconds", "assumptions", "bound": Bound.to_dict()}`` or
        ``{"role", "skipped": why, "skip_kind": "assumption" | "not applicable" | "error" | "not needed" |
        "budget"}``; plus ``"certifies"``.
    partition : str
    assumptions : dict
        Every known assumption for this network: True, or the reason it fails.
    parametrization : dict
        The network's parametrization summary (free-parameter count, weights by kind, tied blocks).
    results : dict
        The :class:`~tensorexpr.bounds.result.Bound` objects by provider name.
    """

    lower: int
    upper: int
    certified: bool
    lower_method: str
    upper_method: str
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)
    partition: str = ""
    network: str = ""
    results: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    assumptions: dict[str, Any] = field(default_factory=dict, compare=False)
    parametrization: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def value(self) -> int | None:
        """The certified rank, or None when the interval is open."""
        return self.lower if self.certified else None

    def summary(self) -> str:
        """One line: the certified rank, or the interval, and the methods of each end.

        Returns
        -------
        str
            ``rank = r (certified: lower = upper)`` or ``lo <= rank <= up (lower: ..., upper: ...)``.
        """
        lo, up = _PRETTY.get(self.lower_method, self.lower_method), _PRETTY.get(self.upper_method, self.upper_method)
        if self.certified:
            return f"rank = {_fmt(self.lower)} (certified: {lo} = {up})"
        return f"{_fmt(self.lower)} <= rank <= {_fmt(self.upper)} (lower: {lo}, upper: {up})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; counts of ``2^53`` or more (``lower``, ``upper``, ``value``, every bound's value)
        are :func:`~tensorexpr.core.numbers.encode_count` dicts (each with its ``log2``);
        :func:`~tensorexpr.core.numbers.decode_counts` restores the exact ints.

        Returns
        -------
        dict
        """
        from tensorexpr.core.numbers import encode_counts

        return encode_counts(self._plain_dict())

    def _plain_dict(self) -> dict[str, Any]:
        return {
            "lower": self.lower,
            "upper": self.upper,
            "certified": self.certified,
            "value": self.value,
            "lower_method": self.lower_method,
            "upper_method": self.upper_method,
            "seconds": self.seconds,
            "partition": self.partition,
            "network": self.network,
            "details": self.details,
            "assumptions": self.assumptions,
            "parametrization": self.parametrization,
            "bounds": {k: b.to_dict() for k, b in self.results.items() if isinstance(b, Bound)},
        }

    def __repr__(self) -> str:
        return f"Certificate({self.summary()}, partition={self.partition}, {self.seconds:.3g}s)"

    def __str__(self) -> str:
        return self.summary()


def _short(exc: BaseException) -> str:
    return str(exc).split(". Hint")[0]


def certify(
    net: Network | Analysis,
    P: Partition,
    output: int = 0,
    budget_seconds: float | None = None,
    methods: Sequence[str] | None = None,
    seed: int = 0,
    providers: BoundProviders | None = None,
) -> Certificate:
    """Certify the generic rank of ``[A]_{I,J}`` for the architecture of ``net`` (see the module docstring).

    Parameters
    ----------
    net : Network or Analysis
        The network, or its analysis plan (:func:`~tensorexpr.analyze`) to reuse what is derived from it
        across partitions.
    P : Partition
    output : int
        Output channel.
    budget_seconds : float, optional
        Skip the expensive providers (instance ranks) once this much time has passed.
    methods : sequence of str, optional
        Names of providers to use (all by default); the free ``trivial`` bound always runs.
    seed : int
        Seed of the integer instance the instance-rank providers use.
    providers : BoundProviders, optional
        The ordered providers to walk (default :data:`~tensorexpr.bounds.providers.DEFAULT_PROVIDERS`).

    Returns
    -------
    Certificate
        ``lower <= generic rank <= upper``, with the provider of each end and why the others stepped aside.

    Raises
    ------
    NetworkError
        Not a network, unknown method names, a bad partition or output.
    RankError
        A provider returned something other than a bound of its side, or the bounds cross (an internal bug).

    Examples
    --------
    >>> import tensorexpr as te
    >>> net = te.convac(te.ModeTree.line(8), M=3, widths=2, seed=0)
    >>> te.certify(net, te.Partition.odd_even(8)).summary()  # doctest: +ELLIPSIS
    'rank = 16 (certified: ...)'
    """
    t0 = time.perf_counter()
    if not isinstance(net, (Network, Analysis)):
        raise NetworkError(f"certify needs a te.Network, got {type(net).__name__}. Hint: te.convac(tree, M, widths).")
    analysis = analysis_of(net)
    net = analysis.net
    check_partition(P, net.n_modes, "certify", net.name)
    check_output(output, net.outputs)
    chosen = _select(DEFAULT_PROVIDERS if providers is None else providers, methods)
    details: dict[str, Any] = {}
    results: dict[str, Bound] = {}
    best = {"lower": (0, "none"), "upper": (math.inf, "none")}
    for prov in chosen:
        lower, upper = best["lower"][0], best["upper"][0]
        ctx = BoundContext(analysis, output, seed, lower, None if upper == math.inf else int(upper))
        spent = budget_seconds is not None and time.perf_counter() - t0 > budget_seconds
        b, details[prov.name] = _run(prov, net, P, ctx, meet=prov.name != "trivial" and lower >= upper,
                                     over_budget=prov.expensive and spent, budget=budget_seconds)
        if b is None:
            continue
        results[prov.name] = b
        value, holder = best[b.side]
        if (b.value > value) if b.side == "lower" else (b.value < value or (b.value == value and holder == "trivial")):
            best[b.side] = (int(b.value), prov.name)
    (lower, lower_m), (upper, upper_m) = best["lower"], best["upper"]
    if lower > upper:  # a sound set of bounds never does this: fail loudly instead of printing nonsense
        raise RankError(f"internal inconsistency: lower bound {lower} ({lower_m}) > upper bound {upper} ({upper_m}).")
    details["certifies"] = _certifies(net)
    return Certificate(lower, int(upper), lower == upper, lower_m, upper_m, time.perf_counter() - t0, details,
                       P.name, net.name, results, analysis.facts(), net.parametrization())


def _select(providers: BoundProviders, methods: Sequence[str] | None) -> BoundProviders:
    """The providers to run: all, or those named (``trivial`` always: free, and keeps the interval finite)."""
    if not isinstance(providers, BoundProviders):
        raise NetworkError(f"providers= must be a te.BoundProviders list, got {type(providers).__name__}. "
                           f"Hint: tensorexpr.bounds.providers.DEFAULT_PROVIDERS.add(...).")
    if methods is None:
        return providers
    if isinstance(methods, str) or not all(isinstance(m, str) for m in methods):
        raise NetworkError(f"methods must be a sequence of provider names, got {methods!r}.")
    bad = sorted(m for m in set(methods) if m not in providers)
    if bad:
        raise NetworkError(f"Unknown certify method(s) {bad}; registered bound providers: {sorted(providers.names)}.")
    return providers.select({*methods, "trivial"} & set(providers.names))


def _run(prov: BoundProvider, net: Network, P: Partition, ctx: BoundContext, meet: bool, over_budget: bool,
         budget: float | None) -> tuple[Bound | None, dict[str, Any]]:
    """One provider: its bound (or None) and the certificate's entry for it."""
    entry: dict[str, Any] = {"role": prov.side}
    if meet:
        return None, {**entry, "skipped": "not needed: the bounds already meet", "skip_kind": "not needed"}
    if over_budget:
        return None, {**entry, "skipped": f"time budget of {budget}s spent", "skip_kind": "budget"}
    for need in prov.needs:
        why = ctx.analysis.fact(need)
        if why is not None:
            key = need if isinstance(need, str) else need.key
            return None, {**entry, "skipped": f"assumption {key!r} fails: {why}", "skip_kind": "assumption",
                          "needs": [n if isinstance(n, str) else n.key for n in prov.needs]}
    t = time.perf_counter()
    try:
        b = prov.compute(net, P, ctx)
    except NotApplicable as exc:
        return None, {**entry, "skipped": _short(exc), "skip_kind": "not applicable"}
    except TensorExprError as exc:
        return None, {**entry, "skipped": _short(exc), "skip_kind": "error", "error": type(exc).__name__}
    if not isinstance(b, Bound) or b.side != prov.side:
        raise RankError(f"bound provider {prov.name!r} returned {b!r}; expected a {prov.side} te Bound.")
    entry.update(value=int(b.value), seconds=round(time.perf_counter() - t, 4), assumptions=list(b.assumptions))
    if hasattr(b, "describe_cut"):
        entry["cut"] = b.describe_cut()
    return b, entry


def _certifies(net: Network) -> str:
    if net.op.multilinear:
        return "the generic rank (attained for almost every weight setting)"
    return (f"the maximum rank over weight settings: {net.op.name} networks have no generic rank (the rank is "
            f"constant on regions of positive measure, Cohen & Shashua, ICML 2016); lower = a rank some weights "
            f"attain, upper = a bound for every weight setting")
