"""The table of mistakes (docs/errors.md), command-line rows: each runs through ``tensorexpr.cli.main`` and must give
exit code 2 and one ``tensorexpr: error:`` line, never a traceback; the class is checked under the parser, and the
class and message start are read from the page (fixtures ``check_cli_row`` in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def write_bad_inputs(d: Path) -> Path:
    """The files the rows name, in ``d``: .npz files with each mistake, a damaged checkpoint, a file that is not a
    database."""
    rng = np.random.default_rng(0)
    np.savez(d / "nokeys.npz", A=np.zeros(3))
    np.savez(d / "xy_str.npz", X=np.array([["a"] * 16] * 20), y=np.arange(20) % 2)
    np.savez(d / "xy_nan.npz", X=np.full((20, 4, 4), np.nan), y=np.arange(20) % 2)
    np.savez(d / "xy_short_y.npz", X=rng.random((20, 4, 4)), y=np.arange(5))
    np.savez(d / "xy.npz", X=rng.random((20, 4, 4)), y=np.arange(20) % 2)
    split = dict(X_test=np.zeros((4, 4, 4), dtype=int), y_test=np.arange(4) % 2)
    np.savez(d / "shape.npz", X_train=np.zeros((10, 3, 3), dtype=int), y_train=np.arange(10) % 2,
             X_test=np.zeros((4, 3, 3), dtype=int), y_test=np.arange(4) % 2)
    np.savez(d / "float_labels.npz", X_train=np.zeros((10, 4, 4), dtype=int), y_train=np.linspace(0, 1, 10), **split)
    np.savez(d / "str_labels.npz", X_train=np.zeros((10, 4, 4), dtype=int), y_train=np.array(["a", "b"] * 5), **split)
    (d / "corrupt.npz").write_text("not a zip file")
    (d / "badrun").mkdir(exist_ok=True)
    (d / "badrun" / "checkpoint.pt").write_text("not a checkpoint")
    (d / "emptyrun").mkdir(exist_ok=True)
    return d


USER = ["train", "--task", "user", "--geometry", "grid:4x4:square", "--no-progress"]

ERROR_ROWS = [
    ("partition-empty-side", lambda d: ["rank", "--partition", "I:"]),
    ("partition-empty-J", lambda d: ["rank", "--partition", "I:0,1,2,3,4,5,6,7"]),
    ("partition-out-of-range", lambda d: ["spectrum", "--partition", "I:0,9"]),
    ("partition-family-unknown", lambda d: ["bound", "--partition", "zigzag"]),
    ("profile-family-unknown", lambda d: ["profile", "--partitions", "zigzag"]),
    ("cli-mask-length", lambda d: ["rank", "--partition", "mask:0000"]),
    ("cli-geometry-malformed", lambda d: ["rank", "--geometry", "line:x"]),
    ("geometry-unknown", lambda d: ["bound", "--geometry", "torus:3"]),
    ("grid-not-divisible", lambda d: ["rank", "--geometry", "grid:6x6:square", "--window", "4"]),
    ("cli-widths-non-integer", lambda d: ["rank", "--widths", "2.5"]),
    ("cli-M-below-1", lambda d: ["profile", "--M", "0"]),
    ("grid-tensor-too-many-axes", lambda d: ["rank", "--geometry", "grid:16x16:square", "--M", "2", "--widths", "2",
                                             "--method", "exact"]),
    ("cli-report-grid-malformed", lambda d: ["report", "--grid", "4xq"]),
    ("cli-report-jobs-negative", lambda d: ["report", "--grid", "4x4", "--jobs", "-1"]),
    ("cli-report-random-negative", lambda d: ["report", "--random", "-1"]),
    ("checkpoint-missing", lambda d: ["certify", "--checkpoint", str(d / "nonexistent")]),
    ("checkpoint-missing-file", lambda d: ["certify", "--checkpoint", str(d / "emptyrun")]),
    ("checkpoint-corrupt", lambda d: ["certify", "--checkpoint", str(d / "badrun")]),
    ("data-file-missing", lambda d: ["data", "--data", str(d / "missing.npz")]),
    ("data-keys-missing", lambda d: ["data", "--data", str(d / "nokeys.npz")]),
    ("data-file-corrupt", lambda d: ["data", "--data", str(d / "corrupt.npz")]),
    ("data-dtype-string", lambda d: ["data", "--data", str(d / "xy_str.npz")]),
    ("data-nan", lambda d: ["data", "--data", str(d / "xy_nan.npz")]),
    ("data-labels-shape", lambda d: ["data", "--data", str(d / "xy_short_y.npz")]),
    ("data-geometry-mismatch", lambda d: ["data", "--data", str(d / "xy.npz"), "--geometry", "line:8"]),
    ("data-n-below-1", lambda d: ["data", "--data", str(d / "xy.npz"), "--n", "0"]),
    ("data-landmarks-below-1", lambda d: ["data", "--data", str(d / "xy.npz"), "--method", "nystrom",
                                          "--landmarks", "0"]),
    ("data-feature-map-unknown", lambda d: ["data", "--data", str(d / "xy.npz"), "--feature-map", "foo"]),
    ("userdata-file-missing", lambda d: USER + ["--data", str(d / "missing.npz"), "--out", str(d / "o")]),
    ("userdata-keys-missing", lambda d: USER + ["--data", str(d / "nokeys.npz"), "--out", str(d / "o")]),
    ("userdata-shape", lambda d: USER + ["--data", str(d / "shape.npz"), "--out", str(d / "o")]),
    ("userdata-labels-non-integer", lambda d: USER + ["--data", str(d / "float_labels.npz"), "--out", str(d / "o")]),
    ("userdata-labels-string", lambda d: USER + ["--data", str(d / "str_labels.npz"), "--out", str(d / "o")]),
    ("userdata-no-data", lambda d: USER + ["--out", str(d / "o")]),
    ("train-epochs-negative", lambda d: ["train", "--epochs", "-1", "--out", str(d / "o"), "--no-progress"]),
    ("results-db-missing", lambda d: ["results", "--db", str(d / "none.sqlite")]),
    ("results-db-corrupt", lambda d: ["results", "--db", str(d / "corrupt.npz")]),
    ("sweep-file-missing", lambda d: ["sweep", str(d / "none.toml"), "--threads"]),
    ("verify-claim-unknown", lambda d: ["verify", "--claim", "nonexistent"]),
]


@pytest.mark.parametrize("row, argv", ERROR_ROWS, ids=[r for r, _ in ERROR_ROWS])
def test_cli_mistakes_of_the_errors_page(row, argv, tmp_path, check_cli_row):
    check_cli_row(row, argv(write_bad_inputs(tmp_path)))


def test_a_missing_results_db_is_not_created(tmp_path, run_cli):
    """Reading a typo'd --db used to create an empty database and report 0 rows."""
    rc, out, err = run_cli("results", "--db", str(tmp_path / "typo.sqlite"))
    assert rc == 2 and out == "" and not (tmp_path / "typo.sqlite").exists()
