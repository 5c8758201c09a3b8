"""CLI smoke tests for ``bound``, ``profile`` and ``report`` through tensorexpr.cli.main."""

from __future__ import annotations

import json

from tensorexpr.cli import main


def test_bound_json(capsys):
    rc = main(["bound", "--geometry", "line:16", "--M", "3", "--widths", "3", "--partition", "odd_even", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    res = out["results"][0]
    assert res["certificate"]["certified"] and res["certificate"]["lower"] == 6561
    assert res["mincut"]["bound"] == 6561 and res["geometry"]["expr"].startswith("Min(")
    assert res["closed_form"]["kind"] == "exact"


def test_bound_text(capsys):
    assert main(["bound", "--geometry", "grid:4x4:mirror", "--M", "2", "--widths", "2", "--partition",
                 "left_right"]) == 0
    out = capsys.readouterr().out
    assert "certificate" in out and "min-cut" in out and "formula" in out


def test_profile_json_and_plot(tmp_path, capsys):
    png = tmp_path / "prof.png"
    rc = main(["profile", "--geometry", "grid:4x4:square", "--M", "2", "--widths", "2", "--plot", str(png),
               "--json", "--no-progress"])
    assert rc == 0
    d = json.loads(capsys.readouterr().out)
    from tensorexpr.cli.common import KINDS

    assert [r["name"] for r in d["rows"]] == KINDS and d["plot"] == str(png) and png.stat().st_size > 1000


def test_report_small_grid(capsys):
    assert main(["report", "--grid", "8x8", "--widths", "4", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    rows = {r["name"]: r for r in d["square"]["rows"]}
    assert rows["left_right"]["certified"] and rows["left_right"]["lower"] == 4  # r_{L-1} = 4


def test_bad_inputs_exit_2(capsys):
    assert main(["bound", "--geometry", "line:8", "--partition", "I:9"]) == 2
    assert "outside" in capsys.readouterr().err
    assert main(["bound", "--geometry", "line:8", "--partition", "checkerboard"]) == 2
    assert main(["profile", "--geometry", "line:8", "--op", "relu-max", "--partitions", "odd_even", "--json",
                 "--no-progress"]) == 0  # ReLU: only the trivial bound and an instance rank apply, no crash
