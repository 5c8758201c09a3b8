"""Ranks against closed forms ([derived] in docs/theory.md) and independent methods."""

import itertools
import math
import warnings

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.rank import RankWarning, rank_many

CASES = [(N, M, r0) for N in (8, 16) for M in (2, 3) for r0 in (2, 3, 4)]


@pytest.mark.parametrize("N,M,r0", CASES)
def test_ht_odd_even_rank_is_min_r0_M_pow_half(N, M, r0):
    """COLT 2016 Thm. 1 / docs/theory.md [derived]: generic odd/even rank = min(r_0, M)^(N/2), whatever r_1..r_{L-1}.

    3^16 entries make a 6561x6561 matricization: there the structured rank does the work, with top width 1
    so that the last step is a Kronecker product of two exactly ranked halves (seconds, not a minute). The
    full-width case runs in tests/rank/test_structured.py under -m slow, and te.certify proves it
    in tests/bounds/test_certificate.py.
    """
    big = M**N > 50_000
    widths = [r0] + [3] * (int(math.log2(N)) - 2) + [1] if big else r0
    net = te.convac(te.ModeTree.line(N), M=M, widths=widths, seed=N + M + r0, integer=True)
    res = te.rank(net, te.Partition.odd_even(N), method="structured" if big else "exact")
    assert res.rank == min(r0, M) ** (N // 2)


@pytest.mark.parametrize("N,M,r0", [c for c in CASES if c[1] ** c[0] <= 50_000])
def test_ht_left_right_at_most_top_width(N, M, r0):
    widths = [r0] + [2] * (int(math.log2(N)) - 2) + [3]
    net = te.convac(te.ModeTree.line(N), M=M, widths=widths, seed=1, integer=True)
    assert te.rank(net, te.Partition.left_right(N), method="exact").rank <= widths[-1]


@pytest.mark.parametrize("Z", [1, 2, 3, 5, 9, 20])
@pytest.mark.parametrize("I", [(0,), (0, 1), (0, 2, 4)])
def test_cp_rank_is_min_Z_M_pow(Z, I):
    """CP [derived upper bound; generic attainment observed]: rank = min(Z, M^min(|I|,|J|))."""
    n, M = 6, 2
    net = te.cp(n, M=M, Z=Z, seed=Z, integer=True)
    P = te.Partition(I, n)
    assert te.rank(net, P, method="exact").rank == min(Z, M ** min(len(P.I), len(P.J)))


def _window_lower_bound(tree: te.ModeTree, P: te.Partition, r0: int, M: int) -> int:
    """Specialization bound over first-level windows ([derived] in docs/theory.md)."""
    return math.prod(min(r0, M ** min(P.side(w))) for w in tree.nodes_at_level(1))


def test_quad_tree_square_vs_mirror():
    h = w = 4
    M, r = 2, [2, 3]
    sq = te.convac(te.ModeTree.grid(h, w), M=M, widths=r, seed=0, integer=True)
    mi = te.convac(te.ModeTree.grid(h, w, geometry="mirror"), M=M, widths=r, seed=0, integer=True)
    lr, tb, cb = (te.Partition.grid(h, w, k) for k in ("left_right", "top_bottom", "checkerboard"))
    # coarse partitions under square pooling: every root child is pure -> rank <= r_{L-1}
    for P in (lr, tb):
        assert te.rank(sq, P, method="exact").rank <= r[-1]
    # checkerboard: every first-level window is mixed -> exponential lower bound
    cb_rank = te.rank(sq, cb, method="exact").rank
    assert cb_rank >= _window_lower_bound(sq.tree, cb, r[0], M) == 2**4 > r[-1]
    # mirror pooling reverses this for left_right
    lr_mirror = te.rank(mi, lr, method="exact").rank
    assert lr_mirror >= _window_lower_bound(mi.tree, lr, r[0], M) == 2**4 > r[-1]
    # ... and has coarse halves of its own, where square pooling is exponential
    mlr = te.Partition.grid(h, w, "mirror_left_right")
    assert te.rank(mi, mlr, method="exact").rank <= r[-1]
    assert te.rank(sq, mlr, method="exact").rank >= _window_lower_bound(sq.tree, mlr, r[0], M) == 2**4


def test_invertible_F_preserves_rank_singular_F_lowers_it():
    t = te.ModeTree.line(8)
    P = te.Partition.odd_even(8)
    net = te.convac(t, M=3, widths=3, seed=4, integer=True)
    base = te.rank(net, P, method="exact").rank
    assert base == 81
    F_inv = np.array([[1, 2, 0], [0, 1, 1], [1, 0, 1]])  # det = 3
    assert round(np.linalg.det(F_inv)) != 0
    assert te.rank(net.with_F(F_inv), P, method="exact").rank == base
    F_sing = np.array([[1, 2, 0], [2, 4, 0], [0, 0, 1]])  # rank 2
    low = te.rank(net.with_F(F_sing), P, method="exact").rank
    assert low < base and low <= 2 ** 4  # each pair now sees at most 2 independent templates per mode


@pytest.mark.parametrize("op", ["relu-avg", "relu-sum"])
def test_shallow_relu_sum_pooling_rank_at_most_2(op):
    """docs/theory.md [derived]: h = sum_i g(x_i) has rank <= 2 under every partition."""
    n = 6
    net = te.convac(te.ModeTree.shallow(n), M=3, widths=[5], seed=0, op=op, integer=True)
    A = te.grid_tensor(net, backend="exact")
    for P in itertools.islice(te.Partition.all_balanced(n), 10):
        assert te.rank(A, P, method="exact").rank <= 2
    for I in [(0,), (0, 1), (2, 4)]:
        assert te.rank(A, te.Partition(I, n), method="exact").rank <= 2


def test_relu_max_deep_is_not_low_rank():
    net = te.convac(te.ModeTree.line(8), M=3, widths=3, seed=0, op="relu-max")
    r = te.rank(net, te.Partition.odd_even(8), method="numeric", gap_warn=0).rank
    assert r > 2


@pytest.mark.parametrize("seed", range(4))
def test_exact_and_numeric_agree_when_gap_is_clear(seed):
    rng = np.random.default_rng(seed)
    net = te.convac(te.ModeTree.line(8), M=3, widths=[int(x) for x in rng.integers(1, 4, 3)], seed=seed, integer=True)
    P = te.Partition.random(8, seed=seed)
    num = te.rank(net, P, method="numeric")
    ex_q = te.rank(net, P, method="exact", field="rational")
    ex_p = te.rank(net, P, method="exact", field="prime")
    assert num.gap > 1e6
    assert num.rank == ex_q.rank == ex_p.rank
    assert ex_q.field == "Q" and ex_p.field.startswith("GF(")


def test_numeric_warns_on_ambiguous_gap():
    u = np.linalg.qr(np.random.default_rng(0).standard_normal((16, 16)))[0]
    s = np.array([1.0, 0.5, 1e-9, 1e-10] + [0.0] * 12)
    A = (u * s @ u.T).reshape(2, 2, 2, 2, 2, 2, 2, 2)  # rows = modes 0..3, cols = modes 4..7
    P = te.Partition(range(4), 8)
    with pytest.warns(RankWarning, match="ambiguous"):
        res = te.rank(A, P, method="numeric", tol=1e-9 * 0.99)
    assert res.rank == 3 and res.gap < 100
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert te.rank(A, P, method="numeric", tol=1e-6).rank == 2


def test_rank_result_report():
    net = te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0, integer=True)
    r = te.rank(net, te.Partition.odd_even(4), method="exact")
    d = r.to_dict()
    assert d["rank"] == r.rank and d["max_rank"] == 4 and d["method"] == "exact"
    assert "rank=" in repr(r) and "odd_even" in repr(r)
    assert int(r) == r.rank


