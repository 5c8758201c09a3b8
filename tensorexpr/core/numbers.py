"""The big integers ranks are made of: one formatter for people, one exact encoding for machines.

For people (tables, plots, summaries), :func:`format_count`:

* ``v < 2^20``: the exact digits;
* an exact power of 2 or 3: ``2^k`` / ``3^k``;
* anything else: ``~2^x.xx`` (``log2`` to two decimals).

For machines (``--json``, SQLite result stores, every ``to_dict``), :func:`encode_count` and
:func:`decode_count`. Ranks here reach ``2^524288`` (a 1024x1024 grid) and Python refuses ``str()`` of an
int above 4300 digits, so an output path never calls ``str()`` on a count; it encodes it:

* ``|v| < 2^53``: the int itself (every JSON reader, JavaScript included, holds it exactly);
* a product of powers of primes below 100 (most certified ranks: ``M^k``, ``16 * 3^k``):
  ``{"base": p, "exponent": k, "log2": ...}`` for one prime power, else
  ``{"factors": [[p, k], ...], "log2": ...}``;
* otherwise up to 1000 decimal digits: ``{"decimal": "...", "log2": ...}``;
* otherwise ``{"hex": "...", "log2": ...}`` (hex conversion has no digit limit and is linear time).

``log2`` is always there (a float, for plots and sorting without big-integer arithmetic), and a negative
value adds ``"sign": -1``. :func:`encode_counts` / :func:`decode_counts` apply the encoding to every integer
of a nested dict/list, so a whole certificate round-trips. The interpreter's digit limit
(``sys.set_int_max_str_digits``) is global state and is never changed.
"""

from __future__ import annotations

import math
import numbers as _numbers
from typing import Any

from tensorexpr.core.errors import CountError

__all__ = ["format_count", "log2_int", "encode_count", "decode_count", "encode_counts", "decode_counts",
           "is_encoded_count", "count_text", "JSON_SAFE_BITS", "DECIMAL_MAX_DIGITS", "DECODE_MAX_BITS"]

#: Integers below ``2^JSON_SAFE_BITS`` in magnitude stay plain JSON numbers (exact as IEEE doubles).
JSON_SAFE_BITS = 53
#: The ``decimal`` form is used up to this many digits (well below the interpreter's 4300-digit limit).
DECIMAL_MAX_DIGITS = 1000
#: :func:`decode_count` refuses encodings of more bits than this (a corrupt exponent must not exhaust memory).
DECODE_MAX_BITS = 1 << 28
_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97)
_FORMS = ("base", "factors", "decimal", "hex")
_KEYS = {"base": {"base", "exponent"}, "factors": {"factors"}, "decimal": {"decimal"}, "hex": {"hex"}}


def log2_int(v: int) -> float:
    """``log2`` of a positive big integer without float overflow.

    Parameters
    ----------
    v : int
        A positive integer of any size.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        When ``v <= 0``.

    Examples
    --------
    >>> log2_int(2**5000)
    5000.0
    """
    v = int(v)
    if v <= 0:
        raise ValueError(f"log2_int needs a positive integer, got {v}.")
    b = v.bit_length() - 1
    return b + math.log2(v / (1 << b)) if b < 1000 else b + math.log2((v >> (b - 52)) / (1 << 52))


def _exact_power(v: int, base: int) -> int | None:
    k = round(math.log(v, base)) if v > 0 else 0
    for kk in (k - 1, k, k + 1):
        if kk >= 0 and base**kk == v:
            return kk
    return None


def format_count(v: int) -> str:
    """Readable form of a non-negative integer (see the module docstring).

    Parameters
    ----------
    v : int
        The count.

    Returns
    -------
    str
        The digits below ``2^20``, else ``2^k``, ``3^k`` or ``~2^x.xx``.

    Examples
    --------
    >>> format_count(16), format_count(2**2048), format_count(3**40), format_count(2**30 + 1)
    ('16', '2^2048', '3^40', '~2^30.00')
    """
    v = int(v)
    if v < (1 << 20):
        return str(v)
    if v & (v - 1) == 0:
        return f"2^{v.bit_length() - 1}"
    k = _exact_power(v, 3) if v.bit_length() < 100_000 else None
    if k is not None:
        return f"3^{k}"
    return f"~2^{log2_int(v):.2f}"


