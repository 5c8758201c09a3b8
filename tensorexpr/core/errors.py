"""One exception root for the library; every error names the value, the expectation and a hint."""

from __future__ import annotations

__all__ = [
    "CountError",
    "ScatteringUnavailable",
    "MissingExtraError",
    "CheckpointError",
    "SweepError",
    "TensorExprError",
    "GeometryError",
    "PartitionError",
    "NetworkError",
    "BudgetError",
    "RankError",
    "NotApplicable",
    "ConfigError",
    "DataError",
    "ModelInputError",
    "RankWarning",
    "TrainingWarning",
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


class NotApplicable(NetworkError):
    """A bound's assumptions fail for this network; the message names the assumption and why. Certificates
    record it as the reason the bound stepped aside."""


class ConfigError(TensorExprError):
    """A training configuration field is invalid."""


class DataError(TensorExprError):
    """A data set was requested with sizes or options that do not fit."""


class ModelInputError(NetworkError):
    """A model got an input whose shape, dtype or values do not fit its tree or representation."""


class RankWarning(UserWarning):
    """A numeric rank whose singular-value gap is too small to trust."""


class TrainingWarning(UserWarning):
    """A training run that cannot learn as configured (e.g. a model whose output is constant at initialization)."""


class SweepError(TensorExprError):
    """A sweep specification or results database is invalid."""


class CheckpointError(NetworkError):
    """A run directory or checkpoint file is missing, unreadable or from an incompatible version."""


class MissingExtraError(TensorExprError, ImportError):
    """An optional extra (``[torch]``, ``[plot]``, ``[sweep]``, ``[scattering]``) is needed but not installed."""


class ScatteringUnavailable(MissingExtraError):
    """kymatio (the scattering library) is not installed or its 2-D frontend cannot be imported."""


class CountError(TensorExprError):
    """An exact count (a rank, a number of parameters) is not an integer, or its encoding does not decode."""
