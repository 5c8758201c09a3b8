"""Random balanced partitions of the convolutional (tied) blob ConvAC: how many certify, and the gaps.

Issue: certify 100 random balanced partitions of the authors' architecture (32x32, M = 2, widths 16, weights
shared per level, square pooling) and print the fraction certified; for the rest, the gap between the ends
(``log2 upper - log2 lower``) and which bounds gave them. Side by side, the untied network of the same shape on
the same partitions (where the flow lower bound meets the min-cut). Why the tied gap stays open is in
docs/benchmarks.md ("Random balanced partitions").

    python benchmarks/tied_random.py [--n 100] [--side 32]
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time
from collections import Counter

import tensorexpr as te
from tensorexpr.core.backends import progress_bar


def _log2(x: int) -> float:
    return math.log2(x) if x > 0 else float("-inf")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="random balanced partitions")
    ap.add_argument("--side", type=int, default=32, help="grid side (N = side^2)")
    args = ap.parse_args()
    N = args.side ** 2
    tree = te.ModeTree.grid(args.side, args.side)
    parts = [te.Partition.random(N, seed=s) for s in range(args.n)]
    print(f"{platform.machine()}, {platform.python_version()}; {args.n} random balanced partitions, "
          f"{args.side}x{args.side}, M=2, widths 16, square pooling")
    for shared in (True, False):
        a = te.analyze(te.convac(tree, M=2, widths=16, shared=shared, seed=0))
        t0 = time.perf_counter()
        certs = []
        with progress_bar(len(parts), "tied" if shared else "untied", True) as bar:
            for P in parts:
                certs.append(te.certify(a, P))
                bar.update(1)
        dt = time.perf_counter() - t0
        done = sum(c.certified for c in certs)
        gaps = [_log2(c.upper) - _log2(c.lower) for c in certs if not c.certified]
        how = Counter(f"{c.lower_method}/{c.upper_method}" for c in certs)
        print(f"{'tied' if shared else 'untied'}: certified {done}/{len(certs)} ({100 * done / len(certs):.0f}%), "
              f"{dt / len(certs):.3f} s per partition; bounds (lower/upper): {dict(how)}")
        if gaps:
            lo = [_log2(c.lower) for c in certs if not c.certified]
            hi = [_log2(c.upper) for c in certs if not c.certified]
            print(f"   open: log2 lower {min(lo):.1f}..{max(lo):.1f}, log2 upper {min(hi):.1f}..{max(hi):.1f}, "
                  f"gap (bits) min {min(gaps):.1f}, median {statistics.median(gaps):.1f}, max {max(gaps):.1f}")


if __name__ == "__main__":
    main()
