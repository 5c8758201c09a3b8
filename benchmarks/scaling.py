"""Scaling of certification with N: the report's 28 cells, random balanced partitions, and the CLI end to end.

Run: ``python benchmarks/scaling.py [--sizes 16,32,64,128,256] [--random 4] [--out docs/scaling.png]``.

Per grid size it prints (JSON lines):

* ``build_s`` / ``certify_s``: building the four report networks (tied and untied, square and mirror pooling;
  M=2, widths 16) and certifying the 7 standard partitions on each (28 cells), and whether all closed;
* ``M3_closed``: the cells that close for M=3 and per-level widths 2,2,4,4,8,8,16,16 (untied and tied);
* ``random_*``: the fraction of random balanced partitions certified, untied and tied, and by which bounds;
* ``cli_report_s`` / ``cli_peak_MiB``: ``python -m tensorexpr report --grid nxn`` as a user runs it (a fresh
  process: import, build, certify, print), and that process's peak resident memory.

Then the fitted exponent of the total time against N (log-log, N >= 1024) and a plot. No competitor computes
certified ranks; the baselines are the issue's measurements on the old main (256x256: 75 s to build one
network, 125 s to certify one cell; the 32x32 report 8.6 s).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

import tensorexpr as te
from tensorexpr.core.partitions import STANDARD_PARTITIONS

KINDS = list(STANDARD_PARTITIONS)


def _cells(n: int, M: int, widths, parts, shared_options=(False, True)) -> tuple[float, float, list[tuple]]:
    build = cert = 0.0
    rows = []
    for shared in shared_options:
        for g in ("square", "mirror"):
            t = time.perf_counter()
            net = te.convac(te.ModeTree.grid(n, n, geometry=g), M, widths, seed=0, shared=shared)
            build += time.perf_counter() - t
            for k in parts:
                P = te.Partition.grid(n, n, k) if isinstance(k, str) else k
                t = time.perf_counter()
                c = te.certify(net, P)
                cert += time.perf_counter() - t
                how = f"{c.lower_method}={c.upper_method}" if c.certified else f"{c.lower_method}/{c.upper_method}"
                rows.append(("tied" if shared else "untied", g, P.name, c.certified, how))
    return build, cert, rows


def _cli(n: int, repeats: int) -> tuple[float, float]:
    """Median wall seconds of the CLI report in a fresh process, and the largest peak RSS (MiB) seen."""
    times, peaks = [], []
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tensorexpr", "report", "--grid", f"{n}x{n}"], check=True,
                       stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - t)
        peaks.append(max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024)
    return statistics.median(times), max(peaks)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="16,32,64,128,256")
    ap.add_argument("--out", default="docs/scaling.png")
    ap.add_argument("--random", type=int, default=4, help="random balanced partitions per network")
    ap.add_argument("--cli-repeats", type=int, default=5, help="CLI runs per size below 256 (256: one run)")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    sizes = [int(s) for s in args.sizes.split(",")]
    res = []
    for n in sizes:
        b, c, rows = _cells(n, 2, 16, KINDS)
        depth = int(np.log2(n))
        w3 = [2, 2, 4, 4, 8, 8, 16, 16][:depth]
        _, c3, rows3 = _cells(n, 3, w3, KINDS)
        rand = [te.Partition.random(n * n, seed=s) for s in range(args.random)]
        _, cr, rowsr = _cells(n, 2, 16, rand)
        frac = {kind: sum(r[3] for r in rowsr if r[0] == kind) / sum(r[0] == kind for r in rowsr)
                for kind in ("untied", "tied")}
        cli_s, peak = _cli(n, 1 if n >= 256 else args.cli_repeats)
        res.append({
            "n": n, "N": n * n, "build_s": round(b, 3), "certify_s": round(c, 3),
            "all_certified": all(r[3] for r in rows),
            "M3_closed": f"{sum(r[3] for r in rows3)}/{len(rows3)}", "M3_certify_s": round(c3, 3),
            "random_untied_certified": frac["untied"], "random_tied_certified": frac["tied"],
            "random_s_per_partition": round(cr / len(rowsr), 3),
            "random_methods": sorted({f"{r[0]}:{r[4]}" for r in rowsr}),
            "cli_report_s": round(cli_s, 2), "cli_peak_MiB": round(peak),
        })
        print(json.dumps(res[-1]), flush=True)
    N = np.array([r["N"] for r in res], dtype=float)
    tot = np.array([r["build_s"] + r["certify_s"] for r in res])
    big = N >= 1024
    slope = float(np.polyfit(np.log(N[big]), np.log(tot[big]), 1)[0]) if big.sum() >= 2 else float("nan")
    print(f"fitted exponent (N >= 1024): build + certify ~ N^{slope:.2f}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.loglog(N, [r["build_s"] for r in res], "o-", label="build 4 networks", base=2)
    ax.loglog(N, [r["certify_s"] for r in res], "s-", label="certify 28 cells (M=2, widths 16)", base=2)
    ax.loglog(N, tot, "^-", label=f"build + certify (slope {slope:.2f})", base=2)
    ax.loglog(N, [r["cli_report_s"] for r in res], "d--", label="CLI report, fresh process", base=2)
    ax.axhline(30, color="grey", lw=0.8, ls=":")
    ax.text(N[0], 31, "30 s target at 256x256", fontsize=8, color="grey")
    ax.set_xlabel("N (modes = pixels)")
    ax.set_ylabel("seconds")
    ax.set_title("tensorexpr report: time vs N (x86_64, 2 cores)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"plot written to {args.out}")


if __name__ == "__main__":
    main()
