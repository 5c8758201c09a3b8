"""Gram lower bound (instance rank through Gram matrices of pure subtrees) vs the dense exact rank of the same
integer instance, tied and untied, fixed weights; budget refusal on highly mixed partitions."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.bounds.gram import gram_bound
from tensorexpr.core.errors import BudgetError, NetworkError
from tensorexpr.core.params import FIXED
from tensorexpr.testing import random_tree


@pytest.mark.parametrize("seed", range(16))
def test_gram_equals_dense_exact_rank_of_the_same_instance(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 9))
    tree = random_tree(n, rng, max_fan=4)
    M = int(rng.integers(1, 4))
    widths = [int(rng.integers(1, 5)) for _ in range(tree.depth)]
    F = rng.integers(-2, 3, size=(int(rng.integers(1, 4)), M)) if seed % 3 == 0 else None
    net = te.convac(tree, M, widths, shared=bool(seed % 2), seed=seed, F=F)
    P = te.Partition(rng.choice(n, size=int(rng.integers(1, n)), replace=False).tolist(), n)
    g = gram_bound(net, P, seed=5)
    exact = te.rank(te.integer_twin(net, 5), P, method="exact").rank  # the same draws (integer_twin's seed 5)
    assert g.value == exact and g.side == "lower"


def test_gram_with_fixed_weights_matches_exact():
    net = te.convac(te.ModeTree.line(8), 2, 3, seed=0, integer=True)
    E = np.array([[1, 1, 0], [0, 2, 1], [1, 0, 0]])
    nodes = [replace(nd, weight=E, param=FIXED) if nd.id in ("t0-1", "t4-5") else nd for nd in net.nodes]
    fixed = replace(net, nodes=tuple(nodes), params={b: v for b, v in net.params.items() if b not in ("t0-1", "t4-5")})
    for P in (te.Partition.odd_even(8), te.Partition.left_right(8), te.Partition([0, 1, 4, 6], 8)):
        assert gram_bound(fixed, P, seed=2).value == te.rank(te.integer_twin(fixed, 2), P, method="exact").rank


def test_gram_coarse_cells_of_blob_net_and_refusal():
    net = te.convac(te.ModeTree.grid(32, 32, 2, "square"), 2, 16, shared=True, seed=0)
    assert gram_bound(net, te.Partition.grid(32, 32, "left_right")).value == 16
    with pytest.raises(BudgetError, match="GRAM_MAX_ENTRIES"):
        gram_bound(net, te.Partition.grid(32, 32, "checkerboard"))


def test_gram_needs_integer_F():
    net = te.convac(te.ModeTree.line(4), 2, 2, seed=0, F=np.array([[0.5, 1.0], [1.0, 0.0]]))
    with pytest.raises(NetworkError, match="integer"):
        gram_bound(net, te.Partition.odd_even(4))
