"""Contraction plans (``tensorexpr/evaluate/plan.py``): the hypertree split DP against brute force, reproducible
plans that write nothing of output size but the output, and the threaded blocked product in a forked child."""

import itertools
import math

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.evaluate.grid import einsum_network
from tensorexpr.evaluate.plan import _hypertree, _min_bond, plan_contraction


def test_split_min_bond_matches_brute_force():
    """The hypertree DP finds the same smallest bond as trying every side assignment."""
    net = te.convac(te.ModeTree.line(4), M=2, widths=[3, 2], seed=0)
    eq, ops = einsum_network(net)
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
    eq, ops = einsum_network(net)
    shapes = tuple(o.shape for o in ops)
    p1, p2 = plan_contraction(eq, shapes), plan_contraction(eq, shapes)
    assert p1.steps == p2.steps and p1.tool == p2.tool
    assert p1.final_perm is None  # the last product writes the output in mode order
    n_out = 3**16
    for st in p1.steps[:-1]:
        assert math.prod(st.out_shape) * 3 <= n_out
    assert p1.peak_elements < 1.01 * n_out


def _grid_in_child(net, q):
    q.put(te.grid_tensor(net))


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_threaded_product_works_in_a_forked_child():
    """The final product's thread pool is per process: a forked child (multiprocessing, dask) must not wait on
    the parent's threads."""
    import multiprocessing as mp

    net = te.convac(te.ModeTree.line(8), M=6, widths=2, seed=0)  # 6^8 > 2^20 entries: the blocked product
    A = te.grid_tensor(net)
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_grid_in_child, args=(net, q))
    p.start()
    B = q.get(timeout=60)
    p.join(timeout=60)
    np.testing.assert_array_equal(A, B)
