"""The circuit upper bound: equal to the exact tree min-cut on trees, above the exact rank on DAGs and sums."""

from __future__ import annotations

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.bounds.circuit import circuit_bound
from tensorexpr.core.errors import NotApplicable, PartitionError
from tensorexpr.core.partitions import standard_partitions
from tensorexpr.testing import brute_generic_rank, random_tree
from tensorexpr.testing.networks import overlap_net


def _random_partition(n: int, rng: np.random.Generator) -> te.Partition:
    k = int(rng.integers(1, n))
    I = sorted(int(m) for m in rng.choice(n, size=k, replace=False))
    return te.Partition(I, n)


@pytest.mark.parametrize("seed", range(12))
def test_equals_the_exact_tree_mincut(seed: int) -> None:
    """On a tree the DP states are the min-cut's (bond on the I or J side, input channel cut or not)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 13))
    tree = random_tree(n, rng)
    widths = [int(w) for w in rng.integers(1, 6, size=tree.depth)]
    net = te.convac(tree, M=int(rng.integers(2, 4)), widths=widths, seed=seed)
    for _ in range(6):
        P = _random_partition(n, rng)
        assert circuit_bound(net, P).value == te.mincut_bound(net, P).value


def test_cp_closed_form() -> None:
    """CP with Z components: rank <= Z (one cut of the shared channel) and <= M^min(|I|,|J|)."""
    net = te.cp(6, M=3, Z=5, seed=0)
    P = te.Partition([0, 1, 2], 6)
    assert circuit_bound(net, P).value == 5
    P1 = te.Partition([0], 6)
    assert circuit_bound(net, P1).value == 3


@pytest.mark.parametrize("seed", range(6))
def test_overlapping_dag_is_above_the_exact_rank(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 7))
    net = overlap_net(n, M=2, r0=int(rng.integers(1, 4)), r1=int(rng.integers(1, 4)), seed=seed,
                      window=int(rng.integers(2, 4)), int_range=50)
    for _ in range(3):
        P = _random_partition(n, rng)
        assert circuit_bound(net, P).value >= brute_generic_rank(net, P, draws=2, seed=seed)


@pytest.mark.parametrize("seed", range(4))
def test_mixed_decomposition_is_subadditive(seed: int) -> None:
    """A sum of two tree networks: at most the sum of the two trees' min-cuts, and above the exact rank."""
    rng = np.random.default_rng(seed)
    a, b = te.ModeTree.grid(2, 4, geometry="square"), te.ModeTree.grid(2, 4, geometry="mirror")
    net = te.mixed(a, b, [], M=2, widths=[2, 2], seed=seed, integer=True, convention="sum")
    for _ in range(3):
        P = _random_partition(8, rng)
        c = circuit_bound(net, P).value
        assert c >= brute_generic_rank(net, P, draws=2, seed=seed)


def _strided(width: int) -> object:
    torch = pytest.importorskip("torch")
    nn = torch.nn
    m = nn.Sequential(nn.Conv2d(1, width, 2, stride=2, bias=False), nn.Conv2d(width, width, 2, stride=2, bias=False),
                      nn.Flatten(), nn.Linear(width, 1, bias=False)).double()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randint(-9, 10, p.shape, dtype=torch.float64))
    return m


def test_traced_strided_convolutions_get_the_bond_bound() -> None:
    """2x2 stride-2 convolutions (sums of four offsets, no overlap): every cut stays below the trivial bound, and
    above the exact rank (left/right: a sum of a pure-I and a pure-J width-w summand, 1 + w = 3 >= 2)."""
    torch = pytest.importorskip("torch")
    w = 2
    net = te.from_torch(_strided(w), (1, 4, 4), torch.tensor([[0.0], [1.0]]), integer=True)
    for P in standard_partitions(4, 4):
        c = circuit_bound(net, P).value
        assert c >= te.rank(net, P, method="exact").rank
        assert c < 2 ** 8


def test_refuses_a_relu_network_and_a_wrong_partition() -> None:
    net = te.overlapping(6, [(2, 1, 2)], M=2, seed=0)
    relu = te.convac(te.ModeTree.grid(2, 2), M=2, widths=[2], op="relu-max", seed=0)
    with pytest.raises(NotApplicable, match="relu-max"):
        circuit_bound(relu, te.Partition([0, 1], 4))
    with pytest.raises(PartitionError):
        circuit_bound(net, te.Partition([0], 3))


def test_certify_uses_it_on_dags_and_stays_sound() -> None:
    net = overlap_net(6, M=2, r0=2, r1=3, seed=1, int_range=50)
    P = te.Partition([0, 2, 4], 6)
    cert = te.certify(net, P)
    assert "circuit" in cert.results
    assert cert.lower <= brute_generic_rank(net, P, draws=2) <= cert.upper


def _traced_stack(convs: list[tuple[int, int, int, bool]], pool_after: list[bool], width: int, seed: int):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    mods, c, size = [], 1, 4
    for (k, stride, pad, bias), pool in zip(convs, pool_after):
        if size + 2 * pad < k:
            break
        mods.append(nn.Conv2d(c, width, k, stride=stride, padding=pad, bias=bias))
        size, c = (size + 2 * pad - k) // stride + 1, width
        if pool and size >= 2:
            mods.append(te.nn.ProductPool2d(2))
            size //= 2
    m = nn.Sequential(*mods, nn.Flatten(), nn.Linear(c * size * size, 1, bias=True)).double()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randint(-3, 4, p.shape, generator=g, dtype=torch.float64))
    return te.from_torch(m, (1, 4, 4), torch.tensor([[0.0], [1.0]]), integer=True)


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(convs=st.lists(st.tuples(st.sampled_from([1, 2, 3]), st.integers(1, 2), st.integers(0, 1), st.booleans()),
                      min_size=1, max_size=3),
       pools=st.lists(st.booleans(), min_size=3, max_size=3), width=st.integers(1, 3), seed=st.integers(0, 10**6))
def test_traced_stacks_stay_above_the_generic_rank(convs, pools, width, seed):
    """Traced conv stacks (linear chains between poolings, biases, strides, padding): the circuit bound is
    at least the best exact rank of three integer instances on random partitions, and at most the shape."""
    net = _traced_stack(convs, pools, width, seed)
    rng = np.random.default_rng(seed)
    for _ in range(2):
        P = te.Partition.random(16, seed=int(rng.integers(10**6)))
        c = circuit_bound(net, P).value
        assert c <= 2 ** 8
        assert c >= max(te.rank(te.integer_twin(net, s), P, method="exact").rank for s in range(3))
