"""Small exact linear algebra over GF(p) on numpy ``int64`` arrays (entries kept in ``[0, p)``).

Used by the structured rank (:mod:`tensorexpr.rank.structured`). Primes are below ``2^31`` so the product of
two residues is below ``2^62`` and fits an ``int64``; every product is reduced before it is summed.
Large dense ranks go to python-flint's ``nmod_mat`` (:func:`tensorexpr.rank.exact.rank_mod_p`).
"""

from __future__ import annotations

import numpy as np

from tensorexpr.core.errors import RankError

__all__ = ["check_prime", "rref_mod_p", "rref_mod_p_batch", "colspace_factor", "rowspace_factor", "matmul_mod_p",
           "matmul_mod_p_batch", "dense_rank_mod_p"]

#: Below this many entries (and a thin side) a dense rank runs in numpy; above, in flint.
NUMPY_RANK_MAX_SIDE = 96
#: Up to this many entries an rref runs on Python integer lists: there numpy's fixed cost per call and per
#: pivot dominates (measured in benchmarks/modp.py: 2.8x faster at 2x4, 1.6x at 8x4, even at 16x4 and 1x64).
_PY_RREF_MAX_ENTRIES = 40


def check_prime(p: int) -> int:
    """Validate a modulus for int64 arithmetic: a prime in ``(2, 2^31)``.

    Parameters
    ----------
    p : int
        The candidate modulus (trial division is complete below ``2^31``).

    Returns
    -------
    int

    Raises
    ------
    RankError
        When ``p`` is not an integer in ``(2, 2^31)`` or is not prime.

    Examples
    --------
    >>> check_prime(2_147_483_647)
    2147483647
    """
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or not 2 < p < 2**31:
        raise RankError(f"prime must be an integer prime in (2, 2^31) so int64 products stay exact, got {p!r}.")
    p = int(p)
    if any(p % d == 0 for d in range(2, min(int(p**0.5) + 1, 50_000))):
        raise RankError(f"prime={p} is not prime. Hint: use tensorexpr.evaluate.grid.DEFAULT_PRIME.")
    return p


def rref_mod_p(X: np.ndarray, p: int) -> tuple[np.ndarray, list[int]]:
    """Reduced row echelon form of ``X`` over GF(p): ``(R, pivots)``, ``R`` holding only the nonzero rows.

    Standard identity used by the compressions: ``X = X[:, pivots] @ R`` (mod p), and ``X[:, pivots]`` has
    full column rank. The reduced row echelon form of a matrix over a field and its pivot columns are unique,
    so the three elimination paths below return the same ``(R, pivots)``; they differ only in speed:

    * tiny matrices (at most :data:`_PY_RREF_MAX_ENTRIES` entries, e.g. the ``2 x 4`` and ``8 x 4`` blocks the
      structured rank compresses tens of thousands of times): Gauss-Jordan on Python integer lists, exact with
      no overflow, because numpy's per-call overhead (microseconds per pivot) dominates there; many blocks of
      one shape go faster still through :func:`rref_mod_p_batch`;
    * thin matrices: a per-column loop of vectorized int64 numpy row operations, cost ``O(rank * m * n)``;
    * both sides over ``NUMPY_RANK_MAX_SIDE``: python-flint's ``nmod_mat.rref``.

    Parameters
    ----------
    X : numpy.ndarray
        A 2-D integer matrix (any integer values; reduced mod ``p``).
    p : int
        A prime below ``2^31`` (not checked; see :func:`check_prime`).

    Returns
    -------
    R : numpy.ndarray
        ``int64``, shape ``(rank, n)``, entries in ``[0, p)``.
    pivots : list of int
        The pivot columns, increasing.

    Examples
    --------
    >>> import numpy as np
    >>> R, piv = rref_mod_p(np.array([[2, 4], [1, 2]]), 7)
    >>> R.tolist(), piv
    ([[1, 2]], [0])
    """
    A = np.asarray(X)
    m, n = A.shape
    k = min(m, n)
    if m * n <= _PY_RREF_MAX_ENTRIES:
        if k == 0:
            return np.zeros((0, n), dtype=np.int64), []
        rows = np.mod(A.astype(np.int64, copy=False), p).tolist()
        R, piv = _rref_lists(rows, p)
        return np.array(R, dtype=np.int64).reshape(len(piv), n), piv
    A = np.mod(A.astype(np.int64, copy=False), p)
    if k > NUMPY_RANK_MAX_SIDE:
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


