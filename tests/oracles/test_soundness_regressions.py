"""The four reproducers of issue 8, each against an oracle independent of the bounds under test.

Oracle: :func:`tensorexpr.testing.brute_generic_rank` (entry-by-entry grid tensor, rank over Q by fraction
elimination, maximised over random integer draws of the free parameters) and :func:`fraction_rank`.
A certificate must never state a value the oracle contradicts: lower <= oracle's generic rank (which is at
least every observed rank) <= upper, and certified means equal.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.testing import brute_generic_rank, brute_matricization, fraction_rank


def _check_sound(net: te.Network, P: te.Partition, generic: int) -> te.Certificate:
    cert = te.certify(net, P)
    assert cert.lower <= generic <= cert.upper, (cert, generic)
    if cert.certified:
        assert cert.value == generic
    return cert


def test_identity_inner_nodes_are_not_free_weights():
    """Issue 8 #1: weight=None at both inner nodes is the identity: A = sum of 2 rank-one terms."""
    rng = np.random.default_rng(0)
    tree = te.ModeTree.from_nested(((0, 1), (2, 3)))
    W = {n: (rng.integers(-9, 10, size=(2, 2)) if tree.is_leaf(n) else
             rng.integers(-9, 10, size=(2, 1)) if n == tree.root else None) for n in tree.nodes}
    net = te.hierarchical(tree, W, 2, integer=True)
    P = te.Partition([0, 2], 4)
    assert net.weight_kind("t0-1") == "identity"
    generic = brute_generic_rank(net, P, draws=4)
    assert generic == 2  # two rank-one terms: at most 2 for every weight setting; 2 is attained
    cert = _check_sound(net, P, generic)
    assert cert.certified and cert.value == 2
    assert cert.details["specialization"]["skip_kind"] == "not applicable"
    assert "identity" in cert.details["specialization"]["skipped"]
    with pytest.raises(te.NotApplicable, match="identity"):
        te.specialization_bound(net, P)


def test_identity_leaves_with_rank_deficient_F():
    """Issue 8 #1 (variant): None leaves and F = [[1,0,2],[0,1,0]] on shallow(4), I = {0, 1}: every draw gives 2."""
    rng = np.random.default_rng(1)
    tree = te.ModeTree.shallow(4)
    W = {n: (None if tree.is_leaf(n) else rng.integers(-9, 10, size=(3, 1))) for n in tree.nodes}
    net = te.hierarchical(tree, W, 3, integer=True, F=np.array([[1, 0, 2], [0, 1, 0]]))
    P = te.Partition([0, 1], 4)
    generic = brute_generic_rank(net, P, draws=4)
    assert generic == 2
    cert = _check_sound(net, P, generic)
    assert cert.lower == 2
    assert "skipped" in cert.details["specialization"]


def test_declared_ties_respected_by_every_lower_bound():
    """Issue 8 #2: one array U for every leaf with shared=True: the window is symmetric, rank 3, not 4."""
    rng = np.random.default_rng(2)
    tree = te.ModeTree.shallow(4)
    U = rng.integers(-9, 10, size=(2, 4))
    W = {n: (U if tree.is_leaf(n) else rng.integers(-9, 10, size=(4, 1))) for n in tree.nodes}
    net = te.hierarchical(tree, W, 2, integer=True, shared=True)
    P = te.Partition([0, 1], 4)
    assert {net.tie_key(f"x{m}") for m in range(4)} == {net.tie_key("x0")} and net.weight_kind("x0") == "tied"
    generic = brute_generic_rank(net, P, draws=4)
    assert generic == 3  # sym^2(Q^2) has dimension 3
    cert = _check_sound(net, P, generic)
    for name, d in cert.details.items():
        if isinstance(d, dict) and d.get("role") == "lower" and "value" in d:
            assert d["value"] <= 3, (name, d)
    # the same architecture from convac(shared=True) gives the same honest interval
    cert2 = te.certify(te.convac(tree, 2, 4, shared=True, seed=0), P)
    assert cert2.lower <= 3 <= cert2.upper
    # untied, the same arrays are four free blocks and rank 4 is generic
    free = te.hierarchical(tree, W, 2, integer=True)
    assert brute_generic_rank(free, P, draws=2) == 4 == te.certify(free, P).value


def test_fractions_are_exact_never_truncated():
    """Issue 8 #3: F = [[1/2, 1], [1, 2]] has rank 1 over Q, so the grid tensor has rank 1."""
    F = np.array([[Fraction(1, 2), 1], [1, 2]], dtype=object)
    net = te.convac(te.ModeTree.line(4), 2, 2, seed=0, integer=True, F=F)
    P = te.Partition.odd_even(4)
    oracle = fraction_rank(brute_matricization(net, P))
    assert oracle == 1
    for method in ("exact", "structured"):
        assert te.rank(net, P, method=method).rank == 1, method
    assert te.rank(net, P, method="exact", field="prime").rank == 1
    assert te.rank(net, P, method="exact", field="rational").rank == 1
    assert [r.rank for r in te.rank_many(net, [P, te.Partition.left_right(4)], method="exact")][0] == 1
    cert = _check_sound(net, P, brute_generic_rank(net, P, draws=3))
    assert cert.certified and cert.value == 1


