"""The table of mistakes (docs/errors.md), sweep rows: a TOML spec with each mistake fails in ``run_sweep`` on the
driver, before a cluster starts or a database is written, and an interrupted sweep resumes without duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest

from tensorexpr.sweep import ResultsDB, SweepSpec, load_rows, run_sweep
from tensorexpr.sweep.jobs import JOB_KINDS, register_job_kind

pytest.importorskip("distributed")

SPECS = {
    "syntax": 'kind = "spectrum\n',
    "unknown_top": 'kind = "spectrum"\nbogus = 1\n',
    "base_scalar": 'kind = "spectrum"\nbase = 3\n',
    "grid_scalar": 'kind = "spectrum"\ngrid = 3\n',
    "grid_value": 'kind = "spectrum"\n[base]\ngeometry = "line:8"\n[grid]\nseed = 3\n',
    "kind": "kind = 3\n",
    "no_kind": '[base]\ngeometry = "line:8"\n',
    "field": 'kind = "spectrum"\n[base]\ngeometry = "line:8"\nfoo = 1\n[grid]\nseed = [0]\n',
    "no_geometry": 'kind = "certify"\n[base]\nM = 2\n[grid]\nseed = [0]\n',
    "widths": 'kind = "spectrum"\n[base]\ngeometry = "line:8"\nwidths = "abc"\n[grid]\nseed = [0]\n',
    "both": 'kind = "spectrum"\n[base]\ngeometry = "line:8"\nseed = 1\n[grid]\nseed = [0]\n',
    "train_field": 'kind = "train"\n[base]\ngeometry = "grid:32x32:square"\nepochs = -1\n[grid]\nseed = [0]\n',
}


def _run(d: Path, name: str) -> object:
    p = d / f"{name}.toml"
    if name in SPECS:
        p.write_text(SPECS[name])
    return run_sweep(p, d / "r.sqlite", progress=False)


ERROR_ROWS = [
    ("sweep-file-missing", lambda d: _run(d, "missing")),
    ("sweep-toml-syntax", lambda d: _run(d, "syntax")),
    ("sweep-unknown-top-key", lambda d: _run(d, "unknown_top")),
    ("sweep-base-not-table", lambda d: _run(d, "base_scalar")),
    ("sweep-grid-not-table", lambda d: _run(d, "grid_scalar")),
    ("sweep-grid-not-list", lambda d: _run(d, "grid_value")),
    ("sweep-kind-unknown", lambda d: _run(d, "kind")),
    ("sweep-kind-missing", lambda d: _run(d, "no_kind")),
    ("sweep-unknown-field", lambda d: _run(d, "field")),
    ("sweep-geometry-missing", lambda d: _run(d, "no_geometry")),
    ("sweep-bad-widths", lambda d: _run(d, "widths")),
    ("sweep-field-twice", lambda d: _run(d, "both")),
    ("sweep-train-config", lambda d: _run(d, "train_field")),
    ("sweep-job-kind-duplicate", lambda d: register_job_kind(JOB_KINDS["train"])),
]


@pytest.mark.parametrize("row, call", ERROR_ROWS, ids=[r for r, _ in ERROR_ROWS])
def test_sweep_mistakes_of_the_errors_page(row, call, tmp_path, check_error_row):
    check_error_row(row, lambda: call(tmp_path))
    assert not (tmp_path / "r.sqlite").exists()  # refused on the driver: nothing was written


@pytest.fixture(scope="module")
def threads_client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0")
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_an_interrupted_sweep_resumes_without_duplicates(tmp_path, threads_client, check_error_row):
    """Row sweep-resume: a sweep stopped after two of six jobs keeps them; the rerun runs only the other four, and
    every job is stored once, on its first attempt (the oracle: the job keys of the spec, counted directly)."""
    spec = SweepSpec("certify", {"geometry": "line:4", "M": 2, "widths": 2},
                     {"partition": ["left_right", "odd_even", "I:0"], "seed": [0, 1]}, name="resume")
    db = tmp_path / "r.sqlite"

    def interrupted_then_rerun() -> bool:
        first = run_sweep(spec, db, client=threads_client, stop_after=2, progress=False)
        with ResultsDB(db) as store:
            kept = store.count("ok")
        second = run_sweep(spec, db, client=threads_client, progress=False)
        rows = load_rows(db)
        keys = [r["key"] for r in rows]
        return (first.ok == 2 and kept == 2 and second.skipped == 2 and second.ok == 4
                and sorted(keys) == sorted(j.key for j in spec.jobs()) and len(set(keys)) == 6
                and all(r["attempt"] == 1 for r in rows))

    check_error_row("sweep-resume", interrupted_then_rerun)
