"""Sweeps on Dask distributed with results in SQLite: ``[base]`` x ``[grid]`` TOML specs of training, spectrum
or certify jobs (:func:`run_sweep`), read back with :func:`aggregate` / :func:`plot_metric`."""

from __future__ import annotations

from tensorexpr.sweep.db import ResultsDB, default_db_path
from tensorexpr.sweep.jobs import JOB_KINDS, JobKind, register_job_kind
from tensorexpr.sweep.results import aggregate, load_rows, plot_metric, varying_fields
from tensorexpr.sweep.run import SweepReport, code_revision, run_sweep
from tensorexpr.sweep.spec import Job, SweepError, SweepSpec, job_key

__all__ = ["run_sweep", "SweepReport", "SweepSpec", "SweepError", "Job", "job_key", "ResultsDB", "default_db_path",
           "JOB_KINDS", "JobKind", "register_job_kind", "aggregate", "load_rows", "plot_metric", "varying_fields",
           "code_revision"]
