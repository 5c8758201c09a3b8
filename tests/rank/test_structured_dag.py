"""Structured rank on overlapping (DAG) networks: the face-splitting product on shared modes.

Oracle: the dense prime-field rank of the same integer network (``method="exact", field="prime"``), which
forms the whole grid tensor; and the min-cut upper bound.
"""

from __future__ import annotations


import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.core.network import Network, Node
from tensorexpr.rank.facesplit import face_split

from tensorexpr.testing import overlap_net


def _layers_1d(n: int, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """Random GC layers that fit ``n`` positions with padding='valid' (at least one overlapping layer)."""
    while True:
        layers, cur = [], n
        for li in range(int(rng.integers(1, 4))):
            opts = [(w, s) for w in range(2, min(cur, 4) + 1) for s in range(1, w + 1)
                    if (cur - w) % s == 0 and (li > 0 or (s < w < cur))]  # the first layer overlaps
            if not opts:
                break
            w, s = opts[int(rng.integers(len(opts)))]
            layers.append((w, s, int(rng.integers(1, 4))))
            cur = (cur - w) // s + 1
            if cur == 1:
                break
        if layers:
            return layers


def _partition(n: int, rng: np.random.Generator, seed: int) -> te.Partition:
    kind = seed % 5
    if kind == 0:
        return te.Partition.random(n, seed=seed, balanced=False)
    if kind == 1:
        return te.Partition.random(n, seed=seed)
    if kind == 2:
        return te.Partition.odd_even(n)
    if kind == 3:
        return te.Partition.left_right(n)
    I = [m for m in range(n) if rng.random() < 0.3]
    return te.Partition(I, n)


def _random_overlapping(seed: int) -> tuple[te.Network, te.Partition, int]:
    rng = np.random.default_rng(seed)
    M = int(rng.integers(1, 4))
    outputs = int(rng.integers(1, 3))
    T = M if seed % 3 else int(rng.integers(1, 4))
    F = None if T == M and seed % 2 else rng.integers(-3, 4, size=(T, M))
    if seed % 4 == 3:
        shape = (3, 3) if seed % 8 == 3 else (4, 4)
        w = int(rng.integers(1, 4))
        layers = [(2, 1, w), (2, 1, w)] if shape == (3, 3) else [(3, 1, w), (2, 1, int(rng.integers(1, 3)))]
        if shape == (4, 4) and M > 2:
            M, F = 2, None
        net = te.overlapping(shape, layers, M=M, outputs=outputs, seed=seed, integer=True, shared=bool(seed % 2),
                             F=F if shape == (3, 3) else None, int_range=int(rng.choice([2, 1000])))
        n = shape[0] * shape[1]
    else:
        n = int(rng.integers(4, 10))
        layers = _layers_1d(n, rng)
        net = te.overlapping(n, layers, M=M, outputs=outputs, seed=seed, integer=True, shared=bool(seed % 2),
                             F=F, int_range=int(rng.choice([2, 9, 1000])))
    return net, _partition(n, rng, seed), int(rng.integers(0, outputs))


@pytest.mark.parametrize("seed", range(60))
def test_overlapping_structured_equals_dense_exact(seed: int) -> None:
    net, P, out = _random_overlapping(seed)
    assert not net.is_tree or seed % 4 == 3
    dense = te.rank(net, P, method="exact", field="prime", output=out)
    structured = te.rank(net, P, method="structured", output=out)
    assert structured.rank == dense.rank, (net.name, P.name, out)
    assert structured.shape == dense.shape
    assert structured.rank <= te.mincut_bound(net, P, output=out).bound


@pytest.mark.parametrize("seed", range(8))
def test_hand_built_dag(seed: int) -> None:
    """Stride-1 windows of 2 or 3 leaves sharing modes, weighted pool nodes, one global pool (a root with
    weights and overlapping children: the Kronecker-factored output shortcut must not fire)."""
    n = 5 + seed % 3
    net = overlap_net(n, M=2 + seed % 2, r0=1 + seed % 3, r1=1 + seed % 2, seed=seed, window=2 + seed % 2)
    for P in (te.Partition.odd_even(n), te.Partition.left_right(n), te.Partition.random(n, seed=seed, balanced=False)):
        r = te.rank(net, P, "structured").rank
        assert r == te.rank(net, P, "exact", field="prime").rank
        assert r <= te.mincut_bound(net, P).bound


def test_shared_dag_node_with_mixed_parents() -> None:
    """A leaf feeding an overlapping pool and a disjoint one, and a pool whose children share a mode on one
    side only."""
    rng = np.random.default_rng(0)
    w = lambda a, b: rng.integers(-9, 10, size=(a, b))  # noqa: E731
    nodes = [Node(f"x{m}", "leaf", (), w(2, 2), mode=m) for m in range(5)]
    nodes += [Node("a", "pool", ("x0", "x1"), w(2, 2)), Node("b", "pool", ("x1", "x2", "x3"), w(2, 2)),
              Node("c", "pool", ("x3", "x4"), w(2, 2)), Node("ab", "pool", ("a", "b"), w(2, 2)),
              Node("root", "pool", ("ab", "c"), w(2, 1))]
    net = Network(tuple(nodes), "root", 2, integer=True)
    for I in ([0, 2], [1], [1, 3], [0, 4], [2, 3], []):
        P = te.Partition(I, 5)
        assert te.rank(net, P, "structured").rank == te.rank(net, P, "exact", field="prime").rank


def test_face_split_matches_definition() -> None:
    rng = np.random.default_rng(1)
    T, p = 3, 10007
    X = rng.integers(0, p, size=(T**2, 2))  # modes (4, 1)
    Y = rng.integers(0, p, size=(T**2, 3))  # modes (1, 7)
    Z, modes = face_split(X, (4, 1), Y, (1, 7), T, p)
    assert modes == (1, 4, 7) and Z.shape == (T**3, 6)
    for u1 in range(T):
        for u4 in range(T):
            for u7 in range(T):
                row = (u1 * T + u4) * T + u7
                want = np.kron(X[u4 * T + u1], Y[u1 * T + u7]) % p
                assert np.array_equal(Z[row], want)


def test_overlapping_larger_matches_dense() -> None:
    """n = 10, M = 3: explicit bases with up to 3^5 rows."""
    net = te.overlapping(10, [(3, 1, 3), (2, 2, 3), (2, 1, 2)], M=3, seed=5, integer=True)
    for P in (te.Partition.odd_even(10), te.Partition.random(10, seed=3)):
        assert te.rank(net, P, "structured").rank == te.rank(net, P, "exact", field="prime").rank


def test_overlapping_bad_inputs() -> None:
    flt = te.overlapping(6, [(2, 1, 2), (3, 1, 2)], M=2, seed=0)
    with pytest.raises(te.RankError, match="integer=True"):
        te.rank(flt, te.Partition.odd_even(6), "structured")
    net = te.overlapping(8, [(2, 1, 3), (3, 1, 3), (3, 1, 2)], M=3, seed=0, integer=True)
    with pytest.raises(te.BudgetError, match=r"max_entries=200\b.*mincut_bound"):
        te.rank(net, te.Partition.odd_even(8), "structured", max_entries=200)
    # the explicit T^|I n S_t| x k basis of a wide node is what goes over budget first here
    with pytest.raises(te.BudgetError, match=r"explicit .* basis"):
        te.rank(net, te.Partition.left_right(8), "structured", max_entries=5000)


def test_certify_uses_structured_on_overlapping() -> None:
    net = te.overlapping(8, [(2, 1, 2), (3, 1, 2), (3, 1, 2)], M=2, seed=2, integer=True)
    P = te.Partition.odd_even(8)
    c = te.certify(net, P)
    assert "value" in c.details["structured"], c.details["structured"]
    assert c.details["structured"]["value"] == te.rank(te.integer_twin(net, 0), P, "exact", field="prime").rank
    generic = te.rank(te.integer_twin(net, 11), P, "exact").rank  # another draw, dense over Q
    assert c.lower <= generic <= c.upper
