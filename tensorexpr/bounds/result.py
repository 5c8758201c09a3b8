"""The one shape of every bound, and the registry of bound providers that :func:`~tensorexpr.certify` composes.

A bound is a theorem with hypotheses. Each provider declares the assumptions it needs (see
:data:`ASSUMPTIONS`); where one fails for a given network it raises :class:`~tensorexpr.core.errors.NotApplicable`
with the reason, and the certificate records that reason instead of a number (docs/design.md, "Bounds").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

from tensorexpr.core.errors import TensorExprError

__all__ = ["Bound", "BoundProvider", "BOUND_PROVIDERS", "ASSUMPTIONS", "register_bound_provider", "get_provider"]

Side = Literal["lower", "upper"]

#: Assumptions a provider may declare; certify checks them from the network's own fields.
ASSUMPTIONS: dict[str, str] = {
    "product": "the operator is the product (a multilinear network: ConvAC / tensor decomposition)",
    "tree": "the graph is a tree (no node feeds two parents, no sum nodes)",
    "mode-tree": "the network was built on a ModeTree (net.tree is set)",
    "all-free": "every weight is its own free parameter block (no fixed, tied or identity weights)",
    "modes-read-once": "each input mode feeds exactly one leaf",
    "integer-F": "the template matrix F is integer (or rational) valued",
}


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
class BoundProvider:
    """One entry of :data:`BOUND_PROVIDERS`: ``compute(net, P, output)`` returns a :class:`Bound` or raises
    :class:`~tensorexpr.core.errors.NotApplicable`. ``cost`` orders the providers (cheap first); ``needs`` lists
    keys of :data:`ASSUMPTIONS` that certify checks before calling."""

    name: str
    side: Side
    compute: Callable[..., Bound]
    cost: float = 1.0
    needs: tuple[str, ...] = ()


#: The registry certify composes; a new bound is one :func:`register_bound_provider` call.
BOUND_PROVIDERS: dict[str, BoundProvider] = {}


def register_bound_provider(provider: BoundProvider) -> BoundProvider:
    unknown = [a for a in provider.needs if a not in ASSUMPTIONS]
    if unknown:
        raise TensorExprError(
            f"Provider {provider.name!r} needs unknown assumptions {unknown}; known: {sorted(ASSUMPTIONS)}. Hint: "
            f"add one with tensorexpr.bounds.assumptions.register_assumption_check."
        )
    BOUND_PROVIDERS[provider.name] = provider
    return provider


def get_provider(name: str) -> BoundProvider:
    try:
        return BOUND_PROVIDERS[name]
    except KeyError:
        raise KeyError(f"No bound provider {name!r}; registered: {sorted(BOUND_PROVIDERS)}.") from None
