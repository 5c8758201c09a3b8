"""GF(p) eliminations (tensorexpr.rank.modp) against python-flint's nmod_mat, and the level-batched structured
rank (tensorexpr.rank.structured_batch) against the one-node-at-a-time path and the dense exact rank."""

from __future__ import annotations

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.rank.modp import (colspace_factor, matmul_mod_p, matmul_mod_p_batch, rowspace_factor, rref_mod_p,
                                  rref_mod_p_batch)

flint = pytest.importorskip("flint")

PRIMES = (3, 5, 33554393, 2**31 - 1)
SHAPES = [(0, 0), (0, 3), (3, 0), (1, 1), (1, 8), (8, 1), (2, 4), (4, 4), (8, 4), (16, 4), (4, 16), (16, 16),
          (5, 40), (40, 5), (30, 30), (100, 97)]  # tiny (Python lists), thin (numpy), both sides > 96 (flint)


def _matrix(rng: np.random.Generator, m: int, n: int, p: int, kind: int) -> np.ndarray:
    """kind 0: uniform residues; 1: rank <= min(m, n) // 2 (a product); 2: sparse with zero columns / rows;
    3: negative and large entries (reduced mod p by the functions)."""
    if kind == 1:
        k = min(m, n) // 2
        return (rng.integers(0, p, (m, k)) @ rng.integers(0, min(p, 1000), (k, n))) % p if k else np.zeros((m, n), np.int64)
    if kind == 2:
        X = rng.integers(0, p, (m, n)) * (rng.random((m, n)) < 0.3)
        if n > 1:
            X[:, 0] = 0
        if m > 2:
            X[1] = X[0]
        return X
    if kind == 3:
        return rng.integers(-(2**40), 2**40, (m, n))
    return rng.integers(0, p, (m, n))


def _flint_rref(X: np.ndarray, p: int) -> tuple[np.ndarray, list[int]]:
    m, n = X.shape
    if m == 0 or n == 0:
        return np.zeros((0, n), np.int64), []
    R, r = flint.nmod_mat(m, n, [int(v) % p for v in X.ravel().tolist()], p).rref()
    out = np.array([int(v) for v in R.entries()], dtype=np.int64).reshape(m, n)[:r]
    return out, [int(np.flatnonzero(row)[0]) for row in out]


def _cases():
    rng = np.random.default_rng(12)
    for p in PRIMES:
        for m, n in SHAPES:
            for kind in range(4):
                yield p, _matrix(rng, m, n, p, kind)


def test_rref_mod_p_matches_flint():
    for p, X in _cases():
        R, piv = rref_mod_p(X, p)
        F, fpiv = _flint_rref(X, p)
        assert piv == fpiv and R.shape == F.shape and np.array_equal(R, F), (p, X.shape)
        assert R.dtype == np.int64


def test_colspace_and_rowspace_factors_reconstruct():
    for p, X in _cases():
        U, C = colspace_factor(X, p)
        r = len(_flint_rref(X, p)[1])
        assert U.shape == (X.shape[0], r) and C.shape == (r, X.shape[1])
        assert np.array_equal(matmul_mod_p(U, C, p), np.mod(X, p))
        if r:
            assert flint.nmod_mat(U.shape[0], r, U.ravel().tolist(), p).rank() == r  # full column rank
        Cr, V = rowspace_factor(X, p)
        assert Cr.shape == (X.shape[0], r) and V.shape == (r, X.shape[1])
        assert np.array_equal(matmul_mod_p(Cr, V, p), np.mod(X, p))


@pytest.mark.parametrize("p", PRIMES)
def test_rref_mod_p_batch_matches_flint(p):
    rng = np.random.default_rng(p % 1000)
    for B, m, n in [(0, 2, 3), (3, 0, 4), (3, 4, 0), (1, 3, 3), (6, 2, 4), (9, 4, 4), (5, 1, 8), (7, 8, 3),
                    (4, 16, 16), (3, 6, 40)]:
        X = np.stack([_matrix(rng, m, n, p, b % 4) for b in range(B)]) if B else np.zeros((0, m, n), np.int64)
        R, ranks = rref_mod_p_batch(X, p)
        assert R.shape == (B, m, n) and ranks.shape == (B,)
        for b in range(B):
            F, _ = _flint_rref(X[b], p)
            k = int(ranks[b])
            assert k == F.shape[0] and np.array_equal(R[b, :k], F) and not R[b, k:].any(), (p, m, n, b)


def test_matmul_mod_p_batch_matches_python_integers():
    rng = np.random.default_rng(3)
    for p in PRIMES:
        A = rng.integers(-(2**40), 2**40, (3, 4, 5))
        B = rng.integers(0, p, (5, 2))
        got = matmul_mod_p_batch(A, B, p)
        want = np.array([[[sum(int(A[s, i, k]) * int(B[k, j]) for k in range(5)) % p for j in range(2)]
                          for i in range(4)] for s in range(3)], dtype=np.int64)
        assert np.array_equal(got, want)
    assert matmul_mod_p_batch(np.zeros((2, 3, 0), np.int64), np.zeros((0, 4), np.int64), 7).shape == (2, 3, 4)


def _nets():
    for n, M, w in ((4, 2, 2), (4, 3, 3), (8, 2, (2, 3, 4)), (8, 3, (1, 2, 3))):
        yield te.integer_twin(te.convac(te.ModeTree.grid(n, n), M, w, seed=n + M), 0), n * n
    for N, window, M, w in ((8, 2, 2, 2), (16, 2, 2, (2, 1, 2, 3)), (9, 3, 3, 2)):
        yield te.integer_twin(te.convac(te.ModeTree.line(N, window=window), M, w, seed=N), 0), N

def test_batched_structured_rank_equals_unbatched_and_dense():
    """Same rank batched and one node at a time; the dense exact rank over GF(p) (small cases) as the oracle."""
    seen = 0
    for net, N in _nets():
        parts = [te.Partition.odd_even(N), te.Partition.left_right(N), te.Partition.random(N, seed=1)]
        for P in parts:
            try:
                a = te.rank(net, P, method="structured", batch=True).rank
            except te.BudgetError:
                continue
            b = te.rank(net, P, method="structured", batch=False).rank
            assert a == b, (net.name, P.name)
            if N <= 16 and net.n_templates ** N <= 2**16:
                assert a == te.rank(net, P, method="exact", field="prime").rank, (net.name, P.name)
            seen += 1
    assert seen >= 12


def test_batched_structured_rank_at_64x64_left_right():
    net = te.integer_twin(te.convac(te.ModeTree.grid(64, 64), 2, 4, seed=0), 0)
    P = te.Partition.grid(64, 64, "top_bottom")
    assert te.rank(net, P, method="structured").rank == te.rank(net, P, method="structured", batch=False).rank


def test_composite_modulus_is_refused_not_fatal():
    net = te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0, integer=True)
    P = te.Partition.odd_even(4)
    for p in (4, 1009 * 1013):
        with pytest.raises(te.RankError, match="not prime"):
            te.rank(net, P, method="exact", field="prime", prime=p)
        with pytest.raises(te.RankError, match="not prime"):
            te.rank(te.grid_tensor(net, backend="exact"), P, method="exact", field="prime", prime=p)
    with pytest.raises(te.RankError, match="Unknown field"):
        te.rank(net, P, method="exact", field="foo")
