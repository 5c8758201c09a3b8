"""Specialization lower bound: never above the exact rank of random integer networks; closed form on a line."""

from __future__ import annotations

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.rank.specialization import windows
from tensorexpr.bounds.specialization import specialization_report
from tensorexpr.testing import random_tree


@pytest.mark.parametrize("seed", range(60))
def test_never_exceeds_exact_rank(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 9))
    tree = random_tree(n, rng)
    M = int(rng.integers(1, 4))
    widths = [int(w) for w in rng.integers(1, 5, size=tree.depth)]
    shared = seed % 3 == 0
    # large integer range: a rank drop at a random point has probability ~ degree / 10^6 (Schwartz-Zippel)
    net = te.convac(tree, M=M, widths=widths, integer=True, seed=seed, int_range=10**6, shared=shared)
    P = te.Partition.random(n, seed=seed, balanced=seed % 2 == 0)
    bound = te.specialization_bound(net, P)
    assert isinstance(bound, te.Bound) and bound.side == "lower" and bound.method == "specialization"
    assert bound.value == te.specialization_bound(tree, P, M=M, widths=widths, shared=shared).value
    assert bound.value <= te.rank(net, P, method="exact", field="prime").rank


@pytest.mark.parametrize("n", [2, 4, 8, 16])
@pytest.mark.parametrize("r0,M", [(1, 3), (2, 3), (3, 3), (4, 3), (2, 2)])
def test_line_odd_even_closed_form(n: int, r0: int, M: int) -> None:
    """COLT 2016 Thm. 1 [checked]: min(r_0, M)^(N/2) under odd/even."""
    assert te.specialization_bound(te.ModeTree.line(n), te.Partition.odd_even(n), M=M, widths=r0).value == min(r0, M) ** (n // 2)


def test_rank_deficient_F_uses_rank_F() -> None:
    F = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 2], [2, 0, 2]])  # rank 2
    net = te.convac(te.ModeTree.line(4), M=3, widths=3, integer=True, seed=1, F=F, int_range=10**6)
    rep = specialization_report(net, te.Partition.odd_even(4))
    assert rep.M_eff == 2 and rep.value == 4
    assert rep.value <= te.rank(net, te.Partition.odd_even(4), method="exact").rank
    assert rep.to_dict()["value"] == 4 and "generic" in rep.certifies


def test_bad_inputs() -> None:
    tree = te.ModeTree.line(4)
    with pytest.raises(te.TensorExprError, match="needs M="):
        te.specialization_bound(tree, te.Partition.odd_even(4), widths=2)
    with pytest.raises(te.PartitionError, match="modes 0..3"):
        te.specialization_bound(tree, te.Partition.odd_even(8), M=2, widths=2)
    relu = te.convac(tree, M=2, widths=2, op="relu-max", seed=0)
    with pytest.raises(te.TensorExprError, match="relu-max"):
        te.specialization_bound(relu, te.Partition.odd_even(4))


@pytest.mark.parametrize("seed", range(12))
def test_tied_weights_bound_is_below_exact_rank_and_symmetric_cap(seed):
    """Tied windows are symmetric tensors: factor <= min(r_in, C(M+i-1,i), C(M+j-1,j)) [derived], and the
    bound never exceeds the exact rank of a tied integer network (an independent computation)."""
    import math as _m

    from tensorexpr.bounds.specialization import specialization_report

    rng = np.random.default_rng(seed)
    M = int(rng.integers(2, 4))
    r0 = int(rng.integers(2, 7))
    tree = te.ModeTree.grid(4, 4, geometry=("square", "mirror")[seed % 2])
    net = te.convac(tree, M=M, widths=[r0, 3], shared=True, seed=seed, integer=True)
    P = te.Partition.random(16, seed=seed) if seed % 3 else te.Partition.grid(4, 4, "checkerboard")
    rep = specialization_report(net, P)
    first = set(windows(tree))
    for window, f in rep.factors:
        i, j = P.side(frozenset(window))
        if frozenset(window) in first:
            assert min(r0, M) <= f <= min(r0, _m.comb(M + i - 1, i), _m.comb(M + j - 1, j))
        else:  # the second-level refinement (here the root): at least the product of its mixed children
            kids = [c for c in tree.children(frozenset(window)) if all(P.side(c))]
            assert f >= min(r0, M) ** len(kids)
    assert rep.value <= te.symmetry_bound(net, P).value  # a proved upper bound
    if M**16 <= 3**16:
        assert rep.value <= te.rank(net, P, method="structured").rank


# --- the second-level refinement ------------------------------------------------------------------------------

def _level1_value(net, P):
    """The bound without the refinement (every second-level window left out)."""
    from tensorexpr.rank.specialization import specialization_value, specialization_witness

    w = specialization_witness(net)
    return specialization_value(w.tree, w.widths, w.M_eff, w.symmetric, P)[0]


@pytest.mark.parametrize("seed", range(10))
def test_second_level_refinement_is_sound_on_4x4(seed):
    """On a 4x4 grid the root is the second-level window: the refined bound lies between the first-level bound
    and the proved symmetry upper bound, and does not exceed the exact rank of a tied integer instance."""
    rng = np.random.default_rng(100 + seed)
    M, r0, r1 = int(rng.integers(2, 4)), int(rng.integers(2, 5)), int(rng.integers(2, 5))
    tree = te.ModeTree.grid(4, 4, geometry=("square", "mirror")[seed % 2])
    net = te.convac(tree, M=M, widths=[r0, r1], shared=True, seed=seed, integer=True)
    P = te.Partition.random(16, seed=seed, balanced=bool(seed % 2))
    b = te.specialization_bound(net, P)
    assert _level1_value(net, P) <= b.value <= te.symmetry_bound(net, P).value
    if M == 2:
        assert b.value <= te.rank(net, P, method="structured").rank


