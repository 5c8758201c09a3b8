"""The restriction lower bound against the dense sub-matrix of the same instance (an independent evaluation)."""

from __future__ import annotations

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.bounds.instance import integer_twin
from tensorexpr.bounds.restriction import restriction_bound
from tensorexpr.core.denominators import clear_denominators
from tensorexpr.core.errors import NetworkError, NotApplicable
from tensorexpr.testing import fraction_rank, random_tree
from tensorexpr.testing.reference import reference_grid_tensor
from tensorexpr.testing.networks import overlap_net


def _nets(seed: int) -> list[te.Network]:
    rng = np.random.default_rng(seed)
    tree = random_tree(6, rng)
    return [te.convac(tree, M=2, widths=[2] * tree.depth, seed=seed),
            overlap_net(6, M=2, r0=2, r1=2, seed=seed, window=3, int_range=30),
            te.overlapping(6, [(2, 1, 2), (5, 1, 2)], M=2, seed=seed, shared=True)]


@pytest.mark.parametrize("seed", range(4))
def test_equals_the_rank_of_the_dense_submatrix(seed: int) -> None:
    """Fix the same modes in the instance's dense grid tensor: the exact rank of that block is the bound."""
    rng = np.random.default_rng(seed + 100)
    for net in _nets(seed):
        I = sorted(int(m) for m in rng.choice(6, size=3, replace=False))
        P = te.Partition(I, 6)
        b = restriction_bound(net, P, seed=seed, max_images=16)
        A = reference_grid_tensor(clear_denominators(integer_twin(net, seed)))
        free = b.details["free_I"] + b.details["free_J"]
        fixed = np.random.default_rng(seed)
        tmpl = {m: int(fixed.integers(net.n_templates)) for m in range(6) if m not in free}
        index = tuple(slice(None) if m in free else tmpl[m] for m in range(6))
        block = np.transpose(A[index], [sorted(free).index(m) for m in free])  # axes: I-free, then J-free
        rows = block.reshape(net.n_templates ** len(b.details["free_I"]), -1)
        assert b.value == fraction_rank(rows.tolist())
        assert b.value <= te.rank(integer_twin(net, seed), P, method="exact").rank


def test_all_modes_free_is_the_instance_rank() -> None:
    net = overlap_net(6, M=2, r0=2, r1=3, seed=3, window=2, int_range=30)
    P = te.Partition([0, 1, 2], 6)
    b = restriction_bound(net, P, seed=0, max_images=2 ** 6)
    assert b.details["free_I"] == [0, 1, 2] and b.details["free_J"] == [3, 4, 5]
    assert b.value == te.rank(integer_twin(net, 0), P, method="exact").rank


def test_traced_cnn_gets_a_positive_lower_bound_below_the_upper() -> None:
    torch = pytest.importorskip("torch")
    nn = torch.nn
    m = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), te.nn.ProductPool2d(2),
                      nn.Conv2d(4, 4, 3, padding=1, bias=False), te.nn.ProductPool2d(2),
                      nn.Conv2d(4, 4, 3, padding=1, bias=False), te.nn.ProductPool2d(2), nn.Flatten(),
                      nn.Linear(4, 1, bias=False))
    net = te.from_torch(m, (1, 8, 8), torch.tensor([[0.0], [1.0]]))
    P = te.Partition([r * 8 + c for r in range(8) for c in range(4)], 8 * 8)
    cert = te.certify(net, P)
    assert cert.lower_method == "restriction" and 1 < cert.lower <= cert.upper
    assert cert.upper_method == "circuit"


def test_errors() -> None:
    relu = te.convac(te.ModeTree.grid(2, 2), M=2, widths=[2], op="relu-max", seed=0)
    with pytest.raises(NotApplicable, match="relu-max"):
        restriction_bound(relu, te.Partition([0, 1], 4))
    with pytest.raises(NetworkError, match="max_images"):
        restriction_bound(_nets(0)[0], te.Partition([0, 1], 6), max_images=2)
