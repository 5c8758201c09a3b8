"""``tensorexpr data``: the table, JSON and heat map agree with the library; bad files get clean errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tensorexpr.cli import main
from tensorexpr.data import geometry_fit


def test_data_command_json_matches_library(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 4, 4)), rng.integers(0, 2, 40)
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=y)
    assert main(["data", "--data", str(path), "--geometry", "grid:4x4:square", "--geometry", "grid:4x4:mirror",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    lo, hi = X.min(), X.max()
    want = {g: geometry_fit(((X - lo) / (hi - lo)).reshape(40, -1), y, g).total
            for g in ("grid:4x4:square", "grid:4x4:mirror")}
    got = {f["geometry"]: f["total"] for f in out["fits"]}
    assert got == pytest.approx(want, abs=1e-12)
    assert [f["total"] for f in out["fits"]] == sorted(want.values())


def test_data_command_table_and_plot(tmp_path, capsys):
    rng = np.random.default_rng(1)
    path = tmp_path / "d.npz"
    np.savez(path, X_train=rng.random((30, 4, 4)), y_train=rng.integers(0, 3, 30))
    png = tmp_path / "fit.png"
    assert main(["data", "--data", str(path), "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    assert "grid:4x4:square" in text and "grid:4x4:mirror" in text and "grid:4x4:random0" in text
    assert png.stat().st_size > 1000


@pytest.mark.parametrize("setup, message", [
    (lambda p: None, "does not exist"),
    (lambda p: np.savez(p, A=np.zeros(3)), "expected X and y"),
    (lambda p: p.write_text("not an npz"), "Cannot read"),
])
def test_data_command_errors(tmp_path, capsys, setup, message):
    path = tmp_path / "d.npz"
    setup(path)
    assert main(["data", "--data", str(path)]) == 2
    assert message in capsys.readouterr().err
