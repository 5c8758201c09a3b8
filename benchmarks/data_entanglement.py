"""Data entanglement: the Gram-matrix path against the dense data tensor, side by side, and at scale.

1. Small N (the competitor: form the M^N data tensor, matricize, numpy SVD): time and agreement of the
   singular values (the target is 1e-9).
2. Digits (1,797 samples, N = 64): every canonical partition of the 8x8 quad tree (binary and ten-class labels).
3. 10,000 samples (digits resampled with pixel noise), Nystrom with 1,000 landmarks.

Run: ``python benchmarks/data_entanglement.py``.
"""

from __future__ import annotations

import time

import numpy as np

import tensorexpr as te
from tensorexpr.data import data_entanglement, feature_embedding, geometry_fit
from tensorexpr.evaluate.matricize import matricize


def dense(X: np.ndarray, y: np.ndarray, P: te.Partition) -> np.ndarray:
    Phi = feature_embedding(X)
    n, N, M = Phi.shape
    A = np.zeros((M,) * N)
    for k in range(n):  # the data tensor, one rank-one term per sample
        t = np.array(y[k])
        for i in range(N):
            t = np.multiply.outer(t, Phi[k, i])
        A += t
    s = np.linalg.svd(matricize(A, P), compute_uv=False)
    return s / np.sqrt((s**2).sum())


def small() -> None:
    print("1. Gram path vs the dense data tensor (n = 500 samples)")
    print(f"{'N':>3} {'dense s':>9} {'ours s':>9} {'ratio':>7} {'max |ds|':>10}")
    rng = np.random.default_rng(0)
    for N in (8, 10, 12, 14):
        X, y = rng.random((500, N)), np.sign(rng.standard_normal(500))
        P = te.Partition.odd_even(N)
        t = time.perf_counter()
        sd = dense(X, y, P)
        td = time.perf_counter() - t
        t = time.perf_counter()
        so = data_entanglement(X, y, P).singular_values
        to = time.perf_counter() - t
        k = min(len(sd), len(so))
        err = float(np.max(np.abs(sd[:k] - so[:k])))
        print(f"{N:>3} {td:>9.3f} {to:>9.3f} {to / td:>7.3f} {err:>10.2e}")


def digits_scale() -> None:
    from sklearn.datasets import load_digits

    d = load_digits()
    X, y = d.data / 16.0, d.target
    print("\n2. Digits (n = 1797, N = 64), all 20 canonical partitions of the 8x8 quad tree")
    for label, yy in (("binary (0 vs rest)", np.where(y == 0, 1.0, -1.0)), ("ten classes, one-vs-rest", y)):
        t = time.perf_counter()
        f = geometry_fit(X, yy, "grid:8x8:square")
        print(f"   {label}: {time.perf_counter() - t:.2f} s, mean entropy {f.total:.4f}")
    rng = np.random.default_rng(1)
    idx = rng.integers(0, len(X), 10_000)
    Xb = np.clip(X[idx] + 0.05 * rng.standard_normal((10_000, 64)), 0, 1)
    yb = np.where(y[idx] == 0, 1.0, -1.0)
    print("\n3. 10,000 samples (digits resampled with noise), binary labels")
    t = time.perf_counter()
    f = geometry_fit(Xb, yb, "grid:8x8:square", method="nystrom", landmarks=1000)
    print(f"   Nystrom, 1000 landmarks: {time.perf_counter() - t:.2f} s, mean entropy {f.total:.4f}")


if __name__ == "__main__":
    small()
    digits_scale()
