"""Shared CLI parsing (``tensorexpr/cli/common.py``): partition specs split on the commas that separate specs."""

from __future__ import annotations

from tensorexpr.cli.common import split_partition_specs


def test_partition_spec_splitting():
    assert split_partition_specs("I:0,2,5") == ["I:0,2,5"]
    assert split_partition_specs("odd_even,I:0,2,5,left_right") == ["odd_even", "I:0,2,5", "left_right"]
    assert split_partition_specs("I:0,1;I:2,3") == ["I:0,1", "I:2,3"]
