"""Exact rationals in networks: exact entries, exact ranks over Q, and clearing denominators before GF(p).

Weights and templates may hold :class:`fractions.Fraction` entries; they are exact over Q and are never
truncated. Every prime-field path first brings a network to integers by *clearing denominators*
(:func:`tensorexpr.core.denominators.clear_denominators`), which changes the grid tensor only by a nonzero scalar and so keeps every
matricization rank (docs/design.md, "Exact arithmetic"):

.. math::
    W_t \\mapsto c_t W_t \\;(c_t \\in \\mathbb{Z}_{>0}) \\quad\\Longrightarrow\\quad
    \\phi_t \\mapsto s_t \\phi_t, \\qquad s_t = c_t \\prod_{c \\in \\mathrm{ch}(t)} s_c

for product pooling (``F`` scaled by ``c_F`` gives ``s_leaf = c_F c_leaf``), and a sum node needs equal
scalars on its children, which a fixed ``(L / s_c) I`` linear node on each child provides. The output is
``s_root A`` with ``s_root > 0``. The rank over GF(p) of the integer tensor stays a lower bound of its rank
over Q (a nonzero minor mod p is a nonzero integer minor), hence of the generic rank.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from tensorexpr.core.errors import NetworkError, RankError

__all__ = ["check_field_prime", "exact_entry", "exact_matrix", "is_integral", "has_fractions", "denominator_lcm", "rank_over_Q",
           "integer_entries"]


def exact_entry(x: Any, what: str = "An entry") -> int | Fraction:
    """``x`` as an exact ``int`` or :class:`~fractions.Fraction` (a finite float converts exactly, bit for bit).

    Booleans become ``0``/``1``; an integral Fraction or float becomes an ``int``.

    Parameters
    ----------
    x : int, Fraction, float or bool (Python or numpy scalar)
        The value.
    what : str, optional
        How an error names ``x``.

    Returns
    -------
    int or Fraction

    Raises
    ------
    NetworkError
        When ``x`` is a NaN or infinite float, or of another type (e.g. complex, str).

    Examples
    --------
    >>> exact_entry(0.5), exact_entry(2.0)
    (Fraction(1, 2), 2)
    """
    if isinstance(x, (bool, np.bool_)):
        return int(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, Fraction):
        return int(x) if x.denominator == 1 else x
    if isinstance(x, (float, np.floating)):
        if not math.isfinite(float(x)):
            raise NetworkError(f"{what} is {x!r}; exact arithmetic needs finite numbers.")
        f = Fraction(float(x))
        return int(f) if f.denominator == 1 else f
    raise NetworkError(f"{what} has type {type(x).__name__} ({x!r}); expected an int, Fraction or float.")


def exact_matrix(a: Any, what: str = "A matrix") -> np.ndarray:
    """An object array of exact ``int``/``Fraction`` entries with the shape of ``a``.

    Parameters
    ----------
    a : array_like
        Entries accepted by :func:`exact_entry`.
    what : str, optional
        How an error names ``a``.

    Returns
    -------
    numpy.ndarray of object

    Raises
    ------
    NetworkError
        On an entry :func:`exact_entry` refuses.
    """
    arr = np.asarray(a)
    flat = [exact_entry(x, what) for x in arr.ravel().tolist()] if arr.dtype.kind != "O" else \
        [exact_entry(x, what) for x in arr.ravel()]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(arr.shape)


def has_fractions(a: Any) -> bool:
    """True when ``a`` holds a non-integral :class:`~fractions.Fraction` (or a non-integral float).

    Parameters
    ----------
    a : array_like
        Any numeric array; integer and boolean dtypes answer ``False`` at once.

    Returns
    -------
    bool
        For a float array, NaN and inf count as non-integral (``True``).

    Raises
    ------
    NetworkError
        For an object array with an entry :func:`exact_entry` refuses.
    """
    arr = np.asarray(a)
    if arr.dtype.kind in "iub":
        return False
    if arr.dtype.kind == "f":
        return not bool(np.all(np.equal(np.mod(arr, 1), 0)))
    return any(isinstance(e, Fraction) for e in exact_matrix(arr).ravel())


def is_integral(a: Any) -> bool:
    """Whether every entry is an integer value (any dtype; NaN and inf are not).

    Parameters
    ----------
    a : array_like
        Any array.

    Returns
    -------
    bool
        ``False`` also for an object array with an entry that is not a number.

    Examples
    --------
    >>> from fractions import Fraction
    >>> is_integral([1.0, 2.0]), is_integral([Fraction(1, 2)])
    (True, False)
    """
    arr = np.asarray(a)
    if arr.dtype.kind in "iub":
        return True
    if arr.dtype.kind == "f":
        return bool(np.all(np.isfinite(arr)) and np.all(np.equal(np.mod(arr, 1), 0)))
    try:
        return not any(isinstance(e, Fraction) for e in exact_matrix(arr).ravel())
    except NetworkError:
        return False


def denominator_lcm(a: Any) -> int:
    """The least common multiple of the denominators of the exact entries of ``a`` (1 for integers).

    Parameters
    ----------
    a : array_like
        Entries accepted by :func:`exact_entry` (floats taken at their exact binary value).

    Returns
    -------
    int

    Raises
    ------
    NetworkError
        On an entry :func:`exact_entry` refuses.

    Examples
    --------
    >>> from fractions import Fraction
    >>> denominator_lcm([Fraction(1, 2), Fraction(1, 3), 4])
    6
    """
    arr = np.asarray(a)
    if arr.dtype.kind in "iub":
        return 1
    dens = [e.denominator for e in exact_matrix(arr).ravel() if isinstance(e, Fraction)]
    return math.lcm(*dens) if dens else 1


def integer_entries(a: Any, what: str = "An array") -> np.ndarray:
    """``a`` with integral entries as ``int64`` (Python ints in an object array when they overflow).

    Unsigned integer arrays narrower than 8 bytes become ``int64``; other integer arrays are returned as they are.

    Parameters
    ----------
    a : array_like
        Integral entries of any numeric dtype.
    what : str, optional
        How an error names ``a``.

    Returns
    -------
    numpy.ndarray
        ``int64``, or object dtype when a value reaches ``2^62`` in magnitude.

    Raises
    ------
    NetworkError
        Naming the first non-integral entry, or an entry :func:`exact_entry` refuses.
    """
    arr = np.asarray(a)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64) if arr.dtype.kind == "u" and arr.dtype.itemsize < 8 else arr
    ex = exact_matrix(arr, what)
    bad = [(i, e) for i, e in enumerate(ex.ravel()) if isinstance(e, Fraction)]
    if bad:
        i, e = bad[0]
        idx = np.unravel_index(i, arr.shape) if arr.ndim else ()
        raw = arr.ravel()[i]
        raw = raw.item() if hasattr(raw, "item") else raw
        raise NetworkError(
            f"{what} has the non-integral entry {raw!r} at {tuple(int(k) for k in idx)} (exactly {e}) "
            f"but the network is declared integer=True. Hint: pass integers or fractions.Fraction entries "
            f"(exact over Q), or integer=False for float weights."
        )
    vals = [int(e) for e in ex.ravel()]
    if all(-(2**62) < v < 2**62 for v in vals):
        return np.asarray(vals, dtype=np.int64).reshape(arr.shape)
    out = np.empty(len(vals), dtype=object)
    out[:] = vals
    return out.reshape(arr.shape)


def rank_over_Q(a: Any) -> int:
    """Exact rank over Q of a 2-D matrix of ints, Fractions or floats (floats taken at their exact value).

    The entries are multiplied by the lcm of their denominators and the rank of the integer matrix is computed
    with python-flint's ``fmpz_mat``.

    Parameters
    ----------
    a : array_like
        A 2-D matrix.

    Returns
    -------
    int
        0 for an empty matrix.

    Raises
    ------
    NetworkError
        When ``a`` is not 2-D, or holds an entry :func:`exact_entry` refuses.

    Examples
    --------
    >>> from fractions import Fraction
    >>> rank_over_Q([[Fraction(1, 3), 1], [1, 3]])
    1
    """
    import flint

    arr = np.asarray(a)
    if arr.ndim != 2:
        raise NetworkError(f"rank_over_Q needs a 2-D matrix, got shape {arr.shape}.")
    m, n = arr.shape
    if m == 0 or n == 0:
        return 0
    ex = exact_matrix(arr)
    den = denominator_lcm(ex)
    vals = [int(e * den) for e in ex.ravel()]
    return int(flint.fmpz_mat(m, n, vals).rank())


def check_field_prime(p: Any, max_bits: int = 63) -> int:
    """``p`` is a prime below ``2^max_bits`` (flint ``nmod_mat`` needs a word-size prime modulus).

    Parameters
    ----------
    p : int
        The candidate modulus.
    max_bits : int, optional
        Upper bound on the bit size (default 63).

    Returns
    -------
    int
        ``p`` as a Python int.

    Raises
    ------
    RankError
        When ``p`` is not an integer in ``[2, 2^max_bits)`` or is not prime (checked with ``sympy.isprime``).

    Examples
    --------
    >>> check_field_prime(7)
    7
    """
    import sympy

    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or not 2 <= int(p) < 2**max_bits:
        raise RankError(f"prime must be an integer prime in [2, 2^{max_bits}), got {p!r}. Hint: tensorexpr.evaluate.grid.DEFAULT_PRIME.")
    if not sympy.isprime(int(p)):
        raise RankError(f"prime={int(p)} is not prime, so GF(prime) is not a field. Hint: tensorexpr.evaluate.grid.DEFAULT_PRIME.")
    return int(p)
