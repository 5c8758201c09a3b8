"""te.spectrum (exact tree path, never dense) vs the dense path (grid tensor + SVD), side by side.

The blob net: a shared-weight ConvAC on square / mirror 2x2 pooling, M = 2, widths 16 (the authors' breadth),
at its coarse partitions (square: left/right, top/bottom; mirror: its mirror halves), whose min-cut is
D = r_{L-1} = 16. The dense path forms 2^N entries and reaches 4x4 (N = 16) at most (8x8 would be 2^64); there
both paths run on the same network and their singular values are compared. Then te.spectrum alone at 8x8,
16x16 and 32x32 (the paper's N = 1024), where the dense path cannot run.

    PYTHONPATH=. python benchmarks/spectrum.py
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np

import tensorexpr as te


def timed(fn, repeat: int = 3):  # noqa: ANN001, ANN201
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def blob_net(size: int, geometry: str) -> te.Network:
    return te.convac(te.ModeTree.grid(size, size, geometry=geometry), M=2, widths=16, shared=True, seed=0)


def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    cases = [("square", "left_right"), ("square", "top_bottom"), ("mirror", "mirror_left_right"),
             ("mirror", "mirror_top_bottom")]
    print(f"{'4x4 blob net (dense reaches N=16)':38s} {'D':>4s} {'rank':>5s} {'t_spectrum':>11s} {'t_dense':>9s} "
          f"{'dense/spectrum':>15s} {'max rel err':>12s}")
    for geo, part in cases:
        net = blob_net(4, geo)
        P = te.Partition.grid(4, 4, part)
        sp, ts = timed(lambda: te.spectrum(net, P, method="exact"))
        de, td = timed(lambda: te.spectrum(net, P, method="dense"))
        k = sp.rank
        err = float(np.max(np.abs(sp.normalized[:k] - de.normalized[:k])))
        D = te.mincut_bound(net, P).bound
        print(f"{geo + ' ' + part:38s} {D:>4d} {k:>5d} {ts * 1e3:>9.2f}ms {td * 1e3:>7.2f}ms {td / ts:>14.1f}x "
              f"{err:>12.1e}")
    print(f"\n{'te.spectrum alone (dense impossible)':38s} {'N':>5s} {'D':>4s} {'rank':>5s} {'t_spectrum':>11s}")
    for size in (8, 16, 32):
        for geo, part in cases[::2]:
            net = blob_net(size, geo)
            P = te.Partition.grid(size, size, part)
            sp, ts = timed(lambda: te.spectrum(net, P, method="exact"), repeat=1)
            D = te.mincut_bound(net, P).bound
            print(f"{f'{size}x{size} ' + geo + ' ' + part:38s} {size * size:>5d} {D:>4d} {sp.rank:>5d} "
                  f"{ts * 1e3:>9.1f}ms")


if __name__ == "__main__":
    main()
