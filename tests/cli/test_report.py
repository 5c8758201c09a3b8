"""The ``report`` command (``tensorexpr/cli/report.py``): windows, number format, random partitions and per-level
windows, each cell checked against te.certify."""

from __future__ import annotations

import json

import tensorexpr as te
from tensorexpr.cli import main


def test_report_window_and_format(run_cli):
    rc, out, _ = run_cli("report", "--grid", "8x8", "--M", "3", "--widths", "2")
    assert rc == 0 and "3^32" in out  # max possible min(3^32, 3^32), an exact power of 3


def test_report_random_partitions_fraction(run_cli):
    """--random K adds K seeded random balanced partitions; the printed count is what te.certify gives."""
    rc, out, _ = run_cli("report", "--grid", "8x8", "--random", "3", "--weights", "untied", "--widths", "4")
    assert rc == 0
    want = 0
    for g in ("square", "mirror"):
        net = te.convac(te.ModeTree.grid(8, 8, geometry=g), 2, 4, seed=0)
        want += sum(te.certify(net, te.Partition.random(64, seed=s)).certified for s in range(3))
    assert f"random balanced partitions certified: {want} of 6" in out
    assert "random(seed=2)" in out and want == 6  # untied, widths a power of 2: flow = min-cut
    rc, _, err = run_cli("report", "--grid", "8x8", "--random", "-1")
    assert rc != 0 and "--random" in err


def test_report_with_per_level_windows(run_cli):
    """--window 3,2 builds a 6x6 grid (no 2x2 pooling, so the shape cannot be recognised from the tree); the
    report resolves the 2-D families on the grid it built, and each cell is what te.certify gives."""
    rc, out, err = run_cli("report", "--grid", "6x6", "--window", "3,2", "--weights", "untied", "--json")
    assert rc == 0, err
    rows = json.loads(out)["square"]["rows"]
    net = te.convac(te.ModeTree.grid(6, 6, window=[3, 2]), 2, 16, seed=0)
    assert [r["name"] for r in rows] == ["left_right", "top_bottom", "checkerboard", "interleaved_rows",
                                         "interleaved_cols"]
    for r in rows:
        c = te.certify(net, te.Partition.grid(6, 6, r["name"]))
        assert (r["lower"], r["upper"], r["certified"]) == (c.lower, c.upper, c.certified)


def test_report_small_grid(capsys):
    assert main(["report", "--grid", "8x8", "--widths", "4", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    rows = {r["name"]: r for r in d["square"]["rows"]}
    assert rows["left_right"]["certified"] and rows["left_right"]["lower"] == 4  # r_{L-1} = 4
