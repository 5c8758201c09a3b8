"""``tensorexpr sweep SPEC``: run a TOML grid of jobs on Dask, each finished job a row in SQLite.

Local (default; one worker process per core)::

    tensorexpr sweep blob.toml --db results.sqlite

On Slurm, start a scheduler with workers as Slurm jobs (dask-jobqueue), then point the sweep at it::

    python -c "from dask_jobqueue import SLURMCluster; c = SLURMCluster(cores=4, memory='16GB', walltime='04:00:00');
               c.scale(jobs=8); print(c.scheduler_address); input()"
    tensorexpr sweep blob.toml --db results.sqlite --scheduler tcp://10.0.0.5:8786
"""

from __future__ import annotations

import argparse

from tensorexpr.sweep import run_sweep
from tensorexpr.sweep.db import default_db_path
from tensorexpr.cli.common import add_command, dump_json


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``tensorexpr sweep`` subcommand (its flags and defaults) to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommand parsers of ``tensorexpr`` (see :func:`tensorexpr.cli.main`).
    """
    p = add_command(sub, "sweep", help="run a [base] x [grid] TOML sweep of train / spectrum / certify jobs on Dask",
                       description=__doc__)
    p.add_argument("spec", help="TOML file: kind = 'train'|'spectrum'|'certify', [base] fields, [grid] field = [values]")
    p.add_argument("--db", default=None, help=f"SQLite results database (default {default_db_path()}, "
                                              f"or $TENSOREXPR_RESULTS_DB)")
    p.add_argument("--scheduler", default=None, help="address of a running Dask scheduler (tcp://host:8786); "
                                                     "default: a local cluster")
    p.add_argument("--workers", type=int, default=None, help="local cluster workers (default: cores)")
    p.add_argument("--threads", action="store_true", help="local workers as threads of this process")
    p.add_argument("--skip-failed", action="store_true", help="do not rerun jobs recorded as errors")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``tensorexpr sweep`` on the parsed flags (docs/cli.md).

    Parameters
    ----------
    args : argparse.Namespace
        The flags :func:`register` defines.

    Returns
    -------
    int
        The exit status: 0 on success.
    """
    rep = run_sweep(args.spec, args.db, scheduler=args.scheduler, n_workers=args.workers, processes=not args.threads,
                    retry_failed=not args.skip_failed, progress=not args.json)
    if args.json:
        dump_json(rep.to_dict())
    else:
        print(rep)
        for e in rep.errors[:10]:
            print(f"  error {e}")
    return 0 if rep.failed == 0 else 1
