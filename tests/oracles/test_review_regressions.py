"""Regressions from a review: each failed before with a wrong number or a crash far from the cause."""

import numpy as np
import pytest

import tensorexpr as te


def test_composite_modulus_is_refused_not_fatal():
    net = te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0, integer=True)
    P = te.Partition.odd_even(4)
    for p in (4, 1009 * 1013):
        with pytest.raises(te.RankError, match="not prime"):
            te.rank(net, P, method="exact", field="prime", prime=p)
        with pytest.raises(te.RankError, match="not prime"):
            te.rank(net.grid_tensor(backend="exact"), P, method="exact", field="prime", prime=p)
    with pytest.raises(te.RankError, match="Unknown field"):
        te.rank(net, P, method="exact", field="foo")


def test_declared_tying_is_seen_by_the_lower_bound():
    """One array on every leaf of a CP network, declared shared: the window tensor is symmetric (Sym^2 of R^2
    has dim 3), so no lower bound may exceed 3. Ties are declared, never read from array identity."""
    tree = te.ModeTree.shallow(4)
    U = np.array([[1, 2, 3, 4], [5, 6, 7, 9]])
    weights = {n: (U if tree.is_leaf(n) else np.ones((4, 1), dtype=np.int64)) for n in tree.nodes}
    P = te.Partition([0, 1], 4)
    tied = te.hierarchical(tree, weights, M=2, integer=True, shared=True)
    assert len({tied.tie_key(f"x{m}") for m in range(4)}) == 1
    cert = te.certify(tied, P)
    assert cert.lower <= 3 < 4  # [derived] rank <= dim Sym^2(R^2) = 3 for every tied weight setting
    assert te.rank(tied, P, method="exact").rank == 3
    # undeclared: four free leaf blocks that happen to be equal here; the architecture's generic rank is 4
    free = te.hierarchical(tree, weights, M=2, integer=True)
    assert {free.weight_kind(f"x{m}") for m in range(4)} == {"free"}
    assert te.rank(te.integer_twin(free), P, method="exact").rank == 4


def test_zero_templates_certify_rank_zero():
    net = te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0, integer=True, F=np.zeros((2, 2), dtype=np.int64))
    P = te.Partition([0, 1], 4)
    cert = te.certify(net, P)
    assert cert.certified and cert.lower == 0 == te.rank(net, P, method="exact").rank


def test_singular_integer_F_caps_the_upper_bound():
    F = np.array([[1, 2, 0], [2, 4, 0], [0, 0, 1]])  # rank 2
    net = te.convac(te.ModeTree.line(8), M=3, widths=3, seed=0, integer=True, F=F)
    P = te.Partition.odd_even(8)
    cert = te.certify(net, P)
    assert cert.upper <= 2**4 and cert.lower <= te.rank(net, P, method="exact").rank <= cert.upper


def test_more_than_64_modes_is_refused_before_numpy_fails():
    net = te.convac(te.ModeTree.line(128), M=1, widths=2, seed=0, integer=True)
    with pytest.raises(te.BudgetError, match="64"):
        te.rank(net, te.Partition.odd_even(128), method="exact")
    with pytest.raises(te.BudgetError, match="structured"):
        net.grid_tensor()
    assert te.rank(net, te.Partition.odd_even(128), method="structured").rank == 1  # M=1: one template


@pytest.mark.parametrize(
    "call, err, msg",
    [
        (lambda: te.convac(te.ModeTree.line(4), 2, 2, F=[["a", "b"], ["c", "d"]]), te.NetworkError, "numeric"),
        (lambda: te.convac(te.ModeTree.line(4), 2, 2, F=np.full((2, 2), np.nan)), te.NetworkError, "NaN"),
        (lambda: te.convac(te.ModeTree.line(4), 2, 2, F=np.zeros((0, 2))), te.NetworkError, "T >= 1"),
        (lambda: te.convac(te.ModeTree.line(4), 2, 2, seed=-1), te.NetworkError, "seed"),
        (lambda: te.convac(te.ModeTree.line(4), 2, 2, integer=True, int_range=0), te.NetworkError, "int_range"),
        (lambda: list(te.Partition.all_balanced(1)), te.PartitionError, "n >= 2"),
        (lambda: te.cp(1, 2, 2), te.NetworkError, "n >= 2"),
        (lambda: te.rank(np.eye(4).reshape(2, 2, 2, 2), te.Partition.odd_even(4), tol="a"), te.RankError, "tol"),
        (lambda: te.rank(np.eye(4).reshape(2, 2, 2, 2), te.Partition.odd_even(4), tol=-1), te.RankError, "tol"),
        (lambda: te.rank(np.eye(4).reshape(2, 2, 2, 2), te.Partition.odd_even(4), bogus=1), te.RankError, "bogus"),
        (lambda: te.rank(None, te.Partition.odd_even(4)), te.RankError, "NoneType"),
        (lambda: te.convac(te.ModeTree.line(4), 2, 2).grid_tensor(memory_budget=-1), te.BudgetError, "memory_budget"),
    ],
)
def test_bad_inputs_get_clear_errors(call, err, msg):
    with pytest.raises(err, match=msg):
        call()


def test_lists_are_accepted_as_tensors():
    A = [[[[1, 0], [0, 0]], [[0, 0], [0, 1]]], [[[0, 0], [0, 0]], [[0, 0], [0, 0]]]]
    P = te.Partition([0, 1], 4)
    assert te.matricize(A, P).shape == (4, 4)
    assert te.rank(A, P, method="exact").rank == 2  # two distinct nonzero entries in distinct rows and columns
    assert te.geometry_bound(te.ModeTree.line(4), P, M=np.int64(2), widths=2).value >= 1
