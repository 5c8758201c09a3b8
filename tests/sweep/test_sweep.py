"""Sweeps: resume after an interruption, a failed job recorded, a killed worker's jobs retried (nothing lost)."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.sweep import ResultsDB, SweepSpec, aggregate, load_rows, plot_metric, run_sweep
from tensorexpr.core.specs import parse_partition

distributed = pytest.importorskip("distributed")


def _spec(seeds=(0, 1), parts=("left_right", "odd_even"), extra=None) -> SweepSpec:
    return SweepSpec("spectrum", {"geometry": "line:8", "M": 2, "widths": 2, "method": "exact", **(extra or {})},
                     {"partition": list(parts), "seed": list(seeds)}, name="t")


@pytest.fixture(scope="module")
def threads_client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0")
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_spec_from_toml_product_and_keys(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('kind = "spectrum"\n[base]\ngeometry = "line:8"\nM = 2\n[grid]\nwidths = [2, 3]\n'
                 'partition = ["odd_even", "left_right", "random:1"]\nseed = [0, 1]\n')
    spec = SweepSpec.from_toml(p)
    jobs = spec.jobs()
    assert len(jobs) == 2 * 3 * 2 and len({j.key for j in jobs}) == 12
    assert jobs[0].config == {"geometry": "line:8", "M": 2, "widths": 2, "partition": "odd_even", "seed": 0}
    with pytest.raises(te.TensorExprError):
        SweepSpec("spectrum", {"geometry": "line:8", "bogus": 1}, {"seed": [0]}).jobs()
    with pytest.raises(te.TensorExprError):
        SweepSpec("nope")


def test_resume_after_interruption_and_results_match_direct_calls(tmp_path, threads_client):
    db = tmp_path / "r.sqlite"
    spec = _spec()
    r1 = run_sweep(spec, db, client=threads_client, stop_after=1, progress=False)
    assert r1.ok == 1 and r1.not_run == 3
    with ResultsDB(db) as s:
        assert s.count("ok") == 1
    r2 = run_sweep(spec, db, client=threads_client, progress=False)
    assert r2.skipped == 1 and r2.ok == 3
    r3 = run_sweep(spec, db, client=threads_client, progress=False)
    assert r3.skipped == 4 and r3.ok == 0
    rows = load_rows(db)
    assert len(rows) == 4 and all(r["attempt"] == 1 for r in rows)  # nothing ran twice
    for r in rows:  # the stored spectrum is what te.spectrum gives directly
        c = r["config"]
        net = te.convac(te.ModeTree.line(8), 2, 2, seed=c["seed"])
        sp = te.spectrum(net, parse_partition(c["partition"], 8), method="exact", seed=c["seed"])
        assert r["metrics"]["rank"] == sp.rank
        np.testing.assert_allclose(r["result"]["normalized"], sp.normalized, rtol=1e-12)
        assert r["revision"] and r["device"].startswith(("cpu", "cuda")) and r["seconds"] >= 0


def test_failed_job_is_recorded_not_lost(tmp_path, threads_client):
    db = tmp_path / "f.sqlite"
    spec = _spec(parts=("odd_even", "no_such_partition"), seeds=(0,))
    rep = run_sweep(spec, db, client=threads_client, progress=False)
    assert rep.ok == 1 and rep.failed == 1
    bad = load_rows(db, status="error")
    assert len(bad) == 1 and "no_such_partition" in bad[0]["error"] and bad[0]["config"]["partition"] == "no_such_partition"
    again = run_sweep(spec, db, client=threads_client, retry_failed=False, progress=False)
    assert again.skipped == 2


def test_aggregate_mean_std_over_seeds_and_plot(tmp_path, threads_client):
    db = tmp_path / "a.sqlite"
    run_sweep(_spec(seeds=(0, 1, 2), extra={"method": "sampled", "rows": 4, "cols": 4}), db, client=threads_client,
              progress=False)
    rows = load_rows(db)
    agg = aggregate(rows)
    assert sorted(a["group"]["partition"] for a in agg) == ["left_right", "odd_even"]
    for a in agg:
        ranks = [r["metrics"]["rank"] for r in rows if r["config"]["partition"] == a["group"]["partition"]]
        assert a["n"] == 3 and a["rank_mean"] == pytest.approx(np.mean(ranks))
        assert a["rank_std"] == pytest.approx(np.std(ranks))
    out = plot_metric(rows, "rank", "seed", tmp_path / "p.png")
    assert out.stat().st_size > 1000


def test_killed_worker_jobs_are_retried_and_nothing_lost(tmp_path):
    from distributed import Client, LocalCluster

    db = tmp_path / "k.sqlite"
    spec = _spec(seeds=tuple(range(6)), extra={"method": "sampled", "rows": 64, "cols": 64})  # 12 jobs
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address="127.0.0.1:0")
    client = Client(cluster)
    killed: dict[str, int] = {}

    def killer() -> None:
        deadline = time.time() + 60
        while time.time() < deadline:
            if db.exists():
                with ResultsDB(db) as s:
                    n = s.count()
                if n >= 1:
                    pids = client.run(os.getpid)
                    addr, pid = sorted(pids.items())[0]
                    killed["done_before"] = n
                    killed["pid"] = pid
                    os.kill(pid, signal.SIGKILL)
                    return
            time.sleep(0.02)

    try:
        t = threading.Thread(target=killer, daemon=True)
        t.start()
        rep = run_sweep(spec, db, client=client, progress=False)
        t.join(5)
    finally:
        client.close()
        cluster.close()
    assert "pid" in killed and killed["done_before"] < 12  # the kill came mid-sweep
    rows = load_rows(db)
    assert rep.ok == 12 and rep.failed == 0 and len(rows) == 12
    assert all(r["status"] == "ok" for r in rows)


def test_cli_results_aggregates_a_database(tmp_path, threads_client, capsys):
    import json

    from tensorexpr.cli import main

    db = tmp_path / "c.sqlite"
    run_sweep(_spec(seeds=(0, 1)), db, client=threads_client, progress=False)
    assert main(["results", "--db", str(db), "--json"]) == 0
    agg = json.loads(capsys.readouterr().out)
    assert {a["group"]["partition"]: a["n"] for a in agg} == {"left_right": 2, "odd_even": 2}
    assert main(["results", "--db", str(db), "--metric", "rank", "--x", "partition", "--plot",
                 str(tmp_path / "r.png")]) == 0
    assert (tmp_path / "r.png").exists()


@pytest.mark.slow  # torch training on a worker: ~10 s on 2 shared cores
def test_train_jobs_record_the_metrics_of_a_direct_run(tmp_path, threads_client):
    from tensorexpr.experiments import TrainConfig, train

    db = tmp_path / "t.sqlite"
    base = {"geometry": "line:16", "task": "teacher", "widths": 2, "epochs": 1, "n_train": 64, "n_test": 32,
            "device": "cpu"}
    rep = run_sweep(SweepSpec("train", base, {"seed": [0, 1]}, name="tr"), db, client=threads_client, progress=False)
    assert rep.ok == 2
    for r in load_rows(db):
        direct = train(TrainConfig(**{**base, "seed": r["config"]["seed"], "progress": False}))
        assert r["metrics"]["test_acc"] == pytest.approx(direct.test_acc)
        assert r["metrics"]["n_params"] == direct.n_params and r["seed"] == r["config"]["seed"]


def test_certify_jobs_store_the_certificate(tmp_path, threads_client):
    db = tmp_path / "c2.sqlite"
    spec = SweepSpec("certify", {"geometry": "line:8", "M": 3, "widths": 2}, {"partition": ["odd_even", "left_right"]})
    assert run_sweep(spec, db, client=threads_client, progress=False).ok == 2
    for r in load_rows(db):
        net = te.convac(te.ModeTree.line(8), 3, 2, seed=0, integer=True)
        c = te.certify(net, parse_partition(r["config"]["partition"], 8))
        assert (r["metrics"]["lower"], r["metrics"]["upper"]) == (c.lower, c.upper)
        assert r["metrics"]["certified"] == int(c.certified) and r["result"]["lower"] == c.lower


def test_certify_jobs_big_ranks_round_trip_exactly(tmp_path, threads_client):
    """A rank past 2^53 is stored as an exact encoding and read back as the same int (oracle: te.certify in
    process, and the closed form M^(N/2) of odd_even on a line)."""
    db = tmp_path / "big.sqlite"
    spec = SweepSpec("certify", {"geometry": "line:256", "M": 2, "widths": 16}, {"partition": ["odd_even"]})
    assert run_sweep(spec, db, client=threads_client, progress=False).ok == 1
    (r,) = load_rows(db)
    net = te.convac(te.ModeTree.line(256), 2, 16, seed=0, integer=True)
    c = te.certify(net, parse_partition("odd_even", 256))
    assert c.lower == c.upper == 2**128
    assert r["metrics"]["lower"] == r["metrics"]["upper"] == r["result"]["lower"] == 2**128
    assert type(r["metrics"]["lower"]) is int and r["metrics"]["log2_lower"] == 128.0
