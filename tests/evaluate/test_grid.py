import numpy as np
import pytest
import torch

import tensorexpr as te
from tensorexpr.testing import random_tree, reference_grid_tensor

OPS = sorted(te.OPERATORS)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("k", range(4))
def test_grid_tensor_matches_reference(op, k):
    rng = np.random.default_rng(100 + k)
    t = random_tree(6, rng)
    F = rng.standard_normal((3, 2)) if k % 2 else None
    net = te.convac(t, M=2, widths=[2] * t.depth, outputs=2, seed=k, op=op, F=F)
    for out in range(2):
        np.testing.assert_allclose(net.grid_tensor(output=out), reference_grid_tensor(net, out), rtol=1e-10, atol=1e-12)
    both = net.grid_tensor(output=None)
    assert both.shape == (2,) + (net.n_templates,) * 6


@pytest.mark.parametrize("op", OPS)
def test_numpy_and_torch_agree(op):
    net = te.convac(te.ModeTree.line(8), M=3, widths=[2, 3, 2], seed=7, op=op)
    a = net.grid_tensor(backend="numpy")
    b = net.grid_tensor(backend="torch", device="cpu")
    assert isinstance(b, torch.Tensor) and b.dtype == torch.float64
    np.testing.assert_allclose(a, b.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op", OPS)
def test_exact_matches_reference(op):
    rng = np.random.default_rng(5)
    t = random_tree(5, rng)
    net = te.convac(t, M=2, widths=[2] * t.depth, seed=3, op=op, integer=True)
    E = net.grid_tensor(backend="exact")
    assert E.dtype == object
    assert (E == reference_grid_tensor(net)).all()


def test_einsum_and_bottom_up_agree():
    net = te.convac(te.ModeTree.grid(4, 4, geometry="mirror"), M=2, widths=2, seed=1)
    np.testing.assert_allclose(net.grid_tensor(method="einsum"), net.grid_tensor(method="bottom-up"), rtol=1e-10)


def test_mod_p_matches_exact():
    net = te.convac(te.ModeTree.line(8), M=2, widths=3, seed=2, integer=True, int_range=50)
    E = net.grid_tensor(backend="exact")
    p = 1_000_003
    R = te.grid_tensor_mod(net, p)
    assert (np.vectorize(lambda v: int(v) % p)(E) == R).all()


def test_einsum_expression_is_cached():
    from tensorexpr.evaluate.grid import _expression

    net = te.convac(te.ModeTree.line(8), M=3, widths=2, seed=0)
    net.grid_tensor()
    before = _expression.cache_info().hits
    te.convac(te.ModeTree.line(8), M=3, widths=2, seed=1).grid_tensor()
    assert _expression.cache_info().hits == before + 1


def test_memory_guard_refuses_before_allocating():
    net = te.convac(te.ModeTree.line(64), M=2, widths=2, seed=0)
    with pytest.raises(te.BudgetError, match="structured"):
        net.grid_tensor()
    small = te.convac(te.ModeTree.line(8), M=3, widths=2, seed=0)
    with pytest.raises(te.BudgetError, match="budget"):
        small.grid_tensor(memory_budget=1000)
    assert te.estimate_bytes(small) >= 3**8 * 8


def test_bad_grid_arguments():
    net = te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0)
    with pytest.raises(te.NetworkError, match="backend"):
        net.grid_tensor(backend="jax")
    with pytest.raises(te.NetworkError, match="integer"):
        net.grid_tensor(backend="exact")
    with pytest.raises(te.NetworkError, match="out of range"):
        net.grid_tensor(output=3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    net = te.convac(te.ModeTree.line(8), M=3, widths=3, seed=0)
    g = net.grid_tensor(backend="torch")
    assert g.device.type == "cuda"
    np.testing.assert_allclose(g.cpu().numpy(), net.grid_tensor(), rtol=1e-10)
