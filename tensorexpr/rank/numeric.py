"""Numeric matricization rank: float64 singular values with an explicit, overridable tolerance."""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from tensorexpr.core.backends import is_torch_tensor, torch_module
from tensorexpr.core.errors import RankError
from tensorexpr.evaluate.matricize import matricize
from tensorexpr.core.partitions import Partition
from tensorexpr.rank.result import RankResult, RankWarning

__all__ = ["numeric_rank", "singular_values", "DEFAULT_GAP_WARN"]

#: Warn when ``s_r / s_{r+1}`` is below this: the rank then depends on the tolerance.
DEFAULT_GAP_WARN = 1e4


def singular_values(mat: Any) -> np.ndarray:
    """Singular values in float64, descending (torch on its device when ``mat`` is a tensor).

    Parameters
    ----------
    mat : array_like or torch.Tensor
        A 2-D matrix.

    Returns
    -------
    numpy.ndarray
        The singular values, float64, descending.
    """
    if is_torch_tensor(mat):
        torch = torch_module("a torch tensor")
        return torch.linalg.svdvals(mat.to(torch.float64)).cpu().numpy()
    return np.linalg.svd(np.asarray(mat, dtype=np.float64), compute_uv=False)


def numeric_rank(
    A: Any,
    P: Partition,
    tol: float | None = None,
    rtol: float | None = None,
    gap_warn: float = DEFAULT_GAP_WARN,
) -> RankResult:
    """Rank of ``[A]_{I,J}`` as the number of singular values above a threshold.

    The threshold is ``tol`` when given, else ``rtol * s_max`` with ``rtol = max(m, n) * eps(float64)``
    by default (numpy's ``matrix_rank`` rule). The report holds the gap ``s_r / s_{r+1}``; a
    :class:`RankWarning` is issued when it is below ``gap_warn``, since the answer then depends on the
    tolerance. Float ranks are estimates, not certificates: use ``method="exact"`` for a proof.

    Parameters
    ----------
    A : array_like or torch.Tensor
        A tensor with one axis per mode.
    P : Partition
        The partition ``(I, J)``.
    tol : float, optional
        Absolute threshold on the singular values.
    rtol : float, optional
        Threshold relative to ``s_max``, used when ``tol`` is None.
    gap_warn : float, optional
        Smallest gap ``s_r / s_{r+1}`` accepted without a warning.

    Returns
    -------
    RankResult
        ``method="numeric"``, with ``tol``, ``gap`` and the top singular values in ``details``.

    Raises
    ------
    RankError
        On a negative or non-numeric ``tol`` / ``rtol``, or a matricization with NaN or infinite entries.
    """
    for name, val in (("tol", tol), ("rtol", rtol)):
        if val is not None and (isinstance(val, bool) or not isinstance(val, (int, float, np.floating)) or not val >= 0):
            raise RankError(f"{name} must be a non-negative number, got {val!r}.")
    t0 = time.perf_counter()
    mat = matricize(A, P)
    m, n = mat.shape
    # an SVD of NaN raises deep in LAPACK, and of inf returns rank 0: a silent wrong number (a float network's
    # grid tensor can also overflow to inf), so refuse both with what to do instead
    finite = (bool(mat.isfinite().all()) if hasattr(mat, "isfinite")
              else np.asarray(mat).dtype.kind not in "fc" or bool(np.isfinite(np.asarray(mat)).all()))
    if not finite:
        raise RankError(f"The {m}x{n} matricization ({P.name}) holds NaN or infinite entries, so its numeric rank "
                        f"is undefined; expected finite values. Hint: a float network whose grid tensor overflows "
                        f"needs method='exact' on an integer network, or te.certify (bounds, no dense tensor).")
    s = singular_values(mat)
    smax = float(s[0]) if s.size else 0.0
    if tol is None:
        rtol = max(m, n) * np.finfo(np.float64).eps if rtol is None else rtol
        tol = rtol * smax
    r = int(np.sum(s > tol))
    above = float(s[r - 1]) if r > 0 else np.inf
    below = float(s[r]) if r < s.size else 0.0
    gap = np.inf if below == 0.0 else above / below
    if r > 0 and r < s.size and gap < gap_warn:
        warnings.warn(
            f"Numeric rank {r} of a {m}x{n} matricization ({P.name}) is ambiguous: singular-value gap "
            f"s_{r}/s_{r + 1} = {gap:.3g} < {gap_warn:.3g} (tol={tol:.3g}). Use method='exact' on an integer network.",
            RankWarning,
            stacklevel=3,
        )
    return RankResult(
        rank=r,
        method="numeric",
        shape=(m, n),
        partition=P.name,
        field="R (float64 SVD)",
        certifies="an estimate (float SVD), not a proof",
        tol=float(tol),
        gap=float(gap),
        seconds=time.perf_counter() - t0,
        details={"s_max": smax, "s_top": s[: min(8, s.size)].tolist(), "s_around_rank": [above, below]},
    )
