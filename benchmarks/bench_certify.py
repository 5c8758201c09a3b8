"""te.certify (bounds + structured, never dense) vs the dense ranks it replaces, side by side.

Competitors: dense exact rank over GF(p) (``te.rank(method="exact")``, flint nmod_mat) and dense float64
SVD rank (``te.rank(method="numeric")``) on the same architecture. Prints times, answers and ratios.

    PYTHONPATH=. python benchmarks/bench_certify.py
"""

from __future__ import annotations

import platform
import time

import tensorexpr as te



def timed(fn):  # noqa: ANN001, ANN201
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    cases = [
        ("line:8 M=3 r=3 odd_even", te.ModeTree.line(8), 3, 3, te.Partition.odd_even(8)),
        ("line:16 M=2 r=2 odd_even", te.ModeTree.line(16), 2, 2, te.Partition.odd_even(16)),
        ("line:16 M=2 r=4 left_right", te.ModeTree.line(16), 2, 4, te.Partition.left_right(16)),
        ("grid:4x4 square M=3 r=4 left_right", te.ModeTree.grid(4, 4), 3, 4, te.Partition.grid(4, 4, "left_right")),
        ("grid:4x4 mirror M=2 r=4 left_right", te.ModeTree.grid(4, 4, geometry="mirror"), 2, 4,
         te.Partition.grid(4, 4, "left_right")),
    ]
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(f"{'case':38s} {'certify':>18s} {'t_cert':>8s} {'exact':>7s} {'t_exact':>8s} {'numeric':>7s} {'t_num':>8s} "
          f"{'exact/cert':>10s}")
    for name, tree, M, r, P in cases:
        cert, tc = timed(lambda: te.certify(te.convac(tree, M, r, seed=0), P))
        ex, te_ = timed(lambda: te.rank(te.convac(tree, M, r, seed=1, integer=True, int_range=10**6), P,
                                        method="exact").rank)
        nu, tn = timed(lambda: te.rank(te.convac(tree, M, r, seed=1), P, method="numeric").rank)
        c = str(cert.lower) if cert.certified else f"[{cert.lower},{cert.upper}]"
        print(f"{name:38s} {c:>18s} {tc:8.3f} {ex:7d} {te_:8.3f} {nu:7d} {tn:8.3f} {te_ / tc:10.1f}x")
    # the scale where dense is impossible: the blob network
    for geom in ("square", "mirror"):
        net = te.convac(te.ModeTree.grid(32, 32, geometry=geom), 2, 16, seed=0)
        cert, tc = timed(lambda: te.certify(net, te.Partition.grid(32, 32, "left_right")))
        print(f"grid:32x32 {geom} M=2 r=16 left_right: {cert.summary()} in {tc:.2f}s "
              f"(dense: a 2^512 x 2^512 matrix, impossible)")


if __name__ == "__main__":
    main()
