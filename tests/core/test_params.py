"""The parametrization of weights: free, tied, fixed and identity, with oracles from the definitions."""

from __future__ import annotations

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.core.network import Network, Node
from tensorexpr.core.params import FIXED, Tied


def test_free_parameter_count_and_kinds_in_repr_and_to_dict():
    tree = te.ModeTree.line(8)
    free = te.convac(tree, M=3, widths=2, seed=0)
    tied = te.convac(tree, M=3, widths=2, seed=0, shared=True)
    # free: 8 leaves 3x2, 4+2 inner 2x2, root 2x1 ; shared: one block per level and shape
    assert free.n_params == 8 * 6 + 6 * 4 + 2
    assert tied.n_params == 6 + 4 + 4 + 2
    assert f"params={free.n_params}" in repr(free) and f"params={tied.n_params}" in repr(tied)
    assert "tied=" in repr(tied) and "tied=" not in repr(free)
    d = tied.to_dict()["parametrization"]
    assert d["n_free_params"] == 16 and d["nodes_by_kind"]["tied"] == 8 + 4 + 2
    assert d["tied_blocks"] == {"level0[3x2]": 8, "level1[2x2]": 4, "level2[2x2]": 2}
    assert free.all_free and not free.is_tied and tied.is_tied and not tied.all_free


def test_weight_kinds_and_tie_keys():
    tree = te.ModeTree.from_nested(((0, 1), (2, 3)))
    rng = np.random.default_rng(0)
    U = rng.integers(-3, 4, size=(2, 2))
    W = {n: (U if tree.is_leaf(n) else None if len(n) == 2 else rng.integers(-3, 4, size=(2, 1)))
         for n in tree.nodes}
    net = te.hierarchical(tree, W, 2, integer=True)
    assert [net.weight_kind(f"x{m}") for m in range(4)] == ["free"] * 4
    assert len({net.tie_key(f"x{m}") for m in range(4)}) == 4  # equal arrays are not ties
    assert net.weight_kind("t0-1") == "identity" and net.tie_key("t0-1") == net.tie_key("t2-3")
    shared = te.hierarchical(tree, W, 2, integer=True, shared=True)
    assert len({shared.tie_key(f"x{m}") for m in range(4)}) == 1
    fixed = net.output_slice(0)
    assert fixed.weight_kind(fixed.output) in ("free", "fixed")


def test_with_params_recomputes_tied_weights_and_keeps_constants():
    tree = te.ModeTree.line(4)
    net = te.convac(tree, M=2, widths=2, seed=0, shared=True, integer=True)
    block = "level0[2x2]"
    new = net.with_params({block: [1, 2, 3, 4]})
    for m in range(4):
        assert np.array_equal(new.node(f"x{m}").weight, [[1, 2], [3, 4]])
    assert new.params[block].tolist() == [1, 2, 3, 4] and np.array_equal(new.node("t0-3").weight, net.node("t0-3").weight)
    # a fixed map: weight = basis @ theta, here a swap of the two columns of a 2x2 weight
    swap = np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]])
    theta = np.array([0, 1, 2, 3])
    nodes = [Node("x0", "leaf", (), theta.reshape(2, 2), mode=0, param=Tied("b")),
             Node("x1", "leaf", (), (swap @ theta).reshape(2, 2), mode=1, param=Tied("b", swap)),
             Node("r", "pool", ("x0", "x1"), np.eye(2, 1, dtype=np.int64), param=FIXED)]
    net2 = Network(tuple(nodes), "r", 2, integer=True, params={"b": theta})
    assert net2.weight_kind("x0") == "tied" and net2.weight_kind("x1") == "tied" and net2.weight_kind("r") == "fixed"
    assert net2.tie_key("x0") != net2.tie_key("x1") and net2.n_params == 4
    moved = net2.with_params({"b": [5, 6, 7, 8]})
    assert np.array_equal(moved.node("x1").weight, (swap @ np.array([5, 6, 7, 8])).reshape(2, 2))
    assert np.array_equal(moved.node("r").weight, net2.node("r").weight)


