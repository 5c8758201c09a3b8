"""The rank report object shared by every rank method."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["RankResult", "RankWarning"]


from tensorexpr.core.errors import RankWarning  # noqa: F401  (re-exported: defined in errors.py)


@dataclass(frozen=True)
class RankResult:
    """The rank of ``[A]_{I,J}`` and how it was obtained.

    Attributes
    ----------
    rank : int
    method : str
        ``numeric``, ``exact`` or ``structured``.
    shape : (int, int)
        Shape of the matricization.
    partition : str
    field : str
        ``R (float64 SVD)``, ``GF(p)`` or ``Q``.
    certifies : str
        What the number proves (e.g. a lower bound on the generic rank).
    tol, gap : float, optional
        Numeric only: the threshold used and ``s_r / s_{r+1}``.
    seconds : float
    details : dict
        Method-specific extras (e.g. the largest singular values).
    """

    rank: int
    method: str
    shape: tuple[int, int]
    partition: str
    field: str
    certifies: str
    tol: float | None = None
    gap: float | None = None
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    def __int__(self) -> int:
        return self.rank

    def __index__(self) -> int:
        return self.rank

    @property
    def max_rank(self) -> int:
        """``min(shape)``: the largest rank the matricization can have."""
        return min(self.shape)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field, ``shape`` as a list, plus ``max_rank``.

        Returns
        -------
        dict
        """
        d = asdict(self)
        d["shape"] = list(self.shape)
        d["max_rank"] = self.max_rank
        from tensorexpr.core.numbers import encode_counts

        return encode_counts(d)

    def __repr__(self) -> str:
        extra = ""
        if self.tol is not None:
            extra = f", tol={self.tol:.3g}, gap={self.gap:.3g}" if self.gap is not None else f", tol={self.tol:.3g}"
        return (
            f"RankResult(rank={self.rank} of max {self.max_rank}, method={self.method}, field={self.field}, "
            f"partition={self.partition}, shape={self.shape}{extra}, {self.seconds:.3g}s)"
        )
