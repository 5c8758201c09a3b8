"""The spec grammar (``tensorexpr/core/specs.py``): partition specs, widths, windows, each checked against the
objects they name built directly."""

from __future__ import annotations

import pytest

import tensorexpr as te
from tensorexpr.core.partitions import LINE_PARTITIONS, STANDARD_PARTITIONS, standard_partitions
from tensorexpr.core.specs import (PartitionSpec, parse_geometry, parse_partition, parse_partitions, parse_widths,
                                   split_partition_specs, with_window)


def test_partition_spec_splitting():
    assert split_partition_specs("I:0,2,5") == ["I:0,2,5"]
    assert split_partition_specs("odd_even,I:0,2,5,left_right") == ["odd_even", "I:0,2,5", "left_right"]
    assert split_partition_specs("I:0,1;I:2,3") == ["I:0,1", "I:2,3"]


@pytest.mark.parametrize("text", ["odd_even", "left_right", "checkerboard", "random:3", "I:0,2,5", "I:5,0",
                                  "mask:01010101", "all_balanced"])
def test_partition_spec_round_trips(text):
    spec = PartitionSpec.parse(text)
    assert str(spec) == text and PartitionSpec.parse(str(spec)) == spec


def test_partition_specs_build_what_they_name():
    assert parse_partition("I:0,2,5", 8) == te.Partition([0, 2, 5], 8)
    assert parse_partition("I:0,2,5", 8).name == "I:0,2,5"
    assert parse_partition("mask:10100100", 8) == te.Partition([0, 2, 5], 8)
    assert parse_partition("random:3", 8) == te.Partition.random(8, seed=3)
    assert parse_partition("checkerboard", 16, (4, 4)) == te.Partition.grid(4, 4, "checkerboard")
    balanced = parse_partitions("all_balanced", 6)
    assert len(balanced) == 10  # C(5, 2): mode 0 fixed in I, two more of the other five
    assert parse_partitions(["odd_even,I:0,1", "left_right"], 4) == [te.Partition([0, 2], 4), te.Partition([0, 1], 4),
                                                                     te.Partition([0, 1], 4)]


@pytest.mark.parametrize("text, message", [
    ("I:0,0", "more than once"), ("I:0 2", "not spaces"), ("I:a", "expected I:0,2,5"), ("diagonal", "Unknown partition"),
    ("mask:012", "0/1"), ("random:x", "integer seed")])
def test_bad_partition_specs_fail_at_parse(text, message):
    with pytest.raises(te.PartitionError, match=message):
        PartitionSpec.parse(text)


def test_partition_specs_that_do_not_fit_fail_at_build():
    with pytest.raises(te.PartitionError, match="outside"):
        PartitionSpec.parse("I:9").build(8)
    with pytest.raises(te.PartitionError, match="8 characters"):
        PartitionSpec.parse("mask:0101").build(8)
    with pytest.raises(te.PartitionError, match="2-D families need a grid"):
        PartitionSpec.parse("checkerboard").build(8)
    with pytest.raises(te.PartitionError, match="every balanced"):
        PartitionSpec.parse("all_balanced").build(8)


def test_widths_grammar():
    assert parse_widths("16") == 16 and parse_widths(16) == 16
    assert parse_widths("2,4,8") == (2, 4, 8) and parse_widths([2, 4]) == (2, 4) and parse_widths("2,") == (2,)
    for bad in ("0", "-2", "2,0", 0, [2, -1], "", "a", True):
        with pytest.raises(te.NetworkError, match="widths"):
            parse_widths(bad)


def test_window_in_the_geometry_grammar():
    assert parse_geometry("grid:6x6:square:3,2") == te.ModeTree.grid(6, 6, [3, 2])
    assert parse_geometry(with_window("grid:6x6:square", "3,2")) == te.ModeTree.grid(6, 6, [3, 2])
    assert parse_geometry(with_window("grid:9x9:square", "3")) == te.ModeTree.grid(9, 9, (3, 3))
    assert parse_geometry(with_window("line:27", "3")) == te.ModeTree.line(27, 3)
    assert with_window("line:8", None) == "line:8"
    with pytest.raises(te.GeometryError, match="applies to grid"):
        with_window("shallow:8", "2")
    with pytest.raises(te.GeometryError, match="KHxKW"):
        with_window("grid:8x8:square", "2,a")


def test_standard_partitions_are_the_grid_families_in_order():
    # the independent oracle is the explicit list of the paper's kinds (Cohen & Shashua, ICLR 2017) plus the
    # mirror halves, in the order the report prints them
    assert list(STANDARD_PARTITIONS) == ["left_right", "top_bottom", "checkerboard", "interleaved_rows",
                                         "interleaved_cols", "mirror_left_right", "mirror_top_bottom"]
    for name, make in STANDARD_PARTITIONS.items():
        assert make(4, 4) == te.Partition.grid(4, 4, name) and make(4, 4).name == name
    assert [P.name for P in standard_partitions(6, 6)] == list(STANDARD_PARTITIONS)[:5]  # 6x6 has no mirror tree
    assert [P.name for P in standard_partitions(8, 8)] == list(STANDARD_PARTITIONS)
    assert [make(8) for make in LINE_PARTITIONS.values()] == [te.Partition([0, 2, 4, 6], 8), te.Partition(range(4), 8)]


@pytest.mark.parametrize("spec", ["grid:8x8", "grid:8x8:mirror", "grid:6x6:square:3,2", "grid:8x8:square:2x2",
                                  "grid:7x7", "grid:8x8:mirror:3", "grid:8x8:diag", "grid:8", "grid:0x4",
                                  "grid:axb", "grid:8x8:square:3", "line:8", "line:7", "shallow:4", "dilated:8",
                                  "nested:((0,1),(1,2))", "bogus:3"])
def test_check_geometry_agrees_with_parse_geometry(spec):
    """check_geometry (no tree built for grids) accepts exactly what parse_geometry accepts, with the same error."""
    from tensorexpr.core.errors import GeometryError
    from tensorexpr.core.specs import check_geometry, parse_geometry

    try:
        parse_geometry(spec)
    except GeometryError as exc:
        with pytest.raises(GeometryError) as got:
            check_geometry(spec)
        assert str(got.value) == str(exc)
    else:
        assert check_geometry(spec) is None
