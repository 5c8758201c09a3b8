"""Structured exact rank over GF(p) (``tensorexpr/rank/structured.py``), on trees and on overlapping (DAG) networks
through the face-splitting product on shared modes.

Oracle: the dense prime-field rank of the same integer network (``method="exact", field="prime"``), which forms
the whole grid tensor; and the min-cut upper bound.
"""

from __future__ import annotations

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.core.network import Network, Node
from tensorexpr.testing import overlap_net, random_tree


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
        P = te.Partition([0], n) if seed % 8 == 3 else te.Partition.left_right(n)  # an empty side is refused (docs/errors.md)
    return net, P, int(rng.integers(0, outputs))


@pytest.mark.parametrize("seed", range(80))
def test_structured_equals_dense_exact(seed: int) -> None:
    net, P, out = _random_case(seed)
    dense = te.rank(net, P, method="exact", field="prime", output=out)
    structured = te.rank(net, P, method="structured", output=out)
    assert structured.rank == dense.rank
    assert structured.field == dense.field
    assert structured.shape == dense.shape


@pytest.mark.parametrize("seed", range(30))
def test_structured_equals_dense_exact_rich(seed: int) -> None:
    """Larger ranks: 6..8 modes, widths 2..4, fan-in up to 3, T != M."""
    rng = np.random.default_rng(1000 + seed)
    n = int(rng.integers(6, 9))
    tree = random_tree(n, rng)
    M = int(rng.integers(2, 4))
    T = M + int(rng.integers(-1, 2)) if seed % 2 else M
    F = rng.integers(-5, 6, size=(max(T, 1), M))
    widths = [int(w) for w in rng.integers(2, 5, size=tree.depth)]
    net = te.convac(tree, M=M, widths=widths, outputs=2, integer=True, seed=seed, F=F, int_range=1000,
                    shared=seed % 3 == 0)
    P = te.Partition.random(n, seed=seed, balanced=seed % 2 == 0)
    out = seed % 2
    assert te.rank(net, P, "structured", output=out).rank == te.rank(net, P, "exact", field="prime", output=out).rank


# -- HT line and the ICLR 2017 blob network ----------------------------------------------------------------
def test_ht_line_16_r0_2_full_widths() -> None:
    """[derived] exact generic rank min(r_0, M)^(N/2) under odd/even; <= r_{L-1} under left/right."""
    net = te.convac(te.ModeTree.line(16), M=3, widths=2, integer=True, seed=0)
    assert te.rank(net, te.Partition.odd_even(16), "structured").rank == 256
    assert te.rank(net, te.Partition.left_right(16), "structured").rank <= 2


@pytest.mark.parametrize("r0,expected", [(2, 256), (3, 6561), (4, 6561)])
def test_ht_line_16_odd_even(r0: int, expected: int) -> None:
    """Widths (r_0, 3, 3, 1): Thm. 1 puts no condition on r_1..r_{L-1}; r_{L-1} = 1 keeps the 6561 x 6561
    output block a Kronecker product, so this runs in milliseconds (the full-width case is the slow test)."""
    net = te.convac(te.ModeTree.line(16), M=3, widths=[r0, 3, 3, 1], integer=True, seed=0)
    res = te.rank(net, te.Partition.odd_even(16), "structured")
    assert res.rank == expected == min(r0, 3) ** 8
    assert res.rank >= te.specialization_bound(net, te.Partition.odd_even(16)).value
    assert te.rank(net, te.Partition.left_right(16), "structured").rank <= 1


@pytest.mark.slow  # ~55 s: dense 6561x6561 rank over GF(p); run with -m slow
def test_ht_line_16_odd_even_full_width_slow() -> None:
    net = te.convac(te.ModeTree.line(16), M=3, widths=3, integer=True, seed=0)
    assert te.rank(net, te.Partition.odd_even(16), "structured").rank == 6561


@pytest.fixture(scope="module")
def blob_square() -> te.Network:
    return te.convac(te.ModeTree.grid(32, 32, geometry="square"), M=2, widths=16, integer=True, seed=0)


@pytest.mark.parametrize("kind", ["left_right", "top_bottom"])
def test_blob_square_coarse_partitions(blob_square: te.Network, kind: str) -> None:
    """ICLR 2017 [derived]: square pooling with a coarse partition has rank <= r_{L-1} = 16; exactly 16 here
    (the lower side: the root pools 4 pure quadrants whose 16 channels are independent)."""
    res = te.rank(blob_square, te.Partition.grid(32, 32, kind), "structured")
    assert res.rank == 16


def test_blob_mirror_left_right_refused_cleanly() -> None:
    """Mirror pooling, left/right: every first-level window is mixed, the rank is exponential
    (specialization: >= 4^256), so the structured method must refuse with a BudgetError, not guess."""
    net = te.convac(te.ModeTree.grid(32, 32, geometry="mirror"), M=2, widths=16, integer=True, seed=0)
    P = te.Partition.grid(32, 32, "left_right")
    assert te.specialization_bound(net, P).value == 4**256
    with pytest.raises(te.BudgetError, match="max_rank"):
        te.rank(net, P, "structured", max_rank=64)


