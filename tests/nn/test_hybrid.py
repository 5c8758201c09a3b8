"""tensorexpr.nn.hybrid: AttributeConv2d is the tied Conv2d it claims to be (oracle: an explicit Conv2d with the
expanded weight), from_torch keeps its ties (grid tensor = module on every template image; certify's interval
holds the FLINT exact rank), and a FrontEnd is traced as the representation (grid tensor = the CNN after it on
every coefficient field made of templates)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tensorexpr as te  # noqa: E402
from tensorexpr.testing.torch_modules import integer_weights, module_grid  # noqa: E402
from tensorexpr.nn import AttributeConv2d, FrontEnd, ProductPool2d  # noqa: E402

nn = torch.nn


def _expanded_conv2d(a: AttributeConv2d) -> nn.Conv2d:
    """The slow reference: the Conv2d whose weight repeats the Conv3d kernel along the attribute axis."""
    w3 = a.conv.weight.detach().double()
    fo, fi, ka, k, _ = w3.shape
    L, Lo = a.attributes, a.out_attributes
    c = nn.Conv2d(fi * L, fo * Lo, k, stride=a.stride, padding=a.padding, bias=a.conv.bias is not None).double()
    with torch.no_grad():
        c.weight.zero_()
        for o, f, t, lo in itertools.product(range(fo), range(fi), range(ka), range(Lo)):
            li = lo * a.attr_stride - a.attr_padding + t
            if 0 <= li < L:
                c.weight[o * Lo + lo, f * L + li] = w3[o, f, t]
        if c.bias is not None:
            c.bias.copy_(a.conv.bias.detach().double().repeat_interleave(Lo))
    return c


@pytest.mark.parametrize("fi, fo, L, ka, pa, sa, k, p, s", [
    (1, 2, 4, 3, 1, 1, 3, 1, 1), (2, 3, 5, 2, 0, 1, 3, 0, 1), (2, 2, 6, 3, 1, 2, 2, 1, 2), (1, 1, 3, 3, 2, 1, 1, 0, 1)])
def test_attribute_conv_is_a_tied_conv2d(fi, fo, L, ka, pa, sa, k, p, s):
    torch.manual_seed(0)
    a = AttributeConv2d(fi, fo, L, ka, k, padding=p, attr_padding=pa, stride=s, attr_stride=sa).double()
    x = torch.randn(3, fi * L, 6, 6, dtype=torch.float64)
    np.testing.assert_allclose(a(x).detach().numpy(), _expanded_conv2d(a)(x).detach().numpy(), atol=1e-12)
    assert a.out_channels == fo * a.out_attributes


def _attr_net(kind: str, side: int) -> nn.Sequential:
    act = [nn.ReLU(), nn.MaxPool2d(2)] if kind == "relu" else [ProductPool2d(2)]
    out = side // 2
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), *(act[:1] if kind == "relu" else []),
                         AttributeConv2d(1, 2, 3, 3, 3, padding=1, attr_padding=1), *act,
                         nn.Flatten(), nn.Linear(6 * out * out, 2))


@pytest.mark.parametrize("kind", ["relu", "convac"])
def test_traced_attribute_cnn_is_the_module_on_every_template_image_4x4(kind):
    m = integer_weights(_attr_net(kind, 4), seed=3)
    T = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    net = te.from_torch(m, (1, 4, 4), T, integer=True)
    np.testing.assert_array_equal(te.grid_tensor(net, output=None), module_grid(m, (1, 4, 4), T))


@pytest.mark.parametrize("kind", ["relu", "convac"])
def test_traced_attribute_cnn_on_6x6_template_images(kind):
    """2^36 entries: sampled template images through the network's own evaluator vs the module."""
    from tensorexpr.spectra.sampled import network_entries

    m = integer_weights(_attr_net(kind, 6), seed=5)
    T = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    net = te.from_torch(m, (1, 6, 6), T, integer=True)
    X = np.random.default_rng(0).integers(0, 2, size=(64, 36))
    imgs = T[torch.as_tensor(X)].reshape(-1, 6, 6, 1).permute(0, 3, 1, 2)
    with torch.no_grad():
        y = m(imgs).numpy()
    for o in range(2):
        v, lg, _ = network_entries(net, X, output=o)
        np.testing.assert_allclose(v * np.exp(lg), y[:, o], rtol=1e-12, atol=1e-9)


def test_traced_attribute_conv_keeps_its_ties():
    m = _attr_net("relu", 4)
    net = te.from_torch(m, (1, 4, 4), torch.tensor([[0.0], [1.0]]))
    a = m[2]
    blocks = {nd.param.block for nd in net.nodes if nd.kind == "linear" and nd.id.startswith("_2.")}
    assert blocks == {f"_2.k{i}_{j}" for i in range(3) for j in range(3)} | {"_2.bias"}
    # one offset's block is the Conv3d kernel column (fo, fi, ka), not the (cin, cout) matrix it expands to
    assert net.params["_2.k0_0"].size == a.out_features * a.in_features * a.attr_kernel
    assert net.params["_2.bias"].size == a.out_features
    # a redrawn integer instance keeps the ties: its weights are again a Conv3d along the attribute axis
    twin = te.integer_twin(net, 1)
    W = next(nd.weight for nd in twin.nodes if nd.id == "_2.1_1.k1_1")  # (3 + 1, 2 * 3): rows f * L + l
    Wr = np.asarray(W, dtype=float)[:3].reshape(3, 2, 3)  # (l, o, l')
    assert np.array_equal(Wr[0, :, 0], Wr[1, :, 1]) and np.array_equal(Wr[1, :, 0], Wr[2, :, 1])


