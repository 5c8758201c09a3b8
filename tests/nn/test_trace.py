"""te.from_torch: the traced network's grid tensor is the module on every template image (oracle: the module's
own forward), and certify's interval holds the exact rank (FLINT) of that tensor."""

from __future__ import annotations


import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

torch = pytest.importorskip("torch")

import tensorexpr as te  # noqa: E402
from tensorexpr.testing.torch_modules import integer_weights, module_grid  # noqa: E402
from tensorexpr.nn import ProductPool2d, Representation  # noqa: E402

nn = torch.nn


CASES = {
    "conv3x3-bias, product pool, 1x1, product pool, linear": (
        lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), ProductPool2d(2), nn.Conv2d(2, 3, 1), ProductPool2d(2),
                              nn.Flatten(), nn.Linear(3, 2)), (1, 4, 4)),
    "relu, grouped conv, max pool, avg pool": (
        lambda: nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1, groups=2),
                              nn.ReLU(), nn.MaxPool2d(2), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(4, 3)), (1, 4, 4)),
    "representation, overlapping product pool": (
        lambda: nn.Sequential(Representation(3, 1, kind="gaussian", seed=2), nn.Conv2d(3, 2, 2),
                              ProductPool2d(2, 1), nn.Flatten(), nn.Linear(8, 1)), (1, 4, 4)),
    "stride, dilation, avg pool without pad counts": (
        lambda: nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, padding=2, dilation=2), nn.ReLU(),
                              nn.AvgPool2d(2, padding=1, count_include_pad=False), nn.Flatten(), nn.Linear(8, 2)),
        (1, 4, 4)),
    "identity, functional relu and flatten, stride past pixels": (
        lambda: _Functional(), (1, 4, 4)),
}


class _Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2, self.id = nn.Conv2d(1, 2, 1, stride=2), nn.Conv2d(2, 2, 2), nn.Identity()

    def forward(self, x):
        return torch.flatten(torch.relu(self.c2(torch.relu(self.id(self.c1(x))))), 1)


@pytest.mark.parametrize("case", list(CASES))
def test_grid_tensor_is_the_module_on_every_template_image(case):
    make, shape = CASES[case]
    torch.manual_seed(0)
    m = make().double()
    T = torch.tensor([[0.25], [1.0]], dtype=torch.float64)
    net = te.from_torch(m, shape, T)
    np.testing.assert_allclose(te.grid_tensor(net, output=None), module_grid(m, shape, T), rtol=1e-12, atol=1e-12)


@settings(max_examples=12, deadline=None)
@given(layers=st.integers(1, 3), k=st.sampled_from([1, 2, 3]), pad=st.integers(0, 1), stride=st.integers(1, 2),
       width=st.integers(1, 3), bias=st.booleans(), relu=st.booleans(), seed=st.integers(0, 10**6),
       six=st.booleans())
def test_random_modules_trace_exactly_and_certify_soundly(layers, k, pad, stride, width, bias, relu, seed, six):
    """Random small modules with integer weights: grid tensor = module; certify's interval holds the exact rank."""
    side = 6 if six and layers == 1 else 4
    mods, c, size = [], 1, side
    for _ in range(layers):
        if size + 2 * pad < k:
            break
        mods.append(nn.Conv2d(c, width, k, stride=stride, padding=pad, bias=bias))
        size, c = (size + 2 * pad - k) // stride + 1, width
        if size >= 2:
            mods += [nn.ReLU(), nn.MaxPool2d(2)] if relu else [ProductPool2d(2)]
            size //= 2
        elif relu:
            mods.append(nn.ReLU())
    if not mods:
        return
    m = integer_weights(nn.Sequential(*mods, nn.Flatten(), nn.Linear(c * size * size, 1, bias=bias)), seed)
    T = torch.tensor([[0.0], [1.0]] if side == 4 else [[0.0], [1.0]], dtype=torch.float64)
    net = te.from_torch(m, (1, side, side), T, integer=True)
    if side == 4:
        A, ref = te.grid_tensor(net, output=None), module_grid(m, (1, side, side), T)
        if np.abs(ref).max() < 2.0**53:  # float64 integers are exact: so is the equality
            np.testing.assert_array_equal(A, ref)
        else:  # past 2^53 both sides round, in their own order: compare at the tensor's scale
            np.testing.assert_allclose(A, ref, rtol=1e-12, atol=1e-13 * np.abs(ref).max())
    else:  # 2^36 entries: compare sampled template images through the network's own bottom-up evaluator
        from tensorexpr.spectra.sampled import network_entries

        X = np.random.default_rng(seed).integers(0, 2, size=(64, side * side))
        v, lg, _ = network_entries(net, X)
        imgs = T[torch.as_tensor(X)].reshape(-1, side, side, 1).permute(0, 3, 1, 2)
        with torch.no_grad():
            y = m(imgs)[:, 0].numpy()
            np.testing.assert_allclose(v * np.exp(lg), y, rtol=1e-12, atol=1e-9 + 1e-13 * np.abs(y).max())
        return
    rng = np.random.default_rng(seed)
    for _ in range(2):
        P = te.Partition.random(side * side, seed=int(rng.integers(10**6)))
        cert = te.certify(net, P)
        # upper bounds hold for every weight setting, so for this module's own weights
        assert te.rank(net, P, method="exact").rank <= cert.upper
        # the lower end bounds the generic rank: never above the best of a few independent integer draws
        generic = max(te.rank(te.integer_twin(net, s), P, method="exact").rank for s in range(3))
        assert cert.lower <= generic


