"""Dilated mode trees and mixed decompositions."""

from __future__ import annotations

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.specs import parse_geometry
from tensorexpr.testing import reference_grid_tensor


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
def test_no_mixture_is_sum_of_two_networks(orders):
    a, b = (te.ModeTree.dilated(8, o) for o in orders)
    net = te.mixed(a, b, [], M=2, widths=[2, 3, 2], outputs=2, seed=5, integer=True)
    wa, wb = _split_weights(net)
    na = te.hierarchical(a, wa, 2, integer=True)
    nb = te.hierarchical(b, wb, 2, integer=True)
    for out in range(2):
        got = net.grid_tensor(backend="exact", output=out)
        want = na.grid_tensor(backend="exact", output=out) + nb.grid_tensor(backend="exact", output=out)
        assert np.array_equal(got, want)


def test_mixture_matches_reference_and_float():
    a, b = te.ModeTree.dilated(8, [1, 2, 4]), te.ModeTree.dilated(8, [2, 1, 4])
    net = te.mixed(a, b, [{0, 1, 2, 3}, {4, 5, 6, 7}], M=2, widths=2, seed=1, integer=True)
    exact = net.grid_tensor(backend="exact")
    assert np.array_equal(exact, reference_grid_tensor(net))
    np.testing.assert_allclose(net.grid_tensor(), exact.astype(float), rtol=1e-10)


def test_mixture_at_leaves_is_explicit_formula():
    """Mixing at every leaf: both trees read a_l + b_l, i.e. two HT nets with summed leaf weights."""
    a, b = te.ModeTree.dilated(4, "contiguous"), te.ModeTree.dilated(4, "reversed")
    leaves = [{m} for m in range(4)]
    net = te.mixed(a, b, leaves, M=2, widths=2, seed=2, integer=True)
    wa, wb = _split_weights(net)
    sa = {n: (wa[n] + wb[n] if len(n) == 1 else wa[n]) for n in a.nodes}
    sb = {n: (wa[n] + wb[n] if len(n) == 1 else wb[n]) for n in b.nodes}
    want = te.hierarchical(a, sa, 2, integer=True).grid_tensor(backend="exact") + te.hierarchical(
        b, sb, 2, integer=True).grid_tensor(backend="exact")
    assert np.array_equal(net.grid_tensor(backend="exact"), want)


def test_mixed_rank_at_least_components():
    """[derived] zeroing tree b recovers tree a, so generically rank(mixed) >= rank(a), rank(b)."""
    a, b = te.ModeTree.dilated(8, [1, 2, 4]), te.ModeTree.dilated(8, [2, 1, 4])
    net = te.mixed(a, b, [{0, 1, 2, 3}], M=2, widths=2, seed=0, integer=True)
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
        te.mixed(a, b, [{0, 1, 2, 3}], M=2, widths=[2, 2, 2], widths_b=[2, 2, 3])
