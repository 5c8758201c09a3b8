"""tensorexpr.models.standard_cnn: shapes, parameter counts, and that every builder traces to its module."""

from __future__ import annotations


import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tensorexpr as te  # noqa: E402
from tensorexpr.testing.torch_modules import module_grid  # noqa: E402
from tensorexpr.core.errors import GeometryError, NetworkError  # noqa: E402
from tensorexpr.models.standard_cnn import overlapping_convac, relu_cnn  # noqa: E402


@pytest.mark.parametrize("build", [overlapping_convac, relu_cnn])
@pytest.mark.parametrize("k, M, side, width", [(1, None, 8, 4), (2, None, 8, 3), (3, None, 8, 5), (5, 3, 16, 2)])
def test_parameter_count_closed_form(build, k, M, side, width):
    m = build(side, 10, width=width, kernel_size=k, M=M)
    c0 = 1 if M is None else M
    levels = int(np.log2(side))
    rep = 0 if M is None else 2 * M  # Gaussian centres (M x 1) and widths (M)
    expected = rep + (c0 * width * k * k + width) + (levels - 1) * (width * width * k * k + width) + width * 10 + 10
    assert sum(p.numel() for p in m.parameters()) == expected
    assert m(torch.rand(3, 1, side, side)).shape == (3, 10)


@pytest.mark.parametrize("build", [overlapping_convac, relu_cnn])
@pytest.mark.parametrize("k, geometry", [(1, None), (2, None), (3, None), (3, "mirror"), (4, "mirror")])
def test_traced_builders_are_the_module_on_every_template_image(build, k, geometry):
    torch.manual_seed(k)
    tree = None if geometry is None else te.ModeTree.grid(4, 4, geometry=geometry)
    m = build(4, 2, width=2, kernel_size=k, geometry=tree).double()
    T = torch.tensor([[0.3], [-0.8]], dtype=torch.float64)
    net = te.from_torch(m, (1, 4, 4), T)
    np.testing.assert_allclose(te.grid_tensor(net, output=None), module_grid(m, (1, 4, 4), T), rtol=1e-10, atol=1e-12)


def test_kernel_one_is_a_tree_and_wider_kernels_overlap():
    T = torch.tensor([[0.0], [1.0]])
    tree_net = te.from_torch(overlapping_convac(8, 1, width=2, kernel_size=1), (1, 8, 8), T)
    dag_net = te.from_torch(overlapping_convac(8, 1, width=2, kernel_size=3), (1, 8, 8), T)
    square = set(te.ModeTree.grid(8, 8).nodes)

    def pooled(net):
        return {net.modes[nd.id] for nd in net.nodes if nd.kind == "pool"}
    assert pooled(tree_net) == set(te.ModeTree.grid(8, 8).internal_nodes)  # k = 1: the square tree itself
    assert not pooled(dag_net) <= square  # k = 3: receptive fields grow past the windows and overlap


@pytest.mark.parametrize("kw, err, match", [
    (dict(side=6), NetworkError, "power of 2"),
    (dict(kernel_size=0), NetworkError, "positive int"),
    (dict(kernel_size=True), NetworkError, "positive int"),
    (dict(width=0), NetworkError, "width must be a positive int"),
    (dict(geometry=te.ModeTree.line(64)), GeometryError, "not shaped like"),
])
def test_bad_arguments(kw, err, match):
    args = dict(side=8, classes=10)
    args.update(kw)
    for build in (overlapping_convac, relu_cnn):
        with pytest.raises(err, match=match):
            build(**args)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("k", [2, 4])
def test_even_kernels_pad_as_torch_same(k):
    """Oracle: torch's own padding="same" convolution (it splits an even kernel's padding the same way)."""
    torch.manual_seed(k)
    m = overlapping_convac(4, 1, width=2, kernel_size=k)
    pad, conv = m[0], m[1]
    ref = torch.nn.Conv2d(1, 2, k, padding="same")
    ref.load_state_dict(conv.state_dict())
    x = torch.rand(3, 1, 4, 4)
    torch.testing.assert_close(conv(pad(x)), ref(x))