def test_shared_weights_are_tied_and_padding_drops_taps():
    m = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, bias=False), ProductPool2d(4), nn.Flatten())
    net = te.from_torch(m, (1, 4, 4), torch.tensor([[0.0], [1.0]]))
    blocks = {nd.param.block for nd in net.nodes if nd.kind == "linear"}
    assert blocks == {f"_0.k{a}_{b}" for a in range(3) for b in range(3)}  # one block per offset: a convolution
    corner = [nd for nd in net.nodes if nd.id.startswith("_0.0_0.k")]
    assert len(corner) == 4  # 3x3 taps, 5 fall on the zero padding


@pytest.mark.parametrize("module, match", [
    (nn.Sequential(nn.Conv2d(1, 1, 1), nn.BatchNorm2d(1)), "BatchNorm2d is not supported"),
    (nn.Sequential(nn.Conv2d(1, 1, 1), nn.Sigmoid()), "Sigmoid is not supported"),
    (nn.Sequential(nn.Conv2d(1, 1, 1), ProductPool2d(2), nn.ReLU()), "one operator"),
    (nn.Sequential(nn.Conv2d(1, 1, 1), nn.MaxPool2d(2), nn.ReLU()), "max pool whose inputs may be negative"),
    (nn.Sequential(nn.Conv2d(1, 1, 1)), "positions"),
])
def test_unsupported_modules_are_named(module, match):
    with pytest.raises(te.NetworkError, match=match):
        te.from_torch(module, (1, 4, 4), torch.tensor([[0.0], [1.0]]))


def test_bad_arguments():
    m = nn.Sequential(nn.Conv2d(1, 1, 1), ProductPool2d(2), nn.Flatten(), nn.Linear(4, 1))
    with pytest.raises(te.NetworkError, match="input_shape"):
        te.from_torch(m, (4, 4), torch.tensor([[0.0]]))
    with pytest.raises(te.NetworkError, match="templates"):
        te.from_torch(m, (1, 4, 4), torch.zeros(2, 3))
    with pytest.raises(te.NetworkError, match="NaN"):
        te.from_torch(m, (1, 4, 4), torch.tensor([[float("nan")], [1.0]]))
    with pytest.raises(te.NetworkError, match="not an integer"):
        te.from_torch(m, (1, 4, 4), torch.tensor([[0.5], [1.0]]), integer=True)


def test_zero_padding_before_a_conv_traces_and_other_readers_are_refused():
    torch.manual_seed(3)
    m = nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(1, 2, 2), ProductPool2d(2), nn.ZeroPad2d((1, 0, 1, 0)),
                      nn.Conv2d(2, 2, 2), ProductPool2d(2), nn.Flatten(), nn.Linear(2, 1)).double()
    T = torch.tensor([[0.5], [-1.0]], dtype=torch.float64)
    np.testing.assert_allclose(te.grid_tensor(te.from_torch(m, (1, 4, 4), T), output=None),
                               module_grid(m, (1, 4, 4), T), rtol=1e-12, atol=1e-12)
    T2 = torch.tensor([[0.0], [1.0]])
    with pytest.raises(te.NetworkError, match="ReLU reads a zero-padded map"):
        te.from_torch(nn.Sequential(nn.ZeroPad2d(1), nn.ReLU(), nn.Conv2d(1, 1, 6), nn.Flatten()), (1, 4, 4), T2)
    with pytest.raises(te.NetworkError, match="only zero padding"):
        te.from_torch(nn.Sequential(nn.ConstantPad2d(1, 1.0), nn.Conv2d(1, 1, 6), nn.Flatten()), (1, 4, 4), T2)
    with pytest.raises(te.NetworkError, match="negative padding"):
        te.from_torch(nn.Sequential(nn.ZeroPad2d(-1), nn.Conv2d(1, 1, 2), nn.Flatten()), (1, 4, 4), T2)
