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

``certified`` is True only when the best lower bound equals the best upper bound. Cheap bounds run first;
the instance rank (``structured`` when that method is registered, else dense ``exact`` when small) runs
only while the interval is open and time is left.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import BudgetError, NetworkError, RankError, TensorExprError
from ..network import Network, Node
from ..partitions import Partition
from ..validation import check_output, check_partition

__all__ = ["certify", "Certificate", "integer_twin", "CERTIFY_METHODS", "DENSE_EXACT_MAX_ENTRIES"]

#: Methods in the order tried; each is cheap-to-expensive within its role.
CERTIFY_METHODS = ("trivial", "specialization", "geometry", "coarse", "mincut", "structured", "exact")
#: The dense exact fallback is used only up to this many matricization entries.
DENSE_EXACT_MAX_ENTRIES = 4_000_000

_PRETTY = {"mincut": "min-cut", "trivial": "trivial (matrix shape)", "exact": "exact (dense)"}


def _fmt(v: int) -> str:
    """Exact digits up to 10^12, else ``2^k`` for powers of two or ``~2^x.y``."""
    if v < 10**12:
        return str(v)
    if v & (v - 1) == 0:
        return f"2^{v.bit_length() - 1}"
    b = v.bit_length() - 1
    return f"~2^{b + math.log2((v >> (b - 52)) / (1 << 52)):.2f}"


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
        Per method: ``{"value": int, "role": "lower"|"upper", "seconds": float, ...}`` or ``{"skipped": why}``.
    partition : str
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
        }

    def __repr__(self) -> str:
        return f"Certificate({self.summary()}, partition={self.partition}, {self.seconds:.3g}s)"

    def __str__(self) -> str:
        return self.summary()


def integer_twin(net: Network, seed: int = 0, int_range: int = 10**6) -> Network:
    """The same architecture with seeded integer weights in ``[-int_range, int_range]`` (tied weights stay
    tied; ``F`` is kept).

    The weights are always redrawn, even for an integer ``net``: small ranges hit rank-deficient points
    too often (with ``[-9, 9]``, 4 of 300 random small trees fell one short of the min-cut; with ``10^6``,
    0 of 1000), and the certificate is about the architecture, not the given weights.
    Raises :class:`NetworkError` when ``F`` is not integer-valued (an integer instance would then be a
    different architecture).
    """
    F = np.asarray(net.F)
    if not np.all(np.equal(np.mod(F, 1), 0)):
        raise NetworkError(
            f"{net.name} has a non-integer template matrix F, so no integer instance has the same architecture. "
            f"Hint: pass an integer F (e.g. one-hot templates) or use upper bounds only."
        )
    rng = np.random.default_rng(seed)
    # redraw parameter blocks, never individual copies of a tied weight; fixed weights stay constants
    for nd in net.live_nodes:
        if net.weight_kind(nd.id) == "fixed" and not np.all(np.equal(np.mod(nd.weight, 1), 0)):
            raise NetworkError(
                f"{net.name}: fixed weight of node {nd.id!r} is not integer-valued, so no integer instance has "
                f"the same architecture. Hint: use upper bounds only."
            )
    blocks = {b: rng.integers(-int_range, int_range + 1, size=v.size).astype(np.int64)
              for b, v in sorted(net.params.items())}
    nodes = [replace(nd, weight=np.asarray(nd.weight).astype(np.int64)) if net.weight_kind(nd.id) == "fixed" else nd
             for nd in net.nodes]
    for b, nd_ids in net.block_users.items():
        basis_ok = all(getattr(net.node(i).param, "basis", None) is None
                       or np.all(np.equal(np.mod(net.node(i).param.basis, 1), 0)) for i in nd_ids)
        if not basis_ok:
            raise NetworkError(f"{net.name}: block {b!r} is tied through a non-integer basis; no integer twin.")
    base = replace(net, nodes=tuple(nodes))
    return base.with_params(blocks, F=F.astype(np.int64), integer=True, name=f"{net.name}[int seed={seed}]")


def _trivial(net: Network, P: Partition, output: int) -> int:
    T = net.n_templates
    caps = [T ** len(P.I), T ** len(P.J)]
    if net.op.multilinear:  # A = W x_1 F ... x_N F: every mode sees at most rank F independent templates
        from .specialization import _f_rank

        F = np.asarray(net.F)
        r_F = _f_rank(F) if F.dtype.kind in "iO" else net.M  # a float rank could undercount: not for an upper bound
        caps.append(r_F ** min(len(P.I), len(P.J)))
    return min(caps)


def _specialization(net: Network, P: Partition, output: int) -> int:
    """The specialization lower bound (:func:`tensorexpr.bounds.specialization.specialization_bound`; it
    accounts for tied weights and for the rank of ``F``)."""
    from .specialization import specialization_bound

    if not net.is_tree or net.tree is None or not net.op.multilinear:
        raise RankError("the specialization bound applies to product networks on a mode tree only.")
    return int(specialization_bound(net, P))


def _geometry(net: Network, P: Partition, output: int) -> tuple[int, Any]:
    from .geometry import geometry_bound

    res = geometry_bound(net, P)
    return int(res.value), res  # type: ignore[arg-type]


