"""geometry_fit against per-partition data_entanglement (no shared Grams) and the dense tensor; rearrange
against a planted layout."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import tensorexpr as te
from tensorexpr.core.errors import GeometryError
from tensorexpr.data import canonical_nodes, data_entanglement, geometry_fit, rank_geometries, rearrange


@pytest.mark.parametrize("tree", [te.ModeTree.line(8), te.ModeTree.grid(4, 4), te.ModeTree.grid(4, 4, geometry="mirror"),
                                  te.ModeTree.from_nested(((0, 5), (1, (2, 7)), (3, 4, 6)))])
@pytest.mark.parametrize("method", ["exact", "nystrom"])
def test_per_node_equals_separate_partitions(tree, method):
    rng = np.random.default_rng(0)
    X, y = rng.random((70, tree.n_modes)), np.sign(rng.standard_normal(70))
    fit = geometry_fit(X, y, tree, method=method, landmarks=70)
    assert set(fit.per_node) == set(canonical_nodes(tree))
    for t, e in fit.per_node.items():
        ref = data_entanglement(X, y, te.Partition(sorted(t), tree.n_modes), method="exact")
        assert e == pytest.approx(ref.entropy, abs=1e-8)
    assert fit.total == pytest.approx(np.mean(list(fit.per_node.values())))
    assert fit.worst == max(fit.per_node.values())


_UNEVEN24 = te.ModeTree.from_nested(((((0, 1), (2, 3, 4)), (((5, 6), (7, 8)), ((9, 10), 11))), 22,
                                     ((12, 13, 14), ((15, 16), (17, 18)), (19, 20, 21)), 23))


@pytest.mark.parametrize("tree", [te.ModeTree.grid(4, 8), te.ModeTree.line(32), _UNEVEN24],
                         ids=["grid4x8", "line32", "uneven24"])
def test_fit_on_large_sides_equals_two_sided_factors(tree):
    """n above one row block and sides above explicit_max (the congruence path, HadamardGram complements, nested
    small subtrees whose complements stay lazy, recycled buffers): every node's entropy against the SVD of
    E_I^T D E_J, both sides pivoted-Cholesky factored from directly computed Grams."""
    from tensorexpr.data.entanglement import DataGrams, feature_embedding, psd_factor, spectrum_from_squares

    rng = np.random.default_rng(11)
    X, y = rng.random((400, tree.n_modes)), np.sign(rng.standard_normal(400))
    classes = rng.integers(0, 3, 400)  # three classes: one-vs-rest, the label vectors applied together
    g = DataGrams(feature_embedding(X))
    for labels, fit in (([y], geometry_fit(X, y, tree)),
                        ([np.where(classes == c, 1.0, -1.0) for c in range(3)], geometry_fit(X, classes, tree))):
        for t, e in fit.per_node.items():
            EI, EJ = psd_factor(g.gram(sorted(t))), psd_factor(g.gram(sorted(tree.root - t)))
            want = [spectrum_from_squares(np.linalg.svd(EI.T @ (yc[:, None] * EJ), compute_uv=False) ** 2, "P",
                                          "exact", 400, 1e-6, 0.0).entropy for yc in labels]
            assert e == pytest.approx(np.mean(want), abs=1e-8)
    assert any(2 ** len(t) > 256 for t in fit.per_node)  # the congruence path was taken


def _two_sided_entropy(X: np.ndarray, y: np.ndarray, node: frozenset, N: int) -> float:
    """The reference: both sides' Grams computed directly, pivoted-Cholesky factored, SVD of E_I^T D E_J."""
    from tensorexpr.data.entanglement import DataGrams, feature_embedding, psd_factor, spectrum_from_squares

    g = DataGrams(feature_embedding(X))
    EI, EJ = psd_factor(g.gram(sorted(node))), psd_factor(g.gram(sorted(set(range(N)) - node)))
    sq = np.linalg.svd(EI.T @ (y[:, None] * EJ), compute_uv=False) ** 2
    return spectrum_from_squares(sq, "P", "exact", len(X), 1e-6, 0.0).entropy


@settings(max_examples=40, deadline=None)
@given(N=st.integers(2, 24), n=st.integers(3, 48), seed=st.integers(0, 10**6), classes=st.sampled_from([0, 3]))
def test_fit_equals_two_sided_reference_on_random_trees(N, n, seed, classes):
    """Random trees up to 24 modes (fan-in up to 4): every path of the shared computation (explicit rows, lazy
    complements, the congruence for two sides over 256 dimensions, recycled buffers, several label vectors)
    against the per-node reference that shares nothing."""
    from tensorexpr.testing import random_tree

    rng = np.random.default_rng(seed)
    tree = random_tree(N, rng, max_fan=4)
    X = rng.random((n, N))
    y = rng.integers(0, classes, n) if classes else np.sign(rng.standard_normal(n))
    present = np.unique(y)
    if classes:  # integer labels: one-vs-rest over the classes present; two classes are one +-1 vector
        assume(len(present) > 1)
        labels = [np.where(y == c, 1.0, -1.0) for c in (present if len(present) > 2 else present[1:])]
    else:
        labels = [y]
    fit = geometry_fit(X, y, tree)
    for t, e in fit.per_node.items():
        want = np.mean([_two_sided_entropy(X, yc, t, N) for yc in labels])
        assert e == pytest.approx(want, abs=1e-7)


