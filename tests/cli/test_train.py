"""The ``train`` command (``tensorexpr/cli/train.py``)."""

from __future__ import annotations

import json


def test_cli_train(tmp_path, capsys):
    from tensorexpr.cli import main

    rc = main(["train", "--model", "convac", "--geometry", "line:16", "--task", "teacher", "--widths", "4",
               "--epochs", "2", "--n-train", "128", "--n-test", "64", "--out", str(tmp_path), "--no-progress", "--json",
               "--device", "cpu"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["history"]) == 2 and out["files"]["curves"].endswith("curves.png")
    assert main(["train", "--geometry", "grid:32x32:square", "--task", "digits", "--no-progress"]) == 2
