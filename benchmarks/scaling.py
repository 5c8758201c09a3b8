"""Scaling of ``tensorexpr report`` with N, as a user runs it, and of the certification workload behind it.

Run: ``python benchmarks/scaling.py [--with-512] [--repeats 3] [--baseline /path/to/old/checkout]``.

By default it times ``python -m tensorexpr report --grid nxn``, ``... --json`` and ``... --jobs 1`` (one
process instead of one worker per core) for n = 32, 64, 128, 256 (512 with ``--with-512``) in fresh processes
(import, build, certify, print), best of ``--repeats`` interleaved rounds (the machine is shared: the minimum
is the least disturbed run), with the peak memory of each process tree (workers included), whether the JSON
parses (``json.loads``), and the log-log slope of time against N (1 is linear).
``--baseline DIR`` runs the same commands with ``PYTHONPATH=DIR`` (a checkout of the old code) and prints the
old/new time ratio; a baseline command that fails (the old ``--json`` past 128x128) is reported as failed.

``--cells`` adds the detailed workload, per grid size (JSON lines):

* ``build_s`` / ``certify_s``: building the four report networks (tied and untied, square and mirror pooling;
  M=2, widths 16) and certifying the 7 standard partitions on each (28 cells), and whether all closed;
* ``M3_closed``: the cells that close for M=3 and per-level widths 2,2,4,4,8,8,16,16 (untied and tied);
* ``random_*``: the fraction of random balanced partitions certified, untied and tied, and by which bounds;
* ``cli_report_s`` / ``cli_peak_MiB``: the CLI report in a fresh process and the peak memory of its process
  tree (workers included);

then the fitted exponent of build + certify against N (log-log, N >= 1024) and a plot (``--out``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
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
    """Median wall seconds of the CLI report in a fresh process, and the largest peak memory (MiB) of its process
    tree (workers included) over the runs."""
    times, peaks = [], []
    for _ in range(repeats):
        wall, peak, ok, note = _run_report(n, False, os.getcwd())
        if not ok:
            raise RuntimeError(f"tensorexpr report --grid {n}x{n} failed: {note}")
        times.append(wall)
        peaks.append(peak)
    return statistics.median(times), max(peaks)


def _run_report(n: int, json_out: bool, pythonpath: str, jobs: int | None = None) -> tuple[float, float, bool, str]:
    """One fresh ``tensorexpr report`` process (``--jobs jobs`` unless None: old checkouts lack the flag): wall
    seconds, its tree's peak memory (MiB), success, and a note."""
    cmd = [sys.executable, "-c", _CHILD, str(n), "1" if json_out else "0", "-" if jobs is None else str(jobs)]
    t = time.perf_counter()
    # cwd too: `python -c` puts the working directory first on sys.path, ahead of PYTHONPATH
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=pythonpath,
                       env={**os.environ, "PYTHONPATH": pythonpath})
    wall = time.perf_counter() - t
    if p.returncode != 0:
        return wall, math.nan, False, (p.stderr.strip().splitlines() or ["?"])[-1][:100]
    peak = float(p.stderr.strip().splitlines()[-1])
    return wall, peak, True, ""


# The child reports the peak memory of its process tree (the report certifies in worker processes): the sum of
# the resident sets of itself and its children, sampled every 0.1 s from /proc/PID/status on Linux (cheap to
# read; smaps' Pss walks the page tables and slowed a 512x512 report by 40%). Forked workers share pages with
# the parent, so the sum is an upper estimate. Elsewhere: the largest ru_maxrss of itself and its children.
_CHILD = """
import io, json, os, resource, sys, contextlib, threading, time
from tensorexpr.cli import main

def tree_rss_kib():
    me, kids = os.getpid(), []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == me:
                        kids.append(d)
            except OSError:
                pass
    total = 0
    for pid in ["self"] + kids:
        try:
            with open(f"/proc/{pid}/status") as f:
                total += next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return total

peak, stop = [0], threading.Event()
def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], tree_rss_kib())
        time.sleep(0.1)
linux = os.path.exists("/proc/self/status")
if linux:
    threading.Thread(target=sample, daemon=True).start()
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    rc = main(["report", "--grid", f"{sys.argv[1]}x{sys.argv[1]}"] + (["--json"] if sys.argv[2] == "1" else [])
              + ([] if sys.argv[3] == "-" else ["--jobs", sys.argv[3]]))
stop.set()
if sys.argv[2] == "1":
    json.loads(buf.getvalue())  # the JSON must parse
rss = max(resource.getrusage(w).ru_maxrss for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
print((peak[0] if linux else rss) / 1024, file=sys.stderr)
sys.exit(rc)
"""