# -- sum nodes (mixed decompositions) ------------------------------------------------------------------------
def _mixed_network(seed: int, M: int = 2, r: int = 2, T: int | None = None) -> Network:
    """Two trees over modes 0..5 (contiguous pairs and a dilated grouping) summed at an internal mixture node
    over modes {0, 1, 2, 3} and at the output."""
    rng = np.random.default_rng(seed)
    w = lambda a, b: rng.integers(-5, 6, size=(a, b))  # noqa: E731
    nodes = [Node(f"a{m}", "leaf", (), w(M, r), mode=m) for m in range(6)]
    nodes += [Node(f"b{m}", "leaf", (), w(M, r), mode=m) for m in range(6)]
    # tree A: ((0,1),(2,3)) then with (4,5)
    nodes += [Node("a01", "pool", ("a0", "a1"), w(r, r)), Node("a23", "pool", ("a2", "a3"), w(r, r)),
              Node("a45", "pool", ("a4", "a5"), w(r, r)), Node("a0123", "pool", ("a01", "a23"), w(r, r))]
    # tree B: ((0,2),(1,3)) then with (4,5) from (5,4) order
    nodes += [Node("b02", "pool", ("b0", "b2"), w(r, r)), Node("b13", "pool", ("b1", "b3"), w(r, r)),
              Node("b54", "pool", ("b5", "b4"), w(r, r)), Node("b0123", "pool", ("b13", "b02"), w(r, r))]
    nodes += [Node("mix", "sum", ("a0123", "b0123"))]
    nodes += [Node("lin", "linear", ("mix",), w(r, r))]
    nodes += [Node("aroot", "pool", ("lin", "a45"), w(r, 2)), Node("broot", "pool", ("b54", "b0123"), w(r, 2))]
    nodes += [Node("out", "sum", ("aroot", "broot"))]
    F = None if T is None else rng.integers(-3, 4, size=(T, M))
    return Network(tuple(nodes), "out", M, F=F, integer=True, name=f"mixed({seed})")


@pytest.mark.parametrize("seed", range(12))
def test_sum_nodes_match_dense(seed: int) -> None:
    net = _mixed_network(seed, M=2 + seed % 2, r=1 + seed % 3, T=None if seed % 4 else 3)
    for P in [te.Partition.odd_even(6), te.Partition.left_right(6), te.Partition.random(6, seed=seed, balanced=False)]:
        for out in range(2):
            # oracle: the dense bottom-up exact grid tensor (the core's output_slice needs a weighted output)
            A = te.grid_tensor(net, backend="exact", output=None)[out]
            assert te.rank(net, P, "structured", output=out).rank == te.rank(A, P, "exact", field="prime").rank


# -- bad inputs --------------------------------------------------------------------------------------------
def test_refuses_float_network() -> None:
    net = te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0)
    with pytest.raises(te.RankError, match="integer=True"):
        te.rank(net, te.Partition.odd_even(4), "structured")


def test_refuses_relu() -> None:
    net = te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0, op="relu-max", integer=True)
    with pytest.raises(te.RankError, match="not multilinear"):
        te.rank(net, te.Partition.odd_even(4), "structured")


def test_refuses_over_budget() -> None:
    net = te.convac(te.ModeTree.line(16), M=3, widths=3, integer=True, seed=0)
    # refused at once: the certified generic lower bound (specialization) is already over budget
    with pytest.raises(te.BudgetError, match=r"at least 6561.*max_rank=4096.*certify"):
        te.rank(net, te.Partition.odd_even(16), "structured", max_rank=4096)
    # refused in flight: the bound fits but an intermediate block does not
    small = te.convac(te.ModeTree.line(16), M=3, widths=2, integer=True, seed=0)
    with pytest.raises(te.BudgetError, match=r"mincut_bound"):
        te.rank(small, te.Partition.odd_even(16), "structured", max_rank=300, max_entries=2000)


def test_overlapping_supported_and_bad_prime() -> None:
    """Overlapping pool nodes (formerly refused) now use the face-splitting product: oracle = dense exact."""
    leaves = [Node(f"x{m}", "leaf", (), [[1, 2], [3, 4]], mode=m) for m in range(3)]
    nodes = leaves + [Node("p01", "pool", ("x0", "x1"), [[1], [2]]), Node("p12", "pool", ("x1", "x2"), [[1], [1]]),
                      Node("root", "pool", ("p01", "p12"), [[1]])]
    net = Network(tuple(nodes), "root", 2, integer=True)
    for P in (te.Partition.odd_even(3), te.Partition.left_right(3), te.Partition([1], 3)):
        assert te.rank(net, P, "structured").rank == te.rank(net, P, "exact", field="prime").rank
    ok = te.convac(te.ModeTree.line(4), M=2, widths=2, integer=True, seed=0)
    with pytest.raises(te.RankError, match="not prime"):
        te.rank(ok, te.Partition.odd_even(4), "structured", prime=1000)
    with pytest.raises(te.RankError, match="out of range"):
        te.rank(ok, te.Partition.odd_even(4), "structured", output=3)


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
    return te.Partition(I or [0], n)  # an empty side is refused (docs/errors.md)


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
    for I in ([0, 2], [1], [1, 3], [0, 4], [2, 3], [0, 1, 2, 3]):
        P = te.Partition(I, 5)
        assert te.rank(net, P, "structured").rank == te.rank(net, P, "exact", field="prime").rank


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
