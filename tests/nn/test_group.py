"""tensorexpr.nn.group: P4Conv2d is the p4 group convolution (oracle: a Conv2d whose weight is built by loops from
the definition; exact 90-degree equivariance), LearnedBasisConv2d starts as it, and from_torch traces them with
the ties kept (grid tensor = the module on every template image; the base filter is one block; certify's
interval holds the FLINT exact rank)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

torch = pytest.importorskip("torch")

import tensorexpr as te  # noqa: E402
from tensorexpr.testing.torch_modules import integer_weights, module_grid  # noqa: E402
from tensorexpr.core.params import Fixed  # noqa: E402
from tensorexpr.nn import LearnedBasisConv2d, OrientationPool, P4Conv2d, ProductPool2d  # noqa: E402

nn = torch.nn


def _rot(x):
    return torch.rot90(x, 1, (-2, -1))


def _rot_p4(y):
    """A quarter turn acting on a p4 map (channel c * 4 + r): rotate the maps, shift the orientation by one."""
    B, C4, H, W = y.shape
    return _rot(y.reshape(B, C4 // 4, 4, H, W)).roll(1, 2).reshape(B, C4, W, H)


def _loop_conv(m: P4Conv2d) -> nn.Conv2d:
    """The oracle: an nn.Conv2d whose weight is written entry by entry from the definition. Under one
    torch.rot90 quarter turn a k x k filter's new entry (i, j) is the old entry (j, k - 1 - i)."""
    w = m.weight.detach().double()
    k, cout, cin = m.kernel_size, m.out_channels, m.in_channels
    conv = nn.Conv2d(cin * (1 if m.lifting else 4), 4 * cout, k, m.stride, m.padding, bias=m.bias is not None)
    conv = conv.double()

    def src(i, j, r):
        for _ in range(r):
            i, j = j, k - 1 - i
        return i, j

    with torch.no_grad():
        for o, r, c, i, j in itertools.product(range(cout), range(4), range(cin), range(k), range(k)):
            a, b = src(i, j, r)
            if m.lifting:
                conv.weight[o * 4 + r, c, i, j] = w[o, c, a, b]
            else:
                for s in range(4):  # input orientation s reads base orientation s - r
                    conv.weight[o * 4 + r, c * 4 + s, i, j] = w[o, c, (s - r) % 4, a, b]
        if m.bias is not None:
            for o, r in itertools.product(range(cout), range(4)):
                conv.bias[o * 4 + r] = m.bias[o]
    return conv


@pytest.mark.parametrize("lifting", [True, False])
@pytest.mark.parametrize("k, p, s", [(3, 1, 1), (1, 0, 1), (3, 0, 2), (2, 1, 1), (5, 2, 1)])
def test_p4conv_is_the_conv2d_of_its_definition(lifting, k, p, s):
    torch.manual_seed(k + 10 * p + s)
    m = P4Conv2d(2, 3, k, stride=s, padding=p, lifting=lifting).double()
    x = torch.randn(2, 2 if lifting else 8, 7, 7, dtype=torch.float64)
    np.testing.assert_allclose(m(x).detach().numpy(), _loop_conv(m)(x).detach().numpy(), atol=1e-12)
    assert sum(p.numel() for p in m.parameters()) == 3 * 2 * (1 if lifting else 4) * k * k + 3


