"""Exact matricization rank: over a large prime field (python-flint ``nmod_mat``) or the rationals."""

from __future__ import annotations

import math
import time
from fractions import Fraction
from typing import Any

import numpy as np

from tensorexpr.core.errors import BudgetError, RankError
from tensorexpr.evaluate.matricize import matricize
from tensorexpr.core.partitions import Partition
from tensorexpr.rank.result import RankResult
from tensorexpr.core.rational import check_field_prime

__all__ = ["check_field_prime", "rank_mod_p", "rank_rational", "exact_rank_of_tensor", "RATIONAL_MAX_ENTRIES", "EXACT_MAX_ENTRIES"]

#: Matricizations up to this many entries take the rank over Q (fmpz/fmpq) in ``field="auto"``.
RATIONAL_MAX_ENTRIES = 40_000
#: Dense prime-field ranks refuse matrices above this many entries (flint needs Python ints per entry).
EXACT_MAX_ENTRIES = 64_000_000


def _check_entries(m: int, n: int) -> None:
    if m * n > EXACT_MAX_ENTRIES:
        raise BudgetError(
            f"Dense exact rank of a {m}x{n} matrix ({m * n:,} entries) is over the limit of {EXACT_MAX_ENTRIES:,}. "
            f"Hint: te.rank(net, P, method='structured') or te.certify never form the dense matrix."
        )


def rank_mod_p(mat: Any, p: int) -> int:
    """Rank over GF(p) of an integer matrix (numpy int / object array, entries reduced mod ``p``).

    Parameters
    ----------
    mat : array_like
        A 2-D integer matrix (int64 or Python ints in an object array). Float entries are truncated by the
        ``int64`` cast, not refused: check exactness first (:func:`exact_rank_of_tensor` does).
    p : int
        A prime; not checked here (see :func:`~tensorexpr.core.rational.check_field_prime`).

    Returns
    -------
    int

    Raises
    ------
    BudgetError
        When the matrix has more than :data:`EXACT_MAX_ENTRIES` entries.
    ValueError
        When ``mat`` is not 2-D.

    Examples
    --------
    >>> rank_mod_p([[1, 2], [2, 4]], 7), rank_mod_p([[1, 2], [3, 4]], 2)
    (1, 1)
    """
    a = np.asarray(mat)
    m, n = a.shape
    _check_entries(m, n)
    if m == 0 or n == 0:
        return 0
    # python-flint 0.9's nmod_mat accepts only Python lists (no buffer/ndarray constructor; see
    # tests/test_rank_flint.py), so one list is unavoidable: reduce and transpose in int64 first, then a
    # single C-level ndarray.tolist() (no object arrays, no second round trip)
    if a.dtype == object:
        a = np.array([int(x) % p for x in a.ravel()], dtype=np.int64).reshape(m, n) if p < 2**62 else a
    if a.dtype != object:
        a = np.mod(a.astype(np.int64, copy=False), p)
    import flint

    if m > n:  # flint eliminates rows; fewer rows is cheaper
        a, (m, n) = a.T, (n, m)
    flat = np.ascontiguousarray(a).ravel().tolist() if a.dtype != object else [int(x) % p for x in a.ravel()]
    return flint.nmod_mat(m, n, flat, p).rank()


def rank_rational(mat: Any) -> int:
    """Exact rank over Q of a matrix of Python ints or Fractions (flint ``fmpz_mat`` after clearing denominators).

    Parameters
    ----------
    mat : array_like
        A 2-D matrix of ints or Fractions; other entries go through ``int()`` (a float is truncated).

    Returns
    -------
    int

    Raises
    ------
    BudgetError
        When the matrix has more than :data:`EXACT_MAX_ENTRIES` entries.
    ValueError
        When ``mat`` is not 2-D.

    Examples
    --------
    >>> from fractions import Fraction
    >>> rank_rational([[Fraction(1, 2), 1], [1, 2]])
    1
    """
    import flint

    a = np.asarray(mat, dtype=object)
    m, n = a.shape
    _check_entries(m, n)
    if m == 0 or n == 0:
        return 0
    vals = a.ravel().tolist()
    if any(isinstance(v, Fraction) for v in vals):
        den = math.lcm(*[v.denominator for v in vals if isinstance(v, Fraction)])
        vals = [int(v * den) for v in vals]
    else:
        vals = [int(v) for v in vals]
    return flint.fmpz_mat(m, n, vals).rank()


