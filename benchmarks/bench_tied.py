"""Certifying the convolutional (tied) blob ConvAC: the symmetry/gram bounds vs what the previous paths reach.

One run, side by side, on the authors' architecture (Cohen & Shashua, ICLR 2017: M=2, 16 channels, weights
shared per level) under square and mirror pooling and the 7 standard partitions:

* **ours**: ``te.certify`` with the symmetry upper bound and the gram lower bound (32x32, N = 1024);
* **before**: ``te.certify`` without them (trivial, specialization, geometry, min-cut, structured instance
  rank): the certify of the main branch before this work, on the same 32x32 nets;
* **dense**: the dense exact rank (``te.rank(method="exact")`` of integer instances) at the largest grid it
  reaches, 4x4 (N = 16; 8x8 would need 2^64 entries): an exact rank of one instance is a lower bound, so
  dense alone certifies nothing; with the old upper bounds it closes what they meet.

    PYTHONPATH=. python benchmarks/bench_tied.py
"""

from __future__ import annotations

import platform
import time

import tensorexpr as te
from tensorexpr.core.partitions import STANDARD_PARTITIONS

KINDS = list(STANDARD_PARTITIONS)
BEFORE = ("trivial", "specialization", "geometry", "mincut", "structured", "exact")


def _table(side: int, widths, methods=None):  # noqa: ANN001, ANN202
    certified, t0 = 0, time.perf_counter()
    cells = []
    for geometry in ("square", "mirror"):
        net = te.convac(te.ModeTree.grid(side, side, 2, geometry), 2, widths, shared=True, seed=0)
        for kind in KINDS:
            c = te.certify(net, te.Partition.grid(side, side, kind), methods=methods)
            certified += c.certified
            cells.append((geometry, kind, c.summary()))
    return certified, time.perf_counter() - t0, cells


def _dense(side: int, widths):  # noqa: ANN001, ANN202
    """Dense exact ranks of one integer instance per cell, closed only where an old upper bound meets them."""
    certified, t0 = 0, time.perf_counter()
    for geometry in ("square", "mirror"):
        net = te.convac(te.ModeTree.grid(side, side, 2, geometry), 2, widths, shared=True, seed=0)
        twin = te.integer_twin(net, 0)
        for kind in KINDS:
            P = te.Partition.grid(side, side, kind)
            r = te.rank(twin, P, method="exact").rank
            up = min(te.geometry_bound(net, P).value, te.mincut_bound(net, P).bound)
            certified += r == up
    return certified, time.perf_counter() - t0


def main() -> None:
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}")
    print("tied (convolutional) blob ConvAC, M=2; cells = 2 geometries x 7 partitions = 14\n")
    ours, t_ours, cells = _table(32, 16)
    before, t_before, cells_before = _table(32, 16, BEFORE)
    dense, t_dense = _dense(4, [4, 9])
    ours4, t_ours4, _ = _table(4, [4, 9])
    rows = [
        ("ours: certify + symmetry + gram", "32x32 (N=1024)", ours, t_ours),
        ("before: certify (geometry, min-cut, structured)", "32x32 (N=1024)", before, t_before),
        ("ours: certify + symmetry + gram", "4x4 (N=16)", ours4, t_ours4),
        ("dense exact rank + old upper bounds", "4x4 (N=16), largest dense", dense, t_dense),
    ]
    print(f"{'path':50s} {'grid':28s} {'certified':>10s} {'seconds':>8s}")
    for name, grid, n, t in rows:
        print(f"{name:50s} {grid:28s} {f'{n}/14':>10s} {t:8.2f}")
    print(f"\nratio at 32x32: ours certifies {ours}/14 in {t_ours:.2f}s; before {before}/14 in {t_before:.2f}s "
          f"({t_before / t_ours:.1f}x the time for {before - ours:+d} cells)")
    print("\ncells at 32x32 (ours | before):")
    for (g, k, s), (_, _, b) in zip(cells, cells_before):
        print(f"  {g:6s} {k:18s} {s:58s} | {b}")


if __name__ == "__main__":
    main()