@pytest.mark.parametrize("kind, seed", [pytest.param("relu", 0, marks=pytest.mark.slow), ("convac", 1), ("convac", 2)])
def test_certify_holds_the_exact_rank(kind, seed):
    m = integer_weights(_attr_net(kind, 4), seed=seed)
    net = te.from_torch(m, (1, 4, 4), torch.tensor([[0.0], [1.0]]), integer=True)
    rng = np.random.default_rng(seed)
    for _ in range(2):
        P = te.Partition.random(16, seed=int(rng.integers(10**6)))
        cert = te.certify(net, P)
        assert te.rank(net, P, method="exact").rank <= cert.upper
        generic = max(te.rank(te.integer_twin(net, s), P, method="exact").rank for s in range(3))
        assert cert.lower <= generic


def _fe_net(kind: str) -> nn.Sequential:
    """A fixed 2x2 average front end (no kymatio needed) then a CNN on its 3 x 4 x 4 output."""
    fe = FrontEnd(nn.Sequential(nn.AvgPool2d(2), _Triple()), 3)
    tail = [nn.ReLU(), nn.MaxPool2d(2)] if kind == "relu" else [ProductPool2d(2)]
    return nn.Sequential(fe, nn.Conv2d(3, 2, 3, padding=1), *tail, nn.Flatten(), nn.Linear(8, 2))


class _Triple(nn.Module):
    def forward(self, x):
        return torch.cat([x, x**2, torch.cos(x)], 1)


@pytest.mark.parametrize("kind", ["relu", "convac"])
def test_front_end_is_the_representation(kind):
    torch.manual_seed(1)
    m = _fe_net(kind).double()
    imgs = torch.rand(20, 1, 8, 8, dtype=torch.float64)
    m[0].fit(imgs)
    T = m[0].fit_templates(imgs, 2, seed=0)
    assert T.shape == (2, 3)
    net = te.from_torch(m, (3, 4, 4), T)
    # the grid tensor is the CNN after the front end on every coefficient field made of templates
    np.testing.assert_allclose(te.grid_tensor(net, output=None), module_grid(m[1:], (3, 4, 4), T), rtol=1e-10,
                               atol=1e-10)
    with torch.no_grad():  # and the module is that CNN on the front end's output
        np.testing.assert_allclose(m(imgs).numpy(), m[1:](m[0](imgs)).numpy())


def test_scattering_front_end_traces():
    pytest.importorskip("kymatio")
    from tensorexpr.models.hybrid_cnn import scattering_cnn

    torch.manual_seed(0)
    m = scattering_cnn(8, 2, width=2, J=1, L=2, blocks=1).double()
    imgs = torch.rand(10, 1, 8, 8, dtype=torch.float64)
    m[0].fit(imgs)
    K = m[0].channels
    assert tuple(m[0](imgs).shape) == (10, K, 4, 4)
    T = m[0].fit_templates(imgs, 2)
    net = te.from_torch(m, (K, 4, 4), T)
    np.testing.assert_allclose(te.grid_tensor(net, output=None), module_grid(m[1:], (K, 4, 4), T), rtol=1e-10,
                               atol=1e-10)


@pytest.mark.parametrize("make, shape, match", [
    (lambda: _fe_net("relu"), (1, 8, 8), "with a FrontEnd first, input_shape is its output"),
    (lambda: nn.Sequential(nn.Conv2d(3, 3, 1), _fe_net("relu")), (3, 4, 4), "must be the first layer"),
    (lambda: nn.Sequential(nn.Conv2d(1, 2, 1), AttributeConv2d(1, 1, 3, 1, 1), nn.Flatten(), nn.Linear(48, 1)),
     (1, 4, 4), "AttributeConv2d expects 3 channels"),
])
def test_bad_hybrids_are_named(make, shape, match):
    with pytest.raises(te.NetworkError, match=match):
        te.from_torch(make(), shape, torch.zeros(2, shape[0]))


def test_bad_layers():
    with pytest.raises(te.NetworkError, match="trainable parameters"):
        FrontEnd(nn.Conv2d(1, 1, 1), 1)
    with pytest.raises(te.NetworkError, match="attr_kernel=5 is longer"):
        AttributeConv2d(1, 1, 3, 5, 3)
    with pytest.raises(te.NetworkError, match="attributes must be an int >= 1"):
        AttributeConv2d(1, 1, 0, 1, 3)
    with pytest.raises(te.NetworkError, match=r"expects \(B, 6, H, W\)"):
        AttributeConv2d(2, 1, 3, 1, 1)(torch.zeros(1, 5, 4, 4))
    with pytest.raises(te.NetworkError, match="M=9"):
        FrontEnd(nn.AvgPool2d(2), 1).fit_templates(torch.zeros(1, 1, 4, 4), 9)
