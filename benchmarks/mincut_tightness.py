"""Is the min-cut bound equal to the exact rank when all widths are powers of one integer?

docs/theory.md marks "tight almost everywhere when all widths are powers of one integer" as [recalled]
(Levine et al., ICLR 2018). This script tests it on random small trees, widths and partitions, comparing
``te.mincut_bound`` with the exact rank (over Q) of seeded integer instances (integers in [-10^6, 10^6], max over three seeds, a lower
bound on the generic rank) and prints the exception rate and examples.

    PYTHONPATH=. python benchmarks/mincut_tightness.py [n_cases] [base]     (base 0: any widths 1..5)
    PYTHONPATH=. python benchmarks/mincut_tightness.py dag [n_cases]        (overlapping DAGs)
"""

from __future__ import annotations

import sys
import time

import numpy as np

import tensorexpr as te
from tensorexpr.testing import random_tree


def _draw(rng: np.random.Generator, base: int, lo: int, hi: int) -> int:
    """``base**k`` for k in [lo, hi]; base 0 means any integer in [1, 5] (no common base)."""
    return int(rng.integers(1, 6)) if base == 0 else int(base ** rng.integers(lo, hi + 1))


def case(rng: np.random.Generator, base: int) -> dict:
    while True:
        n = int(rng.integers(3, 11))
        tree = random_tree(n, rng)
        M = max(2, _draw(rng, base, 1, 2))
        if M**n <= 20_000:
            break
    per_node = bool(rng.integers(0, 2))
    if per_node:  # per node widths, siblings equal (one width per parent's input)
        widths = {}
        for node in tree.internal_nodes:
            w = _draw(rng, base, 0, 2)
            for c in tree.children(node):
                widths[c] = w
    else:
        widths = [_draw(rng, base, 0, 2) for _ in range(tree.depth)]
    size = int(rng.integers(1, n))
    P = te.Partition(rng.choice(n, size=size, replace=False).tolist(), n)
    cut = te.mincut_bound(te.convac(tree, M, widths, seed=0), P)
    ranks = [te.rank(te.convac(tree, M, widths, seed=s, integer=True, int_range=10**6), P, method="exact").rank
             for s in (1, 2, 3)]
    geo = te.geometry_bound(tree, P, M=M, widths=widths).value
    return {"tree": tree.to_nested(), "M": M, "widths": widths, "I": sorted(P.I), "mincut": cut.bound,
            "exact": max(ranks), "geometry": geo, "cut": cut.describe_cut()}


def main(n_cases: int = 400, base: int = 2) -> None:
    rng = np.random.default_rng(12345)
    t0 = time.perf_counter()
    rows = [case(rng, base) for _ in range(n_cases)]
    exc = [r for r in rows if r["mincut"] != r["exact"]]
    below = [r for r in rows if r["mincut"] < r["exact"]]
    geo_loose = [r for r in rows if r["geometry"] > r["mincut"]]
    geo_tight = [r for r in rows if r["geometry"] < r["mincut"]]
    print(f"{n_cases} random cases, widths and M " + (f"powers of {base}" if base else "any of 1..5") + f", {time.perf_counter() - t0:.1f}s")
    print(f"min-cut == exact rank: {n_cases - len(exc)}/{n_cases}; min-cut > exact: {len(exc) - len(below)}; "
          f"min-cut < exact (would be a bug): {len(below)}")
    print(f"geometry > min-cut: {len(geo_loose)}; geometry < min-cut: {len(geo_tight)}")
    for r in exc[:8]:
        print("  exception:", r)




def dag_main(n_cases: int = 150) -> None:
    """Overlapping (stride-1) DAGs: one window layer over a line, then a global pool."""
    from tensorexpr.testing import overlap_net

    rng = np.random.default_rng(0)
    rows = []
    while len(rows) < n_cases:
        n, M = int(rng.integers(3, 8)), int(rng.integers(2, 4))
        r0, r1, w = int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(2, 4))
        if M**n > 20_000 or w > n:
            continue
        P = te.Partition(rng.choice(n, size=int(rng.integers(1, n)), replace=False).tolist(), n)
        cut = te.mincut_bound(overlap_net(n, M, r0, r1, 0, window=w), P).bound
        star = te.mincut_bound(overlap_net(n, M, r0, r1, 0, window=w), P, hyperedges="star").bound
        exact = max(te.rank(overlap_net(n, M, r0, r1, s, window=w), P, method="exact").rank for s in (1, 2, 3))
        rows.append((n, M, r0, r1, w, sorted(P.I), cut, exact, star))
    exc = [r for r in rows if r[6] != r[7]]
    print(f"{n_cases} overlapping DAGs: min-cut == exact {n_cases - len(exc)}/{n_cases}; "
          f"min-cut < exact: {sum(r[6] < r[7] for r in rows)}; star > Lawler: {sum(r[8] > r[6] for r in rows)}")
    for r in exc[:8]:
        print("  exception (n, M, r0, r1, window, I, mincut, exact, star):", r)


if __name__ == "__main__":
    if sys.argv[1:2] == ["dag"]:
        dag_main(*(int(a) for a in sys.argv[2:]))
    else:
        main(*(int(a) for a in sys.argv[1:]))