@pytest.mark.parametrize("lifting", [True, False])
@pytest.mark.parametrize("k, side", [(1, 5), (3, 6), (3, 7), (5, 8)])
def test_p4conv_is_exactly_equivariant_to_quarter_turns(lifting, k, side):
    torch.manual_seed(side)
    m = P4Conv2d(2, 3, k, padding=k // 2, lifting=lifting).double()
    x = torch.randn(2, 2 if lifting else 8, side, side, dtype=torch.float64)
    xr = _rot(x) if lifting else _rot_p4(x)
    with torch.no_grad():
        np.testing.assert_allclose(m(xr).numpy(), _rot_p4(m(x)).numpy(), atol=1e-12)
        # and a plain Conv2d with the same count of filters is not (the oracle can tell the difference)
        c = nn.Conv2d(x.shape[1], 12, k, padding=k // 2).double()
        if k > 1:
            assert np.abs(c(xr).numpy() - _rot(c(x)).numpy()).max() > 1e-3


@pytest.mark.parametrize("mode", ["mean", "max"])
def test_orientation_pool_then_global_pool_is_invariant(mode):
    torch.manual_seed(0)
    m = nn.Sequential(P4Conv2d(1, 2, 3, padding=1, lifting=True), nn.ReLU(), P4Conv2d(2, 2, 3, padding=1),
                      OrientationPool(mode), nn.AdaptiveAvgPool2d(1), nn.Flatten()).double()
    x = torch.randn(4, 1, 6, 6, dtype=torch.float64)
    with torch.no_grad():
        y = m(x)
        for r in range(1, 4):
            np.testing.assert_allclose(m(torch.rot90(x, r, (-2, -1))).numpy(), y.numpy(), atol=1e-12)
    v = torch.arange(8.0).reshape(1, 8, 1, 1)
    assert OrientationPool(mode)(v).flatten().tolist() == ([1.5, 5.5] if mode == "mean" else [3.0, 7.0])


@pytest.mark.parametrize("lifting", [True, False])
def test_learned_basis_starts_as_p4_and_its_loss_sees_drift(lifting):
    lb = LearnedBasisConv2d(2, 3, 3, padding=1, lifting=lifting, seed=4).double()
    p4 = P4Conv2d(2, 3, 3, padding=1, lifting=lifting).double()
    with torch.no_grad():
        p4.weight.copy_(lb.base_weight())
        p4.bias.copy_(lb.bias)
    x = torch.randn(2, 2 if lifting else 8, 6, 6, dtype=torch.float64)
    with torch.no_grad():
        np.testing.assert_allclose(lb(x).numpy(), p4(x).numpy(), atol=1e-12)
        assert float(lb.equivariance_loss()) < 1e-24 and float(lb.equivariance_loss(x)) < 1e-24
        lb.bases[1].add_(0.1 * torch.randn_like(lb.bases[1]))
        assert float(lb.equivariance_loss()) > 1e-4 and float(lb.equivariance_loss(x)) > 1e-4
        xr = _rot(x) if lifting else _rot_p4(x)
        assert np.abs(lb(xr).numpy() - _rot_p4(lb(x)).numpy()).max() > 1e-4  # no longer equivariant


def test_learned_basis_data_free_loss_closed_form():
    """Oracle: without data the loss is sum_r |rot^-1 Psi_{r+1} - Psi_r|^2 / sum_r |Psi_r - mean(Psi_r)|^2."""
    lb = LearnedBasisConv2d(1, 1, 3, n_basis=4, lifting=True, seed=2).double()
    with torch.no_grad():
        lb.bases.copy_(torch.randn_like(lb.bases))
        P = lb.bases
        num = sum((torch.rot90(P[(r + 1) % 4], -1, (-2, -1)) - P[r]).pow(2).sum() for r in range(4))
        den = (P - P.mean((-2, -1), keepdim=True)).pow(2).sum()
        np.testing.assert_allclose(float(lb.equivariance_loss()), float(num / den), rtol=1e-12)


# --- from_torch -----------------------------------------------------------------------------------------------


def _random_p4_module(layers, k, pad, pool, width, bias, seed, side):
    """1-3 layers of P4Conv2d (lifting first), each followed by a pool, then OrientationPool(mean), Linear."""
    mods, c, size = [], 1, side
    relu = pool in ("max", "avg")
    for i in range(layers):
        if size + 2 * pad < k:
            break
        mods.append(P4Conv2d(c, width, k, padding=pad, bias=bias, lifting=i == 0))
        size, c = size + 2 * pad - k + 1, width
        if relu:
            mods.append(nn.ReLU())
        if size >= 2 and i < 2:
            mods.append({"max": nn.MaxPool2d(2), "avg": nn.AvgPool2d(2), "product": ProductPool2d(2)}[pool])
            size //= 2
    mods += [OrientationPool("mean"), nn.Flatten(), nn.Linear(c * size * size, 2, bias=bias)]
    return integer_weights(nn.Sequential(*mods), seed)


@settings(max_examples=10, deadline=None)
@given(layers=st.integers(1, 3), k=st.sampled_from([1, 2, 3]), pad=st.integers(0, 1),
       pool=st.sampled_from(["max", "avg", "product"]), width=st.integers(1, 2), bias=st.booleans(),
       seed=st.integers(0, 10**6), M=st.sampled_from([2, 3]), six=st.booleans())
def test_random_p4_modules_trace_exactly(layers, k, pad, pool, width, bias, seed, M, six):
    side = 6 if six else 4
    m = _random_p4_module(layers, k, pad, pool, width, bias, seed, side)
    T = torch.tensor([[0.0], [1.0], [-1.0]][:M], dtype=torch.float64)
    net = te.from_torch(m, (1, side, side), T)  # OrientationPool(mean) has weights 1/4: not an integer network
    # the ties: the traced blocks hold exactly the module's parameters (one block per base filter)
    assert sum(v.size for v in net.params.values()) == sum(p.numel() for p in m.parameters())
    if side == 4 and M == 2:
        ref = module_grid(m, (1, 4, 4), T)
        # entries reach 1e17 and more (products of integer weights), past float64's exact integers: both sides
        # round, so compare at the tensor's own scale
        np.testing.assert_allclose(te.grid_tensor(net, output=None), ref, rtol=1e-10,
                                   atol=1e-12 * np.abs(ref).max())
        return
    from tensorexpr.spectra.sampled import network_entries

    X = np.random.default_rng(seed).integers(0, M, size=(64, side * side))
    imgs = T[torch.as_tensor(X)].reshape(-1, side, side, 1).permute(0, 3, 1, 2)
    with torch.no_grad():
        y = m(imgs).numpy()
    for o in range(2):
        v, lg, _ = network_entries(net, X, output=o)
        np.testing.assert_allclose(v * np.exp(lg), y[:, o], rtol=1e-10, atol=1e-9 + 1e-12 * np.abs(y[:, o]).max())


def _small(kind: str, learned: bool = False, invariant: bool = True):
    """Two p4 layers on 4x4; ``invariant``: then OrientationPool(mean) + global average (weights 1/4); else a
    global max / product pool and a Linear on the 4 orientation channels (an integer network)."""
    conv = (lambda *a, **kw: LearnedBasisConv2d(*a, seed=3, **kw)) if learned else P4Conv2d
    tail = [nn.ReLU(), nn.MaxPool2d(2)] if kind == "relu" else [ProductPool2d(2)]
    if not invariant:
        return nn.Sequential(conv(1, 1, 3, padding=1, lifting=True), *tail, conv(1, 1, 3, padding=1), *tail,
                             nn.Flatten(), nn.Linear(4, 2))
    return nn.Sequential(conv(1, 1, 3, padding=1, lifting=True), *tail, conv(1, 1, 3, padding=1),
                         *(tail[:1] if kind == "relu" else []), OrientationPool("mean"), nn.AvgPool2d(2),
                         nn.Flatten(), nn.Linear(1, 2))


def test_traced_p4conv_has_one_block_per_base_filter_and_twins_stay_p4():
    m = integer_weights(_small("convac", invariant=False), seed=1)
    T = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    net = te.from_torch(m, (1, 4, 4), T, integer=True)
    assert net.params["_0.weight"].size == m[0].weight.numel() == 9
    assert net.params["_2.weight"].size == m[2].weight.numel() == 36
    assert net.params["_0.bias"].size == 1  # one bias per feature, shared by its 4 orientations
    # a redrawn integer instance is again a p4 CNN: load its blocks into the module, compare grid tensors
    twin = te.integer_twin(net, 5)
    m2 = _small("convac", invariant=False).double()
    P = {k: torch.as_tensor(np.asarray(v, dtype=float)) for k, v in twin.params.items()}
    with torch.no_grad():
        for i in (0, 2):
            m2[i].weight.copy_(P[f"_{i}.weight"].reshape(m2[i].weight.shape))
            m2[i].bias.copy_(P[f"_{i}.bias"])
        m2[5].weight.copy_(P["_5.p0_0"].reshape(4, 2).T)  # a Linear block is the (in, out) weight
        m2[5].bias.copy_(P["_5.bias"])
    assert not np.array_equal(P["_2.weight"].numpy(), m[2].weight.detach().numpy().reshape(-1))  # redrawn
    np.testing.assert_allclose(np.asarray(te.grid_tensor(twin, output=None), dtype=float),
                               module_grid(m2, (1, 4, 4), T), atol=1e-9)


@pytest.mark.parametrize("kind, seed", [("convac", 0), ("convac", 1), ("relu", 2)])
def test_certify_holds_the_exact_rank(kind, seed):
    m = integer_weights(_small(kind, invariant=False), seed=seed)
    net = te.from_torch(m, (1, 4, 4), torch.tensor([[0.0], [1.0]]), integer=True)
    rng = np.random.default_rng(seed)
    for _ in range(2):
        P = te.Partition.random(16, seed=int(rng.integers(10**6)))
        cert = te.certify(net, P)
        assert te.rank(net, P, method="exact").rank <= cert.upper
        generic = max(te.rank(te.integer_twin(net, s), P, method="exact").rank for s in range(3))
        assert cert.lower <= generic


@pytest.mark.parametrize("kind", ["relu", "convac"])
def test_learned_basis_traces_as_fixed_weights(kind):
    torch.manual_seed(0)
    m = _small(kind, learned=True).double()
    with torch.no_grad():
        m[0].bases.add_(0.2 * torch.randn_like(m[0].bases))  # drifted: no longer a p4 layer
    T = torch.tensor([[0.25], [1.0]], dtype=torch.float64)
    net = te.from_torch(m, (1, 4, 4), T)
    np.testing.assert_allclose(te.grid_tensor(net, output=None), module_grid(m, (1, 4, 4), T), atol=1e-12)
    # only the biases and the Linear are blocks; the bilinear filters are constants
    assert not any(b.endswith(".weight") for b in net.params)
    lin = m[-1]
    assert sum(v.size for v in net.params.values()) == 2 + lin.weight.numel() + lin.bias.numel()
    fixed = [nd for nd in net.nodes if nd.kind == "linear" and ".k" in nd.id and nd.id.startswith("_0.")]
    assert fixed and all(isinstance(nd.param, Fixed) for nd in fixed)


# --- errors ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, match", [
    (lambda: P4Conv2d(1, 2, (3, 3)), r"kernel_size must be an int >= 1, got \(3, 3\).*square kernel"),
    (lambda: P4Conv2d(1, 2, 0), "kernel_size must be an int >= 1, got 0"),
    (lambda: P4Conv2d(1, 2, 3, padding="same"), "padding must be an int >= 0, got 'same'.*kernel_size // 2"),
    (lambda: P4Conv2d(0, 2, 3), "in_channels must be an int >= 1, got 0"),
    (lambda: OrientationPool("sum"), "mode must be one of .*'sum'"),
    (lambda: LearnedBasisConv2d(1, 1, 3, n_basis=0), "n_basis must be an int >= 1, got 0"),
])
def test_bad_layers(make, match):
    with pytest.raises(te.NetworkError, match=match):
        make()


