"""Data entanglement through Gram matrices against the dense data tensor (the oracle: form A, matricize, SVD)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tensorexpr as te
from tensorexpr.core.errors import BudgetError, DataError, PartitionError
from tensorexpr.data import data_entanglement, feature_embedding
from tensorexpr.data.entanglement import DataGrams, register_feature_map, spectrum_from_squares
from tensorexpr.evaluate.matricize import matricize


def dense_data_tensor(X: np.ndarray, y: np.ndarray, feature_map="cos-sin") -> np.ndarray:
    Phi = feature_embedding(X, feature_map)
    n, N, M = Phi.shape
    A = np.zeros((M,) * N)
    for k in range(n):
        t = np.array(y[k])
        for i in range(N):
            t = np.multiply.outer(t, Phi[k, i])
        A += t
    return A / np.linalg.norm(A)


def dense_spectrum(X, y, P, feature_map="cos-sin") -> np.ndarray:
    s = np.linalg.svd(matricize(dense_data_tensor(X, y, feature_map), P), compute_uv=False)
    return s


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), N=st.integers(2, 7), seed=st.integers(0, 10**6), explicit_max=st.sampled_from([1, 4, 256]))
def test_gram_spectrum_equals_dense_svd(n, N, seed, explicit_max):
    rng = np.random.default_rng(seed)
    X, y = rng.random((n, N)), rng.standard_normal(n)
    P = te.Partition.random(N, seed=seed, balanced=bool(seed % 2)) if N > 2 else te.Partition([0], N)
    if not P.I or not P.J:
        P = te.Partition([0], N)
    Phi = feature_embedding(X)
    sq = DataGrams(Phi, explicit_max=explicit_max).squared_singular_values(P.rows, P.cols, y)
    got = np.sort(np.sqrt(np.clip(sq, 0, None)))[::-1]
    A = np.zeros((2,) * N)
    for k in range(n):
        t = np.array(y[k])
        for i in range(N):
            t = np.multiply.outer(t, Phi[k, i])
        A += t
    want = np.linalg.svd(matricize(A, P), compute_uv=False)
    k = min(len(got), len(want))
    # squares carry an absolute error of a few eps * sigma_1^2: singular values agree to ~1e-8 sigma_1
    tol = 1e-7 * max(1.0, want[0])
    np.testing.assert_allclose(got[:k], want[:k], rtol=1e-8, atol=tol)
    assert np.all(got[k:] <= tol) and np.all(want[k:] <= tol)
    r = spectrum_from_squares(sq, "P", "exact", n, 1e-6, 0.0)
    if not np.any((want > 1e-7 * want[0]) & (want < 1e-5 * want[0])):  # no value at the threshold itself
        assert r.rank == int(np.sum(want > 1e-6 * want[0]))  # no rounding noise counted as rank


def test_result_fields_against_dense():
    rng = np.random.default_rng(1)
    X, y = rng.random((60, 6)), np.sign(rng.standard_normal(60))
    P = te.Partition([0, 2, 4], 6)
    r = data_entanglement(X, y, P)
    s = dense_spectrum(X, y, P)
    np.testing.assert_allclose(r.singular_values[: len(s)], s[: len(r.singular_values)], atol=1e-9)
    p = s[s > 1e-15] ** 2
    assert r.entropy == pytest.approx(float(-(p * np.log(p)).sum()), abs=1e-9)
    assert r.effective_rank == pytest.approx(np.exp(r.entropy))
    assert r.rank == int(np.sum(s > 1e-6 * s[0]))
    assert r.to_dict()["partition"] == P.name and "entropy=" in repr(r)


def test_product_data_has_zero_entanglement():
    """One sample is a rank-one tensor: entropy 0, rank 1 under every partition (closed form)."""
    X = np.random.default_rng(2).random((1, 8))
    for P in (te.Partition.odd_even(8), te.Partition.left_right(8)):
        r = data_entanglement(X, [1.0], P)
        assert r.rank == 1 and r.entropy == pytest.approx(0.0, abs=1e-12)


def test_affine_map_and_user_map_agree():
    rng = np.random.default_rng(3)
    X, y = rng.random((30, 5)), rng.standard_normal(30)
    P = te.Partition([1, 3], 5)
    a = data_entanglement(X, y, P, feature_map="affine")
    b = data_entanglement(X, y, P, feature_map=lambda x: np.stack([np.ones_like(x), x], -1))
    np.testing.assert_allclose(a.singular_values, b.singular_values, atol=1e-12)
    np.testing.assert_allclose(a.singular_values[:4], dense_spectrum(X, y, P, "affine")[:4], atol=1e-9)


def test_nystrom_is_exact_with_every_sample_a_landmark_and_close_with_enough():
    rng = np.random.default_rng(4)
    X, y = rng.random((200, 6)), np.sign(rng.standard_normal(200))
    P = te.Partition([0, 1, 2], 6)  # rank <= 2^3 = 8
    ex = data_entanglement(X, y, P, method="exact")
    full = data_entanglement(X, y, P, method="nystrom", landmarks=200)
    np.testing.assert_allclose(full.singular_values[:8], ex.singular_values[:8], atol=1e-8)
    some = data_entanglement(X, y, P, method="nystrom", landmarks=50)  # >= the rank of each side's Gram (8)
    np.testing.assert_allclose(some.singular_values[:8], ex.singular_values[:8], atol=1e-6)


def test_errors():
    X = np.random.default_rng(5).random((10, 4))
    with pytest.raises(DataError, match="shape"):
        data_entanglement(X[0], np.ones(10), te.Partition([0], 4))
    with pytest.raises(DataError, match="non-finite"):
        data_entanglement(np.where(X > 0.5, np.nan, X), np.ones(10), te.Partition([0], 4))
    with pytest.raises(DataError, match=r"y must have shape \(10,\)"):
        data_entanglement(X, np.ones(9), te.Partition([0], 4))
    with pytest.raises(DataError, match="unknown"):
        data_entanglement(X, np.ones(10), te.Partition([0], 4), feature_map="nope")
    with pytest.raises(PartitionError):
        data_entanglement(X, np.ones(10), te.Partition([0], 5))
    with pytest.raises(BudgetError, match="over the budget of 100.0 B"):
        data_entanglement(X, np.ones(10), te.Partition([0], 4), memory_budget=100)
    with pytest.raises(DataError, match="already registered"):
        register_feature_map("cos-sin", np.cos)


def test_psd_factor_reproduces_low_rank_and_full_rank_grams():
    from tensorexpr.data.entanglement import psd_factor

    rng = np.random.default_rng(6)
    for r in (1, 5, 40):
        B = rng.standard_normal((40, r))
        G = B @ B.T
        E = psd_factor(G)
        np.testing.assert_allclose(E @ E.T, G, atol=1e-9 * np.abs(G).max())
        assert E.shape[1] <= 40


def test_pivoted_cholesky_factor_layout_with_and_without_scratch():
    from tensorexpr.data.entanglement import Scratch, pivoted_cholesky

    rng = np.random.default_rng(7)
    B = rng.standard_normal((60, 23))
    G = B @ B.T
    before = G.copy()
    for scratch in (None, Scratch()):
        c = pivoted_cholesky(G, scratch)
        assert c.rank == 23 and c.L.flags.f_contiguous
        assert np.all(np.triu(c.L, 1) == 0) and np.all(c.L[:, c.rank:] == 0)
        np.testing.assert_allclose(c.L @ c.L.T, G[np.ix_(c.perm, c.perm)], atol=1e-10 * np.abs(G).max())
        np.testing.assert_allclose(c.rows @ c.rows.T, G, atol=1e-10 * np.abs(G).max())
        np.testing.assert_array_equal(G, before)  # the input is left alone


def test_scratch_hands_back_given_buffers_and_only_those():
    from tensorexpr.data.entanglement import Scratch

    sc = Scratch()
    a = sc.take((5, 5))
    sc.give(a.T)  # a view goes back as its base
    assert sc.take((5, 5)) is a
    assert sc.take((5, 5)) is not a  # handed out once only
    sc.give(a, a, None)
    assert sc.take((5, 5)) is a and sc.take((4, 5)).shape == (4, 5)


def test_hadamard_gram_blocks_equal_the_formed_product():
    from tensorexpr.data.entanglement import HadamardGram

    rng = np.random.default_rng(8)
    n = 500  # more than one row block (block_rows = 2^17 // n = 262)
    E1, E2 = rng.random((n, 3)), rng.random((n, 4))
    G1, G2 = (lambda B: B @ B.T)(rng.random((n, 5))), (lambda B: B @ B.T)(rng.random((n, 2)))
    for grams, rows in (((G1,), ()), ((G1, G2), (E1,)), ((), (E1, E2)), ((G2,), (E1, E2))):
        want = np.ones((n, n))
        for g in grams:
            want = want * g
        for E in rows:
            want = want * (E @ E.T)
        h = HadamardGram(grams, rows)
        assert h.block_rows < n
        np.testing.assert_allclose(h.dense(), want, rtol=1e-13)
        X = rng.standard_normal((n, 7))
        np.testing.assert_allclose(h @ X, want @ X, rtol=1e-11, atol=1e-9)
        out = np.full((n, n), 2.0)
        np.testing.assert_allclose(h.multiply_into(out), 2 * want, rtol=1e-13)
    with pytest.raises(DataError, match="at least one factor"):
        HadamardGram((), ())
    with pytest.raises(DataError, match="disagree on the number of samples"):
        HadamardGram((G1,), (E1[:10],))


def test_squared_all_applies_a_lazy_gram_to_label_groups_like_one_at_a_time():
    from tensorexpr.data.entanglement import HadamardGram, SidePair

    rng = np.random.default_rng(10)
    n = 50
    B = rng.random((n, 3))
    pair = SidePair(rng.standard_normal((n, 1024)), None, HadamardGram((B @ B.T,), (rng.random((n, 2)),)))
    ys = [rng.standard_normal(n) for _ in range(5)]  # 1024 columns: two labels per pass, three passes
    got = pair.squared_all(ys)
    assert len(got) == 5
    for g, y in zip(got, ys):
        np.testing.assert_allclose(np.sort(g), np.sort(pair.squared(y)), rtol=1e-9, atol=1e-9 * np.abs(g).max())


@pytest.mark.parametrize("duplicates", [False, True])
def test_congruence_path_equals_two_sided_factors(duplicates):
    """Both sides too large to write out: the dsygst congruence (one side's pivoted Cholesky, the other's Gram)
    against the SVD of E_I^T D E_J with both sides factored, for several label vectors on one pair, and again on
    buffers the Scratch has recycled. Duplicated samples make the small side's Gram rank-deficient."""
    from tensorexpr.data.entanglement import psd_factor

    rng = np.random.default_rng(9)
    X = rng.random((420, 12))
    if duplicates:
        X[200:, :5] = X[:220, :5]  # the first side repeats: rank(G_I) < n
    g = DataGrams(feature_embedding(X), explicit_max=1)
    I, J = tuple(range(5)), tuple(range(5, 12))
    EI, EJ = psd_factor(g.gram(I)), psd_factor(g.gram(J))
    if duplicates:
        assert EI.shape[1] < 420
    for _ in range(2):
        pair = g.side_pair(I, J)
        assert pair.small_cholesky is not None
        for y in (np.sign(rng.standard_normal(420)), rng.standard_normal(420)):
            got = np.sort(pair.squared(y))[::-1]
            want = np.linalg.svd(EI.T @ (y[:, None] * EJ), compute_uv=False) ** 2
            k = min(len(got), len(want))
            np.testing.assert_allclose(got[:k], want[:k], rtol=1e-8, atol=1e-10 * want[0])
            assert np.all(np.abs(got[k:]) <= 1e-10 * want[0]) and np.all(want[k:] <= 1e-10 * want[0])
        pair.release()


