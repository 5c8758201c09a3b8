"""Big-number formatting (``tensorexpr/core/numbers.py``)."""

from __future__ import annotations

from tensorexpr.core.numbers import format_count


def test_format_count():
    assert [format_count(v) for v in (16, 2**2048, 3**40, 2**30 + 1)] == ["16", "2^2048", "3^40", "~2^30.00"]


# --- the exact machine encoding: encode_count / decode_count ---------------------------------------------------

import json
import math
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorexpr.core.errors import CountError, TensorExprError
from tensorexpr.core.numbers import (DECIMAL_MAX_DIGITS, decode_count, decode_counts, encode_count, encode_counts,
                                     is_encoded_count, log2_int)

_BIG = st.integers(min_value=0, max_value=2**100_000)
_POWERS = st.builds(lambda b, k: b**k, st.integers(2, 100), st.integers(0, 20_000))
_PRODUCTS = st.builds(lambda a, b, c, r: 2**a * 3**b * 7**c * r, st.integers(0, 30_000), st.integers(0, 10_000),
                      st.integers(0, 3000), st.sampled_from([1, 101, 2**127 - 1]))


def _json_round_trip(obj):
    # through the text a file would hold: the encoding must survive json, not just Python
    return json.loads(json.dumps(obj))


@settings(max_examples=60, deadline=None)
@given(st.one_of(_BIG, _POWERS, _PRODUCTS), st.sampled_from([1, -1]))
def test_encode_decode_round_trip(n, sign):
    n = sign * n
    enc = encode_count(n)
    assert decode_count(_json_round_trip(enc)) == n
    if abs(n) < 2**53:
        assert enc == n and type(enc) is int
    else:
        assert is_encoded_count(enc)
        # log2 is independent of the exact form: compare with the bit length
        assert abs(enc["log2"] - math.log2(abs(n) >> max(0, abs(n).bit_length() - 60))
                   - max(0, abs(n).bit_length() - 60)) < 1e-6


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 100), st.integers(10, 20_000))
def test_powers_of_primes_are_base_exponent(b, k):
    n = b**k
    if n < 2**53:
        return
    enc = encode_count(n)
    # oracle: the prime factorisation of the base, by trial division of a small int
    fac, m, p = {}, b, 2
    while m > 1:
        while m % p == 0:
            fac[p] = fac.get(p, 0) + k
            m //= p
        p += 1
    if len(fac) == 1:
        (p, e), = fac.items()
        assert (enc["base"], enc["exponent"]) == (p, e)
    else:
        assert enc["factors"] == [[p, e] for p, e in sorted(fac.items())]


def test_forms_never_need_str_of_a_huge_int():
    # hex is the form of a huge non-smooth number; str() of it would raise under the 4300-digit limit
    n = 3**20_000 + 2
    enc = encode_count(n)
    assert set(enc) == {"hex", "log2"} and decode_count(enc) == n
    assert set(encode_count(10**500 + 1)) == {"decimal", "log2"}
    assert set(encode_count(10 ** (DECIMAL_MAX_DIGITS + 5) + 1)) == {"hex", "log2"}
    assert len(json.dumps(encode_counts({"r": 2**1_000_000}))) < 100


def test_digit_limit_untouched():
    before = sys.get_int_max_str_digits()
    encode_count(7**30_000)
    decode_count(encode_count(7**30_000 + 1))
    assert sys.get_int_max_str_digits() == before


def test_numpy_and_nested():
    assert encode_count(np.int64(2**60)) == {"base": 2, "exponent": 60, "log2": 60.0}
    d = {"lower": 16, "upper": [2**64, (3**100, None)], "ok": True, "f": 1.5, "s": "x"}
    enc = encode_counts(d)
    assert encode_counts(enc) == enc  # idempotent
    assert decode_counts(_json_round_trip(enc)) == {"lower": 16, "upper": [2**64, [3**100, None]], "ok": True,
                                                    "f": 1.5, "s": "x"}


@pytest.mark.parametrize("bad", [True, 1.0, "2^5", {"base": 2}, {"base": 2, "exponent": 9, "log2": 8.0},
                                 {"hex": "xyz", "log2": 1.0}, {"base": 1, "exponent": 3, "log2": 0.0},
                                 {"base": 2, "exponent": 2**40, "log2": 2.0**40}, "1" * 1200])
def test_decode_rejects(bad):
    with pytest.raises(CountError) as e:
        decode_count(bad)
    assert isinstance(e.value, TensorExprError)


def test_encode_rejects_non_integers():
    for bad in (True, 2.0, "7"):
        with pytest.raises(CountError, match="integer"):
            encode_count(bad)


def test_log2_int_agrees_with_math():
    for n in (3, 2**52 + 1, 3**700, 5**5000):
        assert abs(log2_int(n) - (math.log2(n) if n < 2**1000 else n.bit_length())) < 1.0 + 1e-9