def _rref_lists(rows: list[list[int]], p: int) -> tuple[list[list[int]], list[int]]:
    """Gauss-Jordan over GF(p) on a list of rows of residues in ``[0, p)`` (modified in place).

    Returns the nonzero rows of the reduced row echelon form and the pivot columns. Python integers, so no
    product can overflow. A pivot row is zero left of its pivot (earlier columns are either pivot columns,
    cleared in every other row, or columns that are zero from this row down), so scaling and eliminating
    start at the pivot column.
    """
    m, n = len(rows), len(rows[0])
    piv: list[int] = []
    r = 0
    for j in range(n):
        if r == m:
            break
        for i in range(r, m):
            if rows[i][j]:
                break
        else:
            continue
        if i != r:
            rows[r], rows[i] = rows[i], rows[r]
        pr = rows[r]
        a = pr[j]
        if a != 1:
            inv = pow(a, -1, p)
            pr = pr[:j] + [x * inv % p for x in pr[j:]]
            rows[r] = pr
        tail = pr[j:]
        for i in range(m):
            if i != r:
                row = rows[i]
                c = row[j]
                if c:
                    rows[i] = row[:j] + [(x - c * y) % p for x, y in zip(row[j:], tail)]
        piv.append(j)
        r += 1
    return rows[:r], piv


def _rref_flint(A: np.ndarray, p: int) -> tuple[np.ndarray, list[int]]:
    import flint

    m, n = A.shape
    R, r = flint.nmod_mat(m, n, A.ravel().tolist(), p).rref()
    e = R.entries()
    out = np.fromiter(map(int, e), dtype=np.int64, count=len(e)).reshape(m, n)[:r]
    piv = [int(np.flatnonzero(row)[0]) for row in out]
    return out, piv