def test_fraction_weights_cleared_keep_every_rank():
    """Clearing denominators scales the tensor by a positive integer: GF(p) and Q ranks match the oracle."""
    rng = np.random.default_rng(5)
    tree = te.ModeTree.line(4)
    W = {n: np.array([[Fraction(int(rng.integers(-5, 6)), int(rng.integers(1, 4))) for _ in range(2 if n != tree.root else 1)]
                      for _ in range(2)], dtype=object) for n in tree.nodes}
    net = te.hierarchical(tree, W, 2, integer=True)
    cleared = te.clear_denominators(net)
    assert cleared.integer and all(np.asarray(nd.weight).dtype.kind in "iu" for nd in cleared.nodes if nd.weight is not None)
    A, B = brute_matricization(net, te.Partition.odd_even(4)), brute_matricization(cleared, te.Partition.odd_even(4))
    ratio = {Fraction(b) / Fraction(a) for ra, rb in zip(A, B) for a, b in zip(ra, rb) if a != 0}
    assert len(ratio) == 1 and next(iter(ratio)) > 0  # one positive scalar
    for P in (te.Partition.odd_even(4), te.Partition.left_right(4), te.Partition([0], 4)):
        want = fraction_rank(brute_matricization(net, P))
        assert te.rank(net, P, method="exact", field="prime").rank == want
        assert te.rank(net, P, method="structured").rank == want


def test_integer_network_refuses_non_integral_floats():
    with pytest.raises(te.NetworkError, match="non-integral"):
        te.convac(te.ModeTree.line(4), 2, 2, seed=0, integer=True, F=np.array([[0.5, 1.0], [1.0, 2.0]]))
    with pytest.raises(te.NetworkError, match="non-integral"):
        te.convac(te.ModeTree.line(4), 2, 2, seed=0, integer=True, F=np.array([[0.5, 1], [1, 2]], dtype=object))
    net = te.convac(te.ModeTree.line(4), 2, 2, seed=0, integer=True, F=np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert net.F.dtype.kind == "i"  # integral floats become exact integers


def test_F_rank_bound_only_where_modes_are_read_once():
    """Issue 8 #4: position 1 feeds two windows; the tensor is quadratic in F[d1], rank 3 > rank(F)^1 = 2."""
    F = np.array([[1, 0], [0, 1], [1, 1]])
    net = te.overlapping(3, [(2, 1, 3)], M=2, seed=0, integer=True, F=F)
    P = te.Partition([1], 3)
    generic = brute_generic_rank(net, P, draws=3)
    assert generic == 3 == fraction_rank(brute_matricization(net, P))
    cert = _check_sound(net, P, generic)
    assert cert.certified and cert.value == 3
    triv = cert.results["trivial"]
    assert "modes-read-once" not in triv.assumptions and "rank_F" not in triv.details
    lazy = te.certify(net, P, budget_seconds=0)
    assert lazy.lower <= 3 <= lazy.upper


def test_clearing_denominators_through_sum_nodes_keeps_ranks():
    """Sum nodes need equal scalars on their children: the transform adds fixed (L / s_c) I linear nodes."""
    from tensorexpr.core.network import Network, Node

    q = lambda *v: np.array(v, dtype=object).reshape(2, -1)  # noqa: E731
    leaves = [Node(f"x{m}", "leaf", (), q(Fraction(1, 2), 1, 3, Fraction(-2, 3)), mode=m) for m in range(3)]
    nodes = leaves + [
        Node("a", "pool", ("x0", "x1", "x2"), q(1, Fraction(1, 5), 2, 1)),
        Node("b", "pool", ("x0", "x1", "x2"), q(Fraction(3, 7), 1, -1, 2)),
        Node("s", "sum", ("a", "b")),
        Node("out", "linear", ("s",), q(1, Fraction(1, 3))),
    ]
    net = Network(tuple(nodes), "out", 2, integer=True, F=np.array([[1, 0], [0, 1], [1, Fraction(1, 2)]], dtype=object))
    cleared = te.clear_denominators(net)
    assert any(nd.kind == "linear" and nd.id != "out" for nd in cleared.nodes)
    for P in (te.Partition([0], 3), te.Partition([1], 3), te.Partition([0, 2], 3)):
        want = fraction_rank(brute_matricization(net, P))
        assert fraction_rank(brute_matricization(cleared, P)) == want
        assert te.rank(net, P, method="exact", field="prime").rank == want
        assert te.rank(net, P, method="structured").rank == want


def test_grid_tensor_mod_refuses_fractions_instead_of_truncating():
    F = np.array([[Fraction(1, 2), 1], [1, 2]], dtype=object)
    net = te.convac(te.ModeTree.line(2), 2, 2, seed=0, integer=True, F=F)
    with pytest.raises(te.NetworkError, match="clear_denominators"):
        te.grid_tensor_mod(net, te.DEFAULT_PRIME)
    A = te.grid_tensor_mod(te.clear_denominators(net), te.DEFAULT_PRIME)
    assert A.shape == (2, 2)
