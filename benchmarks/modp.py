"""GF(p) row reductions: the previous numpy rref (kept here as the baseline) vs tensorexpr.rank.modp now.

Side by side in one run: (1) per-call micro cases, the block shapes the structured rank compresses (old numpy
loop vs the Python-list fast path, and vs one stacked ``rref_mod_p_batch`` call per 4,096 blocks); (2) the
whole structured rank ``te.rank(te.integer_twin(net, 0), P, method="structured")`` on 64x64 (and 128x128 with
``--big``) grid ConvACs, with the previous per-node path (``batch=False`` plus the baseline rref patched in),
the per-node path with the new rref (``batch=False``), and the level-batched path (default).

Usage: python benchmarks/modp.py [--big]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import numpy as np

import tensorexpr as te
from tensorexpr.evaluate.grid import DEFAULT_PRIME

modp = sys.modules["tensorexpr.rank.modp"]


def old_rref_mod_p(X: np.ndarray, p: int) -> tuple[np.ndarray, list[int]]:
    """The rref_mod_p of commit d665877 (before this change), verbatim apart from the name."""
    A = np.mod(np.asarray(X, dtype=np.int64), p)
    m, n = A.shape
    if min(m, n) > modp.NUMPY_RANK_MAX_SIDE:
        return modp._rref_flint(A, p)
    piv: list[int] = []
    r = 0
    for j in range(n):
        if r == m:
            break
        nz = np.flatnonzero(A[r:, j])
        if nz.size == 0:
            continue
        i = r + int(nz[0])
        if i != r:
            A[[r, i]] = A[[i, r]]
        inv = pow(int(A[r, j]), p - 2, p)
        A[r, j:] = (A[r, j:] * inv) % p
        col = A[:, j].copy()
        col[r] = 0
        rows = np.flatnonzero(col)
        if rows.size:
            A[rows, j:] = (A[rows, j:] - (col[rows, None] * A[r, None, j:]) % p) % p
        piv.append(j)
        r += 1
    return A[:r], piv


def _best(fn, reps: int = 3) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def micro() -> None:
    p = DEFAULT_PRIME
    rng = np.random.default_rng(0)
    B = 4096
    print(f"per-call rref over GF({p}), {B} blocks of one shape (min of 3):")
    print(f"  {'shape':>8} {'rank':>4} {'old us/call':>12} {'new us/call':>12} {'batched us/blk':>15} {'old/new':>8} {'old/batched':>12}")
    for (m, n), k in [((2, 4), 2), ((1, 8), 1), ((1, 16), 1), ((4, 4), 4), ((8, 4), 4), ((16, 4), 4), ((1, 64), 1),
                      ((16, 16), 8), ((16, 256), 16)]:
        X = (rng.integers(0, p, (B, m, k)) @ rng.integers(0, 1000, (B, k, n))) % p
        calls = 300 if m * n < 1000 else 30
        t_old = _best(lambda: [old_rref_mod_p(X[i], p) for i in range(calls)]) / calls
        t_new = _best(lambda: [modp.rref_mod_p(X[i], p) for i in range(calls)]) / calls
        t_bat = _best(lambda: modp.rref_mod_p_batch(X, p)) / B
        R, ranks = modp.rref_mod_p_batch(X[:20], p)
        for i in range(20):  # same answer from all three
            Ro, po = old_rref_mod_p(X[i], p)
            Rn, pn = modp.rref_mod_p(X[i], p)
            assert po == pn and np.array_equal(Ro, Rn) and np.array_equal(Ro, R[i, : ranks[i]])
        print(f"  {f'{m}x{n}':>8} {k:>4} {t_old * 1e6:12.1f} {t_new * 1e6:12.1f} {t_bat * 1e6:15.2f} "
              f"{t_old / t_new:8.1f} {t_old / t_bat:12.1f}")


def whole(n: int) -> None:
    print(f"\nstructured rank of te.integer_twin(te.convac(te.ModeTree.grid({n}, {n}), M, widths, seed=0), 0) (min of 3):")
    print(f"  {'M':>2} {'widths':>6} {'partition':12} {'rank':>5} {'old':>8} {'new rref':>9} {'batched':>8} {'old/batched':>12}")
    for M, w in ((2, 4), (3, 3), (2, 16)):
        net = te.integer_twin(te.convac(te.ModeTree.grid(n, n), M, w, seed=0), 0)
        for kind in ("left_right", "top_bottom"):
            P = te.Partition.grid(n, n, kind)
            new = modp.rref_mod_p
            modp.rref_mod_p = old_rref_mod_p  # colspace_factor / dense_rank_mod_p look it up at call time
            try:
                r_old = te.rank(net, P, method="structured", batch=False).rank
                t_old = _best(lambda: te.rank(net, P, method="structured", batch=False))
            finally:
                modp.rref_mod_p = new
            r_new = te.rank(net, P, method="structured", batch=False).rank
            t_new = _best(lambda: te.rank(net, P, method="structured", batch=False))
            r_bat = te.rank(net, P, method="structured").rank
            t_bat = _best(lambda: te.rank(net, P, method="structured"))
            assert r_old == r_new == r_bat, (r_old, r_new, r_bat)
            print(f"  {M:>2} {w:>6} {kind:12} {r_bat:>5} {t_old:7.2f}s {t_new:8.2f}s {t_bat:7.2f}s {t_old / t_bat:12.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--big", action="store_true", help="also 128x128 (about a minute more)")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, numpy {np.__version__} (figures in docs: x86_64, 2 cores, no GPU, "
          f"shared with other jobs)")
    micro()
    whole(64)
    if args.big:
        whole(128)


if __name__ == "__main__":
    main()
