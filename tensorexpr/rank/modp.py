"""Small exact linear algebra over GF(p) on numpy ``int64`` arrays (entries kept in ``[0, p)``).

Used by the structured rank (:mod:`tensorexpr.rank.structured`). Primes are below ``2^31`` so the product of
two residues is below ``2^62`` and fits an ``int64``; every product is reduced before it is summed.
Large dense ranks go to python-flint's ``nmod_mat`` (:func:`tensorexpr.rank.exact.rank_mod_p`).
"""

from __future__ import annotations

import numpy as np

from ..errors import RankError

__all__ = ["check_prime", "rref_mod_p", "colspace_factor", "rowspace_factor", "matmul_mod_p", "dense_rank_mod_p"]

#: Below this many entries (and a thin side) a dense rank runs in numpy; above, in flint.
_NUMPY_RANK_MAX_SIDE = 96


def check_prime(p: int) -> int:
    """Validate a modulus for int64 arithmetic: a prime in ``[3, 2^31)``."""
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or not 2 < p < 2**31:
        raise RankError(f"prime must be an integer prime in (2, 2^31) so int64 products stay exact, got {p!r}.")
    p = int(p)
    if any(p % d == 0 for d in range(2, min(int(p**0.5) + 1, 50_000))):
        raise RankError(f"prime={p} is not prime. Hint: use te.DEFAULT_PRIME.")
    return p


def rref_mod_p(X: np.ndarray, p: int) -> tuple[np.ndarray, list[int]]:
    """Reduced row echelon form of ``X`` over GF(p): ``(R, pivots)``, ``R`` holding only the nonzero rows.

    Standard identity used by the compressions: ``X = X[:, pivots] @ R`` (mod p), and ``X[:, pivots]`` has
    full column rank. Cost ``O(rank * m * n)`` vectorized numpy operations.
    """
    A = np.mod(np.asarray(X, dtype=np.int64), p)
    m, n = A.shape
    if min(m, n) > _NUMPY_RANK_MAX_SIDE:
        return _rref_flint(A, p)
    piv: list[int] = []
    r = 0
    for j in range(n):
        if r == m:
            break
        nz = np.flatnonzero(A[r:, j])
        if nz.size == 0:
            continue
        i = r + int(nz[0])
        if i != r:
            A[[r, i]] = A[[i, r]]
        inv = pow(int(A[r, j]), p - 2, p)
        A[r, j:] = (A[r, j:] * inv) % p
        col = A[:, j].copy()
        col[r] = 0
        rows = np.flatnonzero(col)
        if rows.size:
            A[rows, j:] = (A[rows, j:] - (col[rows, None] * A[r, None, j:]) % p) % p
        piv.append(j)
        r += 1
    return A[:r], piv


def _rref_flint(A: np.ndarray, p: int) -> tuple[np.ndarray, list[int]]:
    import flint

    m, n = A.shape
    R, r = flint.nmod_mat(m, n, A.ravel().tolist(), p).rref()
    out = np.array([[int(x) for x in row] for row in R.tolist()[:r]], dtype=np.int64).reshape(r, n)
    piv = [int(np.flatnonzero(row)[0]) for row in out]
    return out, piv


def colspace_factor(X: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """``X = U @ C`` over GF(p) with ``U = X[:, pivots]`` of full column rank: returns ``(U, C)``."""
    R, piv = rref_mod_p(X, p)
    return np.mod(X[:, piv], p), R


def rowspace_factor(X: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """``X = C @ V`` over GF(p) with ``V = X[pivots, :]`` of full row rank: returns ``(C, V)``."""
    U, C = colspace_factor(np.ascontiguousarray(X.T), p)
    return C.T, U.T


def matmul_mod_p(A: np.ndarray, B: np.ndarray, p: int) -> np.ndarray:
    """``A @ B mod p`` exactly in int64, summing at most ``2^62 / (p-1)^2`` products between reductions."""
    A = np.mod(np.asarray(A, dtype=np.int64), p)
    B = np.mod(np.asarray(B, dtype=np.int64), p)
    k = A.shape[1]
    step = max(1, (2**62) // max(1, (p - 1) ** 2))
    out = np.zeros((A.shape[0], B.shape[1]), dtype=np.int64)
    for s in range(0, k, step):
        out = (out + (A[:, s : s + step] @ B[s : s + step]) % p) % p
    return out


def dense_rank_mod_p(X: np.ndarray, p: int) -> int:
    """Rank over GF(p) of a dense integer matrix: numpy elimination when thin, python-flint otherwise."""
    m, n = X.shape
    if m == 0 or n == 0:
        return 0
    if min(m, n) <= _NUMPY_RANK_MAX_SIDE:
        return len(rref_mod_p(X if m <= n else X.T, p)[1])
    from .exact import rank_mod_p

    return rank_mod_p(X, p)