def test_rank_errors():
    net = te.convac(te.ModeTree.line(8), M=2, widths=2, seed=0)
    with pytest.raises(te.PartitionError, match="missing"):
        te.rank(net, te.Partition.odd_even(6))
    with pytest.raises(te.RankError, match="integer"):
        te.rank(net, te.Partition.odd_even(8), method="exact")
    with pytest.raises(te.RankError, match="Unknown rank method"):
        te.rank(net, te.Partition.odd_even(8), method="magic")
    with pytest.raises(te.RankError, match="integer tensor"):
        te.rank(np.ones((2,) * 8), te.Partition.odd_even(8), method="exact")


def test_matricize_matches_definition(rng):
    A = rng.standard_normal((2, 3, 2, 4))
    P = te.Partition([1, 3], 4)
    Mx = te.matricize(A, P)
    assert Mx.shape == (12, 4)
    for idx in itertools.product(*map(range, A.shape)):
        row = idx[1] * 4 + idx[3]
        col = idx[0] * 2 + idx[2]
        assert Mx[row, col] == A[idx]
    with pytest.raises(te.PartitionError, match="modes"):
        te.matricize(A, te.Partition.odd_even(6))


@pytest.mark.parametrize("method", ["numeric", "exact", "structured"])
def test_rank_many_equals_rank_per_partition(method):
    net = te.convac(te.ModeTree.line(8), M=3, widths=[3, 2, 2], seed=3, integer=True)
    parts = [te.Partition.odd_even(8), te.Partition.left_right(8), te.Partition.random(8, seed=2)]
    many = rank_many(net, parts, method=method)
    assert [r.rank for r in many] == [te.rank(net, P, method=method).rank for P in parts]
    assert [r.partition for r in many] == [P.name for P in parts]


def test_lists_are_accepted_as_tensors():
    A = [[[[1, 0], [0, 0]], [[0, 0], [0, 1]]], [[[0, 0], [0, 0]], [[0, 0], [0, 0]]]]
    P = te.Partition([0, 1], 4)
    assert te.matricize(A, P).shape == (4, 4)
    assert te.rank(A, P, method="exact").rank == 2  # two distinct nonzero entries in distinct rows and columns
    assert te.geometry_bound(te.ModeTree.line(4), P, M=np.int64(2), widths=2).value >= 1


def test_a_rank_method_name_is_registered_once():
    from tensorexpr.rank import RANK_METHODS, register_rank_method

    with pytest.raises(te.RankError, match="registered already"):
        register_rank_method("exact")(lambda x, P: None)
    assert RANK_METHODS["exact"].__name__ != "<lambda>"
