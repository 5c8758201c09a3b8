"""One exception root for the library; every error names the value, the expectation and a hint."""

from __future__ import annotations

__all__ = [
    "TensorExprError",
    "GeometryError",
    "PartitionError",
    "NetworkError",
    "BudgetError",
    "RankError",
    "NotApplicable",
]


class TensorExprError(ValueError):
    """Root of every error tensorexpr raises on bad input or an unaffordable request."""


class GeometryError(TensorExprError):
    """A mode tree, pooling window or grid shape is invalid."""


class PartitionError(TensorExprError):
    """A partition does not split the modes into two disjoint covering sets."""


class NetworkError(TensorExprError):
    """Weights, widths, operator or template matrix do not fit the network graph."""


class BudgetError(TensorExprError, MemoryError):
    """A computation would exceed its memory or size budget; the message names a cheaper method."""


class RankError(TensorExprError):
    """A rank was requested with a method that cannot apply to the given input."""


class NotApplicable(TensorExprError):
    """A bound's assumptions fail for this network; the message names the assumption and why. Certificates
    record it as the reason the bound stepped aside."""
