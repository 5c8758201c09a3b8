import numpy as np
import pytest

import tensorexpr as te


def test_widths_forms_agree():
    t = te.ModeTree.line(8)
    a = te.convac(t, M=3, widths=2, seed=1)
    b = te.convac(t, M=3, widths=[2, 2, 2], seed=1)
    c = te.convac(t, M=3, widths={n: 2 for n in t.nodes if n != t.root}, seed=1)
    for x in (b, c):
        np.testing.assert_array_equal(te.grid_tensor(a), te.grid_tensor(x))


def test_per_level_widths_shapes():
    t = te.ModeTree.line(8)
    net = te.convac(t, M=3, widths=[2, 4, 5], outputs=6, seed=0)
    shapes = {nd.id: nd.weight.shape for nd in net.nodes}
    assert shapes["x0"] == (3, 2) and shapes["t0-1"] == (2, 4) and shapes["t0-3"] == (4, 5)
    assert shapes["t0-7"] == (5, 6) and net.outputs == 6


def test_shared_ties_weights_per_level():
    t = te.ModeTree.line(8)
    s = te.convac(t, M=3, widths=2, shared=True, seed=0)
    u = te.convac(t, M=3, widths=2, shared=False, seed=0)
    leaves = [nd for nd in s.nodes if nd.kind == "leaf"]
    assert len({s.tie_key(nd.id) for nd in leaves}) == 1  # one block, read from the parametrization
    assert all(np.array_equal(nd.weight, leaves[0].weight) for nd in leaves)
    assert {s.weight_kind(nd.id) for nd in s.nodes if nd.id != s.output} == {"tied"}
    assert s.weight_kind(s.output) == "free"  # the root is alone on its level
    assert {u.weight_kind(nd.id) for nd in u.nodes} == {"free"}
    assert s.n_params == 3 * 2 + 2 * 2 + 2 * 2 + 2 * 1
    assert u.n_params == 8 * 6 + 4 * 4 + 2 * 4 + 2


def test_cp_is_depth_one():
    net = te.cp(5, M=2, Z=3, seed=0)
    assert net.tree.depth == 1 and net.outputs == 1 and net.n_params == 5 * 2 * 3 + 3


def test_network_errors():
    t = te.ModeTree.line(4)
    with pytest.raises(te.NetworkError, match="M"):
        te.convac(t, M=0, widths=2)
    with pytest.raises(te.NetworkError, match="depth 2"):
        te.convac(t, M=2, widths=[2, 2, 2])
    bad = {n: 2 for n in t.nodes if n != t.root}
    bad[frozenset({0})] = 3
    with pytest.raises(te.NetworkError, match="mismatched widths"):
        te.convac(t, M=2, widths=bad)
    with pytest.raises(te.NetworkError, match="Unknown operator"):
        te.convac(t, M=2, widths=2, op="tanh-max")
    with pytest.raises(te.NetworkError, match="ModeTree"):
        te.convac(((0, 1), (2, 3)), M=2, widths=2)
    with pytest.raises(te.NetworkError, match="F must have shape"):
        te.convac(t, M=2, widths=2, F=np.eye(3))
    with pytest.raises(te.NetworkError, match="positive integer"):
        te.convac(t, M=2, widths=[2, 0])


def test_hand_built_node_errors():
    leaf = te.Node("x0", "leaf", mode=0, weight=np.ones((2, 2)))
    with pytest.raises(te.NetworkError, match="topological"):
        te.Network((te.Node("r", "pool", ("x0",), np.ones((2, 1))), leaf), "r", 2)
    with pytest.raises(te.NetworkError, match="rows but M=3"):
        te.Network((leaf,), "x0", 3)
    with pytest.raises(te.NetworkError, match="kind"):
        te.Node("a", "conv")
