"""Min-cut bound (Levine et al., ICLR 2018): oracles are exact ranks of generic integer instances; the min-cut on
the network's own hypergraph (tree DP, scipy max-flow) against the networkx/einsum implementation and the
independent oracle, on random trees and DAGs up to the old operand limit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorexpr as te
from tensorexpr.bounds.mincut import fast_mincut
from tensorexpr.testing import local_mincut_bound, overlap_net, random_tree


def _random_case(seed: int, base: int | None):
    rng = np.random.default_rng(seed)
    while True:
        n = int(rng.integers(3, 8))
        tree = random_tree(n, rng)
        M = int(base ** rng.integers(1, 3)) if base else int(rng.integers(2, 4))
        if M**n <= 20_000:
            break
    draw = (lambda: int(base ** rng.integers(0, 3))) if base else (lambda: int(rng.integers(1, 5)))
    widths = [draw() for _ in range(tree.depth)]
    P = te.Partition(rng.choice(n, size=int(rng.integers(1, n)), replace=False).tolist(), n)
    return tree, M, widths, P


def _generic_rank(tree, M, widths, P, seeds=(1, 2)) -> int:
    return max(te.rank(te.convac(tree, M, widths, seed=s, integer=True, int_range=10**6), P, method="exact").rank
               for s in seeds)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6))
def test_chain_specialization_exact_mincut_geometry(seed):
    """specialization (lower) <= exact instance rank <= generic rank <= min-cut, geometry (upper)."""
    tree, M, widths, P = _random_case(seed, None)
    net = te.convac(tree, M, widths, seed=0)
    exact = _generic_rank(tree, M, widths, P)
    cert = te.certify(net, P, methods=["specialization"])
    assert cert.lower <= exact
    assert exact <= te.mincut_bound(net, P).bound
    assert exact <= te.geometry_bound(net, P).value
    assert te.mincut_bound(net, P).bound <= te.geometry_bound(net, P).value  # observed: min-cut never looser


@pytest.mark.parametrize("base", [2, 3])
def test_mincut_equals_generic_rank_when_widths_are_powers(base):
    """Tightness for powers of one integer on untied trees: proved by the flow lower bound
    (tensorexpr/bounds/flow.py, tested in test_flow.py); here the min-cut against exact ranks on a fast sample.
    Trees only (DAGs: see the exceptions below)."""
    for seed in range(20):
        tree, M, widths, P = _random_case(1000 * base + seed, base)
        assert te.mincut_bound(te.convac(tree, M, widths, seed=0), P).bound == _generic_rank(tree, M, widths, P)


def test_mincut_exception_overlapping_dag():
    """Pinned exception: a stride-1 window-3 DAG, all widths 2 (powers of 2), where min-cut 4 > generic rank 3.

    The rank 3 is confirmed by exact ranks (Q) of 4 integer instances and numeric SVD ranks of 4 float ones.
    """
    P = te.Partition([1, 2], 4)
    assert te.mincut_bound(overlap_net(4, 2, 2, 2, 0, window=3), P).bound == 4
    exact = {te.rank(overlap_net(4, 2, 2, 2, s, window=3), P, method="exact").rank for s in range(4)}
    numeric = {te.rank(overlap_net(4, 2, 2, 2, s, window=3, integer=False), P, method="numeric").rank
               for s in range(4)}
    assert exact == numeric == {3}


@pytest.mark.slow  # ~45 s symbolic determinant; run with -m slow
def test_mincut_exception_is_proved_symbolically():
    """Proof, not sampling: with every weight a free symbol the 4x4 matricization's determinant expands to the
    zero polynomial, so rank <= 3 for every weight setting; one integer point has rank 3; the min-cut is 4."""
    import sympy as sp

    from tensorexpr.evaluate.grid import _Arith, bottom_up
    from tensorexpr.core.network import Network, Node

    def sym(name, shape):
        return np.array([[sp.Symbol(f"{name}_{i}{j}") for j in range(shape[1])] for i in range(shape[0])], dtype=object)

    num = overlap_net(4, 2, 2, 2, 0, window=3)
    nodes = tuple(Node(nd.id, nd.kind, nd.children, sym(nd.id, nd.weight.shape), nd.mode) for nd in num.nodes)
    net = Network(nodes, num.output, 2, integer=True, name="symbolic")
    P = te.Partition([1, 2], 4)
    mat = sp.Matrix(te.matricize(bottom_up(net, _Arith("exact"))[0], P).tolist())
    assert sp.expand(mat.det(method="berkowitz")) == 0
    assert te.rank(num, P, method="exact").rank == 3 < te.mincut_bound(num, P).bound == 4


def test_mincut_dag_is_upper_bound():
    rng = np.random.default_rng(7)
    for _ in range(12):
        n, M, r0, r1, w = 5, int(rng.integers(2, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 4)), 2
        P = te.Partition(rng.choice(n, size=2, replace=False).tolist(), n)
        net = overlap_net(n, M, r0, r1, 0, window=w)
        assert te.rank(net, P, method="exact").rank <= te.mincut_bound(net, P).bound


def test_odd_even_cut_and_mapping():
    net = te.convac(te.ModeTree.line(8), M=3, widths=2, seed=0)
    res = te.mincut_bound(net, te.Partition.odd_even(8))
    assert res.bound == 16 == 2**4  # [derived] min(M, r_0)^{N/2}
    assert {e.dim for e in res.cut} == {2} and len(res.cut) == 4
    assert "t0-1" in res.source_side + res.sink_side  # operands mapped back to node ids
    d = res.to_dict()
    assert d["bound"] == 16 and len(d["cut"]) == 4
    assert "bound=16" in repr(res)


def test_star_model_is_looser_than_lawler():
    """CP with Z=2 and 4 modes, I={0,1}: the channel is one 5-member hyper-edge. Lawler cuts it once (2);
    a star must cut two spokes (2*2=4). The exact rank (oracle) is 2."""
    net = te.cp(4, M=3, Z=2, seed=0)
    P = te.Partition([0, 1], 4)
    lawler = te.mincut_bound(net, P)
    star = te.mincut_bound(net, P, hyperedges="star")
    exact = te.rank(te.cp(4, M=3, Z=2, seed=1, integer=True), P, method="exact").rank
    assert exact == lawler.bound == 2 < star.bound == 4


def test_star_looser_on_dag_copy_edge():
    net = overlap_net(4, 2, 2, 2, 0, window=3)
    P = te.Partition([0, 3], 4)
    assert te.mincut_bound(net, P).bound <= te.mincut_bound(net, P, hyperedges="star").bound


def test_blob_net_coarse_cut_is_16():
    net = te.convac(te.ModeTree.grid(32, 32, geometry="square"), M=2, widths=16, seed=0)
    res = te.mincut_bound(net, te.Partition.grid(32, 32, "left_right"))
    assert res.bound == 16  # [derived] rank <= r_{L-1}


def test_mincut_errors():
    net = te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0, op="relu-max")
    if net is not None:
        with pytest.raises(te.NetworkError, match="product"):
            te.mincut_bound(net, te.Partition.odd_even(4))
    good = te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0)
    with pytest.raises(te.PartitionError, match="modes 0..7"):
        te.mincut_bound(good, te.Partition.odd_even(8))
    with pytest.raises(te.NetworkError, match="hyperedges"):
        te.mincut_bound(good, te.Partition.odd_even(4), hyperedges="clique")


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
