"""Grid tensors (``tensorexpr/evaluate/grid.py``) against the slow reference and across backends; contiguous outputs,
memory estimates checked against the peak that tracemalloc measures, budgets, and the einsum plan cache."""

import tracemalloc
from fractions import Fraction

import numpy as np
import pytest
import torch

import tensorexpr as te
from tensorexpr.core.operators import OPERATORS
from tensorexpr.core.denominators import clear_denominators
from tensorexpr.evaluate.grid import DEFAULT_PRIME, estimate_bytes, grid_tensor_mod
from tensorexpr.testing import random_tree, reference_grid_tensor


OPS = sorted(OPERATORS)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("k", range(4))
def test_grid_tensor_matches_reference(op, k):
    rng = np.random.default_rng(100 + k)
    t = random_tree(6, rng)
    F = rng.standard_normal((3, 2)) if k % 2 else None
    net = te.convac(t, M=2, widths=[2] * t.depth, outputs=2, seed=k, op=op, F=F)
    for out in range(2):
        np.testing.assert_allclose(te.grid_tensor(net, output=out), reference_grid_tensor(net, out), rtol=1e-10, atol=1e-12)
    both = te.grid_tensor(net, output=None)
    assert both.shape == (2,) + (net.n_templates,) * 6


@pytest.mark.parametrize("op", OPS)
def test_numpy_and_torch_agree(op):
    net = te.convac(te.ModeTree.line(8), M=3, widths=[2, 3, 2], seed=7, op=op)
    a = te.grid_tensor(net, backend="numpy")
    b = te.grid_tensor(net, backend="torch", device="cpu")
    assert isinstance(b, torch.Tensor) and b.dtype == torch.float64
    np.testing.assert_allclose(a, b.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op", OPS)
def test_exact_matches_reference(op):
    rng = np.random.default_rng(5)
    t = random_tree(5, rng)
    net = te.convac(t, M=2, widths=[2] * t.depth, seed=3, op=op, integer=True)
    E = te.grid_tensor(net, backend="exact")
    assert E.dtype == object
    assert (E == reference_grid_tensor(net)).all()


def test_einsum_and_bottom_up_agree():
    net = te.convac(te.ModeTree.grid(4, 4, geometry="mirror"), M=2, widths=2, seed=1)
    np.testing.assert_allclose(te.grid_tensor(net, method="einsum"), te.grid_tensor(net, method="bottom-up"), rtol=1e-10)


def test_mod_p_matches_exact():
    net = te.convac(te.ModeTree.line(8), M=2, widths=3, seed=2, integer=True, int_range=50)
    E = te.grid_tensor(net, backend="exact")
    p = 1_000_003
    R = grid_tensor_mod(net, p)
    assert (np.vectorize(lambda v: int(v) % p)(E) == R).all()


def test_contraction_plan_is_owned_by_the_network():
    net = te.convac(te.ModeTree.line(8), M=3, widths=2, seed=0)
    assert net.contraction_plans == {}
    A = te.grid_tensor(net)
    assert len(net.contraction_plans) == 1
    plan = next(iter(net.contraction_plans.values()))
    np.testing.assert_allclose(te.grid_tensor(net), A)  # the second call reuses the plan
    assert next(iter(net.contraction_plans.values())) is plan and len(net.contraction_plans) == 1
    other = te.convac(te.ModeTree.line(8), M=3, widths=2, seed=1)
    assert other.contraction_plans == {}  # no module-level cache shared between networks


def test_memory_guard_refuses_before_allocating():
    net = te.convac(te.ModeTree.line(64), M=2, widths=2, seed=0)
    with pytest.raises(te.BudgetError, match="structured"):
        te.grid_tensor(net)
    small = te.convac(te.ModeTree.line(8), M=3, widths=2, seed=0)
    with pytest.raises(te.BudgetError, match="budget"):
        te.grid_tensor(small, memory_budget=1000)
    assert estimate_bytes(small) >= 3**8 * 8


def test_bad_grid_arguments():
    net = te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0)
    with pytest.raises(te.NetworkError, match="backend"):
        te.grid_tensor(net, backend="jax")
    with pytest.raises(te.NetworkError, match="integer"):
        te.grid_tensor(net, backend="exact")
    with pytest.raises(te.NetworkError, match="out of range"):
        te.grid_tensor(net, output=3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    net = te.convac(te.ModeTree.line(8), M=3, widths=3, seed=0)
    g = te.grid_tensor(net, backend="torch")
    assert g.device.type == "cuda"
    np.testing.assert_allclose(g.cpu().numpy(), te.grid_tensor(net), rtol=1e-10)


def _nets():
    rng = np.random.default_rng(3)
    t = random_tree(6, rng)
    return {
        "line8": te.convac(te.ModeTree.line(8), M=2, widths=[2, 3, 2], seed=1),
        "grid4x4": te.convac(te.ModeTree.grid(4, 4), M=2, widths=2, seed=2),
        "mirror4x4": te.convac(te.ModeTree.grid(4, 4, geometry="mirror"), M=2, widths=3, seed=3),
        "random_tree": te.convac(t, M=2, widths=[2] * t.depth, seed=4, F=rng.standard_normal((3, 2))),
    }


@pytest.mark.parametrize("name", list(_nets()))
def test_outputs_are_contiguous_and_match_the_oracle(name):
    net = _nets()[name]
    # the slow reference evaluator where it is quick, else the bottom-up evaluator (another order and code)
    small = net.n_templates**net.n_modes <= 1000
    ref = reference_grid_tensor(net) if small else te.grid_tensor(net, method="bottom-up")
    a = te.grid_tensor(net)
    b = te.grid_tensor(net, backend="torch", device="cpu")
    assert a.flags["C_CONTIGUOUS"] and b.is_contiguous()
    assert a.shape == ref.shape == tuple(b.shape)
    np.testing.assert_allclose(a, ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.numpy(), ref, rtol=1e-10, atol=1e-12)


def test_all_outputs_contiguous_and_equal_to_the_exact_integer_tensor():
    net = te.convac(te.ModeTree.grid(4, 4), M=2, widths=2, outputs=2, seed=5, integer=True, int_range=5)
    exact = te.grid_tensor(net, backend="exact", output=None)
    a = te.grid_tensor(net, output=None)
    b = te.grid_tensor(net, backend="torch", device="cpu", output=None)
    assert a.flags["C_CONTIGUOUS"] and b.is_contiguous()
    # integers below 2^53 are exact in float64: equality, not closeness
    assert np.abs(exact.astype(float)).max() < 2**53
    assert (a == exact.astype(float)).all() and (b.numpy() == exact.astype(float)).all()


def _measured_peak(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        res = fn()
        return res, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


MEMORY_CASES = {
    "line8_M5": (lambda: te.convac(te.ModeTree.line(8), M=5, widths=4, seed=0), 0),
    "grid4x4_M2": (lambda: te.convac(te.ModeTree.grid(4, 4), M=2, widths=2, seed=0), 0),
    "mirror4x4_M2": (lambda: te.convac(te.ModeTree.grid(4, 4, geometry="mirror"), M=2, widths=3, seed=0), 0),
    "three_children_all_outputs": (lambda: te.convac(te.ModeTree.from_nested(
        [[[0, 1], [2, 3]], [[4, 5], [6, 7]], [[8, 9], [10, 11]]]), M=3, widths=3, outputs=2, seed=0), None),
    # wide weights: the operands and their float64 copies (integer weights) are a third of the peak
    "wide_integer_weights": (lambda: te.convac(te.ModeTree.line(4), M=24, widths=200, seed=0, integer=True), 0),
    "wide_float_weights": (lambda: te.convac(te.ModeTree.line(4), M=24, widths=200, seed=0), 0),
}


@pytest.mark.parametrize("name", list(MEMORY_CASES))
def test_memory_estimate_is_safe_and_tight(name):
    make, output = MEMORY_CASES[name]
    net = make()
    te.grid_tensor(net, output=output)  # plan once: the measured call is the steady state
    est = estimate_bytes(net, output=output)
    A, peak = _measured_peak(lambda: te.grid_tensor(net, output=output))
    assert A.nbytes <= peak  # tracemalloc saw the output
    assert peak <= est <= 1.3 * peak, (est, peak)


def test_budget_between_output_and_estimate_refuses_before_allocating():
    net = te.convac(te.ModeTree.line(8), M=5, widths=4, seed=0)
    est = estimate_bytes(net)
    n_out = 8 * 5**8
    assert n_out < est
    with pytest.raises(te.BudgetError, match="budget"):
        _measured_peak(lambda: te.grid_tensor(net, memory_budget=int(est) - 1))
    _, peak = _measured_peak(lambda: pytest.raises(te.BudgetError, te.grid_tensor, net, memory_budget=n_out // 2))
    assert peak < n_out // 10  # refused from the output size alone, nothing dense allocated
    A = te.grid_tensor(net, memory_budget=int(est))  # the estimate itself is enough
    assert A.shape == (5,) * 8


def test_plan_is_shared_by_backends_of_one_network():
    a = te.convac(te.ModeTree.line(8), M=3, widths=2, seed=0)
    A = te.grid_tensor(a)
    T = te.grid_tensor(a, backend="torch", device="cpu")
    assert len(a.contraction_plans) == 1  # keyed by equation and shapes, not by backend or values
    np.testing.assert_allclose(np.asarray(T), A, rtol=1e-10)


def test_grid_tensor_mod_refuses_fractions_instead_of_truncating():
    F = np.array([[Fraction(1, 2), 1], [1, 2]], dtype=object)
    net = te.convac(te.ModeTree.line(2), 2, 2, seed=0, integer=True, F=F)
    with pytest.raises(te.NetworkError, match="clear_denominators"):
        grid_tensor_mod(net, DEFAULT_PRIME)
    A = grid_tensor_mod(clear_denominators(net), DEFAULT_PRIME)
    assert A.shape == (2, 2)