def test_bad_inputs_name_the_channels():
    with pytest.raises(te.NetworkError, match=r"expects .* 8 channels \(2 features x 4 orientations\).*\(1, 6, 5, 5\)"
                                              r".*lifting=True"):
        P4Conv2d(2, 1, 3)(torch.zeros(1, 6, 5, 5))
    with pytest.raises(te.NetworkError, match=r"\(B, 4 C, H, W\).*\(1, 6, 5, 5\).*P4Conv2d"):
        OrientationPool()(torch.zeros(1, 6, 5, 5))


@pytest.mark.parametrize("module, match", [
    (nn.Sequential(P4Conv2d(1, 1, 3, padding=1, lifting=True), P4Conv2d(2, 1, 3, padding=1), nn.Flatten()),
     r"P4Conv2d expects 8 channels \(2 features x 4 orientations.*the input has 4.*lifting=True"),
    (nn.Sequential(nn.Conv2d(1, 6, 1), P4Conv2d(1, 1, 1), nn.Flatten()),
     r"P4Conv2d expects 4 channels.*the input has 6"),
    (nn.Sequential(nn.Conv2d(1, 6, 1), OrientationPool(), ProductPool2d(4), nn.Flatten()),
     r"OrientationPool needs 4 C channels .*the input has 6.*P4Conv2d"),
    (nn.Sequential(P4Conv2d(1, 1, 1, lifting=True), nn.ReLU(), OrientationPool("max"), nn.MaxPool2d(4),
                   nn.Flatten()), r"OrientationPool\(mode='max'\).*Hint: use OrientationPool\(mode='mean'\)"),
])
def test_tracer_errors_are_named(module, match):
    with pytest.raises(te.NetworkError, match=match):
        te.from_torch(module, (1, 4, 4), torch.tensor([[0.0], [1.0]]))
