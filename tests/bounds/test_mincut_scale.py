"""The min-cut on the network's own hypergraph (tree DP, scipy max-flow) against the previous
networkx/einsum implementation and the independent oracle, on random trees and DAGs up to the old limit."""

from __future__ import annotations


import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.bounds.mincut import fast_mincut, network_hypergraph, tensor_hypergraph
from tensorexpr.testing import random_tree

from tensorexpr.testing import local_mincut_bound, overlap_net  # noqa: E402


def _check(net: te.Network, P: te.Partition, solver: str) -> None:
    new = te.mincut_bound(net, P, solver=solver)
    old = te.mincut_bound(net, P, solver="networkx")
    assert new.bound == old.bound == local_mincut_bound(net, P)
    assert new.bound == int(np.prod([e.dim for e in new.cut]))  # exact product of the returned cut


@pytest.mark.parametrize("seed", range(30))
def test_tree_dp_matches_networkx_and_oracle(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 12))
    tree = random_tree(n, rng)
    M = int(rng.integers(2, 5))
    widths = [int(x) for x in rng.integers(1, 7, size=tree.depth)]
    net = te.convac(tree, M, widths, seed=seed)
    P = te.Partition.random(n, seed=seed, balanced=bool(seed % 2))
    if not P.I or not P.J:
        return
    assert te.mincut_bound(net, P).details["solver"] == "dp"
    _check(net, P, "dp")
    _check(net, P, "maxflow")  # max-flow on a tree too (mixed primes exercise the two-slope check)


@pytest.mark.parametrize("seed", range(12))
def test_maxflow_on_dags_matches_networkx_and_oracle(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(4, 8))
    net = overlap_net(n, int(rng.integers(2, 4)), int(rng.integers(1, 5)), int(rng.integers(1, 5)), seed,
                      window=int(rng.integers(2, 4)))
    P = te.Partition.random(n, seed=seed)
    _check(net, P, "auto")  # the DP where size-1 bonds leave a hyper-forest, else max-flow
    _check(net, P, "maxflow")


def test_hypergraph_matches_einsum_hypergraph():
    net = te.convac(te.ModeTree.grid(4, 4), 2, [3, 2], seed=0)
    a_labels, a_edges = network_hypergraph(net)
    b_labels, b_edges = tensor_hypergraph(net)
    assert sorted(a_labels) == sorted(b_labels)
    key = lambda lab, es: sorted((e.dim, -1 if e.mode is None else e.mode, tuple(sorted(lab[m] for m in e.members))) for e in es)  # noqa: E731
    assert key(a_labels, a_edges) == key(b_labels, b_edges)


def test_beyond_the_old_operand_limit():
    # 128x128 has ~38k operands, far past the einsum path's 4,096; the DP is exact (geometry bound agrees
    # on the coarse cut: r_{L-1} = 16)
    net = te.convac(te.ModeTree.grid(64, 64), 2, 16, seed=0)
    P = te.Partition.grid(64, 64, "left_right")
    res = te.mincut_bound(net, P)
    assert res.bound == te.geometry_bound(net, P).value == 16
    assert res.details["n_operands"] > 4096


def test_dp_refuses_dag():
    net = overlap_net(5, 2, 2, 2, 0)
    with pytest.raises(te.NetworkError, match="maxflow"):
        fast_mincut(net, te.Partition.left_right(5), solver="dp")