def _as_int(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, _numbers.Integral):
        raise CountError(f"{what} must be an integer, got {v!r} of type {type(v).__name__}. "
                         "Hint: counts (ranks, sizes) are Python or numpy ints.")
    return int(v)


def _valuation(m: int, p: int) -> tuple[int, int]:
    """``(e, m / p^e)`` with ``p^e`` the largest power of ``p`` dividing ``m``.

    Divides by ``p, p^2, p^4, ...`` and then back down, so ``3^16384`` costs about 28 big divisions, not 16384.
    """
    if p == 2:
        e = (m & -m).bit_length() - 1
        return e, m >> e
    e, stack, pk, k = 0, [], p, 1
    while True:
        q, r = divmod(m, pk)
        if r:
            break
        m, e = q, e + k
        stack.append((pk, k))
        if pk.bit_length() * 2 > m.bit_length() + 1:
            break
        pk, k = pk * pk, 2 * k
    for pk, k in reversed(stack):
        q, r = divmod(m, pk)
        if not r:
            m, e = q, e + k
    return e, m


def _pure_power(m: int, p: int) -> int | None:
    """``k`` when ``m == p^k`` exactly (one exponentiation: the fast path for ``M^k`` ranks)."""
    k = round(log2_int(m) / math.log2(p))
    for kk in (k, k - 1, k + 1):
        if kk >= 1 and p**kk == m:
            return kk
    return None


def _smooth_factors(m: int) -> list[list[int]] | None:
    """``[[p, k], ...]`` with ``m = prod p^k`` over primes below 100, or None when ``m`` has a larger factor."""
    out: list[list[int]] = []
    for p in _PRIMES:
        if m == 1:
            break
        if p > 2 and m % p:
            continue
        if p > 2:
            k = _pure_power(m, p)
            if k is not None:
                out.append([p, k])
                m = 1
                break
        e, m = _valuation(m, p)
        if e:
            out.append([p, e])
    return out if m == 1 else None


def count_text(v: Any) -> str:
    """``str(v)``, except an integer of more than :data:`DECIMAL_MAX_DIGITS` digits, which is
    :func:`format_count`-ed (``str`` of it would raise past the interpreter's 4300-digit limit).

    Parameters
    ----------
    v : object
        A table cell.

    Returns
    -------
    str

    Examples
    --------
    >>> count_text(16), count_text("a"), count_text(2**20000)
    ('16', 'a', '2^20000')
    """
    if isinstance(v, _numbers.Integral) and not isinstance(v, bool) and \
            int(v).bit_length() * math.log10(2) >= DECIMAL_MAX_DIGITS:
        return ("-" if v < 0 else "") + format_count(abs(int(v)))
    return str(v)


