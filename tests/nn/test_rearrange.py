"""te.nn.Rearrange: the permutation, the geometry it realizes under 2x2 poolings, and its trace."""

from __future__ import annotations


import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tensorexpr as te  # noqa: E402
from tensorexpr.testing.torch_modules import module_grid  # noqa: E402
from tensorexpr.core.errors import GeometryError, NetworkError  # noqa: E402
from tensorexpr.nn import ProductPool2d, Rearrange  # noqa: E402

nn = torch.nn


def _relabelled(tree: te.ModeTree, perm: np.ndarray) -> te.ModeTree:
    def relabel(x):
        return int(perm[x]) if isinstance(x, int) else tuple(relabel(c) for c in x)
    return te.ModeTree.from_nested(relabel(tree.to_nested()), name="relabelled")


def test_forward_is_the_permutation():
    rng = np.random.default_rng(0)
    perm = rng.permutation(12)
    x = torch.randn(2, 3, 3, 4)
    y = Rearrange(perm.tolist(), (3, 4))(x)
    for p in range(12):
        i, j = divmod(p, 4)
        a, b = divmod(int(perm[p]), 4)
        assert torch.equal(y[:, :, i, j], x[:, :, a, b])


@pytest.mark.parametrize("tree", [
    te.ModeTree.grid(4, 4, geometry="mirror"),
    te.ModeTree.grid(8, 8, geometry="mirror"),
    te.ModeTree.grid(8, 8),
    _relabelled(te.ModeTree.grid(8, 8), np.random.default_rng(3).permutation(64)),
], ids=["mirror4", "mirror8", "square8", "random8"])
def test_two_by_two_windows_pool_the_nodes_of_the_tree(tree):
    """After the permutation, every window of every pooling level holds exactly the pixels of one tree node."""
    side = int(round(tree.n_modes ** 0.5))
    r = Rearrange.from_tree(tree, side, side)
    pix = r(torch.arange(side * side, dtype=torch.float64).reshape(1, 1, side, side))[0, 0].numpy().astype(int)
    nodes = set(tree.nodes)
    found = set()
    size = 1
    while size <= side:
        for i in range(0, side, size):
            for j in range(0, side, size):
                block = frozenset(pix[i:i + size, j:j + size].ravel().tolist())
                assert block in nodes
                found.add(block)
        size *= 2
    assert found == nodes


def test_a_traced_rearranged_convac_is_the_module_and_pools_the_geometry():
    tree = te.ModeTree.grid(4, 4, geometry="mirror")
    torch.manual_seed(1)
    m = nn.Sequential(Rearrange.from_tree(tree, 4, 4), nn.Conv2d(1, 2, 1), ProductPool2d(2), nn.Conv2d(2, 2, 1),
                      ProductPool2d(2), nn.Flatten(), nn.Linear(2, 1)).double()
    T = torch.tensor([[0.5], [-1.0]], dtype=torch.float64)
    net = te.from_torch(m, (1, 4, 4), T)
    np.testing.assert_allclose(te.grid_tensor(net, output=None), module_grid(m, (1, 4, 4), T), rtol=1e-12,
                               atol=1e-12)
    pooled = {net.modes[nd.id] for nd in net.nodes if nd.kind == "pool"}
    assert set(tree.internal_nodes) <= pooled  # the product nodes are the mirror tree's nodes
    # I = two children of the root: only the root's product joins them, so the rank is at most the 2 channels
    # of the last convolution plus 1 for the head's bias; without the Rearrange the same module pools square
    # windows, which this I cuts through
    kids = tree.children(tree.root)
    P = te.Partition(sorted(kids[0] | kids[1]), 16)
    assert te.rank(net, P).rank <= 3
    square = te.from_torch(nn.Sequential(*list(m)[1:]), (1, 4, 4), T)
    assert te.rank(square, P).rank > 3


def test_rearrange_with_overlapping_convolutions_traces_exactly():
    rng = np.random.default_rng(5)
    torch.manual_seed(2)
    m = nn.Sequential(Rearrange(rng.permutation(16).tolist(), (4, 4)), nn.Conv2d(1, 2, 3, padding=1),
                      ProductPool2d(2), nn.Conv2d(2, 2, 3, padding=1), ProductPool2d(2), nn.Flatten(),
                      nn.Linear(2, 2)).double()
    T = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    np.testing.assert_allclose(te.grid_tensor(te.from_torch(m, (1, 4, 4), T), output=None),
                               module_grid(m, (1, 4, 4), T), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("perm, shape, match", [
    ([0, 1, 2], (2, 2), "permutation of range\\(4\\)"),
    ([0, 1, 1, 2], (2, 2), "permutation of range\\(4\\)"),
    ([0.0, 1.0, 2.0, 3.0], (2, 2), "permutation"),
    ([0, 1, 2, 3], (2, 0), "positive ints"),
    ([0, 1, 2, 3], 4, "positive ints"),
])
def test_bad_permutations_are_refused(perm, shape, match):
    with pytest.raises(NetworkError, match=match):
        Rearrange(perm, shape)


def test_bad_trees_and_inputs_are_refused():
    with pytest.raises(GeometryError, match="16 pixels"):
        Rearrange.from_tree(te.ModeTree.grid(2, 2), 4, 4)
    with pytest.raises(GeometryError, match="not shaped like"):
        Rearrange.from_tree(te.ModeTree.line(16), 4, 4)  # a binary tree under 2x2 poolings
    r = Rearrange(list(range(4)), (2, 2))
    with pytest.raises(NetworkError, match="expects"):
        r(torch.zeros(1, 1, 4, 4))
    m = nn.Sequential(nn.Conv2d(1, 1, 1), ProductPool2d(2), r, nn.Flatten(), nn.Linear(4, 1))
    with pytest.raises(NetworkError, match="Rearrange\\(2, 2\\) on a 4x4"):
        te.from_torch(nn.Sequential(r, nn.Flatten()), (1, 4, 4), torch.tensor([[0.0], [1.0]]))
    assert te.from_torch(m, (1, 4, 4), torch.tensor([[0.0], [1.0]])).n_modes == 16  # on a 2x2 map it fits