def _coarse(net: Network, P: Partition, output: int, seed: int) -> tuple[int, Any]:
    from .coarse import coarse_bound

    res = coarse_bound(net, P, output=output, seed=seed)
    return res.value, res


def _mincut(net: Network, P: Partition, output: int) -> tuple[int, Any]:
    from .mincut import mincut_bound

    res = mincut_bound(net, P, output=output)
    return res.bound, res


def _instance(method: str, net: Network, P: Partition, output: int, seed: int,
              upper: int | None = None) -> tuple[int, Any]:
    from ..rank import RANK_METHODS, rank

    if method == "structured":
        if "structured" not in RANK_METHODS:
            raise RankError("rank method 'structured' is not registered in this build.")
        from ..rank import structured as _st

        cap = getattr(_st, "DEFAULT_MAX_RANK", None)
        if cap is not None and upper is not None and upper > cap:
            raise BudgetError(f"upper bound {_fmt(upper)} exceeds the structured method's max_rank={cap}: the exact rank "
                              f"could not be formed.")
    twin = integer_twin(net, seed)
    if method == "exact":
        entries = net.n_templates ** len(P.I) * net.n_templates ** len(P.J)
        if entries > DENSE_EXACT_MAX_ENTRIES:
            raise BudgetError(
                f"dense exact rank needs a {net.n_templates}^{len(P.I)} x {net.n_templates}^{len(P.J)} matrix, over "
                f"{DENSE_EXACT_MAX_ENTRIES:,} entries."
            )
    res = rank(twin, P, method=method, output=output)
    return res.rank, res


_UPPER: dict[str, Callable[..., Any]] = {"geometry": _geometry, "mincut": _mincut}


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
        Skip the expensive instance ranks once this much time has passed.
    methods : sequence of str, optional
        Subset of :data:`CERTIFY_METHODS` to use (all by default); the free ``trivial`` bound always runs.
    seed : int
        Seed of the integer instance when ``net`` is not integer.

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
    check_partition(P, net.n_modes, "certify", net.name, NetworkError)
    check_output(output, net.outputs)
    chosen = tuple(CERTIFY_METHODS if methods is None else methods)
    bad = [m for m in chosen if m not in CERTIFY_METHODS]
    if bad:
        raise NetworkError(f"Unknown certify method(s) {bad}; expected a subset of {CERTIFY_METHODS}.")
    details: dict[str, Any] = {}
    results: dict[str, Any] = {}
    lower, lower_m = 0, "none"
    upper, upper_m = math.inf, "none"

    def run(name: str, role: str, fn: Callable[[], Any]) -> None:
        nonlocal lower, lower_m, upper, upper_m
        t = time.perf_counter()
        try:
            out = fn()
        except TensorExprError as exc:
            details[name] = {"role": role, "skipped": str(exc).split(". Hint")[0]}
            return
        value, obj = out if isinstance(out, tuple) else (out, None)
        details[name] = {"role": role, "value": int(value), "seconds": round(time.perf_counter() - t, 4)}
        if obj is not None:
            results[name] = obj
            if name == "mincut":
                details[name]["cut"] = obj.describe_cut()
        if role == "lower" and value > lower:
            lower, lower_m = int(value), name
        if role == "upper" and (value < upper or (value == upper and upper_m == "trivial")):
            upper, upper_m = int(value), name

    run("trivial", "upper", lambda: _trivial(net, P, output))  # free, and keeps the interval finite
    if "specialization" in chosen:
        run("specialization", "lower", lambda: _specialization(net, P, output))
    for name, fn in _UPPER.items():
        if name == "mincut" and "coarse" in chosen:  # scale12: cheap core lower bound before the min-cut
            if lower >= upper:
                details["coarse"] = {"role": "lower", "skipped": "not needed: the bounds already meet"}
            else:
                run("coarse", "lower", lambda: _coarse(net, P, output, seed))
        if name in chosen:
            if lower >= upper:
                details[name] = {"role": "upper", "skipped": "not needed: the bounds already meet"}
                continue
            run(name, "upper", lambda fn=fn: fn(net, P, output))
    for name in ("structured", "exact"):
        if name not in chosen:
            continue
        if lower >= upper:
            details[name] = {"role": "lower", "skipped": "not needed: the bounds already meet"}
            continue
        if budget_seconds is not None and time.perf_counter() - t0 > budget_seconds:
            details[name] = {"role": "lower", "skipped": f"time budget of {budget_seconds}s spent"}
            continue
        run(name, "lower", lambda name=name: _instance(name, net, P, output, seed, int(upper)))
    if lower > upper:  # a sound set of bounds never does this: fail loudly instead of printing nonsense
        raise RankError(f"internal inconsistency: lower bound {lower} ({lower_m}) > upper bound {upper} ({upper_m}).")
    details["certifies"] = (
        "the generic rank (attained for almost every weight setting)" if net.op.multilinear else
        f"the maximum rank over weight settings: {net.op.name} networks have no generic rank (the rank is constant "
        f"on regions of positive measure, Cohen & Shashua, ICML 2016); lower = a rank some weights attain, "
        f"upper = a bound for every weight setting"
    )
    return Certificate(lower, int(upper), lower == upper, lower_m, upper_m, time.perf_counter() - t0, details,
                       P.name, net.name, results)
