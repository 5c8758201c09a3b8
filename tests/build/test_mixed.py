"""Dilated mode trees and mixed decompositions (ICLR 2018 eq. 4, and the explicit sum convention)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.bounds.tiling import tiling_bounds
from tensorexpr.build import embed_hybrid, hybrid_choices, hybrid_tree
from tensorexpr.core.specs import parse_geometry
from tensorexpr.testing import reference_grid_tensor
from tensorexpr.core.operators import OPERATORS


@pytest.mark.parametrize("n", [2, 4, 8, 16])
def test_dilated_trees(n):
    assert te.ModeTree.dilated(n, "contiguous") == te.ModeTree.line(n)
    rev = te.ModeTree.dilated(n, "reversed")
    # level-1 nodes pool modes n/2 apart; level-l nodes are residue classes mod n / 2^l
    for lvl in range(1, rev.depth + 1):
        step = n >> lvl
        expected = {frozenset(range(i, n, step)) for i in range(step)}
        assert set(rev.nodes_at_level(lvl)) == expected


def test_dilated_spec_and_errors():
    assert parse_geometry("dilated:8:reversed") == te.ModeTree.dilated(8, "reversed")
    assert parse_geometry("dilated:8:2,1,4") == te.ModeTree.dilated(8, [2, 1, 4])
    with pytest.raises(te.GeometryError, match="power of 2"):
        te.ModeTree.dilated(6)
    with pytest.raises(te.GeometryError, match="permutation"):
        te.ModeTree.dilated(8, [1, 1, 4])
    with pytest.raises(te.GeometryError, match="Unknown dilation order"):
        te.ModeTree.dilated(8, "sideways")


def _split_weights(net):
    return net.meta["weights"]


@pytest.mark.parametrize("orders", [("contiguous", "reversed"), ([1, 2, 4], [2, 1, 4])])
def test_sum_convention_no_mixture_is_sum_of_two_networks(orders):
    a, b = (te.ModeTree.dilated(8, o) for o in orders)
    net = te.mixed(a, b, [], M=2, widths=[2, 3, 2], outputs=2, seed=5, integer=True, convention="sum")
    wa, wb = _split_weights(net)
    na = te.hierarchical(a, wa, 2, integer=True)
    nb = te.hierarchical(b, wb, 2, integer=True)
    for out in range(2):
        got = te.grid_tensor(net, backend="exact", output=out)
        want = te.grid_tensor(na, backend="exact", output=out) + te.grid_tensor(nb, backend="exact", output=out)
        assert np.array_equal(got, want)


def test_sum_convention_matches_reference_and_float():
    a, b = te.ModeTree.dilated(8, [1, 2, 4]), te.ModeTree.dilated(8, [2, 1, 4])
    net = te.mixed(a, b, [{0, 1, 2, 3}, {4, 5, 6, 7}], M=2, widths=2, seed=1, integer=True, convention="sum")
    exact = te.grid_tensor(net, backend="exact")
    assert np.array_equal(exact, reference_grid_tensor(net))
    np.testing.assert_allclose(te.grid_tensor(net), exact.astype(float), rtol=1e-10)


def test_sum_convention_mixture_at_leaves_is_explicit_formula():
    """Mixing at every leaf: both trees read a_l + b_l, i.e. two HT nets with summed leaf weights."""
    a, b = te.ModeTree.dilated(4, "contiguous"), te.ModeTree.dilated(4, "reversed")
    leaves = [{m} for m in range(4)]
    net = te.mixed(a, b, leaves, M=2, widths=2, seed=2, integer=True, convention="sum")
    wa, wb = _split_weights(net)
    sa = {n: (wa[n] + wb[n] if len(n) == 1 else wa[n]) for n in a.nodes}
    sb = {n: (wa[n] + wb[n] if len(n) == 1 else wb[n]) for n in b.nodes}
    want = te.grid_tensor(te.hierarchical(a, sa, 2, integer=True), backend="exact") + te.grid_tensor(te.hierarchical(
        b, sb, 2, integer=True), backend="exact")
    assert np.array_equal(te.grid_tensor(net, backend="exact"), want)


def test_sum_convention_rank_at_least_components():
    """[derived] zeroing tree b recovers tree a, so generically rank(mixed) >= rank(a), rank(b)."""
    a, b = te.ModeTree.dilated(8, [1, 2, 4]), te.ModeTree.dilated(8, [2, 1, 4])
    net = te.mixed(a, b, [{0, 1, 2, 3}], M=2, widths=2, seed=0, integer=True, convention="sum")
    for P in [te.Partition.odd_even(8), te.Partition([0, 1, 4, 5], 8), te.Partition.left_right(8)]:
        ra = te.rank(te.convac(a, 2, 2, seed=0, integer=True), P, "exact").rank
        rb = te.rank(te.convac(b, 2, 2, seed=0, integer=True), P, "exact").rank
        assert te.rank(net, P, "exact").rank >= max(ra, rb)


def test_bad_mixture_node_names_it_and_lists_common():
    a, b = te.ModeTree.dilated(8, [1, 2, 4]), te.ModeTree.dilated(8, [2, 1, 4])
    with pytest.raises(te.GeometryError, match=r"\{0,1\}.*\{0,1,2,3\}"):
        te.mixed(a, b, [{0, 1}], M=2, widths=2)
    with pytest.raises(te.GeometryError, match="not a node of both"):
        te.mixed(a, b, [set(range(8))], M=2, widths=2)  # the root is not a mixture node
    with pytest.raises(te.GeometryError, match="modes"):
        te.mixed(a, te.ModeTree.line(4), [], M=2, widths=2)
    with pytest.raises(te.NetworkError, match="width"):
        te.mixed(a, b, [{0, 1, 2, 3}], M=2, widths=[2, 2, 2], widths_b=[2, 2, 3], convention="sum")


# -- the paper's mixed decomposition (eq. 4): oracle straight from the formula, no Network code ----------------
def _g(op, x, y):
    from fractions import Fraction

    relu = lambda v: max(v, 0)
    return {"product": lambda: x * y, "relu-max": lambda: relu(max(x, y)), "relu-sum": lambda: relu(x) + relu(y),
            "relu-avg": lambda: (relu(x) + relu(y)) * Fraction(1, 2)}[op]()


def eq4_entry(trees, weights, mix, F, idx, op="product", out=0):
    """A^out at templates idx: both tree decompositions (eq. 3) in inclusion order; at each mixture node the
    channels gamma < r/2 of phi and phibar are exchanged; A = phi^root + phibar^root."""
    F = np.asarray(F).tolist()
    r = len(F[0])
    memo = {}

    def pre(x, n):  # phi before any swap at n
        tree = trees[x]
        if tree.is_leaf(n):
            return F[idx[next(iter(n))]]
        kids = [val(x, c) for c in tree.children(n)]
        W = [np.asarray(w).tolist() for w in weights[x][n]]
        res = []
        for gam in range(len(W[0][0])):
            combos = [sum(W[k][a][gam] * kids[k][a] for a in range(r)) for k in range(len(kids))]
            v = combos[0]
            for c in combos[1:]:
                v = _g(op, v, c)
            res.append(v)
        return res

    def val(x, n):  # phi after the swap at n (if n is a mixture node)
        if (x, n) not in memo:
            if n in mix:
                own, other = pre(x, n), pre(1 - x, n)
                memo[(x, n)] = [other[g] if g < r // 2 else own[g] for g in range(r)]
            else:
                memo[(x, n)] = pre(x, n)
        return memo[(x, n)]

    return pre(0, trees[0].root)[out] + pre(1, trees[1].root)[out]


def eq4_grid(net, op="product", out=0):
    trees = net.meta["trees"]
    mix = set(net.meta["mixture_nodes"])
    T, N = net.F.shape[0], trees[0].n_modes
    A = np.empty((T,) * N, dtype=object)
    for idx in itertools.product(range(T), repeat=N):
        A[idx] = eq4_entry(trees, net.meta["weights"], mix, net.F, idx, op, out)
    return A


SWAP_CASES = [
    (te.ModeTree.dilated(8), te.ModeTree.dilated(8, "swapped"), [{0, 1, 2, 3}, {4, 5, 6, 7}], 2),
    (te.ModeTree.dilated(8), te.ModeTree.dilated(8, "swapped"), [{4, 5, 6, 7}], 4),
    (te.ModeTree.dilated(4), te.ModeTree.from_nested(((0, 1), (3, 2))), [{0, 1}, {2, 3}], 4),
    (te.ModeTree.from_nested((((0, 1), 2), (3, 4))), te.ModeTree.from_nested((((1, 2), 0), (4, 3))),
     [{0, 1, 2}, {3, 4}], 2),
]


@pytest.mark.parametrize("case", range(len(SWAP_CASES)))
def test_swap_default_matches_eq4(case):
    a, b, mix, r = SWAP_CASES[case]
    M = r if a.n_modes == 8 and r == 4 else r + 1 if a.n_modes <= 5 else r
    net = te.mixed(a, b, mix, M=M, widths=r, outputs=2, seed=case, integer=True, int_range=6)
    assert net.meta["convention"] == "swap" and net.M == r and net.F.shape == (M, r)
    if M ** a.n_modes > 5000:
        # the full oracle grid would be slow: compare the entries on a seeded sample
        rng = np.random.default_rng(case)
        got = te.grid_tensor(net, backend="exact", output=1)
        for _ in range(60):
            idx = tuple(int(i) for i in rng.integers(0, M, size=a.n_modes))
            assert got[idx] == eq4_entry((a, b), net.meta["weights"], set(net.meta["mixture_nodes"]), net.F, idx, out=1)
        return
    for out in range(2):
        assert np.array_equal(te.grid_tensor(net, backend="exact", output=out), eq4_grid(net, out=out))


@pytest.mark.parametrize("op", sorted(set(OPERATORS) - {"product"}))
def test_swap_generalized_operators_match_eq4(op):
    from fractions import Fraction

    a, b = te.ModeTree.dilated(4), te.ModeTree.dilated(4, "reversed")
    net = te.mixed(a, b, [], widths=2, seed=3, integer=True, int_range=4, op=op)
    got, want = te.grid_tensor(net, backend="exact"), eq4_grid(net, op=op)
    assert all(Fraction(got[i]) == Fraction(want[i]) for i in np.ndindex(got.shape))
    c, d = te.ModeTree.dilated(8), te.ModeTree.dilated(8, "swapped")
    net = te.mixed(c, d, [{0, 1, 2, 3}], widths=2, seed=4, integer=True, int_range=4, op=op)
    got, want = te.grid_tensor(net, backend="exact"), eq4_grid(net, op=op)
    assert all(Fraction(got[i]) == Fraction(want[i]) for i in np.ndindex(got.shape))


def test_swap_without_mixture_nodes_is_the_plain_sum():
    a, b = te.ModeTree.dilated(8), te.ModeTree.dilated(8, "reversed")
    net = te.mixed(a, b, [], widths=3, seed=9, integer=True)  # odd r is fine without mixture nodes
    wa, wb = net.meta["weights"]
    ta = te.tree_decomposition(a, 3, F=net.F, weights=wa, integer=True)
    tb = te.tree_decomposition(b, 3, F=net.F, weights=wb, integer=True)
    assert np.array_equal(te.grid_tensor(net, backend="exact"),
                          te.grid_tensor(ta, backend="exact") + te.grid_tensor(tb, backend="exact"))


def test_swap_is_a_fixed_weight_and_the_swap_matters():
    a, b = te.ModeTree.dilated(8), te.ModeTree.dilated(8, "swapped")
    mix = [{0, 1, 2, 3}, {4, 5, 6, 7}]
    net = te.mixed(a, b, mix, widths=2, seed=0, integer=True)
    swaps = [nd for nd in net.live_nodes if nd.kind == "linear" and ":" in nd.id]
    assert len(swaps) == 4 * len(mix)
    assert all(net.weight_kind(nd.id) == "fixed" for nd in swaps)
    # per post-swap value: keep channel 1 of its own tree, take channel 0 (gamma < r/2) from the other tree
    for nd in swaps:
        want = [[0, 0], [0, 1]] if nd.id.endswith(":keep") else [[1, 0], [0, 0]]
        assert nd.weight.tolist() == want
        own = nd.id.split(".")[1]  # "mix.a.t0-3:keep" reads a.t0-3
        assert net.node(nd.children[0]).id.startswith(own if nd.id.endswith(":keep") else {"a": "b", "b": "a"}[own])
    wa, wb = net.meta["weights"]
    free = sum(np.size(w) for ws in (wa, wb) for e in ws.values() for w in e)
    assert net.n_params == free  # the swaps and the output identity add no parameter
    # without the swap (no mixture nodes) the same weights give another tensor
    plain = te.mixed(a, b, [], widths=2, F=net.F, weights=(wa, wb), integer=True)
    assert not np.array_equal(te.grid_tensor(plain, backend="exact"), te.grid_tensor(net, backend="exact"))


def test_swap_errors():
    a, b = te.ModeTree.dilated(8), te.ModeTree.dilated(8, "swapped")
    with pytest.raises(te.NetworkError, match="odd"):
        te.mixed(a, b, [{0, 1, 2, 3}], widths=3)
    with pytest.raises(te.GeometryError, match="leaf"):
        te.mixed(a, b, [{0}], widths=2)
    with pytest.raises(te.NetworkError, match="widths_b"):
        te.mixed(a, b, [], widths=2, widths_b=2)
    with pytest.raises(te.NetworkError, match="convention"):
        te.mixed(a, b, [], widths=2, convention="average")
    with pytest.raises(te.NetworkError, match="size constant"):
        te.mixed(a, b, [], M=2)
    with pytest.raises(te.GeometryError, match="twice"):
        te.mixed(a, b, [{0, 1, 2, 3}, {0, 1, 2, 3}], widths=2)
    with pytest.raises(te.NetworkError, match="needs M"):
        te.mixed(a, b, [], widths=2, convention="sum")


def test_mixed_certify_agrees_with_exact():
    """certify on the swap form: any certified value must be the exact generic rank (here lower = upper)."""
    a, b = te.ModeTree.dilated(8), te.ModeTree.dilated(8, "swapped")
    net = te.mixed(a, b, [{0, 1, 2, 3}, {4, 5, 6, 7}], widths=2, seed=0, integer=True)
    for I in ([0, 2, 4, 5], [0, 1, 2, 3], [0, 1, 4, 6]):
        P = te.Partition(I, 8)
        c = te.certify(net, P)
        ex = te.rank(net, P, "exact").rank
        assert c.lower <= ex <= c.upper
        if c.certified:
            assert c.lower == max(te.rank(te.mixed(a, b, [{0, 1, 2, 3}, {4, 5, 6, 7}], widths=2, seed=s,
                                                  integer=True), P, "exact").rank for s in range(3))


# -- hybrid trees and Claim 5 ----------------------------------------------------------------------------------
def test_hybrid_trees_of_dilated_pair():
    a, b = te.ModeTree.dilated(8), te.ModeTree.dilated(8, "swapped")
    mix = [{0, 1, 2, 3}, {4, 5, 6, 7}]
    hs = {hybrid_tree(a, b, mix, ch) for ch in hybrid_choices(a, mix)}
    assert len(list(hybrid_choices(a, mix))) == 8
    assert hs == {te.ModeTree.from_nested((x, y)) for x in (((0, 1), (2, 3)), ((0, 2), (1, 3)))
                  for y in (((4, 5), (6, 7)), ((4, 6), (5, 7)))}
    assert hybrid_tree(a, b, mix, ["a", "a", "a"]) == a
    with pytest.raises(te.GeometryError, match="segment tops"):
        hybrid_tree(a, b, mix, {frozenset(range(8)): "a"})


def _claim5_case(a, b, mix, r, h, seed):
    rng = np.random.default_rng(seed)
    F = rng.integers(-5, 6, size=(r + 1, r)).astype(np.int64)
    Bm = rng.integers(-3, 4, size=(r, h)).astype(np.int64)
    while np.linalg.matrix_rank((F @ Bm).astype(float)) < h:  # the hybrid's discretizers must span R^h
        Bm = rng.integers(-3, 4, size=(r, h)).astype(np.int64)
    for ch in hybrid_choices(a, mix):
        H = hybrid_tree(a, b, mix, ch)
        s = seed
        hn = te.tree_decomposition(H, h, F=F @ Bm, seed=s, integer=True, int_range=7, outputs=2)
        while not all(np.any(te.grid_tensor(hn, backend="exact", output=o) != 0) for o in range(2)):
            s += 1000  # a zero hybrid (a zero 1x1 edge weight) would make the comparison vacuous: redraw
            hn = te.tree_decomposition(H, h, F=F @ Bm, seed=s, integer=True, int_range=7, outputs=2)
        wa, wb = embed_hybrid(a, b, mix, ch, hn.meta["weights"], r, B=Bm)
        mn = te.mixed(a, b, mix, widths=r, F=F, weights=(wa, wb), integer=True, outputs=2)
        for out in range(2):
            gh = te.grid_tensor(hn, backend="exact", output=out)
            assert np.array_equal(te.grid_tensor(mn, backend="exact", output=out), gh), (H.to_nested(), out)


def test_claim5_mixed_reproduces_every_hybrid():
    _claim5_case(te.ModeTree.dilated(4), te.ModeTree.dilated(4, "reversed"), [], 2, 1, 0)
    _claim5_case(te.ModeTree.from_nested(((0, 1), (2, 3))), te.ModeTree.from_nested(((1, 0), (3, 2))),
                 [{0, 1}, {2, 3}], 2, 1, 1)
    _claim5_case(te.ModeTree.from_nested((((0, 1), 2), (3, 4))), te.ModeTree.from_nested((((1, 2), 0), (4, 3))),
                 [{0, 1, 2}, {3, 4}], 4, 2, 2)


@pytest.mark.slow
def test_claim5_dilated_8_and_ranks_per_partition():
    a, b = te.ModeTree.dilated(8), te.ModeTree.dilated(8, "swapped")
    mix = [{0, 1, 2, 3}, {4, 5, 6, 7}]
    _claim5_case(a, b, mix, 4, 2, 3)
    F = np.random.default_rng(4).integers(-9, 10, size=(4, 4)).astype(np.int64)
    hyb = [te.tree_decomposition(hybrid_tree(a, b, mix, ch), 2, F=F[:, :2], seed=k, integer=True)
           for k, ch in enumerate(hybrid_choices(a, mix))]
    mn = te.mixed(a, b, mix, widths=4, F=F, seed=5, integer=True)
    for P in te.Partition.all_balanced(8):
        assert te.rank(mn, P, "exact").rank >= max(te.rank(h, P, "exact").rank for h in hyb)


def test_claim5_generic_rank_per_partition_small():
    """Per partition the mixed decomposition of size 4 reaches at least every hybrid of size 2 (exact ranks;
    the hybrids' generic ranks are pinned by Theorem 7 where its bounds meet)."""
    a, b = te.ModeTree.from_nested((((0, 1), 2), (3, 4))), te.ModeTree.from_nested((((1, 2), 0), (4, 3)))
    mix = [{0, 1, 2}, {3, 4}]
    F = np.random.default_rng(6).integers(-9, 10, size=(4, 4)).astype(np.int64)
    mn = te.mixed(a, b, mix, widths=4, F=F, seed=6, integer=True)
    for I in ([0], [1, 3], [0, 2, 4], [2, 3], [1, 2]):
        P = te.Partition(I, 5)
        for ch in hybrid_choices(a, mix):
            H = hybrid_tree(a, b, mix, ch)
            lo, up = tiling_bounds(H, P, 2)
            h = te.rank(te.tree_decomposition(H, 2, F=F[:, :2], seed=7, integer=True), P, "exact").rank
            assert lo.value <= h <= up.value
            assert te.rank(mn, P, "exact").rank >= max(h, lo.value)


@pytest.mark.slow
def test_theory_mixed_quick_scale_passes():
    import theory

    rep = theory.run_claim("mixed", "quick")
    assert rep.passed, [c for c in rep.checks if not c.passed]
    assert {c.name for c in rep.checks} >= {"Theorem 7 upper bound (every draw)", "Theorem 7 lower bound (generic)",
                                            "Claim 5: generic rank per partition"}
