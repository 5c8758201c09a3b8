"""tensorexpr.models.hybrid_cnn: the builders' shapes and parameter counts (closed forms), the training loop
learns a separable toy problem, and every builder traces (grid tensor = the module on template inputs)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tensorexpr as te  # noqa: E402
from tensorexpr.models import hybrid_cnn as hc  # noqa: E402


def test_shapes_and_parameter_counts():
    m = hc.small_cnn(3, 8, 10, width=4)
    assert tuple(m(torch.zeros(2, 3, 8, 8)).shape) == (2, 10)
    assert hc.n_params(m) == (3 * 9 * 4 + 4) + (4 * 9 * 4 + 4) + (4 * 4 * 10 + 10)
    a = hc.attribute_cnn(8, 10, features=4, attributes=8)
    assert tuple(a(torch.zeros(2, 1, 8, 8)).shape) == (2, 10)
    assert hc.n_params(a) == (9 * 8 + 8) + (1 * 4 * 3 * 9 + 4) + (4 * 4 * 3 * 9 + 4) + (4 * 8 * 4 * 10 + 10)
    p = hc.plain_cnn(8, 10, width=5)
    assert hc.n_params(p) == (9 * 8 + 8) + (8 * 9 * 5 + 5) + (5 * 9 * 5 + 5) + (5 * 4 * 10 + 10)
    x = hc.upsample_digits(np.full((2, 8, 8), 16.0), 16)
    assert tuple(x.shape) == (2, 1, 16, 16) and torch.allclose(x, torch.ones_like(x))


def test_fit_learns_a_separable_problem():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(64, 1, 4, 4, generator=g)
    y = (X.mean((1, 2, 3)) > 0.5).long()
    X = X + y[:, None, None, None].float()  # well separated
    m = hc.fit(hc.small_cnn(1, 4, 2, width=2, blocks=1), X, y, epochs=30, lr=1e-2)
    assert hc.accuracy(m, X, y) == 1.0


@pytest.mark.parametrize("make", [lambda: hc.small_cnn(1, 4, 2, width=2, kind="convac"),
                                  lambda: hc.attribute_cnn(4, 2, features=1, attributes=2, blocks=1),
                                  lambda: hc.plain_cnn(4, 2, width=2, first=2, blocks=1)])
def test_builders_trace(make):
    torch.manual_seed(0)
    m = make().double()
    T = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    A = te.grid_tensor(te.from_torch(m, (1, 4, 4), T), output=None)
    idx = torch.as_tensor(np.array(list(itertools.product(range(2), repeat=16))))
    with torch.no_grad():
        y = m(T[idx].reshape(-1, 1, 4, 4)).numpy()
    np.testing.assert_allclose(A, y.T.reshape((2,) + (2,) * 16), rtol=1e-10, atol=1e-12)


def test_bad_builders():
    with pytest.raises(te.NetworkError, match="kind must be one of"):
        hc.small_cnn(1, 4, 2, kind="tanh")
    with pytest.raises(te.NetworkError, match="not divisible"):
        hc.small_cnn(1, 6, 2, blocks=2)
    with pytest.raises(te.NetworkError, match="not divisible"):
        hc.attribute_cnn(6, 2, blocks=2)
