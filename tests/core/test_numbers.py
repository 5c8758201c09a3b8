"""Big-number formatting (``tensorexpr/core/numbers.py``)."""

from __future__ import annotations

from tensorexpr.core.numbers import format_count


def test_format_count():
    assert [format_count(v) for v in (16, 2**2048, 3**40, 2**30 + 1)] == ["16", "2^2048", "3^40", "~2^30.00"]
