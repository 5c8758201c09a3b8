"""Run a sweep on Dask distributed, writing every finished job to the results database as it completes.

Where it runs:

* **locally** (default): a :class:`distributed.LocalCluster` with one single-threaded worker process per core;
* **on a cluster**: ``scheduler="tcp://host:8786"`` connects to a running scheduler, for example one started by
  ``dask_jobqueue.SLURMCluster`` (whose workers are Slurm jobs) or by ``dask scheduler`` / ``dask worker``.

Guarantees:

* **resume**: jobs whose key already has a row with ``status='ok'`` are skipped, so a rerun after an interrupt
  (Ctrl-C, a killed driver) runs only what is missing. Rows are committed one by one as jobs finish.
* **failures are data**: an exception inside a job is caught on the worker and stored as ``status='error'`` with
  its traceback (rerun with ``retry_failed=True``, the default, to try those again).
* **dying workers**: when a worker process dies, the scheduler reschedules its tasks on the surviving workers
  (``distributed.scheduler.allowed-failures`` times, 3 by default); a job that kills every worker it touches is
  recorded as an error (``KilledWorker``), never dropped.

Only the driver writes to SQLite, so any shared or local filesystem works for the database.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tensorexpr.core.backends import require
from tensorexpr.sweep.db import ResultsDB
from tensorexpr.sweep.spec import Job, SweepSpec

__all__ = ["run_sweep", "SweepReport", "code_revision"]


def code_revision() -> str:
    """``git describe --always --dirty`` of the tensorexpr checkout, else the package version.

    Returns
    -------
    str
        The revision stored with every row a sweep writes.
    """
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=12"], cwd=here,
                             capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    from tensorexpr import __version__

    return f"tensorexpr {__version__}"


@dataclass
class SweepReport:
    """What one call of :func:`run_sweep` did."""

    total: int
    skipped: int
    ok: int = 0
    failed: int = 0
    not_run: int = 0
    seconds: float = 0.0
    db: str = ""
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (for ``--json`` output).

        Returns
        -------
        dict
            Field name to value.
        """
        return dict(self.__dict__)

    def __repr__(self) -> str:
        return (f"SweepReport({self.total} jobs: {self.skipped} already done, {self.ok} ok, {self.failed} failed, "
                f"{self.not_run} not run; {self.seconds:.1f}s; db={self.db})")


def _client(scheduler: str | None, n_workers: int | None, processes: bool) -> tuple[Any, Any]:
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    n = n_workers or os.cpu_count() or 1
    net = {"host": "127.0.0.1"} if processes else {}  # loopback only; threads talk in-process
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=processes, dashboard_address="127.0.0.1:0", **net)
    return Client(cluster), cluster


def run_sweep(spec: SweepSpec | str | Path, db: str | Path | None = None, scheduler: str | None = None,
              client: Any = None, n_workers: int | None = None, processes: bool = True, retry_failed: bool = True,
              stop_after: int | None = None, progress: bool = True) -> SweepReport:
    """Run every job of ``spec`` not yet finished in ``db``; see the module docstring.

    Parameters
    ----------
    spec : SweepSpec or path to a TOML file
    db : path, optional
        The SQLite results database (default :func:`~tensorexpr.sweep.db.default_db_path`).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://...``); default a local cluster.
    client : distributed.Client, optional
        Use this client (its cluster is left running).
    n_workers, processes : the local cluster's workers (default: one process per core).
    retry_failed : bool
        Run again jobs recorded as errors (``ok`` rows are always skipped).
    stop_after : int, optional
        Stop after this many jobs finished in this call (the rest are cancelled; simulates an interruption).
    progress : bool
        Show a progress bar over the jobs.

    Returns
    -------
    SweepReport
        How many jobs were skipped, finished, failed or not run, the errors' first lines and the time taken.

    Raises
    ------
    SweepError
        The spec does not parse or names an unknown job kind (from :class:`SweepSpec`).
    MissingExtraError
        dask.distributed is not installed (the ``[sweep]`` extra).
    """
    require("distributed", "sweep", "run_sweep")
    from distributed import as_completed
    from distributed.client import FutureCancelledError

    from tensorexpr.sweep.jobs import execute

    spec = spec if isinstance(spec, SweepSpec) else SweepSpec.from_toml(spec)
    t0 = time.perf_counter()
    jobs = spec.jobs()
    store = ResultsDB(db)
    todo: list[Job] = []
    for j in jobs:
        st = store.status(j.key)
        if st == "ok" or (st == "error" and not retry_failed):
            continue
        todo.append(j)
    rep = SweepReport(len(jobs), len(jobs) - len(todo), db=str(store.path))
    if not todo:
        store.close()
        rep.seconds = time.perf_counter() - t0
        return rep
    revision = code_revision()
    own_cluster = None
    if client is None:
        client, own_cluster = _client(scheduler, n_workers, processes)
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None
    bar = tqdm(total=len(jobs), initial=rep.skipped, desc=f"sweep {spec.name}", unit="job",
               disable=not progress) if tqdm else None
    futures = {client.submit(execute, j.kind, j.config, pure=False, retries=0): j
               for j in todo}
    done = 0
    try:
        for fut in as_completed(list(futures)):
            j = futures[fut]
            base = {"key": j.key, "sweep": spec.name, "kind": j.kind, "config": j.config, "seed": j.seed,
                    "revision": revision}
            try:
                row = fut.result()
            except FutureCancelledError:
                continue
            except Exception as exc:  # KilledWorker and friends: the job could not run anywhere
                row = {"status": "error", "error": f"{type(exc).__name__}: {exc}", "finished": time.time()}
            store.write({**base, **row})
            if row["status"] == "ok":
                rep.ok += 1
            else:
                rep.failed += 1
                rep.errors.append(f"{j.key}: {str(row.get('error', '')).splitlines()[0]}")
            done += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(ok=rep.ok, failed=rep.failed)
            if stop_after is not None and done >= stop_after:
                break
    finally:
        pending = [f for f in futures if not f.done()]
        rep.not_run = len(todo) - rep.ok - rep.failed
        if pending:
            client.cancel(pending)
        if bar is not None:
            bar.close()
        store.close()
        if own_cluster is not None:
            client.close()
            own_cluster.close()
    rep.seconds = time.perf_counter() - t0
    return rep