def encode_count(n: int) -> int | dict[str, Any]:
    """An exact, JSON-ready encoding of an integer of any size (see the module docstring).

    Parameters
    ----------
    n : int
        A count (a rank, an interval end); Python or numpy integer, any size.

    Returns
    -------
    int or dict
        ``n`` itself when ``|n| < 2^53``; else a dict with one exact form (``base``/``exponent``,
        ``factors``, ``decimal`` or ``hex``), a float ``log2`` of ``|n|`` and, when negative, ``sign: -1``.
        :func:`decode_count` inverts it.

    Raises
    ------
    CountError
        When ``n`` is not an integer (a bool, a float, a string).

    Examples
    --------
    >>> encode_count(16)
    16
    >>> encode_count(2**32768)
    {'base': 2, 'exponent': 32768, 'log2': 32768.0}
    >>> encode_count(16 * 3**16384)["factors"]
    [[2, 4], [3, 16384]]
    >>> encode_count(2**61 - 1)
    {'decimal': '2305843009213693951', 'log2': 61.0}
    >>> decode_count(encode_count(2**40000 + 1)) == 2**40000 + 1
    True
    """
    n = _as_int(n, "encode_count's argument")
    m = abs(n)
    if m.bit_length() <= JSON_SAFE_BITS:
        return n
    out: dict[str, Any]
    f = _smooth_factors(m)
    if f is not None and len(f) == 1:
        out = {"base": f[0][0], "exponent": f[0][1]}
    elif f is not None:
        out = {"factors": f}
    elif m.bit_length() * math.log10(2) < DECIMAL_MAX_DIGITS:
        out = {"decimal": str(m)}  # bounded above: fewer than DECIMAL_MAX_DIGITS digits
    else:
        out = {"hex": format(m, "x")}
    out["log2"] = log2_int(m)
    if n < 0:
        out["sign"] = -1
    return out


def is_encoded_count(obj: Any) -> bool:
    """Whether ``obj`` is a dict :func:`encode_count` made: ``log2``, exactly one exact form, optional ``sign``.

    Parameters
    ----------
    obj : object

    Returns
    -------
    bool

    Examples
    --------
    >>> is_encoded_count({"base": 2, "exponent": 9, "log2": 9.0}), is_encoded_count({"base": 2})
    (True, False)
    """
    if not isinstance(obj, dict) or "log2" not in obj:
        return False
    forms = [f for f in _FORMS if f in obj]
    return len(forms) == 1 and set(obj) == _KEYS[forms[0]] | {"log2"} | ({"sign"} & set(obj))


def _checked_bits(bits: float, obj: Any) -> None:
    if bits > DECODE_MAX_BITS:
        raise CountError(f"The count {obj!r} has about {bits:.3g} bits, more than DECODE_MAX_BITS = "
                         f"{DECODE_MAX_BITS}. Hint: the encoding is corrupt, or decode it yourself.")


