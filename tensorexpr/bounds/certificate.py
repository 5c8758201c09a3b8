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
:func:`certify` runs every registered bound provider (:data:`~tensorexpr.bounds.result.BOUND_PROVIDERS`;
the built-in ones are in :mod:`tensorexpr.bounds.providers`, and a new bound is one
:func:`~tensorexpr.bounds.result.register_bound_provider` call) in cost order. Before calling a provider it
checks the assumptions the provider declares (``needs``) against the network's own fields
(:mod:`tensorexpr.bounds.assumptions`); a provider whose assumptions fail, or that raises
:class:`~tensorexpr.core.errors.NotApplicable`, steps aside and the certificate records why. Once the bounds meet,
the rest are skipped as unable to change the answer; expensive providers (``cost >= EXPENSIVE_COST``, the
instance ranks) also stop when ``budget_seconds`` is spent.
"""

from __future__ import annotations

import inspect
import math
import time
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from tensorexpr.core.errors import NetworkError, NotApplicable, RankError, TensorExprError
from tensorexpr.core.network import Network
from tensorexpr.core.partitions import Partition
from tensorexpr.core.rational import exact_matrix, integer_entries
from tensorexpr.core.validation import check_output, check_partition
from tensorexpr.bounds.assumptions import check_assumption, network_facts
from tensorexpr.bounds.result import BOUND_PROVIDERS, Bound

__all__ = ["certify", "Certificate", "integer_twin", "CERTIFY_METHODS", "DENSE_EXACT_MAX_ENTRIES", "EXPENSIVE_COST"]

#: The built-in providers, for reference; certify runs whatever is registered in BOUND_PROVIDERS.
CERTIFY_METHODS = ("trivial", "specialization", "geometry", "mincut", "structured", "exact")
#: The dense exact fallback is used only up to this many matricization entries.
DENSE_EXACT_MAX_ENTRIES = 4_000_000
#: Providers at or above this cost (instance ranks) are skipped once ``budget_seconds`` is spent.
EXPENSIVE_COST = 10.0

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


def _exact_or_refuse(a: Any, what: str, net: Network) -> np.ndarray:
    """Integers as int64, exact fractions kept (cleared before any GF(p) step); non-integral floats refused."""
    arr = np.asarray(a)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64) if arr.dtype.kind == "u" else arr
    if arr.dtype.kind == "f":
        try:
            return integer_entries(arr, what)
        except NetworkError:
            raise NetworkError(
                f"{net.name}: {what} has non-integral float entries, so no integer instance has the same "
                f"architecture. Hint: pass integers or fractions.Fraction entries (exact over Q), or use upper "
                f"bounds only."
            ) from None
    ex = exact_matrix(arr, what)
    if any(isinstance(x, float) for x in arr.ravel()) and any(isinstance(x, Fraction) for x in ex.ravel()):
        raise NetworkError(f"{net.name}: {what} holds non-integral floats; use fractions.Fraction for exact values.")
    return ex if any(isinstance(x, Fraction) for x in ex.ravel()) else integer_entries(ex, what)


def integer_twin(net: Network, seed: int = 0, int_range: int = 10**6) -> Network:
    """The same architecture with seeded integer parameters in ``[-int_range, int_range]``: every parameter
    block is redrawn (tied weights stay tied, never redrawn copy by copy); fixed weights, identities, tie
    bases and ``F`` are kept exactly.

    The blocks are always redrawn, even for an integer ``net``: small ranges hit rank-deficient points
    too often (with ``[-9, 9]``, 4 of 300 random small trees fell one short of the min-cut; with ``10^6``,
    0 of 1000), and the certificate is about the architecture, not the given weights.
    Exact :class:`~fractions.Fraction` entries in ``F``, fixed weights or bases are kept (rank methods clear
    denominators before any GF(p) step: :func:`tensorexpr.core.rational.clear_denominators`). Raises
    :class:`NetworkError` when one of those holds non-integral floats (an integer instance would then be a
    different architecture).
    """
    F = _exact_or_refuse(net.F, "the template matrix F", net)
    rng = np.random.default_rng(seed)
    nodes = []
    for nd in net.nodes:
        if nd.weight is not None and net.weight_kind(nd.id) == "fixed":
            nd = replace(nd, weight=_exact_or_refuse(nd.weight, f"the fixed weight of node {nd.id!r}", net))
        elif nd.param is not None and getattr(nd.param, "basis", None) is not None:
            basis = _exact_or_refuse(nd.param.basis, f"the tie basis of block {nd.param.block!r}", net)
            nd = replace(nd, param=type(nd.param)(nd.param.block, basis))
        nodes.append(nd)
    blocks = {b: rng.integers(-int_range, int_range + 1, size=v.size).astype(np.int64)
              for b, v in sorted(net.params.items())}
    base = replace(net, nodes=tuple(nodes), integer=False)
    # with_params recomputes every tied weight from its (integer) block; then the exactness checks run
    twin = base.with_params(blocks, F=F, integer=False, name=f"{net.name}[int seed={seed}]")
    return replace(twin, integer=True)


def _accepted(fn: Any, ctx: dict[str, Any]) -> dict[str, Any]:
    """The context keywords ``fn`` accepts (a provider takes ``(net, P, output)`` and any of ``ctx``)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(ctx)
    return {k: v for k, v in ctx.items() if k in params}


