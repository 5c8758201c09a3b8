"""The flow lower bound (tensorexpr/bounds/flow.py): sound against exact generic ranks, equal to the min-cut
when every bond dimension is a power of one base, and out of the way where its proof does not apply."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorexpr as te
from tensorexpr.bounds.flow import _bases, _floor_power, _smallest_root, flow_bound
from tensorexpr.core.errors import NotApplicable
from tensorexpr.testing.networks import overlap_net
from tensorexpr.testing.reference import random_tree


def _generic_rank(net: te.Network, P: te.Partition, seeds=(1, 2)) -> int:
    """Best exact rank over Q of independent integer instances (each is <= the generic rank, and equal to it
    off a proper Zariski-closed set)."""
    return max(te.rank(te.integer_twin(net, s), P, method="exact").rank for s in seeds)


def _case(seed: int, base: int | None):
    rng = np.random.default_rng(seed)
    while True:
        n = int(rng.integers(3, 8))
        tree = random_tree(n, rng)
        M = int(base ** rng.integers(1, 3)) if base else int(rng.integers(2, 5))
        if M**n <= 20_000:
            break
    if base:
        widths = {node: int(base ** rng.integers(0, 3)) for node in tree.nodes}
    else:
        widths = {node: int(rng.integers(1, 6)) for node in tree.nodes}
    for node in tree.internal_nodes:  # siblings share the pooled channel: one width per child group
        kids = tree.children(node)
        for c in kids[1:]:
            widths[c] = widths[kids[0]]
    widths[tree.root] = 1
    P = te.Partition(rng.choice(n, size=int(rng.integers(1, n)), replace=False).tolist(), n)
    return tree, M, widths, P


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6))
def test_flow_is_below_the_generic_rank(seed):
    """Random trees, fan-in up to 3, per-node widths 1..5 (not powers of one base), M 2..4."""
    tree, M, widths, P = _case(seed, None)
    net = te.convac(tree, M, widths, seed=0)
    b = flow_bound(net, P)
    assert b.value == b.base**b.wires
    assert b.value <= _generic_rank(net, P) <= te.mincut_bound(net, P).bound


@pytest.mark.parametrize("base", [2, 3])
def test_flow_meets_the_mincut_for_powers_of_one_base(base):
    """Proved in the flow module (routing along a maximum flow); checked here against exact ranks."""
    for seed in range(12):
        tree, M, widths, P = _case(100 * base + seed, base)
        net = te.convac(tree, M, widths, seed=0)
        low, up = flow_bound(net, P).value, te.mincut_bound(net, P).bound
        assert low == up == _generic_rank(net, P)


def test_rank_deficient_templates_use_rank_F():
    """F of rank 2 with M = 4: the mode legs carry rank F = 2 dimensions, not M."""
    rng = np.random.default_rng(3)
    F = rng.integers(-3, 4, size=(5, 2)) @ rng.integers(-3, 4, size=(2, 4))
    net = te.convac(te.ModeTree.line(8), 4, 4, seed=0, F=F)
    P = te.Partition.odd_even(8)
    b = flow_bound(net, P)
    assert b.details["q"] == 2
    assert b.value == 2**4 == _generic_rank(net, P)


def test_random_partitions_certified_on_image_grids():
    """Untied M=2, widths 16 (all powers of 2): random balanced partitions close at 128x128 (no timing
    asserted; benchmarks/scaling.py times it). The value is a power of 2 between the specialization bound and
    the geometry bound, both computed independently of the flow."""
    net = te.convac(te.ModeTree.grid(128, 128), 2, 16, seed=0)
    for s in range(2):
        P = te.Partition.random(128 * 128, seed=s)
        c = te.certify(net, P)
        assert c.certified and c.lower_method == "flow" and c.value > 2**4096
        assert c.value & (c.value - 1) == 0
        assert te.bounds.specialization_bound(net, P).value <= c.value <= te.geometry_bound(net, P).value


def test_steps_aside_where_the_routing_proof_does_not_apply():
    P = te.Partition([0, 2], 4)
    tied = te.convac(te.ModeTree.line(4), 2, 2, seed=0, shared=True)
    relu = te.convac(te.ModeTree.line(4), 2, 2, seed=0, op="relu-max")
    dag = overlap_net(4, 2, 2, 2, 0, window=3)
    ident = te.hierarchical(te.ModeTree.line(4), {n: (np.eye(2) if len(n) == 1 else None)
                                                  for n in te.ModeTree.line(4).nodes}, 2)
    for net in (tied, relu, dag, ident):
        with pytest.raises(NotApplicable, match="flow bound"):
            flow_bound(net, P)
        assert "flow" not in te.certify(net, P).results


def test_helpers():
    assert [_floor_power(d, 2) for d in (1, 2, 3, 15, 16, 17)] == [1, 2, 2, 8, 16, 16]
    assert [_smallest_root(d) for d in (2, 4, 8, 9, 27, 6, 16, 1000)] == [2, 2, 2, 3, 3, 6, 2, 10]
    assert _bases([2, 16, 4], None) == [2]
    assert _bases([3, 2, 16], None) == [2, 3]
    assert _bases([5, 7], [3]) == [3]
