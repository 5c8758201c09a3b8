"""Rank benchmark: te.certify and the structured exact rank vs the dense float path (grid tensor + matrix_rank).

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
    cert, t_c = _timed(lambda: te.certify(net, P))
    print(f"  ours   te.certify                        rank={cert.lower if cert.certified else cert!r:>6}  {t_c:9.4f} s"
          f"  ({cert.summary()})")
    res, t_s = _timed(lambda: te.rank(net, P, "structured"))
    print(f"  ours   te.rank(structured, GF(p))        rank={res.rank:>6}  {t_s:9.2f} s  (the integer point's own rank)")
    if quick:
        return
    A, t_g = _timed(lambda: te.grid_tensor(te.convac(te.ModeTree.line(16), M=3, widths=3, seed=0), backend="numpy"))
    mat = te.matricize(A, P)
    r_np, t_np = _timed(lambda: int(np.linalg.matrix_rank(mat)))
    d_np = t_g + t_np
    print(f"  dense  grid tensor + numpy matrix_rank   rank={r_np:>6}  {d_np:9.2f} s  "
          f"(x{d_np / t_c:,.0f} vs certify, x{d_np / t_s:.1f} vs structured)")
    import torch

    tm = torch.from_numpy(np.ascontiguousarray(mat))
    r_t, t_t = _timed(lambda: int(torch.linalg.matrix_rank(tm)))
    d_t = t_g + t_t
    print(f"  dense  grid tensor + torch matrix_rank   rank={r_t:>6}  {d_t:9.2f} s  "
          f"(x{d_t / t_c:,.0f} vs certify, x{d_t / t_s:.1f} vs structured)")


def blob() -> None:
    print("\nICLR 2017 blob ConvAC: 32x32, M=2, widths 16 (N=1024, 5 levels): te.certify")
    print(f"  {'geometry':8} {'partition':17} {'certified rank':>15} {'how':32} {'seconds':>8}")
    total = 0.0
    for geo in ("square", "mirror"):
        net = te.convac(te.ModeTree.grid(32, 32, geometry=geo), M=2, widths=16, seed=0)
        for kind in ("left_right", "top_bottom", "checkerboard", "interleaved_rows"):
            P = te.Partition.grid(32, 32, kind)
            c, dt = _timed(lambda: te.certify(net, P))
            total += dt
            val = c.lower if c.certified else None
            shown = ("2^%d" % (val.bit_length() - 1) if val and val > 10**9 else str(val)) if c.certified else repr(c)
            print(f"  {geo:8} {kind:17} {shown:>15} {c.lower_method + ' = ' + c.upper_method:32} {dt:8.2f}")
    print(f"  total {total:.1f} s (target: under 10 s on 2 cores)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="skip the dense float path")
    args = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, numpy {np.__version__}")
    ht_line(args.quick)
    blob()


if __name__ == "__main__":
    main()
