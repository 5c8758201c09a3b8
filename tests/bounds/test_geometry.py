"""Pooling-geometry bound: numeric recursion vs symbolic substitution vs exact ranks and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorexpr as te
from tensorexpr.bounds.geometry import M_SYMBOL, width_symbols
from tensorexpr.testing import random_tree


def _case(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 10))
    tree = random_tree(n, rng)
    M = int(rng.integers(1, 5))
    per_node = bool(rng.integers(0, 2))
    if per_node:
        widths = {}
        for node in tree.internal_nodes:
            w = int(rng.integers(1, 6))
            widths.update({c: w for c in tree.children(node)})
    else:
        widths = [int(rng.integers(1, 6)) for _ in range(tree.depth)]
    P = te.Partition(rng.choice(n, size=int(rng.integers(1, n)), replace=False).tolist(), n)
    return tree, M, widths, P


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6))
def test_symbolic_substitution_equals_numeric(seed):
    tree, M, widths, P = _case(seed)
    res = te.geometry_bound(tree, P, symbolic=True, M=M, widths=widths)
    assert res.expr.subs(res.values) == res.value
    net = te.convac(tree, M, widths, seed=0)  # the network path resolves widths independently
    assert te.geometry_bound(net, P).value == res.value


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10**6))
def test_geometry_bounds_exact_rank(seed):
    tree, M, widths, P = _case(seed)
    if max(M, 1) ** tree.n_modes > 20_000:
        return
    exact = te.rank(te.convac(tree, M, widths, seed=1, integer=True), P, method="exact").rank
    assert exact <= te.geometry_bound(tree, P, M=M, widths=widths).value


def test_symbolic_by_name_and_shape():
    t = te.ModeTree.line(8)
    res = te.geometry_bound(t, te.Partition.left_right(8), symbolic=True)
    r = width_symbols(3)
    assert res.value is None
    assert sp.simplify(res.expr - sp.Min(M_SYMBOL**4, r[2])) == 0
    assert res.subs({"M": 3, "r_2": 2}) == 2
    assert "Min" in res.to_dict()["expr"]


def test_blob_net_left_right_square_vs_mirror():
    P = te.Partition.grid(32, 32, "left_right")
    sq = te.geometry_bound(te.ModeTree.grid(32, 32, geometry="square"), P, M=2, widths=16)
    mi = te.geometry_bound(te.ModeTree.grid(32, 32, geometry="mirror"), P, M=2, widths=16)
    assert sq.value == 16  # [derived] rank <= r_{L-1}
    assert mi.value == 2**512  # every first-level window is mixed: capped by M^{N/2}


@pytest.mark.parametrize("N,M,r", [(8, 3, 2), (16, 3, 3), (8, 2, 4)])
def test_closed_form_odd_even_matches_certificate(N, M, r):
    cf = te.closed_form(te.ModeTree.line(N), te.Partition.odd_even(N))
    assert cf.kind == "exact"
    value = cf.expr.subs({M_SYMBOL: M, width_symbols(1)[0]: r})
    cert = te.certify(te.convac(te.ModeTree.line(N), M, r, seed=0), te.Partition.odd_even(N))
    assert cert.certified and cert.lower == value == min(r, M) ** (N // 2)


def test_closed_form_coarse_is_an_upper_bound_on_certified_rank():
    tree = te.ModeTree.grid(4, 4, geometry="square")
    P = te.Partition.grid(4, 4, "left_right")
    cf = te.closed_form(tree, P)
    assert cf is not None and cf.kind == "upper"
    for widths in ([2, 3], [3, 2], [1, 4]):
        net = te.convac(tree, 2, widths, seed=0)
        cert = te.certify(net, P)
        assert cert.certified
        assert cert.lower <= cf.expr.subs({M_SYMBOL: 2, width_symbols(2)[1]: widths[1]})
    assert te.closed_form(te.ModeTree.grid(4, 4, geometry="mirror"), P) is None


def test_geometry_errors():
    t = te.ModeTree.line(4)
    with pytest.raises(te.PartitionError, match="modes 0..7"):
        te.geometry_bound(t, te.Partition.odd_even(8), M=2, widths=2)
    with pytest.raises(te.NetworkError, match="product"):
        te.geometry_bound(te.convac(t, 2, 2, op="relu-max", seed=0), te.Partition.odd_even(4))
    with pytest.raises(te.NetworkError, match="ModeTree or a Network"):
        te.geometry_bound("line:4", te.Partition.odd_even(4))
