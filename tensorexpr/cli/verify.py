"""``tensorexpr verify``: run the published claims of ``theory/`` and write a markdown report with plots."""

from __future__ import annotations

import argparse
import os
import sys

from tensorexpr.cli.common import add_command, dump_json, print_table


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``tensorexpr verify`` subcommand (its flags and defaults) to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommand parsers of ``tensorexpr`` (see :func:`tensorexpr.cli.main`).
    """
    p = add_command(sub, "verify", help="check the published claims (theory/) and write report.md")
    p.add_argument("--claim", action="append", default=None, help="claim name (repeatable); default: all")
    p.add_argument("--scale", default="quick", choices=["test", "quick", "full"])
    p.add_argument("--out", default=None, help="directory for report.md and the PNG plots")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``tensorexpr verify`` on the parsed flags (docs/cli.md).

    Parameters
    ----------
    args : argparse.Namespace
        The flags :func:`register` defines.

    Returns
    -------
    int
        The exit status: 0 on success.
    """
    from theory import CLAIMS, get_claim, run_claim

    names = args.claim or list(CLAIMS)
    for n in names:
        get_claim(n)  # validates the name with a clear error
    from tqdm import tqdm

    reports = []
    bar = tqdm(names, desc="claims", disable=args.no_progress or not sys.stderr.isatty())
    for n in bar:
        bar.set_postfix_str(n)
        reports.append(run_claim(n, args.scale, args.out))
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, "report.md")
        summary = "\n".join(f"- {r.claim}: {'PASS' if r.passed else 'FAIL'} ({len(r.checks)} checks)" for r in reports)
        body = "\n\n".join(r.to_markdown(plot_root=args.out) for r in reports)
        with open(path, "w") as fh:
            fh.write(f"# tensorexpr verify (scale={args.scale})\n\n{summary}\n\n{body}\n")
    if args.json:
        dump_json([r.to_dict() for r in reports])
    else:
        for r in reports:
            for c in r.checks:
                print(f"{c.verdict}  {r.claim}: {c.name}  (expected {c.expected}; observed {c.observed})")
        print()
        print_table(["claim", "status", "checks", "failed", "verdict", "seconds"],
                    [[r.claim, r.status, len(r.checks), r.n_failed, "PASS" if r.passed else "FAIL", f"{r.seconds:.1f}"]
                     for r in reports])
        if args.out:
            print(f"\nreport: {os.path.join(args.out, 'report.md')}")
    return 0 if all(r.passed for r in reports) else 1
