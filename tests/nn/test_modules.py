"""tensorexpr.nn modules against plain torch arithmetic."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import tensorexpr as te  # noqa: E402
from tensorexpr.nn import ProductPool2d, Representation  # noqa: E402


@pytest.mark.parametrize("k, s", [(2, None), (3, 1), ((2, 3), (1, 2))])
def test_product_pool_is_the_window_product(k, s):
    x = torch.rand(2, 3, 7, 8, dtype=torch.float64) + 0.5
    y = ProductPool2d(k, s)(x)
    kh, kw = (k, k) if isinstance(k, int) else k
    sh, sw = (kh, kw) if s is None else ((s, s) if isinstance(s, int) else s)
    ref = torch.exp(torch.nn.functional.avg_pool2d(torch.log(x), (kh, kw), (sh, sw)) * kh * kw)  # oracle: log-sum
    torch.testing.assert_close(y, ref)
    assert y.shape == torch.nn.functional.max_pool2d(x, (kh, kw), (sh, sw)).shape


def test_product_pool_sits_in_a_sequential_and_refuses_bad_input():
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 1), ProductPool2d(2), torch.nn.Flatten())
    assert net(torch.ones(1, 1, 4, 4)).shape == (1, 8)
    with pytest.raises(te.NetworkError, match="kernel_size"):
        ProductPool2d(0)
    with pytest.raises(te.NetworkError, match="H >= 2"):
        ProductPool2d(2)(torch.ones(1, 1, 1, 4))


@pytest.mark.parametrize("kind", Representation.KINDS)
def test_representation_is_one_function_per_pixel(kind):
    rep = Representation(3, 2, kind=kind, seed=1).double()
    x = torch.randn(4, 2, 3, 5, dtype=torch.float64)
    y = rep(x)
    assert y.shape == (4, 3, 3, 5)
    pts = x.permute(0, 2, 3, 1).reshape(-1, 2)  # the same map at every position
    torch.testing.assert_close(rep.on_points(pts), y.permute(0, 2, 3, 1).reshape(-1, 3))
    with pytest.raises(te.NetworkError, match="kind"):
        Representation(3, 2, kind="cosine")
    assert not list(Representation(3, 2, learned=False).parameters())
