"""Grid tensors from the executed contraction plan: contiguous outputs, oracle values, and memory estimates
checked against the peak that tracemalloc measures."""

import itertools
import math
import tracemalloc

import numpy as np
import pytest
import torch

import tensorexpr as te
from tensorexpr.evaluate.plan import _hypertree, _min_bond, plan_contraction
from tensorexpr.evaluate.grid import _expression
from tensorexpr.testing import random_tree, reference_grid_tensor


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
    ref = reference_grid_tensor(net) if small else net.grid_tensor(method="bottom-up")
    a = net.grid_tensor()
    b = net.grid_tensor(backend="torch", device="cpu")
    assert a.flags["C_CONTIGUOUS"] and b.is_contiguous()
    assert a.shape == ref.shape == tuple(b.shape)
    np.testing.assert_allclose(a, ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.numpy(), ref, rtol=1e-10, atol=1e-12)


def test_all_outputs_contiguous_and_equal_to_the_exact_integer_tensor():
    net = te.convac(te.ModeTree.grid(4, 4), M=2, widths=2, outputs=2, seed=5, integer=True, int_range=5)
    exact = net.grid_tensor(backend="exact", output=None)
    a = net.grid_tensor(output=None)
    b = net.grid_tensor(backend="torch", device="cpu", output=None)
    assert a.flags["C_CONTIGUOUS"] and b.is_contiguous()
    # integers below 2^53 are exact in float64: equality, not closeness
    assert np.abs(exact.astype(float)).max() < 2**53
    assert (a == exact.astype(float)).all() and (b.numpy() == exact.astype(float)).all()


def test_split_min_bond_matches_brute_force():
    """The hypertree DP finds the same smallest bond as trying every side assignment."""
    net = te.convac(te.ModeTree.line(4), M=2, widths=[3, 2], seed=0)
    eq, ops = te.einsum_network(net)
    inputs, output = eq.split("->")[0].split(","), eq.split("->")[1]
    sizes = {c: s for t, o in zip(inputs, ops) for c, s in zip(t, o.shape)}
    tree = _hypertree(inputs)
    assert tree is not None
    for k in range(1, len(output)):
        pin = {c: int(i >= k) for i, c in enumerate(output)}
        best = math.inf
        for sides in itertools.product((0, 1), repeat=len(inputs)):
            if any(sides[i] != pin[c] for i, t in enumerate(inputs) for c in t if c in pin):
                continue
            cut = {c for c in sizes if len({sides[i] for i, t in enumerate(inputs) if c in t}) == 2}
            best = min(best, sum(math.log(sizes[c]) for c in cut))
        log_bond, sides = _min_bond(inputs, sizes, pin, tree)
        assert log_bond == pytest.approx(best)
        cut = {c for c in sizes if len({sides[i] for i, t in enumerate(inputs) if c in t}) == 2}
        assert sum(math.log(sizes[c]) for c in cut) == pytest.approx(best)


def test_plans_are_reproducible_and_write_nothing_of_output_size_but_the_output():
    net = te.convac(te.ModeTree.grid(4, 4), M=3, widths=3, seed=0)  # the benchmark case, planned only
    eq, ops = te.einsum_network(net)
    shapes = tuple(o.shape for o in ops)
    p1, p2 = plan_contraction(eq, shapes), plan_contraction(eq, shapes)
    assert p1.steps == p2.steps and p1.tool == p2.tool
    assert p1.final_perm is None  # the last product writes the output in mode order
    n_out = 3**16
    for st in p1.steps[:-1]:
        assert math.prod(st.out_shape) * 3 <= n_out
    assert p1.peak_elements < 1.01 * n_out


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
    net.grid_tensor(output=output)  # plan once: the measured call is the steady state
    est = te.estimate_bytes(net, output=output)
    A, peak = _measured_peak(lambda: net.grid_tensor(output=output))
    assert A.nbytes <= peak  # tracemalloc saw the output
    assert peak <= est <= 1.3 * peak, (est, peak)


def test_budget_between_output_and_estimate_refuses_before_allocating():
    net = te.convac(te.ModeTree.line(8), M=5, widths=4, seed=0)
    est = te.estimate_bytes(net)
    n_out = 8 * 5**8
    assert n_out < est
    with pytest.raises(te.BudgetError, match="budget"):
        _measured_peak(lambda: net.grid_tensor(memory_budget=int(est) - 1))
    _, peak = _measured_peak(lambda: pytest.raises(te.BudgetError, net.grid_tensor, memory_budget=n_out // 2))
    assert peak < n_out // 10  # refused from the output size alone, nothing dense allocated
    A = net.grid_tensor(memory_budget=int(est))  # the estimate itself is enough
    assert A.shape == (5,) * 8


def test_einsum_cache_is_keyed_by_shapes_not_values():
    a = te.convac(te.ModeTree.line(8), M=3, widths=2, seed=0)
    a.grid_tensor()
    misses = _expression.cache_info().misses
    te.convac(te.ModeTree.line(8), M=3, widths=2, seed=9).grid_tensor(backend="torch", device="cpu")
    assert _expression.cache_info().misses == misses


def _grid_in_child(net, q):
    q.put(net.grid_tensor())


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_threaded_product_works_in_a_forked_child():
    """The final product's thread pool is per process: a forked child (multiprocessing, dask) must not wait on
    the parent's threads."""
    import multiprocessing as mp

    net = te.convac(te.ModeTree.line(8), M=6, widths=2, seed=0)  # 6^8 > 2^20 entries: the blocked product
    A = net.grid_tensor()
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_grid_in_child, args=(net, q))
    p.start()
    B = q.get(timeout=60)
    p.join(timeout=60)
    np.testing.assert_array_equal(A, B)
