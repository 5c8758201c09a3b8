"""CLI spellings the README and --help show (partition specs, --window, --max-rank, all_balanced,
overlapping and mixed networks, defaults in --help, one big-number format)."""

from __future__ import annotations

import json

import pytest

import tensorexpr as te
from tensorexpr.cli import main
from tensorexpr.cli.common import split_partition_specs
from tensorexpr.core.numbers import format_count


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_partition_spec_splitting():
    assert split_partition_specs("I:0,2,5") == ["I:0,2,5"]
    assert split_partition_specs("odd_even,I:0,2,5,left_right") == ["odd_even", "I:0,2,5", "left_right"]
    assert split_partition_specs("I:0,1;I:2,3") == ["I:0,1", "I:2,3"]


def test_explicit_partition_rank_matches_library(capsys):
    rc, out, _ = _run(capsys, "rank", "--geometry", "line:8", "--M", "2", "--partition", "I:0,2,5", "--json")
    assert rc == 0
    got = json.loads(out)["results"][0]["rank"]
    net = te.convac(te.ModeTree.line(8), 2, 2, seed=0, integer=True)
    assert got == te.rank(net, te.Partition([0, 2, 5], 8), method="exact").rank


def test_space_separated_partition_hint_is_a_working_spelling(capsys):
    rc, _, err = _run(capsys, "rank", "--partition", "I:0 2 5")
    assert rc == 2 and "--partition I:0,2,5" in err
    rc, _, _ = _run(capsys, "rank", "--partition", "I:0,2,5")
    assert rc == 0


def test_window_builds_6x6(capsys):
    rc, out, _ = _run(capsys, "rank", "--geometry", "grid:6x6:square", "--window", "3,2", "--M", "2",
                      "--widths", "2", "--method", "structured", "--partition", "checkerboard", "--json")
    assert rc == 0
    tree = te.ModeTree.grid(6, 6, [3, 2])
    net = te.convac(tree, 2, 2, seed=0, integer=True)
    P = te.Partition.grid(6, 6, "checkerboard")
    assert json.loads(out)["results"][0]["rank"] == te.rank(net, P, method="structured").rank


def test_max_rank_flag_and_hint(capsys):
    rc, _, err = _run(capsys, "rank", "--geometry", "grid:4x4:square", "--M", "3", "--widths", "4",
                      "--method", "structured", "--max-rank", "2", "--partition", "checkerboard")
    assert rc == 2 and "--max-rank" in err


def test_all_balanced(capsys):
    rc, out, _ = _run(capsys, "rank", "--geometry", "shallow:6", "--M", "2", "--partition", "all_balanced", "--json")
    assert rc == 0 and len(json.loads(out)["results"]) == 10  # C(5, 2) splits with mode 0 in I


def test_overlapping_and_mixed_reachable(capsys):
    rc, out, _ = _run(capsys, "rank", "--network", "overlapping", "--geometry", "line:8", "--M", "2",
                      "--partition", "left_right", "--json")
    assert rc == 0
    net = te.overlapping(8, [(3, 1, 2), (2, 2, 2), (3, 1, 2)], 2, seed=0, integer=True)
    assert json.loads(out)["results"][0]["rank"] == te.rank(net, te.Partition.left_right(8), method="exact").rank
    rc, out, _ = _run(capsys, "rank", "--network", "mixed", "--geometry", "dilated:8:contiguous", "--mix-with",
                      "dilated:8:reversed", "--M", "2", "--partition", "odd_even", "--json")
    assert rc == 0 and json.loads(out)["results"][0]["rank"] >= 1


def test_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["rank", "--help"])
    out = capsys.readouterr().out
    assert "(default: 3)" in out and "(default: line:8)" in out


def test_report_window_and_format(capsys):
    rc, out, _ = _run(capsys, "report", "--grid", "8x8", "--M", "3", "--widths", "2")
    assert rc == 0 and "3^32" in out  # max possible min(3^32, 3^32), an exact power of 3


def test_format_count():
    assert [format_count(v) for v in (16, 2**2048, 3**40, 2**30 + 1)] == ["16", "2^2048", "3^40", "~2^30.00"]


def test_report_random_partitions_fraction(capsys):
    """--random K adds K seeded random balanced partitions; the printed count is what te.certify gives."""
    rc, out, _ = _run(capsys, "report", "--grid", "8x8", "--random", "3", "--weights", "untied", "--widths", "4")
    assert rc == 0
    want = 0
    for g in ("square", "mirror"):
        net = te.convac(te.ModeTree.grid(8, 8, geometry=g), 2, 4, seed=0)
        want += sum(te.certify(net, te.Partition.random(64, seed=s)).certified for s in range(3))
    assert f"random balanced partitions certified: {want} of 6" in out
    assert "random(seed=2)" in out and want == 6  # untied, widths a power of 2: flow = min-cut
    rc, _, err = _run(capsys, "report", "--grid", "8x8", "--random", "-1")
    assert rc != 0 and "--random" in err


def test_report_with_per_level_windows(capsys):
    """--window 3,2 builds a 6x6 grid (no 2x2 pooling, so the shape cannot be recognised from the tree); the
    report resolves the 2-D families on the grid it built, and each cell is what te.certify gives."""
    rc, out, err = _run(capsys, "report", "--grid", "6x6", "--window", "3,2", "--weights", "untied", "--json")
    assert rc == 0, err
    rows = json.loads(out)["square"]["rows"]
    net = te.convac(te.ModeTree.grid(6, 6, window=[3, 2]), 2, 16, seed=0)
    assert [r["name"] for r in rows] == ["left_right", "top_bottom", "checkerboard", "interleaved_rows",
                                         "interleaved_cols"]
    for r in rows:
        c = te.certify(net, te.Partition.grid(6, 6, r["name"]))
        assert (r["lower"], r["upper"], r["certified"]) == (c.lower, c.upper, c.certified)


def test_profile_with_per_level_windows_and_explicit_lists(capsys):
    """The profile command shares the report's fix: on a 6x6 grid (--window 3,2) the 2-D families resolve on
    the grid, the default list is the kinds the grid tiles, and an explicit I:... list survives the commas."""
    rc, out, err = _run(capsys, "profile", "--geometry", "grid:6x6:square", "--window", "3,2", "--M", "2",
                        "--widths", "2", "--json", "--no-progress")
    assert rc == 0, err
    rows = json.loads(out)["rows"]
    assert [r["name"] for r in rows] == ["left_right", "top_bottom", "checkerboard", "interleaved_rows",
                                         "interleaved_cols"]
    net = te.convac(te.ModeTree.grid(6, 6, window=[3, 2]), 2, 2, seed=0)
    assert rows[2]["upper"] == te.certify(net, te.Partition.grid(6, 6, "checkerboard")).upper
    rc, out, err = _run(capsys, "profile", "--geometry", "grid:6x6:square", "--window", "3,2", "--M", "2",
                        "--widths", "2", "--partitions", "I:0,2,5;checkerboard", "--json", "--no-progress")
    assert rc == 0, err
    rows = json.loads(out)["rows"]
    c = te.certify(net, te.Partition([0, 2, 5], 36))
    assert len(rows) == 2 and (rows[0]["lower"], rows[0]["upper"]) == (c.lower, c.upper)