def colspace_factor(X: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """``X = U @ C`` over GF(p) with ``U = X[:, pivots]`` of full column rank: returns ``(U, C)``.

    Parameters
    ----------
    X : numpy.ndarray
        A 2-D integer matrix.
    p : int
        A prime below ``2^31``.

    Returns
    -------
    U : numpy.ndarray
        ``X[:, pivots] mod p``, shape ``(m, rank)``.
    C : numpy.ndarray
        The nonzero rows of the rref of ``X``, shape ``(rank, n)``.
    """
    R, piv = rref_mod_p(X, p)
    return np.mod(X[:, piv], p), R


def rowspace_factor(X: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """``X = C @ V`` over GF(p) with ``V = X[pivots, :]`` of full row rank: returns ``(C, V)``.

    Parameters
    ----------
    X : numpy.ndarray
        A 2-D integer matrix.
    p : int
        A prime below ``2^31``.

    Returns
    -------
    C : numpy.ndarray
        Shape ``(m, rank)``.
    V : numpy.ndarray
        ``X[pivots, :] mod p``, shape ``(rank, n)``.
    """
    U, C = colspace_factor(np.ascontiguousarray(X.T), p)
    return C.T, U.T


def matmul_mod_p(A: np.ndarray, B: np.ndarray, p: int) -> np.ndarray:
    """``A @ B mod p`` exactly in int64, summing at most ``2^62 / (p-1)^2`` products between reductions.

    Parameters
    ----------
    A, B : array_like
        2-D integer matrices with ``A.shape[1] == B.shape[0]``.
    p : int
        A modulus below ``2^31``.

    Returns
    -------
    numpy.ndarray
        ``int64``, entries in ``[0, p)``.

    Raises
    ------
    ValueError
        From numpy, when the inner dimensions differ.

    Examples
    --------
    >>> matmul_mod_p([[3, 4]], [[5], [6]], 7).tolist()
    [[4]]
    """
    A = np.mod(np.asarray(A, dtype=np.int64), p)
    B = np.mod(np.asarray(B, dtype=np.int64), p)
    k = A.shape[1]
    step = max(1, (2**62) // max(1, (p - 1) ** 2))
    out = np.zeros((A.shape[0], B.shape[1]), dtype=np.int64)
    for s in range(0, k, step):
        out = (out + (A[:, s : s + step] @ B[s : s + step]) % p) % p
    return out


def rref_mod_p_batch(X: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """Reduced row echelon forms over GF(p) of a stack ``X`` of ``B`` matrices ``m x n``, eliminated together.

    Returns ``(R, ranks)``: ``R[b]`` is the reduced row echelon form of ``X[b]`` with its ``ranks[b]`` nonzero
    rows on top and zero rows below, so ``R[b, :ranks[b]]`` equals ``rref_mod_p(X[b], p)[0]`` (the form is
    unique) and the pivot of row ``i`` is the first nonzero entry of ``R[b, i]``.

    Gauss-Jordan with one pivot per matrix per column, all matrices in the same vectorized int64 step
    (residues below ``p < 2^31``, so every product is below ``2^62``): ``O(n)`` numpy calls for the whole
    stack instead of ``O(B * rank)`` for ``B`` separate calls, which is what pays for the tens of thousands of
    equal-shaped tiny blocks of one level of a network. The modular inverses are Python's exact ``pow(a, -1, p)``.

    Parameters
    ----------
    X : numpy.ndarray
        Shape ``(B, m, n)``, integer entries.
    p : int
        A prime below ``2^31`` (not checked).

    Returns
    -------
    R : numpy.ndarray
        ``int64``, shape ``(B, m, n)``.
    ranks : numpy.ndarray
        ``int64``, shape ``(B,)``.

    Examples
    --------
    >>> import numpy as np
    >>> R, r = rref_mod_p_batch(np.array([[[1, 2], [2, 4]], [[0, 1], [1, 0]]]), 7)
    >>> r.tolist(), R[1].tolist()
    ([1, 2], [[1, 0], [0, 1]])
    """
    A = np.mod(np.asarray(X, dtype=np.int64), p)
    B, m, n = A.shape
    rank = np.zeros(B, dtype=np.int64)
    if B == 0 or m == 0 or n == 0:
        return A, rank
    A = np.ascontiguousarray(A)
    row_ids = np.arange(m)
    for j in range(n):
        col = A[:, :, j]
        cand = (col != 0) & (row_ids[None, :] >= rank[:, None])
        hit = cand.any(axis=1)
        if hit.all():
            bs: slice | np.ndarray = slice(None)  # a view: no gather / scatter of the whole stack
            src, dst, nb = cand.argmax(axis=1), rank.copy(), B
        else:
            bs = np.flatnonzero(hit)
            if bs.size == 0:
                continue
            src, dst, nb = cand[bs].argmax(axis=1), rank[bs], bs.size  # first nonzero at or below the row
        at = np.arange(nb)
        sub = A[bs, :, j:]  # columns left of j are zero in every candidate pivot row
        below = sub[at, src]  # a copy (advanced indexing)
        sub[at, src] = sub[at, dst]  # swap (a no-op where src == dst)
        inv = np.array([pow(int(a), -1, p) for a in below[:, 0].tolist()], dtype=np.int64)
        prow = (below * inv[:, None]) % p  # pivot rows scaled to a leading 1
        f = sub[:, :, 0].copy()
        f[at, dst] = 0  # every other row loses its multiple of the pivot row
        # residues < p < 2^31: f * prow < 2^62 and the difference stays above -2^62; np.mod is a floor mod
        sub = np.mod(sub - f[:, :, None] * prow[:, None, :], p)
        sub[at, dst] = prow
        A[bs, :, j:] = sub
        rank[bs] += 1
        if int(rank.min()) == m:
            break
    return A, rank


def matmul_mod_p_batch(A: np.ndarray, B: np.ndarray, p: int) -> np.ndarray:
    """``A @ B mod p`` on stacks (numpy broadcasting of the leading axes), exact in int64 like :func:`matmul_mod_p`.

    Parameters
    ----------
    A, B : array_like
        Stacks of integer matrices, ``A.shape[-1] == B.shape[-2]``.
    p : int
        A modulus below ``2^31``.

    Returns
    -------
    numpy.ndarray
        ``int64``, entries in ``[0, p)``, shape ``broadcast(A, B)[:-2] + (A.shape[-2], B.shape[-1])``.
    """
    A = np.mod(np.asarray(A, dtype=np.int64), p)
    B = np.mod(np.asarray(B, dtype=np.int64), p)
    k = A.shape[-1]
    step = max(1, (2**62) // max(1, (p - 1) ** 2))
    out = None
    for s in range(0, k, step):
        part = (A[..., s : s + step] @ B[..., s : s + step, :]) % p
        out = part if out is None else (out + part) % p
    if out is None:
        out = np.zeros(np.broadcast_shapes(A.shape[:-2], B.shape[:-2]) + (A.shape[-2], B.shape[-1]), dtype=np.int64)
    return out


def dense_rank_mod_p(X: np.ndarray, p: int) -> int:
    """Rank over GF(p) of a dense integer matrix: numpy elimination when thin, python-flint otherwise.

    Parameters
    ----------
    X : numpy.ndarray
        A 2-D integer matrix.
    p : int
        A prime below ``2^31`` (not checked).

    Returns
    -------
    int

    Raises
    ------
    BudgetError
        On the flint path, when ``X`` has more than :data:`tensorexpr.rank.exact.EXACT_MAX_ENTRIES` entries.

    Examples
    --------
    >>> import numpy as np
    >>> dense_rank_mod_p(np.array([[1, 1], [1, 1]]), 7)
    1
    """
    m, n = X.shape
    if m == 0 or n == 0:
        return 0
    if min(m, n) <= NUMPY_RANK_MAX_SIDE:
        return len(rref_mod_p(X if m <= n else X.T, p)[1])
    from tensorexpr.rank.exact import rank_mod_p

    return rank_mod_p(X, p)
