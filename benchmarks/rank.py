"""Rank benchmark: tensorexpr's structured exact rank vs the dense float path (grid tensor + matrix_rank).

Usage: python benchmarks/rank.py [--quick]   (--quick skips the dense float path, which takes minutes)
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

import tensorexpr as te


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def ht_line(quick: bool) -> None:
    net = te.convac(te.ModeTree.line(16), M=3, widths=3, integer=True, seed=0)
    P = te.Partition.odd_even(16)
    exact = min(3, 3) ** 8  # [derived] exact generic rank min(r_0, M)^(N/2)
    print(f"HT line N=16, M=3, r=3, odd/even: exact generic rank {exact}")
    res, t_s = _timed(lambda: te.rank(net, P, "structured"))
    print(f"  ours   te.rank(structured, GF(p))       rank={res.rank:>6}  {t_s:8.2f} s")
    certify = getattr(te, "certify", None)
    if certify is not None:
        c, t_c = _timed(lambda: certify(net, P))
        print(f"  ours   te.certify                        {c!r:.60}  {t_c:8.2f} s")
    lb, t_l = _timed(lambda: te.specialization_bound(net, P))
    print(f"  ours   te.specialization_bound (>=)      rank>={lb:>5}  {t_l:8.4f} s")
    if quick:
        return
    A, t_g = _timed(lambda: net.grid_tensor(backend="numpy"))
    mat = te.matricize(A, P)
    r_np, t_np = _timed(lambda: int(np.linalg.matrix_rank(mat)))
    print(f"  dense  grid tensor + numpy matrix_rank   rank={r_np:>6}  {t_g + t_np:8.2f} s  (ratio {(t_g + t_np) / t_s:.1f}x)")
    import torch

    tm = torch.from_numpy(np.ascontiguousarray(mat))
    r_t, t_t = _timed(lambda: int(torch.linalg.matrix_rank(tm)))
    print(f"  dense  grid tensor + torch matrix_rank   rank={r_t:>6}  {t_g + t_t:8.2f} s  (ratio {(t_g + t_t) / t_s:.1f}x)")


def blob() -> None:
    print("\nICLR 2017 blob ConvAC: 32x32, M=2, widths 16 (N=1024, 5 levels), structured rank over GF(p)")
    print(f"  {'geometry':8} {'partition':17} {'rank':>10} {'spec. >=':>10} {'seconds':>8}")
    total = 0.0
    for geo in ("square", "mirror"):
        net = te.convac(te.ModeTree.grid(32, 32, geometry=geo), M=2, widths=16, integer=True, seed=0)
        for kind in ("left_right", "top_bottom", "checkerboard", "interleaved_rows"):
            P = te.Partition.grid(32, 32, kind)
            lb = te.specialization_bound(net, P)
            lb_s = str(lb) if lb < 10**6 else f"2^{lb.bit_length() - 1}"
            t0 = time.perf_counter()
            try:
                r = str(te.rank(net, P, "structured").rank)
            except te.BudgetError:
                r = "over budget"
            dt = time.perf_counter() - t0
            total += dt
            print(f"  {geo:8} {kind:17} {r:>10} {lb_s:>10} {dt:8.2f}")
    print(f"  total {total:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="skip the dense float path")
    args = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, numpy {np.__version__}")
    ht_line(args.quick)
    blob()


if __name__ == "__main__":
    main()