def _is_exact_array(A: Any) -> bool:
    a = np.asarray(A) if not hasattr(A, "detach") else None
    if a is None:
        return False
    if a.dtype.kind in "iub":
        return True
    if a.dtype == object:
        return all(isinstance(x, (int, Fraction, np.integer)) for x in a.ravel())  # every entry: a float anywhere would be truncated
    return False


def exact_rank_of_tensor(A: Any, P: Partition, field: str = "auto", prime: int | None = None) -> RankResult:
    """Exact rank of ``[A]_{I,J}`` for an integer (or Fraction) tensor.

    ``field="prime"`` gives the rank over GF(p), ``field="rational"`` over Q, ``"auto"`` Q for matricizations
    of at most :data:`RATIONAL_MAX_ENTRIES` entries and GF(p) otherwise. Rank over GF(p) <= rank over Q, so both
    are lower bounds on the generic rank of the network family the tensor was drawn from.

    Parameters
    ----------
    A : array_like
        An integer array, or an object array of ints / Fractions.
    P : Partition
        Over ``A``'s axes.
    field : {"auto", "prime", "rational"}, optional
    prime : int, optional
        The modulus of ``field="prime"``; default :data:`tensorexpr.evaluate.grid.DEFAULT_PRIME`.

    Returns
    -------
    RankResult
        ``method="exact"``, ``field`` ``"Q"`` or ``"GF(p)"``.

    Raises
    ------
    RankError
        When ``A`` is not an exact array (float dtype, torch tensor), on an unknown ``field``, or a ``prime`` that
        is not a prime below ``2^63``.
    PartitionError
        When ``P`` does not fit ``A`` (from :func:`~tensorexpr.evaluate.matricize.matricize`).
    BudgetError
        When the matricization has more than :data:`EXACT_MAX_ENTRIES` entries.

    Examples
    --------
    >>> import numpy as np
    >>> from tensorexpr.core.partitions import Partition
    >>> exact_rank_of_tensor(np.eye(2, dtype=int), Partition([0], 2)).rank
    2
    """
    from tensorexpr.evaluate.grid import DEFAULT_PRIME

    if not _is_exact_array(A):
        raise RankError(
            f"method='exact' needs an integer tensor, got dtype {getattr(A, 'dtype', type(A).__name__)}. "
            f"Hint: build the network with integer=True, or use method='numeric' for float tensors."
        )
    if field not in ("auto", "prime", "rational"):
        raise RankError(f"Unknown field {field!r}; expected 'auto', 'prime' or 'rational'.")
    t0 = time.perf_counter()
    mat = matricize(np.asarray(A), P)
    m, n = mat.shape
    if field == "auto":
        field = "rational" if m * n <= RATIONAL_MAX_ENTRIES else "prime"
    if field == "rational":
        r = rank_rational(mat)
        fld, cert = "Q", "the exact rank of this tensor; a lower bound on the generic rank"
    else:
        p = check_field_prime(DEFAULT_PRIME if prime is None else prime)
        if mat.dtype == object and any(isinstance(x, Fraction) for x in mat.ravel()):
            den = math.lcm(*[x.denominator for x in mat.ravel() if isinstance(x, Fraction)])
            mat = np.vectorize(lambda x: int(x * den), otypes=[object])(mat)
        r = rank_mod_p(mat, p)
        fld, cert = f"GF({p})", "a lower bound on the rank over Q, hence on the generic rank"
    return RankResult(r, "exact", (m, n), P.name, fld, cert, seconds=time.perf_counter() - t0)