def test_canonical_nodes_dedupe_complements():
    t = te.ModeTree.line(8)  # root children {0..3} and {4..7} give one partition
    nodes = canonical_nodes(t)
    assert len(nodes) == 5 and frozenset(range(4)) in nodes and frozenset(range(4, 8)) not in nodes


def test_multiclass_is_one_vs_rest_mean():
    rng = np.random.default_rng(1)
    X, y = rng.random((45, 4)), rng.integers(0, 3, 45)
    fit = geometry_fit(X, y, "line:4")
    (t,) = canonical_nodes(te.ModeTree.line(4))
    want = np.mean([data_entanglement(X, np.where(y == c, 1.0, -1.0), te.Partition(sorted(t), 4)).entropy
                    for c in range(3)])
    assert fit.per_node[t] == pytest.approx(want, abs=1e-9)


def planted(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Eight features in four tightly coupled pairs (0,1), (2,3), ...: a line tree fits it with zero
    cross-pair correlation."""
    rng = np.random.default_rng(seed)
    base = rng.random((n, 4))
    X = np.repeat(base, 2, axis=1) + 0.01 * rng.standard_normal((n, 8))
    return np.clip(X, 0, 1), np.sign(base[:, 0] - 0.5) * np.sign(base[:, 2] - 0.5)


def test_rearrange_recovers_a_planted_layout():
    X, y = planted(300, 0)
    perm = np.random.default_rng(7).permutation(8)
    Xs = X[:, perm]
    tree = te.ModeTree.line(8)
    p = rearrange(Xs, y, tree)
    assert sorted(p) == list(range(8))
    pairs = {frozenset(perm[p[[2 * k, 2 * k + 1]]] // 2) for k in range(4)}
    assert all(len(s) == 1 for s in pairs)  # each sibling pair holds one planted pair
    before = geometry_fit(Xs, y, tree).total
    after = geometry_fit(Xs[:, p], y, tree).total
    assert after < before


def test_rank_geometries_and_errors():
    rng = np.random.default_rng(2)
    X, y = rng.random((30, 16)), np.sign(rng.standard_normal(30))
    fits = rank_geometries(X, y, (4, 4))
    assert [f.total for f in fits] == sorted(f.total for f in fits) and len(fits) == 3
    with pytest.raises(GeometryError, match="16 modes but the data has 8 features"):
        geometry_fit(X[:, :8], y, "grid:4x4:square")
    with pytest.raises(GeometryError, match="Unknown geometries"):
        rank_geometries(X, y, (4, 4), ["hexagonal"])


@pytest.mark.parametrize("method", ["exact", "nystrom"])
@pytest.mark.parametrize("tree", [te.ModeTree.grid(4, 4), te.ModeTree.line(8), te.ModeTree.grid(4, 4, geometry="mirror")])
def test_node_grams_match_direct_hadamard_products(method, tree):
    """Each yielded pair equals the Grams computed directly from the per-feature Grams, for subtrees stored as
    Grams and for those kept as explicit rows (explicit_max=16 puts the 4-mode nodes on the rows path)."""
    from tensorexpr.data.entanglement import DataGrams, HadamardGram, feature_embedding
    from tensorexpr.data.fit import canonical_nodes, node_grams

    rng = np.random.default_rng(3)
    Phi = feature_embedding(rng.random((40, tree.n_modes)))
    g = DataGrams(Phi, method, landmarks=15, explicit_max=16)
    nodes = canonical_nodes(tree)
    seen = set()
    for node, g_s, g_c in node_grams(g, tree, nodes):
        seen.add(node)
        if 2 ** len(node) <= 16:
            assert g_s is None
        else:
            np.testing.assert_allclose(g_s, g.gram(sorted(node)), rtol=1e-12, atol=1e-12)
        if method == "exact" and 2 ** len(node) <= 16:  # a small node's complement is kept as its factors
            assert isinstance(g_c, HadamardGram)
            x = rng.standard_normal((40, 3))
            np.testing.assert_allclose(g_c @ x, g.gram(sorted(tree.root - node)) @ x, rtol=1e-12, atol=1e-12)
            g_c = g_c.dense()
        np.testing.assert_allclose(g_c, g.gram(sorted(tree.root - node)), rtol=1e-12, atol=1e-12)
    assert seen == {s for s in nodes if not tree.is_leaf(s)}