def test_bad_parametrizations_raise_network_error_with_hints():
    W = np.arange(4).reshape(2, 2)
    with pytest.raises(te.NetworkError, match="not in params"):
        Network((Node("x0", "leaf", (), W, mode=0, param=Tied("nope")),), "x0", 2)
    with pytest.raises(te.NetworkError, match="Hint"):
        Network((Node("x0", "leaf", (), W, mode=0, param=Tied("b")),), "x0", 2, params={"b": [9, 9, 9, 9]})
    with pytest.raises(te.NetworkError, match="needs 4"):
        Network((Node("x0", "leaf", (), W, mode=0, param=Tied("b")),), "x0", 2, params={"b": [1, 2]})
    with pytest.raises(te.NetworkError, match="no weight"):
        Node("x0", "leaf", (), None, mode=0, param=FIXED)
    with pytest.raises(te.NetworkError, match="param must be"):
        Node("x0", "leaf", (), W, mode=0, param="free")
    with pytest.raises(te.NetworkError, match="already a block"):
        Network((Node("x0", "leaf", (), W, mode=0),), "x0", 2, params={"x0": [0, 1, 2, 3]})
    net = te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0)
    with pytest.raises(te.NetworkError, match="not a parameter block"):
        net.with_params({"ghost": [1]})
    with pytest.raises(te.NetworkError, match="has 4 parameters"):
        net.with_params({"x0": [1, 2]})


def test_hierarchical_shared_with_unequal_weights_errors():
    tree = te.ModeTree.line(4)
    rng = np.random.default_rng(0)
    W = {n: rng.integers(-3, 4, size=(2, 2)) if n != tree.root else rng.integers(-3, 4, size=(2, 1))
         for n in tree.nodes}
    with pytest.raises(te.NetworkError, match="different weights.*Hint"):
        te.hierarchical(tree, W, 2, integer=True, shared=True)
    assert te.hierarchical(tree, W, 2, integer=True).all_free  # untied, the same arrays are fine


def test_integer_twin_redraws_blocks_not_copies():
    net = te.convac(te.ModeTree.line(8), M=2, widths=2, seed=0, shared=True)
    twin = te.integer_twin(net, seed=3)
    assert twin.integer and twin.n_params == net.n_params
    leaves = [twin.node(f"x{m}").weight for m in range(8)]
    assert all(np.array_equal(leaves[0], w) for w in leaves)  # still one block
    assert not np.array_equal(leaves[0], net.node("x0").weight)
    with_id = te.hierarchical(te.ModeTree.line(4), {n: None if len(n) == 2 else np.ones((2, 2) if len(n) == 1 else (2, 1))
                                                     for n in te.ModeTree.line(4).nodes}, 2)
    t2 = te.integer_twin(with_id, seed=0)
    assert t2.weight_kind("t0-1") == "identity" and t2.node("t0-1").weight is None


def test_frozen_blocks_and_weights_do_not_alias_writable_buffers():
    """A read-only *view* of a writable array is not frozen: blocks and weights copy it, so later writes to the
    caller's array cannot change a network (read-only arrays the library built are kept without a copy)."""
    from tensorexpr.core.params import freeze_vector, is_immutable

    a = np.arange(4.0)
    v = a.view()
    v.setflags(write=False)
    f = freeze_vector(v)
    a[0] = 99.0
    assert f[0] == 0.0 and is_immutable(f) and not is_immutable(v)
    W = np.ones((2, 2))
    Wv = W.view()
    Wv.setflags(write=False)
    net = te.hierarchical(te.ModeTree.line(2), {frozenset({0}): Wv, frozenset({1}): Wv,
                                                frozenset({0, 1}): np.ones((2, 1))}, 2)
    W[0, 0] = 7.0
    assert all(float(nd.weight[0, 0]) == 1.0 for nd in net.nodes if nd.kind == "leaf")
    built = te.convac(te.ModeTree.line(4), 2, 2, seed=0)
    assert all(is_immutable(b) for b in built.params.values())
