"""The one tensor-network form: its structure read against the network's own graph, and its contraction
against the bottom-up evaluator (an independent method)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tensorexpr as te
from tensorexpr.bounds.mincut import network_hypergraph
from tensorexpr.core.tensornet import tensor_network


def _nets():
    yield te.convac(te.ModeTree.grid(4, 4), 2, [3, 2], seed=0)
    yield te.convac(te.ModeTree.line(8), 3, 2, seed=1, shared=True)
    yield te.overlapping(5, [(2, 1, 3), (2, 1, 2)], M=2, seed=2)
    yield te.convac(te.ModeTree.line(4), 2, 2, outputs=3, seed=3)


def _below_identity(net, nid):
    """Nodes reached through weightless (identity) pools, whose children share the parent's index."""
    nd = net.node(nid)
    if nd.weight is not None or nd.kind == "leaf":
        return {nid}
    return {nid} | {d for c in nd.children for d in _below_identity(net, c)}


@pytest.mark.parametrize("net", list(_nets()), ids=lambda n: n.name)
def test_structure_is_the_networks_graph(net):
    tn = tensor_network(net, 0)
    weighted = [op for op in tn.operands if op.role == "weight"]
    leaves = [op for op in tn.operands if op.role == "templates"]
    uses = {}
    for op in tn.operands:
        uses.setdefault((op.node, op.role), 0)
        uses[(op.node, op.role)] += 1
    # every mode is one index, held by exactly the F operands of the leaves reading it (copy hyper-edges)
    members = tn.members()
    for m in range(net.n_modes):
        c = next(c for c, ix in tn.indices.items() if ix.mode == m)
        readers = [k for k in members[c]]
        assert all(tn.operands[k].role == "templates" and net.node(tn.operands[k].node).mode == m for k in readers)
        assert tn.size_dict[c] == net.n_templates
    # a pool's input channel is its weight's row index, and the output index of each of its children
    for c, ix in tn.indices.items():
        if ix.kind == "channel":
            rows = [k for k in members[c] if tn.inputs[k][0] == c]
            assert len(rows) == 1 and tn.operands[rows[0]].role == "weight"
            node = net.node(tn.operands[rows[0]].node)
            assert ix.label == f"in({node.id})" and tn.size_dict[c] == node.weight.shape[0]
            kids = {tn.operands[k].node for k in members[c] if k != rows[0]}
            assert kids <= set(node.children) | {d for ch in node.children for d in _below_identity(net, ch)}
    assert len(leaves) >= net.n_modes and len(weighted) >= 1
    assert len(tn.output) == net.n_modes and len(set(tn.output)) == net.n_modes


@pytest.mark.parametrize("net", list(_nets()), ids=lambda n: n.name)
def test_contraction_equals_the_bottom_up_evaluator(net):
    for out in range(net.outputs):
        tn = tensor_network(net, out)
        A = np.einsum(tn.equation, *tn.arrays, optimize="greedy")
        B = te.grid_tensor(net, method="bottom-up", output=out)
        np.testing.assert_allclose(A, B, rtol=1e-10, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(st.integers(4, 7), st.integers(2, 3), st.integers(1, 3), st.integers(0, 10**6))
def test_hypergraph_edges_are_the_indices_that_separate(n, M, r, seed):
    net = te.overlapping(n, [(2, 1, r), (2, 1, r)], M=M, seed=seed)
    labels, edges = network_hypergraph(net)
    tn = tensor_network(net, 0)
    assert labels == [op.label for op in tn.operands]
    kept = {e.letter for e in edges}
    for c, mem in tn.members().items():
        ix = tn.indices[c]
        separates = ix.mode is not None or (tn.size_dict[c] > 1 and len(mem) > 1)
        assert (c in kept) == separates


def test_refuses_what_is_not_one_tensor_network():
    relu = te.convac(te.ModeTree.line(4), 2, 2, seed=0, op="relu-max")
    with pytest.raises(te.NetworkError, match="product"):
        tensor_network(relu)
    with pytest.raises(te.BudgetError, match="operands"):
        tensor_network(te.convac(te.ModeTree.line(64), 2, 2, seed=0), max_operands=10)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 7), st.integers(0, 10**6))
def test_the_hypertree_program_is_the_brute_force_minimum(n_ops, seed):
    """On random hypertrees with random pins, the exact product and the log-space sum both equal brute force."""
    import itertools
    import math
    import operator

    from tensorexpr.core.tensornet import hypertree, hypertree_min_cut

    rng = np.random.default_rng(seed)
    members = []
    for v in range(1, n_ops):  # a random tree: each operand joins an edge of an earlier one, or a new edge
        if members and rng.random() < 0.4:
            members[int(rng.integers(len(members)))].append(v)
        else:
            members.append([int(rng.integers(v)), v])
    for _ in range(int(rng.integers(0, 3))):  # dangling pinned legs (modes)
        members.append([int(rng.integers(n_ops))])
    dims = [int(d) for d in rng.integers(1, 6, size=len(members))]
    forced = [None if rng.random() < 0.5 else int(rng.integers(2)) for _ in members]
    tree = hypertree(n_ops, members)
    assert tree is not None

    def cost(sides, mul, one, c):
        total = one
        for j, mem in enumerate(members):
            s = {sides[v] for v in mem} | ({forced[j]} if forced[j] is not None else set())
            if len(s) > 1:
                total = mul(total, c[j])
        return total

    brute = min(cost(s, operator.mul, 1, dims) for s in itertools.product((0, 1), repeat=n_ops))
    total, cut, sides = hypertree_min_cut(tree, dims, forced)
    assert total == brute == cost(sides, operator.mul, 1, dims) == math.prod(dims[j] for j in cut)
    logs = [math.log(d) for d in dims]
    ltotal, _, lsides = hypertree_min_cut(tree, logs, forced, mul=operator.add, one=0.0)
    assert ltotal == pytest.approx(math.log(brute), abs=1e-9)
