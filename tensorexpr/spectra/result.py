"""The spectrum report: singular values (exact, or certified lower bounds), numeric rank, gap, entropy."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Spectrum", "entanglement_entropy", "KINDS"]

#: ``exact``: the singular values of ``[A]_{I,J}``; ``lower-bound``: ``sigma_k(sub) <= sigma_k(A)``.
KINDS = ("exact", "lower-bound")


def entanglement_entropy(s: np.ndarray) -> float:
    """Von Neumann entropy of the normalized spectrum, in nats (Levine et al., ICLR 2018):

    .. math::
        S = -\\sum_k p_k \\log p_k, \\qquad p_k = \\sigma_k^2 / \\sum_j \\sigma_j^2 .

    ``S <= log rank``, with equality for a flat spectrum; ``exp(S)`` is an "effective rank".

    Parameters
    ----------
    s : array_like
        Singular values (any scale; zeros are ignored).

    Returns
    -------
    float
        ``S`` in nats; 0 for an empty or zero spectrum.

    References
    ----------
    Y. Levine, D. Yakira, N. Cohen and A. Shashua, "Deep Learning and Quantum Entanglement: Fundamental
    Connections with Implications to Network Design", ICLR 2018.
    """
    s = np.asarray(s, dtype=np.float64)
    if s.size == 0 or s.max() == 0:
        return 0.0
    p = s**2 / np.sum(s**2)
    p = p[p > 0]
    return float(-np.sum(p * np.log(p)))


@dataclass(frozen=True, eq=False)
class Spectrum:
    """Singular spectrum of ``[A]_{I,J}`` for one partition.

    Attributes
    ----------
    normalized : array
        ``sigma_k / sigma_1``, descending (nonzero values only).
    log_sigma1 : float
        Natural log of ``sigma_1`` (trained ConvACs overflow float64 at 32x32; the log does not).
    kind : {"exact", "lower-bound"}
        ``lower-bound``: each value is ``sigma_k`` of a sampled sub-matrix, ``<= sigma_k([A]_{I,J})``.
    method : str
        ``exact-tree`` (orthonormal cores over the tree), ``dense`` (SVD of the formed matrix) or ``sampled``.
    rtol, tol : float
        The tolerance relative to ``sigma_1`` (of the sub-matrix for lower bounds) and as a log (``log_tol``).
    rank : int
        ``exact``: ``#{sigma_k > tol}``. ``lower-bound``: the certified count ``#{sigma_k(sub) > tol + margin}``,
        so that the numeric rank of ``[A]_{I,J}`` at ``tol`` is at least ``rank``.
    gap : float
        ``sigma_rank / sigma_{rank+1}`` (``inf`` when nothing follows).
    entropy : float or None
        :func:`entanglement_entropy` of the exact spectrum (None for lower bounds).
    mincut : int or None
        The min-cut bound ``D`` (an upper bound on the rank) when it was computed.
    """

    normalized: np.ndarray
    log_sigma1: float
    kind: str
    method: str
    partition: str
    network: str
    rtol: float
    rank: int
    gap: float
    entropy: float | None
    mincut: int | None = None
    margin: float = 0.0
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def values(self) -> np.ndarray:
        """``sigma_k`` themselves (``inf`` where they overflow float64)."""
        with np.errstate(over="ignore"):
            return self.normalized * (math.exp(self.log_sigma1) if self.log_sigma1 < 709 else math.inf)

    @property
    def log_tol(self) -> float:
        """Natural log of the absolute tolerance ``rtol * sigma_1``."""
        return math.log(self.rtol) + self.log_sigma1 if self.normalized.size else -math.inf

    @property
    def statement(self) -> str:
        """One sentence: what the spectrum establishes (numeric rank or certified lower bound), at which tolerance."""
        t = f"tolerance {self.rtol:g} x sigma_1" + (" of the sub-matrix" if self.kind == "lower-bound" else "")
        if self.kind == "exact":
            return f"numeric rank = {self.rank} at {t} ({self.method}; gap {self.gap:.3g})"
        d = self.details
        return (f"numeric rank >= {self.rank} at {t} ({self.method}: {d.get('rows')} x {d.get('cols')} "
                f"sub-matrix, interlacing sigma_k(sub) <= sigma_k(A))")

    def to_dict(self) -> dict[str, Any]:
        """The spectrum and its reading, for ``--json``.

        Returns
        -------
        dict
            The fields, the :attr:`statement` and ``normalized`` as a list of floats; an infinite ``gap`` becomes None.
        """
        from tensorexpr.core.numbers import encode_counts

        return encode_counts({"partition": self.partition, "network": self.network, "kind": self.kind, "method": self.method,
                "rank": self.rank, "rtol": self.rtol, "gap": None if math.isinf(self.gap) else self.gap,
                "entropy": self.entropy, "mincut": self.mincut, "log_sigma1": self.log_sigma1,
                "margin": self.margin, "normalized": [float(x) for x in self.normalized],
                "statement": self.statement, "seconds": self.seconds, "details": dict(self.details)})

    def __repr__(self) -> str:
        head = ", ".join(f"{x:.3g}" for x in self.normalized[:5]) + (", ..." if self.normalized.size > 5 else "")
        ent = f", entropy={self.entropy:.4g}" if self.entropy is not None else ""
        return (f"Spectrum({self.partition}: {self.statement}{ent}, sigma/sigma_1=[{head}], "
                f"log sigma_1={self.log_sigma1:.4g}, {self.seconds:.2f}s)")
