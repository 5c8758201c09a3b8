"""Scaling of the main job with N: build + certify the 7 standard partitions x 2 geometries, log-log fit.

Run: ``python benchmarks/scaling.py [--sizes 16,32,64,128,256] [--out docs/scaling.png]``. Prints per size the
build and certify seconds and whether every cell closed, the fitted exponent (slope of log time vs log N),
the M=3 per-level-widths cells that close, and the fraction of random balanced partitions certified.
No competitor exists for certified ranks; the comparison is against the issue's measured baseline
(75 s build and 125 s for one cell at 256x256 on the old main).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import tensorexpr as te
from tensorexpr.cli.report import KINDS


def _cells(n: int, M: int, widths, kinds) -> tuple[float, float, list[tuple[str, str, bool, str]]]:
    build = cert = 0.0
    rows = []
    for g in ("square", "mirror"):
        t = time.perf_counter()
        net = te.convac(te.ModeTree.grid(n, n, geometry=g), M, widths, seed=0)
        build += time.perf_counter() - t
        for k in kinds:
            P = te.Partition.grid(n, n, k) if isinstance(k, str) else k
            t = time.perf_counter()
            c = te.certify(net, P)
            cert += time.perf_counter() - t
            rows.append((g, P.name, c.certified, f"{c.lower_method}/{c.upper_method}"))
    return build, cert, rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="16,32,64,128,256")
    ap.add_argument("--out", default="docs/scaling.png")
    ap.add_argument("--random", type=int, default=6, help="random balanced partitions per geometry")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    res = []
    for n in sizes:
        b, c, rows = _cells(n, 2, 16, KINDS)
        ok = all(r[2] for r in rows)
        depth = int(np.log2(n))
        w3 = [2, 2, 4, 4, 8, 8, 16, 16][:depth]
        _, c3, rows3 = _cells(n, 3, w3, KINDS)
        closed3 = sorted(f"{g}:{k}" for g, k, okk, _ in rows3 if okk)
        _, cr, rowsr = _cells(n, 2, 16, [te.Partition.random(n * n, seed=s) for s in range(args.random)])
        frac = sum(r[2] for r in rowsr) / len(rowsr)
        res.append({"n": n, "N": n * n, "build_s": round(b, 3), "certify_s": round(c, 3), "all_certified": ok,
                    "M3_closed": closed3, "M3_certify_s": round(c3, 3), "random_certified_fraction": frac,
                    "random_methods": sorted({r[3] for r in rowsr})})
        print(json.dumps(res[-1]), flush=True)
    N = np.array([r["N"] for r in res], dtype=float)
    tot = np.array([r["build_s"] + r["certify_s"] for r in res])
    big = N >= 1024
    slope = float(np.polyfit(np.log(N[big]), np.log(tot[big]), 1)[0]) if big.sum() >= 2 else float("nan")
    print(f"fitted exponent (N >= 1024): time ~ N^{slope:.2f}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(N, [r["build_s"] for r in res], "o-", label="build (2 networks)", base=2)
    ax.loglog(N, [r["certify_s"] for r in res], "s-", label="certify 14 cells, M=2 widths 16", base=2)
    ax.loglog(N, tot, "^-", label=f"total (slope {slope:.2f})", base=2)
    ax.set_xlabel("N (modes)")
    ax.set_ylabel("seconds")
    ax.set_title("tensorexpr report: time vs N (x86_64, 2 shared cores)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"plot written to {args.out}")


if __name__ == "__main__":
    main()