def _slope(ns: list[int], ts: list[float]) -> float:
    N, T = np.array([n * n for n in ns], float), np.array(ts, float)
    ok = np.isfinite(T) & (N >= 1024)
    return float(np.polyfit(np.log(N[ok]), np.log(T[ok]), 1)[0]) if ok.sum() >= 2 else math.nan


def report_scaling(sizes: list[int], repeats: int, baseline: str | None) -> list[dict]:
    """Best-of-``repeats`` wall time and peak memory per size: the report as it runs by default (one worker per
    core), in one process (``--jobs 1``), as JSON, and the baseline checkout's; rounds interleave the variants."""
    configs = [("new_text", os.getcwd(), False, None), ("new_json", os.getcwd(), True, None),
               ("serial_text", os.getcwd(), False, 1)]
    if baseline:
        configs += [("old_text", baseline, False, None), ("old_json", baseline, True, None)]
    res = []
    for n in sizes:
        row: dict = {"n": n, "N": n * n}
        runs: dict[str, list] = {key: [] for key, *_ in configs}
        for _ in range(repeats if n < 512 else 1):
            for key, path, json_out, jobs in configs:
                runs[key].append(_run_report(n, json_out, path, jobs))
        for key, *_ in configs:
            good = [r for r in runs[key] if r[2]]
            row[f"{key}_s"] = round(min(r[0] for r in good), 2) if good else None
            row[f"{key}_peak_MiB"] = round(max(r[1] for r in good)) if good else None
            if not good:
                row[f"{key}_failed"] = runs[key][0][3]
        for key in ("serial_text", "old_text"):
            if row.get(f"{key}_s") and row.get("new_text_s"):
                row[f"{key}_over_new"] = round(row[f"{key}_s"] / row["new_text_s"], 2)
        res.append(row)
        print(json.dumps(row), flush=True)
    for key, *_ in configs:
        ts = [r[f"{key}_s"] if r.get(f"{key}_s") is not None else math.nan for r in res]
        print(f"{key}: seconds {dict(zip(sizes, ts))}; fitted exponent (N >= 1024) time ~ N^{_slope(sizes, ts):.2f}")
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--with-512", action="store_true", help="also time 512x512 (one run each)")
    ap.add_argument("--repeats", type=int, default=3, help="fresh-process runs per size below 512 (best is kept)")
    ap.add_argument("--baseline", default=None, help="a checkout of the old code, run with PYTHONPATH=it")
    ap.add_argument("--cells", action="store_true", help="also run the detailed certification workload")
    ap.add_argument("--sizes", default=None, help="grid sizes n (default 32,64,128,256; --cells: 16,...,256)")
    ap.add_argument("--out", default="docs/scaling.png")
    ap.add_argument("--random", type=int, default=4, help="random balanced partitions per network")
    ap.add_argument("--cli-repeats", type=int, default=5, help="CLI runs per size below 256 (256: one run)")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    if not args.cells:
        sizes = [int(s) for s in (args.sizes or "32,64,128,256").split(",")] + ([512] if args.with_512 else [])
        report_scaling(sizes, args.repeats, args.baseline)
        return
    sizes = [int(s) for s in (args.sizes or "16,32,64,128,256").split(",")]
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
    print(f"fitted exponent (N >= 1024): build + certify ~ N^{slope:.2f}" if big.sum() >= 2 else
          "fitted exponent: needs two sizes with N >= 1024")
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
