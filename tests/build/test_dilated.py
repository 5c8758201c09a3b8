"""The tree decomposition (ICLR 2018 eq. 3), tilings and Theorem 7, each against an independent oracle."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.bounds.tiling import tiling, tiling_bounds
from tensorexpr.build import common_nodes, hybrid_tree
from tensorexpr.build.dilated import random_binary_tree
from tensorexpr.core.operators import OPERATORS


# -- oracle: eq. 3 entry by entry, straight from the formula (no Network code) -------------------------------
def _g(op: str, x, y):
    relu = lambda v: max(v, 0)
    return {"product": lambda: x * y, "relu-max": lambda: relu(max(x, y)), "relu-sum": lambda: relu(x) + relu(y),
            "relu-avg": lambda: (relu(x) + relu(y)) * Fraction(1, 2)}[op]()


def eq3_entry(tree: te.ModeTree, weights, F, idx, op: str = "product", out: int = 0):
    """phi^{root, out} at templates ``idx``: leaves phi^{{j},gamma} = v(idx_j)_gamma = F[idx_j, gamma]."""
    F = [[int(v) if isinstance(v, (int, np.integer)) else v for v in row] for row in np.asarray(F).tolist()]

    def phi(n):
        if tree.is_leaf(n):
            return F[idx[next(iter(n))]]
        kids = [phi(c) for c in tree.children(n)]
        W = [np.asarray(w).tolist() for w in weights[n]]
        res = []
        for gam in range(len(W[0][0])):
            combos = [sum(W[k][a][gam] * kids[k][a] for a in range(len(kids[k]))) for k in range(len(kids))]
            v = combos[0]
            for c in combos[1:]:
                v = _g(op, v, c)
            res.append(v)
        return res

    return phi(tree.root)[out]


def eq3_grid(tree, weights, F, op="product", out=0):
    T, N = np.shape(F)[0], tree.n_modes
    A = np.empty((T,) * N, dtype=object)
    for idx in itertools.product(range(T), repeat=N):
        A[idx] = eq3_entry(tree, weights, F, idx, op, out)
    return A


TREES = [te.ModeTree.dilated(8), te.ModeTree.dilated(8, "swapped"), te.ModeTree.dilated(4, "reversed"),
         te.ModeTree.from_nested(((0, (3, 1)), (2, 4)))]


@pytest.mark.parametrize("tree", TREES, ids=lambda t: t.name if t.name != "nested" else str(t.to_nested()))
def test_tree_decomposition_matches_eq3(tree):
    r, M = 2, (3 if tree.n_modes <= 5 else 2)  # M > r discretizers where the oracle stays cheap
    net = te.tree_decomposition(tree, r, M=M, outputs=2, seed=4, integer=True, int_range=5)
    assert net.M == r and net.F.shape == (M, r) and net.outputs == 2
    for out in range(2):
        want = eq3_grid(tree, net.meta["weights"], net.F, out=out)
        assert np.array_equal(te.grid_tensor(net, backend="exact", output=out), want)
    np.testing.assert_allclose(te.grid_tensor(net, output=1), want.astype(float), rtol=1e-10)


@pytest.mark.parametrize("op", sorted(OPERATORS))
def test_generalized_operators_match_eq3(op):
    tree = te.ModeTree.dilated(4, "reversed")
    net = te.tree_decomposition(tree, 2, op=op, seed=1, integer=True, int_range=4)
    want = eq3_grid(tree, net.meta["weights"], net.F, op=op)
    got = te.grid_tensor(net, backend="exact")
    assert all(Fraction(got[i]) == Fraction(want[i]) for i in np.ndindex(got.shape))


def test_non_binary_node_gets_one_edge_per_child():
    tree = te.ModeTree.from_nested(((0, 1, 2), 3))
    net = te.tree_decomposition(tree, 2, seed=2, integer=True, int_range=3)
    assert len(net.meta["weights"][frozenset({0, 1, 2})]) == 3
    assert np.array_equal(te.grid_tensor(net, backend="exact"), eq3_grid(tree, net.meta["weights"], net.F))


def test_not_the_convac_node_but_an_absorbed_ht_network():
    """Independent form: eq. 3 = an HT network whose node nu carries its parent's edge weight after its own
    product (leaves: F-rows times the edge weight), pools with identity weights, and a root without weight."""
    tree = te.ModeTree.dilated(8, "swapped")
    r = 3
    net = te.tree_decomposition(tree, r, seed=5, integer=True, int_range=6)
    w = net.meta["weights"]
    ht = {}
    for n in tree.nodes:
        if n == tree.root:
            ht[n] = None
            continue
        p = tree.parent[n]
        edge = np.asarray(w[p][tree.children(p).index(n)])
        ht[n] = edge  # leaf: (M=r, r) applied to F; internal: after the product
    # the root's pooled product is the output; hierarchical needs a weight there, so add the identity
    ht[tree.root] = np.eye(1, dtype=np.int64)
    h = te.hierarchical(tree, ht, r, F=net.F, integer=True)
    assert np.array_equal(te.grid_tensor(h, backend="exact"), te.grid_tensor(net, backend="exact"))


def test_parametrization_edges_free_pools_identity():
    net = te.tree_decomposition(te.ModeTree.dilated(8), 2, seed=0)
    kinds = net.parametrization()["nodes_by_kind"]
    assert kinds == {"free": 14, "tied": 0, "fixed": 0, "identity": 8 + 7}
    assert net.n_params == 12 * 4 + 2 * 2  # 12 edges (2x2), the two root edges (2x1)
    assert net.tree is None and net.meta["tree"] == te.ModeTree.dilated(8)


def test_dilated_spelling_and_swapped_order():
    assert te.dilated(8, 2, "swapped", seed=1).meta["tree"] == te.ModeTree.dilated(8, [2, 1, 4])
    assert te.ModeTree.dilated(16, "swapped") == te.ModeTree.dilated(16, [2, 1, 8, 4])
    # even levels of the swapped tree are those of the baseline tree
    a, b = te.ModeTree.dilated(16), te.ModeTree.dilated(16, "swapped")
    for lvl in (2, 4):
        assert set(a.nodes_at_level(lvl)) == set(b.nodes_at_level(lvl))
    assert set(a.nodes_at_level(1)) != set(b.nodes_at_level(1))


def test_default_discretizers_span():
    F = te.dilated(4, 3, M=5, seed=0, integer=True).F
    assert F.shape == (5, 3) and np.linalg.matrix_rank(F.astype(float)) == 3


def test_errors():
    t = te.ModeTree.dilated(4)
    with pytest.raises(te.NetworkError, match=r"shape \(M, r=2\)"):
        te.tree_decomposition(t, 2, F=np.eye(3))
    with pytest.raises(te.NetworkError, match="M >= r"):
        te.tree_decomposition(t, 3, M=2)
    with pytest.raises(te.NetworkError, match="expected \\(2, 2\\)"):
        te.tree_decomposition(t, 2, weights={n: (np.eye(3), np.eye(3)) for n in t.internal_nodes})
    with pytest.raises(te.NetworkError, match="one weight per child"):
        te.tree_decomposition(t, 2, weights={n: (np.eye(2),) for n in t.internal_nodes})
    with pytest.raises(te.NetworkError, match="r \\(channels\\)"):
        te.tree_decomposition(t, 0)


# -- tilings and Theorem 7 --------------------------------------------------------------------------------
def _brute_tiling(tree, I):
    """Def. 6 by brute force: nodes inside I none of whose strict ancestors lies inside I."""
    I = frozenset(I)
    anc = lambda n: [m for m in tree.nodes if n < m]
    return {n for n in tree.nodes if n <= I and not any(m <= I for m in anc(n))}


def test_tiling_definition_on_random_trees():
    rng = np.random.default_rng(0)
    for _ in range(30):
        n = int(rng.integers(2, 9))
        tree = random_binary_tree(n, rng)
        I = [i for i in range(n) if rng.random() < 0.5]
        th = tiling(tree, I)
        assert set(th) == _brute_tiling(tree, I)
        assert frozenset().union(*th) == frozenset(I) if I else th == ()


def test_worked_example_tilings_closed_forms():
    """N = 16: T and Tbar have N/4 + N/8 sibling pairs across I, the hybrid N/2 (the paper's counts)."""
    N = 16
    I = [2 * k - 2 for k in range(1, N // 4 + 1)] + [N // 2 + 4 * k - kk - 1 for k in range(1, N // 8 + 1) for kk in (2, 3)]
    P = te.Partition(I, N)
    a, b = te.ModeTree.dilated(N), te.ModeTree.dilated(N, "swapped")
    mix = [n for n in common_nodes(a, b) if len(n) == 4]
    H = hybrid_tree(a, b, mix, {**{m: "a" if max(m) < 8 else "b" for m in mix}, a.root: "a"})
    for tree, k in ((a, N // 4 + N // 8), (b, N // 4 + N // 8), (H, N // 2)):
        lo, up = tiling_bounds(tree, P, 3)
        assert lo.value == up.value == 3**k
        assert lo.side == "lower" and up.side == "upper" and "product" in lo.to_dict()["assumptions"]


def test_theorem7_root_children_pair_counts_one():
    """The root's children are siblings of depth 1: they add nothing to the lower bound (one output)."""
    t = te.ModeTree.line(4)
    lo, up = tiling_bounds(t, te.Partition([0, 1], 4), 2)
    assert (lo.value, up.value) == (1, 2)
    net = te.tree_decomposition(t, 2, seed=0, integer=True)
    assert te.rank(net, te.Partition([0, 1], 4), "exact").rank == 1


def _theorem7_cases(n_trees, n_range, rs, seed):
    rng = np.random.default_rng(seed)
    for t in range(n_trees):
        n = int(rng.integers(*n_range))
        tree = random_binary_tree(n, rng)
        for r in rs:
            I = sorted(rng.choice(n, size=int(rng.integers(1, n)), replace=False).tolist())
            yield tree, te.Partition(I, n), r, 100 * t


def _check_theorem7(tree, P, r, seed):
    lo, up = tiling_bounds(tree, P, r)
    best = 0
    for s in range(3):
        x = te.rank(te.tree_decomposition(tree, r, seed=seed + s, integer=True), P, "exact").rank
        assert x <= up.value, (tree.to_nested(), sorted(P.I), r, x, up.value)
        best = max(best, x)
        if best >= lo.value:
            break
    assert best >= lo.value, (tree.to_nested(), sorted(P.I), r, best, lo.value)


def test_theorem7_on_random_binary_trees():
    for case in _theorem7_cases(10, (3, 7), (2,), seed=1):
        _check_theorem7(*case)


@pytest.mark.slow
def test_theorem7_on_random_binary_trees_more():
    for case in _theorem7_cases(40, (3, 10), (2, 3), seed=2):
        if case[2] ** case[0].n_modes <= 60_000:
            _check_theorem7(*case)


def test_tiling_bounds_refuses_what_theorem7_does_not_cover():
    with pytest.raises(te.GeometryError, match="binary"):
        tiling_bounds(te.ModeTree.shallow(3), te.Partition([0], 3), 2)
    with pytest.raises(te.PartitionError):
        tiling_bounds(te.ModeTree.line(4), te.Partition([0], 8), 2)
