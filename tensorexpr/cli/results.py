"""``tensorexpr results``: list a results database, aggregate metrics over seeds (mean, std), plot one."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tensorexpr.core.errors import SweepError
from tensorexpr.sweep.db import default_db_path
from tensorexpr.sweep.results import aggregate, load_rows, plot_metric, varying_fields
from tensorexpr.core.numbers import encode_counts
from tensorexpr.cli.common import add_command, dump_json, print_table


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``tensorexpr results`` subcommand (its flags and defaults) to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommand parsers of ``tensorexpr`` (see :func:`tensorexpr.cli.main`).
    """
    p = add_command(sub, "results", help="list / aggregate (mean, std over seeds) / plot a sweep results database")
    p.add_argument("--db", default=None, help=f"SQLite results database (default {default_db_path()})")
    p.add_argument("--sweep", default=None, help="only rows of this sweep name")
    p.add_argument("--kind", default=None, choices=["train", "spectrum", "certify"])
    p.add_argument("--failed", action="store_true", help="list the failed jobs and their errors")
    p.add_argument("--list", action="store_true", help="one line per row instead of the aggregate")
    p.add_argument("--metric", default=None, help="metric to show / plot (default: every metric)")
    p.add_argument("--x", default=None, help="config field on the plot's x axis")
    p.add_argument("--plot", default=None, help="write metric vs x to this PNG (needs --metric and --x)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``tensorexpr results`` on the parsed flags (docs/cli.md).

    Parameters
    ----------
    args : argparse.Namespace
        The flags :func:`register` defines.

    Returns
    -------
    int
        The exit status: 0 on success.

    Raises
    ------
    SweepError
        When the results database does not exist.
    """
    db = Path(args.db) if args.db is not None else default_db_path()
    if not db.is_file():
        # reading only: opening a missing path would create an empty database and report "0 rows" for a typo
        raise SweepError(f"Results database {str(db)!r} does not exist; expected the --db of a `tensorexpr sweep` "
                         f"run. Hint: tensorexpr results --db runs/results.sqlite.")
    rows = load_rows(args.db, sweep=args.sweep, kind=args.kind, status="error" if args.failed else None)
    if args.failed or args.list:
        if args.json:
            dump_json(rows)
            return 0
        var = varying_fields(rows) + ["seed"]
        print_table(["key", "status", *var, "metrics" if not args.failed else "error", "seconds"],
                    [[r["key"], r["status"], *[r["config"].get(k) for k in var],
                      (json.dumps(encode_counts(r["metrics"])) if not args.failed else str(r["error"]).splitlines()[0])[:70],
                      f"{r['seconds'] or 0:.2f}"] for r in rows])
        return 0
    agg = aggregate(rows)
    if args.plot:
        if not (args.metric and args.x):
            print("tensorexpr results --plot needs --metric and --x")
            return 2
        print(f"plot: {plot_metric(rows, args.metric, args.x, args.plot)}")
    if args.json:
        dump_json(agg)
        return 0
    metrics = sorted({k[:-5] for a in agg for k in a if k.endswith("_mean")})
    if args.metric:
        metrics = [m for m in metrics if m == args.metric]
    groups = sorted({k for a in agg for k in a["group"]})
    n_err = sum(r["status"] == "error" for r in rows)
    print(f"{len(rows)} rows ({n_err} failed; `--failed` lists them); mean ± std over seeds")
    print_table([*groups, "n", *metrics],
                [[a["group"].get(g) for g in groups] + [a["n"]] +
                 [f"{a[m + '_mean']:.4g} ± {a[m + '_std']:.2g}" if m + "_mean" in a else "-" for m in metrics]
                 for a in agg])
    return 0