def _short(exc: BaseException) -> str:
    return str(exc).split(". Hint")[0]


def certify(
    net: Network,
    P: Partition,
    output: int = 0,
    budget_seconds: float | None = None,
    methods: Sequence[str] | None = None,
    seed: int = 0,
) -> Certificate:
    """Certify the generic rank of ``[A]_{I,J}`` for the architecture of ``net`` (see the module docstring).

    Parameters
    ----------
    net : Network
    P : Partition
    output : int
        Output channel.
    budget_seconds : float, optional
        Skip the expensive providers (instance ranks) once this much time has passed.
    methods : sequence of str, optional
        Names of registered providers to use (all by default); the free ``trivial`` bound always runs.
    seed : int
        Seed of the integer instance the instance-rank providers use.

    Examples
    --------
    >>> import tensorexpr as te
    >>> net = te.convac(te.ModeTree.line(8), M=3, widths=2, seed=0)
    >>> te.certify(net, te.Partition.odd_even(8)).summary()  # doctest: +ELLIPSIS
    'rank = 16 (certified: ...)'
    """
    t0 = time.perf_counter()
    if not isinstance(net, Network):
        raise NetworkError(f"certify needs a te.Network, got {type(net).__name__}. Hint: te.convac(tree, M, widths).")
    check_partition(P, net.n_modes, "certify", net.name)
    check_output(output, net.outputs)
    if methods is not None and (isinstance(methods, str) or not all(isinstance(m, str) for m in methods)):
        raise NetworkError(f"methods must be a sequence of provider names, got {methods!r}.")
    chosen = set(BOUND_PROVIDERS) if methods is None else set(methods)
    bad = sorted(m for m in chosen if m not in BOUND_PROVIDERS)
    if bad:
        raise NetworkError(f"Unknown certify method(s) {bad}; registered bound providers: {sorted(BOUND_PROVIDERS)}.")
    chosen.add("trivial")  # free, and keeps the interval finite
    providers = sorted((p for p in BOUND_PROVIDERS.values() if p.name in chosen), key=lambda p: (p.cost, p.name))
    details: dict[str, Any] = {}
    results: dict[str, Bound] = {}
    lower, lower_m = 0, "none"
    upper: float | int = math.inf
    upper_m = "none"
    for prov in providers:
        entry: dict[str, Any] = {"role": prov.side}
        if prov.name != "trivial" and lower >= upper:
            details[prov.name] = {**entry, "skipped": "not needed: the bounds already meet", "skip_kind": "not needed"}
            continue
        if prov.cost >= EXPENSIVE_COST and budget_seconds is not None and time.perf_counter() - t0 > budget_seconds:
            details[prov.name] = {**entry, "skipped": f"time budget of {budget_seconds}s spent", "skip_kind": "budget"}
            continue
        failed = [(a, why) for a in prov.needs if (why := check_assumption(net, a)) is not None]
        if failed:
            a, why = failed[0]
            details[prov.name] = {**entry, "skipped": f"assumption {a!r} fails: {why}", "skip_kind": "assumption",
                                  "needs": list(prov.needs)}
            continue
        ctx = {"seed": seed, "upper": None if upper == math.inf else int(upper), "lower": lower}
        t = time.perf_counter()
        try:
            b = prov.compute(net, P, output, **_accepted(prov.compute, ctx))
        except NotApplicable as exc:
            details[prov.name] = {**entry, "skipped": _short(exc), "skip_kind": "not applicable"}
            continue
        except TensorExprError as exc:
            details[prov.name] = {**entry, "skipped": _short(exc), "skip_kind": "error",
                                  "error": type(exc).__name__}
            continue
        if not isinstance(b, Bound) or b.side != prov.side:
            raise RankError(f"bound provider {prov.name!r} returned {b!r}; expected a {prov.side} te Bound.")
        results[prov.name] = b
        details[prov.name] = {**entry, "value": int(b.value), "seconds": round(time.perf_counter() - t, 4),
                              "assumptions": list(b.assumptions)}
        if prov.name == "mincut" and hasattr(b, "describe_cut"):
            details[prov.name]["cut"] = b.describe_cut()
        if b.side == "lower" and b.value > lower:
            lower, lower_m = int(b.value), prov.name
        if b.side == "upper" and (b.value < upper or (b.value == upper and upper_m == "trivial")):
            upper, upper_m = int(b.value), prov.name
    if lower > upper:  # a sound set of bounds never does this: fail loudly instead of printing nonsense
        raise RankError(f"internal inconsistency: lower bound {lower} ({lower_m}) > upper bound {upper} ({upper_m}).")
    details["certifies"] = (
        "the generic rank (attained for almost every weight setting)" if net.op.multilinear else
        f"the maximum rank over weight settings: {net.op.name} networks have no generic rank (the rank is constant "
        f"on regions of positive measure, Cohen & Shashua, ICML 2016); lower = a rank some weights attain, "
        f"upper = a bound for every weight setting"
    )
    return Certificate(lower, int(upper), lower == upper, lower_m, upper_m, time.perf_counter() - t0, details,
                       P.name, net.name, results, network_facts(net), net.parametrization())
