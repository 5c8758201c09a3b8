"""The coarse-partition lower bound (tensorexpr.bounds.coarse) against exact ranks of integer instances,
untied, shared (tied per level) and with fixed weights."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.bounds.certificate import integer_twin
from tensorexpr.bounds.coarse import coarse_bound
from tensorexpr.bounds import DEFAULT_PROVIDERS
from tensorexpr.core.errors import NotApplicable
from tensorexpr.core.params import FIXED
from tensorexpr.testing import random_tree


def _generic(net: te.Network, P: te.Partition) -> int:
    """Max exact rank over two integer instances (= the generic rank with overwhelming probability)."""
    return max(te.rank(integer_twin(net, s), P, method="exact").rank for s in (1, 2))


@pytest.mark.parametrize("seed", range(40))
def test_coarse_is_sound_on_random_trees(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 8))
    tree = random_tree(n, rng)
    M = int(rng.integers(2, 4))
    widths = [int(x) for x in rng.integers(1, 6, size=tree.depth)]
    net = te.convac(tree, M, widths, seed=seed, shared=bool(seed % 2))
    P = te.Partition.random(n, seed=seed, balanced=bool(seed % 3))
    if not P.I or not P.J:
        return
    try:
        b = coarse_bound(net, P)
    except NotApplicable:
        return
    g = _generic(net, P)
    assert b.value <= g
    assert b.value <= te.mincut_bound(net, P).bound


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("geometry", ["square", "mirror"])
def test_coarse_equals_exact_on_4x4(shared, geometry):
    net = te.convac(te.ModeTree.grid(4, 4, geometry=geometry), 2, [2, 3], seed=3, shared=shared)
    for kind in ("left_right", "top_bottom", "mirror_left_right", "checkerboard"):
        P = te.Partition.grid(4, 4, kind)
        assert coarse_bound(net, P).value == _generic(net, P)


def test_shared_siblings_use_the_symmetric_count():
    # line(4), M=2, widths (3, 4), tied per level: each pair node sees k^{(x)2} of 2-dim vectors, a
    # 3-dimensional symmetric space, so it has rank 3 (an untied count would claim 4)
    net = te.convac(te.ModeTree.line(4), 2, [3, 4], seed=0, shared=True)
    P = te.Partition.left_right(4)
    b = coarse_bound(net, P)
    assert b.value <= _generic(net, P)
    untied = te.convac(te.ModeTree.line(4), 2, [3, 4], seed=0)
    assert coarse_bound(untied, P).value == _generic(untied, P)


def test_fixed_weight_below_the_frontier_declines():
    net = te.convac(te.ModeTree.line(4), 2, 2, seed=0)
    nodes = [replace(nd, weight=np.zeros((2, 2)), param=FIXED) if nd.id == "x0" else nd for nd in net.nodes]
    fixed = te.Network(tuple(nodes), net.output, net.M, net.op, net.F, False, net.tree,
                       {b: v for b, v in net.params.items() if b != "x0"}, "fixed-zero")
    assert _generic(fixed, te.Partition.left_right(4)) == 0  # a zero leaf kills the tensor
    with pytest.raises(NotApplicable):
        coarse_bound(fixed, te.Partition.left_right(4))


def test_registered_and_used_by_certify():
    assert DEFAULT_PROVIDERS["coarse"].side == "lower"
    net = te.convac(te.ModeTree.grid(16, 16), 2, 16, seed=0)
    c = te.certify(net, te.Partition.grid(16, 16, "left_right"))
    assert c.certified and c.lower == 16 and c.lower_method == "coarse"
    assert "seconds" not in c.details["mincut"]  # skipped: the bounds already met


@pytest.mark.slow
def test_scale_smoke_128():
    # certifies at 128x128 (16,384 modes) without a structured rank; no timing asserted
    net = te.convac(te.ModeTree.grid(128, 128), 2, 16, seed=0)
    c = te.certify(net, te.Partition.grid(128, 128, "left_right"))
    assert c.certified and c.lower == 16


def test_certify_survives_bounds_past_python_int_str_limit():
    # a random partition of 2^14 modes, M=4: the upper bound 4^8192 has > 4,300 digits; the budget message must not
    # str() it (Python's int-to-str limit raised ValueError at 256x256)
    net = te.convac(te.ModeTree.line(2**14), 4, 2, seed=0)
    P = te.Partition.random(2**14, seed=0)
    c = te.certify(net, P, methods=("trivial", "structured"))
    assert "skipped" in c.details["structured"] and len(str(c.upper.bit_length())) and c.upper.bit_length() > 4300 * 3.33
