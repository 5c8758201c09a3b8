"""The ``profile`` command (``tensorexpr/cli/profile.py``): per-level windows and explicit partition lists, checked
against te.certify."""

from __future__ import annotations

import json

import tensorexpr as te
from tensorexpr.cli import main


def test_profile_with_per_level_windows_and_explicit_lists(run_cli):
    """The profile command shares the report's fix: on a 6x6 grid (--window 3,2) the 2-D families resolve on
    the grid, the default list is the kinds the grid tiles, and an explicit I:... list survives the commas."""
    rc, out, err = run_cli("profile", "--geometry", "grid:6x6:square", "--window", "3,2", "--M", "2",
                           "--widths", "2", "--json", "--no-progress")
    assert rc == 0, err
    rows = json.loads(out)["rows"]
    assert [r["name"] for r in rows] == ["left_right", "top_bottom", "checkerboard", "interleaved_rows",
                                         "interleaved_cols"]
    net = te.convac(te.ModeTree.grid(6, 6, window=[3, 2]), 2, 2, seed=0)
    assert rows[2]["upper"] == te.certify(net, te.Partition.grid(6, 6, "checkerboard")).upper
    rc, out, err = run_cli("profile", "--geometry", "grid:6x6:square", "--window", "3,2", "--M", "2",
                           "--widths", "2", "--partitions", "I:0,2,5;checkerboard", "--json", "--no-progress")
    assert rc == 0, err
    rows = json.loads(out)["rows"]
    c = te.certify(net, te.Partition([0, 2, 5], 36))
    assert len(rows) == 2 and (rows[0]["lower"], rows[0]["upper"]) == (c.lower, c.upper)


def test_profile_json_and_plot(tmp_path, capsys):
    png = tmp_path / "prof.png"
    rc = main(["profile", "--geometry", "grid:4x4:square", "--M", "2", "--widths", "2", "--plot", str(png),
               "--json", "--no-progress"])
    assert rc == 0
    d = json.loads(capsys.readouterr().out)
    from tensorexpr.core.partitions import STANDARD_PARTITIONS

    assert [r["name"] for r in d["rows"]] == list(STANDARD_PARTITIONS) and d["plot"] == str(png) and png.stat().st_size > 1000
