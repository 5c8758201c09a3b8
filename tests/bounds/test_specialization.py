"""Specialization lower bound: never above the exact rank of random integer networks; closed form on a line."""

from __future__ import annotations

import numpy as np
import pytest

import tensorexpr as te
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
    for window, f in rep.factors:
        i, j = P.side(frozenset(window))
        assert min(r0, M) <= f <= min(r0, _m.comb(M + i - 1, i), _m.comb(M + j - 1, j))
    if M**16 <= 3**16:
        assert rep.value <= te.rank(net, P, method="structured").rank
