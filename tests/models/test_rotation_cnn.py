"""tensorexpr.models.rotation_cnn: the p4 and learned-basis CNNs are invariant to quarter turns (oracle: the
module on rotated inputs), their parameter counts are the closed forms, they trace (grid tensor = module on
every template image) and the learned bases' penalty trains."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tensorexpr as te  # noqa: E402
from tensorexpr.models import hybrid_cnn as hc  # noqa: E402
from tensorexpr.models import rotation_cnn as rc  # noqa: E402
from tensorexpr.nn import LearnedBasisConv2d  # noqa: E402


@pytest.mark.parametrize("kind", ["relu", "convac"])
@pytest.mark.parametrize("make", [rc.p4_cnn, rc.learned_basis_cnn])
def test_quarter_turn_invariance(make, kind):
    torch.manual_seed(0)
    m = make(8, 3, width=2, kind=kind).double().eval()
    x = torch.rand(5, 1, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        y = m(x)
        for r in range(1, 4):
            np.testing.assert_allclose(m(torch.rot90(x, r, (-2, -1))).numpy(), y.numpy(), rtol=1e-10, atol=1e-12)
        # a plain CNN is not invariant (the oracle can tell)
        p = hc.small_cnn(1, 8, 3, 4).double()
        assert np.abs(p(torch.rot90(x, 1, (-2, -1))).numpy() - p(x).numpy()).max() > 1e-4


def test_drifted_learned_bases_break_invariance():
    torch.manual_seed(1)
    m = rc.learned_basis_cnn(8, 3, width=2).double().eval()
    assert float(rc.equivariance_loss(m).detach()) < 1e-20
    with torch.no_grad():
        m[0].bases[1].add_(0.3 * torch.randn_like(m[0].bases[1]))
        x = torch.rand(5, 1, 8, 8, dtype=torch.float64)
        assert np.abs(m(torch.rot90(x, 1, (-2, -1))).numpy() - m(x).numpy()).max() > 1e-5
    assert float(rc.equivariance_loss(m).detach()) > 1e-3


@pytest.mark.parametrize("width, blocks, classes", [(8, 2, 10), (3, 3, 4)])
def test_parameter_counts_closed_form(width, blocks, classes):
    w = width
    p4 = 9 * w + w + (blocks - 1) * (4 * w * w * 9 + w) + w * classes + classes
    assert hc.n_params(rc.p4_cnn(16, classes, w, blocks=blocks)) == p4
    K = 9  # atoms per orientation: 4 K 9 basis entries per layer, K coefficients per (out, in[, orientation])
    lb = (w * K + w + 4 * K * 9) + (blocks - 1) * (4 * w * w * K + w + 4 * K * 9) + w * classes + classes
    assert hc.n_params(rc.learned_basis_cnn(16, classes, w, blocks=blocks)) == lb
    pw = rc.matched_plain_width(16, classes, p4, blocks=blocks)
    counts = {v: hc.n_params(hc.small_cnn(1, 16, classes, v, "relu", blocks)) for v in range(1, 129)}
    assert abs(counts[pw] - p4) == min(abs(c - p4) for c in counts.values())


@pytest.mark.parametrize("kind", ["relu", "convac"])
@pytest.mark.parametrize("make", [rc.p4_cnn, rc.learned_basis_cnn])
def test_builders_trace(make, kind):
    torch.manual_seed(2)
    m = make(4, 2, width=1, kind=kind).double()
    T = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    net = te.from_torch(m, (1, 4, 4), T)
    idx = torch.as_tensor(np.array(list(itertools.product(range(2), repeat=16))))
    with torch.no_grad():
        y = m(T[idx].reshape(-1, 1, 4, 4)).numpy()
    np.testing.assert_allclose(te.grid_tensor(net, output=None), y.T.reshape((2,) + (2,) * 16), atol=1e-12)
    n_traced = sum(v.size for v in net.params.values())
    if make is rc.p4_cnn:
        assert n_traced == hc.n_params(m)  # every parameter is a traced block: the ties are the module's
    else:  # the bilinear filters are FIXED: only the biases and the Linear remain
        assert n_traced == sum(c.out_channels for c in m if isinstance(c, LearnedBasisConv2d)) + 2 * 1 + 2


def test_fit_with_the_penalty_keeps_bases_closer_to_p4():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(64, 1, 8, 8, generator=g)
    y = (X[:, 0, :4].sum((1, 2)) > X[:, 0, 4:].sum((1, 2))).long()
    losses = {}
    for w in (0.0, 10.0):
        torch.manual_seed(0)
        m = rc.fit(rc.learned_basis_cnn(8, 2, width=2), X, y, epochs=3, lr=1e-2, equivariance_weight=w)
        losses[w] = float(rc.equivariance_loss(m).detach())
    assert losses[0.0] > 0 and losses[10.0] < losses[0.0]


@pytest.mark.parametrize("call, match", [
    (lambda: rc.p4_cnn(6, 2, blocks=2), "side 6 is not divisible by 2\\^blocks = 4"),
    (lambda: rc.p4_cnn(8, 2, kind="tanh"), "kind must be one of .*'tanh'"),
    (lambda: rc.learned_basis_cnn(8, 2, blocks=0), "blocks must be an int >= 1, got 0"),
])
def test_bad_builders(call, match):
    with pytest.raises(te.NetworkError, match=match):
        call()
