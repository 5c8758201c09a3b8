"""Structured exact rank over GF(p): oracle = the dense prime-field rank of the same integer network."""

from __future__ import annotations

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.network import Network, Node
from tensorexpr.testing import random_tree


def _random_case(seed: int) -> tuple[te.Network, te.Partition, int]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 8))
    tree = random_tree(n, rng)
    M = int(rng.integers(1, 4))
    widths = [int(w) for w in rng.integers(1, 5, size=tree.depth)]
    outputs = int(rng.integers(1, 4))
    T = int(rng.integers(1, 5))
    F = rng.integers(-3, 4, size=(T, M)) if seed % 3 else None
    net = te.convac(tree, M=M, widths=widths, outputs=outputs, shared=bool(seed % 2), integer=True,
                    seed=seed, F=F, int_range=int(rng.choice([2, 9, 1000])))
    kind = seed % 4
    if kind == 0:
        P = te.Partition.random(n, seed=seed, balanced=False)
    elif kind == 1:
        P = te.Partition.random(n, seed=seed)
    elif kind == 2:
        P = te.Partition.odd_even(n)
    else:
        P = te.Partition([], n) if seed % 8 == 3 else te.Partition.left_right(n)
    return net, P, int(rng.integers(0, outputs))


@pytest.mark.parametrize("seed", range(80))
def test_structured_equals_dense_exact(seed: int) -> None:
    net, P, out = _random_case(seed)
    dense = te.rank(net, P, method="exact", field="prime", output=out)
    structured = te.rank(net, P, method="structured", output=out)
    assert structured.rank == dense.rank
    assert structured.field == dense.field
    assert structured.shape == dense.shape
