"""The one shape of every bound, and the one protocol of the bound providers :func:`~tensorexpr.certify` composes.

A bound is a theorem with hypotheses. A provider is ``compute(net, P, ctx) -> Bound`` plus the facts it needs
(keys of :data:`tensorexpr.core.facts.FACTS`, or :class:`~tensorexpr.core.facts.Fact` objects), checked before the
call; where a finer hypothesis fails it raises :class:`~tensorexpr.core.errors.NotApplicable` with the reason, and
the certificate records that reason instead of a number. :class:`BoundProviders` is an explicit, ordered,
immutable list of providers; adding one whose name is taken is refused (docs/design.md, "Add a bound").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Literal, Mapping, Sequence

from tensorexpr.core.errors import NetworkError, TensorExprError
from tensorexpr.core.facts import FACTS, Fact
from tensorexpr.core.network import Network
from tensorexpr.core.partitions import Partition
from tensorexpr.bounds.analysis import Analysis

__all__ = ["Bound", "BoundContext", "BoundProvider", "BoundProviders", "Side"]

Side = Literal["lower", "upper"]


@dataclass(frozen=True)
class Bound:
    """A lower or upper bound on the rank of ``[A]_{I,J}``, with the method and the assumptions it used.

    Subclasses add method-specific fields (the cut of a min-cut, the per-node groups of a symmetry bound);
    every one has ``value``, ``side``, ``method``, ``assumptions`` and :meth:`to_dict`.
    """

    value: int
    side: Side
    method: str
    partition: str = ""
    assumptions: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.side not in ("lower", "upper"):
            raise TensorExprError(f"Bound.side must be 'lower' or 'upper', got {self.side!r}.")
        object.__setattr__(self, "value", int(self.value))
        object.__setattr__(self, "assumptions", tuple(self.assumptions))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; counts of ``2^53`` or more are :func:`~tensorexpr.core.numbers.encode_count` dicts
        (:func:`~tensorexpr.core.numbers.decode_counts` restores the exact ints).

        Returns
        -------
        dict
        """
        from tensorexpr.core.numbers import encode_counts

        return encode_counts({"value": self.value, "side": self.side, "method": self.method,
                              "partition": self.partition, "assumptions": list(self.assumptions),
                              "details": dict(self.details)})

    def __int__(self) -> int:
        return self.value

    def __index__(self) -> int:
        return self.value


@dataclass(frozen=True)
class BoundContext:
    """What a provider may use besides the network and the partition.

    Attributes
    ----------
    analysis : Analysis
        The network's analysis plan: ask it for derived structure (``ctx.analysis.derived(key, fn)``) and facts.
    output : int
        The output channel bounded.
    seed : int
        Seed of the integer instance the instance-rank providers use.
    lower, upper : int or None
        The best lower and upper bounds so far (``upper`` None while infinite).
    """

    analysis: Analysis
    output: int = 0
    seed: int = 0
    lower: int = 0
    upper: int | None = None


BoundFunction = Callable[[Network, Partition, BoundContext], Bound]


@dataclass(frozen=True)
class BoundProvider:
    """One bound :func:`~tensorexpr.certify` can run.

    Attributes
    ----------
    name : str
        Unique within a :class:`BoundProviders` list; ``methods=`` selects by it.
    side : {"lower", "upper"}
        The side of every :class:`Bound` ``compute`` returns.
    compute : callable
        ``compute(net, P, ctx) -> Bound``; raises :class:`~tensorexpr.core.errors.NotApplicable` when a
        hypothesis beyond ``needs`` fails.
    needs : tuple of str or Fact
        Facts checked (through ``ctx.analysis``) before the call; a failing one is recorded instead.
    expensive : bool
        Skipped once certify's ``budget_seconds`` is spent (the instance ranks).
    """

    name: str
    side: Side
    compute: BoundFunction
    needs: tuple[str | Fact, ...] = ()
    expensive: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise NetworkError(f"BoundProvider.name must be a non-empty string, got {self.name!r}.")
        if self.side not in ("lower", "upper"):
            raise NetworkError(f"BoundProvider {self.name!r}: side must be 'lower' or 'upper', got {self.side!r}.")
        if not callable(self.compute):
            raise NetworkError(f"BoundProvider {self.name!r}: compute must be callable (net, P, ctx) -> Bound.")
        object.__setattr__(self, "needs", tuple(self.needs))
        unknown = [a for a in self.needs if not isinstance(a, Fact) and a not in FACTS]
        if unknown:
            raise NetworkError(
                f"BoundProvider {self.name!r} needs unknown facts {unknown}; known: {list(FACTS)}. Hint: pass a "
                f"tensorexpr.core.facts.Fact(key, description, holds, why) for a new hypothesis."
            )


