"""One formatter for the big integers ranks are made of (tables, plots, summaries).

* ``v < 2^20``: the exact digits;
* an exact power of 2 or 3: ``2^k`` / ``3^k``;
* anything else: ``~2^x.xx`` (``log2`` to two decimals).

JSON output never uses this: it carries the exact integer.
"""

from __future__ import annotations

import math

__all__ = ["format_count", "log2_int"]


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
