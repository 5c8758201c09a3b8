"""The ``bound`` command (``tensorexpr/cli/bound.py``) through tensorexpr.cli.main: JSON, text and bad inputs."""

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


def test_bad_inputs_exit_2(capsys):
    assert main(["bound", "--geometry", "line:8", "--partition", "I:9"]) == 2
    assert "outside" in capsys.readouterr().err
    assert main(["bound", "--geometry", "line:8", "--partition", "checkerboard"]) == 2
    assert main(["profile", "--geometry", "line:8", "--op", "relu-max", "--partitions", "odd_even", "--json",
                 "--no-progress"]) == 0  # ReLU: only the trivial bound and an instance rank apply, no crash