class BoundProviders(Sequence[BoundProvider]):
    """An explicit, ordered, immutable list of :class:`BoundProvider`; certify runs them in this order.

    Parameters
    ----------
    providers : iterable of BoundProvider

    Raises
    ------
    NetworkError
        On a duplicate name, or an entry that is not a provider.

    Examples
    --------
    >>> from tensorexpr.bounds.providers import DEFAULT_PROVIDERS
    >>> DEFAULT_PROVIDERS.names[:3]
    ('trivial', 'symmetry', 'specialization')
    """

    __slots__ = ("_items",)

    def __init__(self, providers: Iterable[BoundProvider] = ()) -> None:
        items = tuple(providers)
        seen: set[str] = set()
        for p in items:
            if not isinstance(p, BoundProvider):
                raise NetworkError(f"BoundProviders holds BoundProvider objects, got {type(p).__name__}.")
            if p.name in seen:
                raise NetworkError(f"A bound provider named {p.name!r} is already in the list; names are unique. "
                                   f"Hint: choose another name, or .without({p.name!r}) first to replace it.")
            seen.add(p.name)
        self._items = items

    @property
    def names(self) -> tuple[str, ...]:
        """The providers' names, in the order ``certify`` tries them."""
        return tuple(p.name for p in self._items)

    def add(self, provider: BoundProvider, before: str | None = None) -> "BoundProviders":
        """A new list with ``provider`` appended (or inserted before the one named ``before``).

        Parameters
        ----------
        provider : BoundProvider
            The provider to add.
        before : str, optional
            Name of the provider to insert it before.

        Returns
        -------
        BoundProviders
            A new list; this one is unchanged.

        Raises
        ------
        NetworkError
            When ``before`` names no provider of the list.
        """
        items = list(self._items)
        at = len(items) if before is None else self.names.index(self[before].name)
        items.insert(at, provider)
        return BoundProviders(items)

    def without(self, *names: str) -> "BoundProviders":
        """A new list without the named providers.

        Parameters
        ----------
        *names : str
            Names of providers to drop.

        Returns
        -------
        BoundProviders
            A new list; this one is unchanged.

        Raises
        ------
        NetworkError
            When a name is not in the list.
        """
        for n in names:
            self[n]
        return BoundProviders(p for p in self._items if p.name not in names)

    def select(self, names: Iterable[str]) -> "BoundProviders":
        """The named providers, in this list's order (unknown names refused).

        Parameters
        ----------
        names : iterable of str
            Names of providers to keep.

        Returns
        -------
        BoundProviders
            A new list; this one is unchanged.

        Raises
        ------
        NetworkError
            When a name is not in the list.
        """
        want = set(names)
        for n in want:
            self[n]
        return BoundProviders(p for p in self._items if p.name in want)

    def __getitem__(self, key: int | slice | str) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            for p in self._items:
                if p.name == key:
                    return p
            raise NetworkError(f"Unknown bound provider {key!r}; known: {list(self.names)}.")
        if isinstance(key, slice):
            return BoundProviders(self._items[key])
        return self._items[key]

    def __contains__(self, key: object) -> bool:
        return key in self.names if isinstance(key, str) else key in self._items

    def __iter__(self) -> Iterator[BoundProvider]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"BoundProviders({list(self.names)})"