def decode_count(obj: Any) -> int:
    """The exact integer an :func:`encode_count` result (or a plain int, or a decimal string) stands for.

    Parameters
    ----------
    obj : int, str or dict
        An int (returned as is), a string of decimal digits, or an encoded dict. The dict's ``log2`` is
        checked against the decoded value, so a hand-edited or truncated encoding is caught.

    Returns
    -------
    int

    Raises
    ------
    CountError
        When ``obj`` is no encoding, a form's fields are malformed, or ``log2`` disagrees with the value.

    Examples
    --------
    >>> decode_count({"base": 3, "exponent": 4, "log2": 6.339850002884625})
    81
    >>> decode_count({"factors": [[2, 4], [3, 2]], "log2": 7.169925001442312})
    144
    >>> decode_count("12345")
    12345
    """
    if isinstance(obj, bool):
        raise CountError(f"A count is an int or an encoded dict, got the bool {obj!r}.")
    if isinstance(obj, _numbers.Integral):
        return int(obj)
    if isinstance(obj, str):
        s = obj.strip()
        digits = s[1:] if s[:1] in "+-" else s
        if not digits.isdigit() or not digits.isascii():
            raise CountError(f"A count string holds decimal digits, got {obj[:40]!r}. Hint: use encode_count.")
        if len(digits) > DECIMAL_MAX_DIGITS:
            raise CountError(f"A decimal count string has {len(digits)} digits, more than DECIMAL_MAX_DIGITS = "
                             f"{DECIMAL_MAX_DIGITS}. Hint: encode_count writes big counts as powers or hex.")
        return int(s)
    if not is_encoded_count(obj):
        raise CountError(f"Not an encoded count: {str(obj)[:80]}. Expected an int or a dict with 'log2' and one of "
                         f"{list(_FORMS)} (tensorexpr.core.numbers.encode_count).")
    sign = obj.get("sign", 1)
    if sign not in (1, -1) or isinstance(sign, bool):
        raise CountError(f"An encoded count's sign is 1 or -1, got {sign!r}.")
    if "base" in obj:
        pairs = [[obj["base"], obj["exponent"]]]
    elif "factors" in obj:
        pairs = obj["factors"]
        if not isinstance(pairs, list) or not all(isinstance(q, (list, tuple)) and len(q) == 2 for q in pairs):
            raise CountError(f"'factors' is a list of [base, exponent] pairs, got {str(pairs)[:80]}.")
    if "base" in obj or "factors" in obj:
        v, bits = 1, 0.0
        for b, k in pairs:
            b, k = _as_int(b, "a count's base"), _as_int(k, "a count's exponent")
            if b < 2 or k < 0:
                raise CountError(f"A count's factor is base >= 2 to an exponent >= 0, got {b}^{k}.")
            bits += k * math.log2(b)
            _checked_bits(bits, obj)
        for b, k in pairs:
            v *= int(b) ** int(k)
    elif "decimal" in obj:
        v = decode_count(obj["decimal"]) if isinstance(obj["decimal"], str) else None  # type: ignore[assignment]
        if v is None or v < 0:
            raise CountError(f"'decimal' is a string of digits, got {str(obj['decimal'])[:40]!r}.")
    else:
        h = obj["hex"]
        if not isinstance(h, str) or not h or any(c not in "0123456789abcdefABCDEF" for c in h):
            raise CountError(f"'hex' is a string of hex digits, got {str(h)[:40]!r}.")
        _checked_bits(4.0 * len(h), obj)
        v = int(h, 16)
    got = log2_int(v) if v > 0 else -math.inf
    want = obj["log2"]
    if isinstance(want, bool) or not isinstance(want, (int, float)) or not math.isclose(got, want, rel_tol=1e-9,
                                                                                          abs_tol=1e-9):
        raise CountError(f"An encoded count's log2 is {want!r} but its exact form gives {got!r}. "
                         "Hint: the encoding was edited or truncated.")
    return sign * v


def encode_counts(obj: Any) -> Any:
    """``obj`` with every integer of ``2^53`` or more replaced by :func:`encode_count` (dicts, lists, tuples).

    Safe to call twice: an encoded count holds only small numbers. Other values are kept as they are.

    Parameters
    ----------
    obj : object
        A JSON-like nest of dicts, lists and tuples.

    Returns
    -------
    object
        The same shape, with big integers encoded (dicts and lists are copies; tuples stay tuples).

    Examples
    --------
    >>> encode_counts({"lower": 16, "upper": [2**64, None]})
    {'lower': 16, 'upper': [{'base': 2, 'exponent': 64, 'log2': 64.0}, None]}
    """
    if isinstance(obj, bool) or obj is None or isinstance(obj, (str, float)):
        return obj
    if isinstance(obj, _numbers.Integral):
        return encode_count(obj) if int(obj).bit_length() > JSON_SAFE_BITS else obj
    if isinstance(obj, dict):
        return {k: encode_counts(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [encode_counts(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(encode_counts(v) for v in obj)
    return obj


def decode_counts(obj: Any) -> Any:
    """``obj`` with every :func:`is_encoded_count` dict replaced by its exact integer: the inverse of
    :func:`encode_counts`, for reading JSON back.

    Parameters
    ----------
    obj : object
        A nest of dicts and lists, as :func:`json.loads` returns.

    Returns
    -------
    object

    Raises
    ------
    CountError
        When a dict looks like an encoded count but does not decode.

    Examples
    --------
    >>> decode_counts({"lower": 16, "upper": {"base": 2, "exponent": 64, "log2": 64.0}})
    {'lower': 16, 'upper': 18446744073709551616}
    """
    if isinstance(obj, dict):
        if is_encoded_count(obj):
            return decode_count(obj)
        return {k: decode_counts(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode_counts(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(decode_counts(v) for v in obj)
    return obj