@pytest.mark.parametrize("seed", range(6))
def test_second_level_refinement_stays_below_the_symmetry_bound_on_8x8(seed):
    """8x8, tied: the four 4x4 quadrants are refined; the bound never passes the proved upper bound, never drops
    below the first-level one, and the ModeTree form gives the same number."""
    net = te.convac(te.ModeTree.grid(8, 8), M=2, widths=[4, 3, 2], shared=True, seed=seed)
    P = te.Partition.random(64, seed=seed)
    b = te.specialization_bound(net, P)
    assert _level1_value(net, P) <= b.value <= te.symmetry_bound(net, P).value
    assert b.value == te.specialization_bound(net.tree, P, M=2, widths=[4, 3, 2], shared=True).value
    assert any(len(w) == 16 for w, _ in b.factors)  # quadrant factors, not only 2x2 windows


def test_window2_rank_mod_p_against_python_integers():
    """The GF(p) rank of the second-level window at its point, against the same matrix built with Python integers
    (exact over Q): never above it (a rank mod p is at most the rank over Q) and equal here."""
    import zlib

    from tensorexpr.core.rational import rank_over_Q
    from tensorexpr.rank.specialization import tied_window2_rank

    r0, r1, M, pattern = 3, 2, 2, ((1, 2), (2, 1), (2, 2))
    got = tied_window2_rank(r0, r1, M, pattern)
    rng = np.random.default_rng(zlib.crc32(repr((r0, r1, M, sorted(pattern))).encode()))
    U = rng.integers(-1000, 1001, size=(r0, M)).astype(object)
    W = rng.integers(-1000, 1001, size=(r0, r1)).astype(object)
    w = rng.integers(-1000, 1001, size=r1).astype(object)

    def power(u, k):
        v = np.array([1], dtype=object)
        for _ in range(k):
            v = np.multiply.outer(v, u).reshape(-1)
        return v

    A = 0
    for b in range(r1):
        K = np.array([[1]], dtype=object)
        for i, j in pattern:
            C = sum(W[a, b] * np.multiply.outer(power(U[a], i), power(U[a], j)) for a in range(r0))
            K = np.kron(K, C)
        A = A + w[b] * K
    exact = rank_over_Q(np.asarray(A, dtype=object))
    assert got <= exact and got == exact
    assert got <= min(A.shape)
    assert tied_window2_rank(r0, r1, M, ((0, 4), (0, 4))) is None  # one side empty


def test_second_level_refinement_steps_aside_without_its_assumptions():
    """Untied windows, or an identity weight above the first level, leave no second-level window to refine."""
    from tensorexpr.rank.specialization import specialization_witness

    tree = te.ModeTree.grid(8, 8)
    assert specialization_witness(te.convac(tree, M=2, widths=2, seed=0)).second == frozenset()
    tied = te.convac(tree, M=2, widths=2, shared=True, seed=0)
    assert len(specialization_witness(tied).second) == 4
    weights = {n: (None if n == tree.root else tied.node(te.core.network.node_id(n)).weight) for n in tree.nodes}
    ident = te.hierarchical(tree, weights, M=2, shared=True)
    assert specialization_witness(ident).second == frozenset()


def test_second_level_window_over_children_of_different_leaf_widths_is_not_refined():
    """Regression (found by the slow soundness suite): a root over two windows whose leaves have widths 2 and 1.
    The refinement's point gives every leaf one weight shape, so it must leave such a window alone; it once
    claimed rank >= 2 where the symmetry bound proves rank <= 1."""
    tree = te.ModeTree.from_nested(((1, 2), (0, 3)))
    f = frozenset
    widths = {f({1}): 2, f({2}): 2, f({0}): 1, f({3}): 1, f({1, 2}): 1, f({0, 3}): 1}
    net = te.convac(tree, M=2, widths=widths, shared=True, seed=0, integer=True, int_range=20)
    from tensorexpr.rank.specialization import specialization_witness

    assert specialization_witness(net).second == frozenset()
    for P in te.Partition.all_balanced(4):
        c = te.certify(net, P)
        assert c.lower <= c.upper and c.lower <= te.rank(net, P, method="exact").rank
        assert te.specialization_bound(tree, P, M=2, widths=widths, shared=True).value <= c.upper


def test_second_level_refinement_needs_its_block_to_itself():
    """((0,1),2) has height 2 but a leaf child, and under per-level tying it shares its block with the second-level
    window ((3,4),(5,6)): both entry points then leave that window unrefined."""
    from tensorexpr.rank.specialization import specialization_witness, tied_second_windows

    tree = te.ModeTree.from_nested((((0, 1), 2), ((3, 4), (5, 6))))
    net = te.convac(tree, M=2, widths=2, shared=True, seed=0, integer=True)
    assert specialization_witness(net).second == frozenset()
    widths = {n: net.widths[te.core.network.node_id(n)] for n in tree.nodes}
    assert tied_second_windows(tree, widths) == frozenset()
    even = te.ModeTree.from_nested((((0, 1), (2, 3)), ((4, 5), (6, 7))))
    assert len(specialization_witness(te.convac(even, M=2, widths=2, shared=True, seed=0)).second) == 2