# -- the table of mistakes, data-layer rows (docs/errors.md) ------------------------------------------------------
_X = np.random.default_rng(0).random((20, 4))
_Y = np.arange(20) % 2
ERROR_ROWS = [
    ("entanglement-X-not-2d", lambda: data_entanglement(np.zeros(3), _Y, te.Partition.odd_even(4))),
    ("entanglement-X-nan", lambda: data_entanglement(np.full((20, 4), np.nan), _Y, te.Partition.odd_even(4))),
    ("entanglement-y-shape", lambda: data_entanglement(_X, _Y[:5], te.Partition.odd_even(4))),
    ("entanglement-partition-size", lambda: data_entanglement(_X, _Y, te.Partition.odd_even(6))),
    ("data-feature-map-unknown", lambda: data_entanglement(_X, _Y, te.Partition.odd_even(4), feature_map="foo")),
    ("data-landmarks-below-1", lambda: data_entanglement(_X, _Y, te.Partition.odd_even(4), method="nystrom",
                                                         landmarks=0)),
    ("data-geometry-mismatch-api", lambda: te.geometry_fit(_X, _Y, "line:8")),
    ("geometry-fit-method-unknown", lambda: te.geometry_fit(_X, _Y, "line:4", method="magic")),
    ("data-grams-over-budget", lambda: data_entanglement(_X, _Y, te.Partition.odd_even(4), memory_budget=1000)),
    ("geometry-fit-over-budget", lambda: te.geometry_fit(_X, _Y, "line:4", memory_budget=1000)),
]


@pytest.mark.parametrize("row, call", ERROR_ROWS, ids=[r for r, _ in ERROR_ROWS])
def test_data_mistakes_of_the_errors_page(row, call, check_error_row):
    check_error_row(row, call)
