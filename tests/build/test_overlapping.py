"""Overlapping (GC-layer) networks: structure, oracles and errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.evaluate.grid import einsum_network
from tensorexpr.build.overlapping import layer_windows
from tensorexpr.testing import reference_grid_tensor
from tensorexpr.testing import local_mincut_bound


def _ht_equivalent(net: te.Network, n: int, w: int, depth: int) -> te.Network:
    """The HT network whose node weights are the per-offset maps on the edge to the parent."""
    tree = te.ModeTree.line(n, w)
    by = net.by_id
    weights = {}
    for node in tree.nodes:
        lvl = tree.levels[node]
        if node == tree.root:
            weights[node] = by["out"].weight
            continue
        j = min(node) // w ** (lvl + 1)  # window index of the parent in layer lvl
        k = (min(node) // w**lvl) % w  # offset inside that window
        weights[node] = by[f"L{lvl}.p{j}.k{k}"].weight
    return te.hierarchical(tree, weights, net.M, integer=True)


@pytest.mark.parametrize("n,w,r", [(4, 2, 2), (8, 2, 3), (9, 3, 2)])
def test_non_overlapping_reduces_to_ht(n, w, r):
    depth = round(np.log(n) / np.log(w))
    net = te.overlapping(n, [(w, w, r)] * depth, M=2, seed=1, integer=True)
    assert net.is_tree
    ht = _ht_equivalent(net, n, w, depth)
    assert np.array_equal(te.grid_tensor(net, backend="exact"), te.grid_tensor(ht, backend="exact"))


@pytest.mark.parametrize("shared", [False, True])
def test_dag_grid_tensor_matches_reference_and_einsum(shared):
    net = te.overlapping(5, [(3, 1, 2), (3, 1, 2)], M=2, seed=3, integer=True, shared=shared)
    assert not net.is_tree
    exact = te.grid_tensor(net, backend="exact")
    assert np.array_equal(exact, reference_grid_tensor(net))
    np.testing.assert_allclose(te.grid_tensor(net, method="einsum"), exact.astype(float), rtol=1e-10)
    np.testing.assert_allclose(te.grid_tensor(net, method="bottom-up"), exact.astype(float), rtol=1e-10)


def test_2d_matches_reference():
    net = te.overlapping((3, 3), [(2, 1, 2), (2, 1, 2)], M=2, seed=0, integer=True)
    assert net.n_modes == 9
    assert np.array_equal(te.grid_tensor(net, backend="exact"), reference_grid_tensor(net))


def test_same_padding_matches_reference():
    net = te.overlapping(6, [(3, 2, 2), (3, 2, 2)], M=2, seed=0, integer=True, padding="same")
    assert np.array_equal(te.grid_tensor(net, backend="exact"), reference_grid_tensor(net))


def test_copy_hyperedges_in_einsum():
    net = te.overlapping(4, [(2, 1, 2), (3, 1, 2)], M=2, seed=0)
    eq, _ = einsum_network(net)
    terms = eq.split("->")[0].split(",")
    modes = eq.split("->")[1]
    counts = {ch: sum(ch in t for t in terms) for ch in modes}
    assert max(counts.values()) >= 2  # a reused position is one letter in several operands


def test_exact_rank_below_mincut_and_star_looser():
    parts = [te.Partition.odd_even(6), te.Partition.left_right(6), te.Partition.random(6, 1)]
    looser = 0
    for seed, layers in enumerate([[(2, 1, 2), (5, 1, 2)], [(3, 1, 2), (2, 2, 2), (2, 1, 2)], [(2, 1, 3), (3, 1, 2), (3, 1, 2)]]):
        net = te.overlapping(6, layers, M=2, seed=seed, integer=True)
        for P in parts:
            r = te.rank(net, P, "exact").rank
            hyper = local_mincut_bound(net, P)
            star = local_mincut_bound(net, P, hyperedges="star")
            assert r <= hyper <= star
            looser += star > hyper
    assert looser > 0  # the star model of copy tensors is strictly looser somewhere


def test_layer_windows_same_covers_everything():
    for n, w, s in itertools.product(range(1, 9), range(1, 5), range(1, 5)):
        if s > w or w > n:
            continue
        wins = layer_windows(n, w, s, "same")
        assert {p for win in wins for _, p in win} == set(range(n))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(layers=[(2, 3, 2)]), "stride 3 > window 2"),
        (dict(layers=[(9, 1, 2)]), "window 9 is larger than its input of 4"),
        (dict(layers=[(3, 2, 2)]), "uncovered"),
        (dict(layers=[(2, 1, 0)]), "width must be a positive integer"),
        (dict(layers=[(2, 1)]), "must be \\(window, stride, width\\)"),
        (dict(layers=[(2, 2, 2)], padding="reflect"), "Unknown padding"),
        (dict(layers=[]), "non-empty"),
    ],
)
def test_bad_inputs(kwargs, match):
    with pytest.raises(te.TensorExprError, match=match):
        te.overlapping(4, M=2, **kwargs)


def test_te_mincut_and_certify_on_overlapping():
    """helper-bounds' te.mincut_bound agrees with the independent local min-cut; te.certify brackets the rank."""
    if not hasattr(te, "mincut_bound"):
        pytest.skip("te.mincut_bound not merged")
    net = te.overlapping(6, [(3, 1, 2), (2, 2, 2), (2, 1, 2)], M=2, seed=1, integer=True)
    for P in (te.Partition.odd_even(6), te.Partition.left_right(6), te.Partition.random(6, 2)):
        for model in ("lawler", "star"):
            assert te.mincut_bound(net, P, hyperedges=model).bound == local_mincut_bound(net, P, model)
        c = te.certify(net, P)
        r = te.rank(net, P, "exact").rank  # rank at this integer point <= generic rank <= certified upper
        generic = te.rank(te.integer_twin(net, 11), P, "exact").rank  # an independent draw, dense over Q
        assert r <= c.upper and c.lower <= generic <= c.upper
