"""Contraction plans for the grid-tensor einsum: chosen by cost, executed pairwise, with exact memory accounting.

A plan is a sequence of pairwise contractions (each a batched matrix product after one permutation of
each operand). Three kinds of candidate are compared by one cost model and the cheapest is kept:

* the whole network planned by opt_einsum, then by cotengra (an exact search up to 12 operands, else a
  seeded random-greedy hyper search, so plans are reproducible; only when opt_einsum's plan costs over
  ``_COTENGRA_FROM``, below which planning would take longer than contracting); every product lays out its
  result with output letters in output order, and when the last one still cannot write the output in mode
  order a final permuted copy (part of the plan's cost and memory) makes it C-contiguous;
* a **split** plan: the output modes are cut into a prefix ``0..k-1`` and a suffix ``k..N-1``; every operand
  is put on one side so that the letters shared by both sides (the *bond*) have the smallest product
  (an exact dynamic program over the network's hypertree); each side is contracted on its own (planned by
  the better of opt_einsum and cotengra) and one matrix product

  .. math:: A[p, s] = \\sum_b L[p, b] \\, R[b, s]

  writes the output once, contiguously, in mode order (a cache-sized block of rows at a time, so the
  output crosses memory once).

The cost of a plan is its flop count plus ``WRITE_COST`` per element written (results and permuted copies):
a grid tensor is usually memory-bound, so writing the output twice costs more than a few flops per entry.

The memory of a plan is not a size model: :attr:`Plan.peak_elements` is the largest sum, over the steps of
the plan as executed, of every live array plus that step's permuted copies and its result (inputs counted
as copies too), so a memory budget refuses exactly what this plan would not fit (docs/design.md, "Memory").
Tests compare it with the peak measured by ``tracemalloc``.
"""

from __future__ import annotations

import math
import operator
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from tensorexpr.core.backends import torch_module
from tensorexpr.core.tensornet import Hypertree, hypertree, hypertree_min_cut

__all__ = ["Plan", "Step", "plan_contraction", "execute", "WRITE_COST"]

#: Flops charged per element written (results, permuted copies): memory traffic is what bounds a grid tensor.
WRITE_COST = 16.0
#: Over this many output elements no plan can run (>= 512 GiB); only the cheap greedy plan is made, for estimates.
_HUGE_OUTPUT = 2**36
#: cotengra is consulted only when opt_einsum's plan costs more than this: cheaper contractions run in well
#: under a millisecond, less than a hyper search takes.
_COTENGRA_FROM = 1e6
#: Sub-contractions with at most this many operands are planned by opt_einsum's exact dynamic program.
_DP_OPERANDS = 20


@dataclass(frozen=True)
class Step:
    """One pairwise contraction ``z[batch, xo, yo] = sum_k x[batch, xo, k] y[batch, k, yo]``.

    ``a`` and ``b`` are ids of live arrays (inputs ``0..n-1``, then one new id per step, in order);
    ``a_perm``/``b_perm`` are ``None`` when the operand is already in ``(batch, free, contracted)`` order.
    ``a_sum``/``b_sum`` list axes summed out first (letters nobody else needs). ``out_letters`` are the
    letters of ``z``; ``out_shape`` its shape.
    """

    a: int
    b: int
    a_sum: tuple[int, ...]
    b_sum: tuple[int, ...]
    a_perm: tuple[int, ...] | None
    b_perm: tuple[int, ...] | None
    a_shape3: tuple[int, int, int]
    b_shape3: tuple[int, int, int]
    outer: bool
    out_letters: str
    out_shape: tuple[int, ...]


@dataclass(frozen=True)
class Plan:
    """A compiled contraction: steps, the final permutation (``None`` when already in output order), cost, memory."""

    equation: str
    steps: tuple[Step, ...]
    final_perm: tuple[int, ...] | None
    flops: float
    cost: float
    peak_elements: int
    tool: str

    def __repr__(self) -> str:
        return (f"Plan({self.tool}, {len(self.steps)} steps, flops={self.flops:.3g}, cost={self.cost:.3g}, "
                f"peak={self.peak_elements} elements, contiguous_output={self.final_perm is None})")

    def to_dict(self) -> dict[str, Any]:
        """The plan's summary for ``--json`` (the steps themselves are left out).

        Returns
        -------
        dict
            ``equation``, ``tool``, ``steps`` (count), ``flops``, ``cost``, ``peak_elements`` and ``final_copy`` (whether a
            final permutation copies the result).
        """
        from tensorexpr.core.numbers import encode_counts

        return encode_counts({"equation": self.equation, "tool": self.tool, "steps": len(self.steps),
                              "flops": self.flops, "cost": self.cost, "peak_elements": self.peak_elements,
                              "final_copy": self.final_perm is not None})


def as_float(n: int) -> float:
    """Counts beyond float range (dense tensors of a thousand modes, estimated only to be refused) become inf.

    Parameters
    ----------
    n : int
        A count.

    Returns
    -------
    float
        ``float(n)``, or ``inf`` when ``n >= 2^1000``.
    """
    return float(n) if n < 2**1000 else math.inf


# -- compiling a contraction tree into steps ---------------------------------------------------------------
def _compile(inputs: Sequence[str], output: str, sizes: dict[str, int], pairs: Sequence[tuple[int, int]],
             tool: str, eq: str) -> Plan:
    """Turn an SSA pair list (ids ``0..n-1`` inputs, then one per pair) into steps with flops and peak memory."""
    terms: dict[int, str] = dict(enumerate(inputs))
    rank = {c: i for i, c in enumerate(output)}
    nelem = {i: math.prod(sizes[c] for c in t) for i, t in terms.items()}
    live = sum(nelem.values())  # inputs are made contiguous float copies: counted
    peak, flops, written = live, 0.0, as_float(live)
    steps: list[Step] = []
    nxt = len(inputs)
    for a, b in pairs:
        # letter order of the result: output letters by their output position, others after
        if min((rank.get(c, 10**9) for c in terms[b]), default=10**9) < min(
                (rank.get(c, 10**9) for c in terms[a]), default=10**9):
            a, b = b, a
        ta, tb = terms.pop(a), terms.pop(b)
        needed = set(output).union(*terms.values())
        a_sum = tuple(i for i, c in enumerate(ta) if c not in tb and c not in needed)
        b_sum = tuple(i for i, c in enumerate(tb) if c not in ta and c not in needed)
        ta = "".join(c for c in ta if c in tb or c in needed)
        tb = "".join(c for c in tb if c in ta or c in needed)
        tmp = (math.prod(sizes[c] for c in ta) if a_sum else 0) + (math.prod(sizes[c] for c in tb) if b_sum else 0)
        batch = [c for c in ta if c in tb and c in needed]
        contr = [c for c in ta if c in tb and c not in needed]
        xo = sorted((c for c in ta if c not in tb), key=lambda c: (rank.get(c, 10**9), ta.index(c)))
        yo = sorted((c for c in tb if c not in ta), key=lambda c: (rank.get(c, 10**9), tb.index(c)))
        pa = tuple(ta.index(c) for c in batch + xo + contr)
        pb = tuple(tb.index(c) for c in batch + contr + yo)
        B = math.prod(sizes[c] for c in batch)
        I = math.prod(sizes[c] for c in xo)
        K = math.prod(sizes[c] for c in contr)
        J = math.prod(sizes[c] for c in yo)
        copy_a = 0 if pa == tuple(range(len(ta))) else B * I * K
        copy_b = 0 if pb == tuple(range(len(tb))) else B * K * J
        zl = "".join(batch + xo + yo)
        z = B * I * J
        peak = max(peak, live + tmp + copy_a + copy_b + z)
        flops += as_float((2 if K > 1 else 1) * B * I * J * K)
        written += as_float(tmp + copy_a + copy_b + z)
        live += z - nelem.pop(a) - nelem.pop(b)
        steps.append(Step(a, b, a_sum, b_sum, None if not copy_a else pa, None if not copy_b else pb,
                          (B, I, K), (B, K, J), K == 1, zl, tuple(sizes[c] for c in zl)))
        terms[nxt], nelem[nxt] = zl, z
        nxt += 1
    (last,) = terms.values()
    if sorted(last) != sorted(output):  # pragma: no cover - every letter left is an output letter
        raise AssertionError((last, output))
    final = None
    if last != output:
        final = tuple(last.index(c) for c in output)
        n_out = math.prod(sizes[c] for c in output)
        peak = max(peak, live + n_out)
        written += as_float(n_out)
    return Plan(eq, tuple(steps), final, flops, flops + WRITE_COST * written, int(peak), tool)


def _linear_to_ssa(path: Sequence[Sequence[int]], n: int) -> list[tuple[int, int]]:
    """opt_einsum's linear path (pop positions, append result) as SSA pairs."""
    ids, nxt, out = list(range(n)), n, []
    for step in path:
        step = sorted(step, reverse=True)
        if len(step) == 1:
            continue
        if len(step) != 2:  # pragma: no cover - every planner used here is pairwise
            raise AssertionError(step)
        pair = [ids.pop(i) for i in step]
        out.append((pair[1], pair[0]))
        ids.append(nxt)
        nxt += 1
    return out


# -- planners ----------------------------------------------------------------------------------------------
def _opt_einsum_pairs(inputs: Sequence[str], output: str, sizes: dict[str, int]) -> list[tuple[int, int]]:
    import opt_einsum as oe

    if len(inputs) == 1:
        return []
    eq = ",".join(inputs) + "->" + output
    shapes = [tuple(sizes[c] for c in t) for t in inputs]
    how = "dp" if len(inputs) <= _DP_OPERANDS else "greedy"
    path = oe.contract_path(eq, *shapes, shapes=True, optimize=how)[0]
    return _linear_to_ssa(path, len(inputs))


def _cotengra_pairs(inputs: Sequence[str], output: str, sizes: dict[str, int]) -> list[tuple[int, int]]:
    import cotengra as ctg  # lazy: 0.2 s of import that `import tensorexpr` must not pay

    if len(inputs) == 1:
        return []
    opt: Any = ctg.OptimalOptimizer() if len(inputs) <= 12 else ctg.RandomGreedyOptimizer(
        max_repeats=32, seed=0, parallel=False)
    tree = ctg.array_contract_tree([tuple(t) for t in inputs], tuple(output), sizes, optimize=opt)
    return [tuple(p) for p in tree.get_ssa_path()]  # type: ignore[misc]


def _best_sub_pairs(inputs: Sequence[str], output: str, sizes: dict[str, int]) -> tuple[list[tuple[int, int]], str]:
    """The cheaper of opt_einsum's and cotengra's pair lists for a sub-contraction (compiled cost); cotengra
    only past ``_COTENGRA_FROM``."""
    pairs = _opt_einsum_pairs(inputs, output, sizes)
    cost = _compile(inputs, output, sizes, pairs, "opt_einsum", "").cost
    if cost <= _COTENGRA_FROM:
        return pairs, "opt_einsum"
    alt = _cotengra_pairs(inputs, output, sizes)
    if _compile(inputs, output, sizes, alt, "cotengra", "").cost < cost:
        return alt, "cotengra"
    return pairs, "opt_einsum"


# -- the split: a minimal bond between an output prefix and suffix -----------------------------------------
_Letters = tuple[list[str], Hypertree]


def _hypertree(inputs: Sequence[str]) -> _Letters | None:
    """The letters and the :class:`~tensorexpr.core.tensornet.Hypertree` of the operand-letter incidence
    graph, when it is one tree (no letter twice in a term, connected, no cycle); else None."""
    if any(len(set(t)) != len(t) for t in inputs):
        return None
    users: dict[str, list[int]] = {}
    for i, t in enumerate(inputs):
        for c in t:
            users.setdefault(c, []).append(i)
    letters = list(users)
    tree = hypertree(len(inputs), [users[c] for c in letters])
    if tree is None or len(tree.roots) != 1:
        return None  # a cycle or a forest: the split needs one tree
    return letters, tree


def _min_bond(inputs: Sequence[str], sizes: dict[str, int], pin: dict[str, int],
              tree: _Letters) -> tuple[float, list[int]] | None:
    """Sides (0 = prefix, 1 = suffix) of every operand minimising the log-product of the cut letters.

    The one hypertree program (:func:`~tensorexpr.core.tensornet.hypertree_min_cut`) in log space: a letter
    costs ``log size`` when cut, and output letters, pinned to their side, may never be cut (cost ``inf``).
    """
    letters, ht = tree
    costs = [math.inf if c in pin else math.log(sizes[c]) for c in letters]
    total, _, sides = hypertree_min_cut(ht, costs, [pin.get(c) for c in letters], mul=operator.add, one=0.0)
    if total == math.inf:
        return None
    return total, sides


def _split_plan(inputs: Sequence[str], output: str, sizes: dict[str, int], eq: str) -> Plan | None:
    tree = _hypertree(inputs)
    if tree is None or len(output) < 2:
        return None
    n_out = math.prod(sizes[c] for c in output)
    best: tuple[float, int, list[int]] | None = None
    for k in range(1, len(output)):
        pin = {c: int(i >= k) for i, c in enumerate(output)}
        res = _min_bond(inputs, sizes, pin, tree)
        if res is None:
            continue
        log_bond, sides = res
        bond = math.exp(log_bond)
        pre = math.prod(sizes[c] for c in output[:k])
        est = 2.0 * n_out * bond + WRITE_COST * (n_out + bond * (pre + n_out / pre))
        if best is None or est < best[0] - 1e-9:
            best = (est, k, sides)
    if best is None:
        return None
    _, k, sides = best
    groups = [[i for i in range(len(inputs)) if sides[i] == s] for s in (0, 1)]
    inside = [set("".join(inputs[i] for i in g)) for g in groups]
    bond_letters = "".join(sorted(inside[0] & inside[1] - set(output)))
    outs = ["".join(c for c in output[:k] if c in inside[0]) + bond_letters,
            bond_letters + "".join(c for c in output[k:] if c in inside[1])]
    pairs: list[tuple[int, int]] = []
    tools, roots = [], []
    nxt = len(inputs)
    for g, out in zip(groups, outs):
        sub_inputs = [inputs[i] for i in g]
        sub_pairs, tool = _best_sub_pairs(sub_inputs, out, sizes)
        tools.append(tool)
        ids = list(g)
        for a, b in sub_pairs:
            pairs.append((ids[a], ids[b]))
            ids.append(nxt)
            nxt += 1
        roots.append(ids[-1])
    pairs.append((roots[0], roots[1]))
    return _compile(inputs, output, sizes, pairs, f"split k={k} (prefix: {tools[0]}, suffix: {tools[1]})", eq)


def plan_contraction(eq: str, shapes: Sequence[Sequence[int]]) -> Plan:
    """The cheapest compiled plan for ``eq`` on ``shapes`` among opt_einsum, cotengra and the split plans.

    Parameters
    ----------
    eq : str
        An einsum equation with an explicit output, ``"ab,bc->ac"``.
    shapes : sequence of sequence of int
        One shape per operand.

    Returns
    -------
    Plan
        The candidate of least cost; when the output would be astronomically large, a greedy opt_einsum plan
        whose estimate then refuses it.
    """
    lhs, output = eq.split("->")
    inputs = lhs.split(",")
    sizes: dict[str, int] = {}
    for t, shp in zip(inputs, shapes):
        sizes.update(zip(t, (int(s) for s in shp)))
    n_out = math.prod(sizes[c] for c in output)
    if n_out > _HUGE_OUTPUT:  # beyond any memory: a cheap, deterministic plan whose estimate refuses it
        import opt_einsum as oe

        path = oe.contract_path(eq, *shapes, shapes=True, optimize="greedy")[0]
        return _compile(inputs, output, sizes, _linear_to_ssa(path, len(inputs)), "opt_einsum", eq)
    cands = [_compile(inputs, output, sizes, _opt_einsum_pairs(inputs, output, sizes), "opt_einsum", eq)]
    if cands[0].cost > _COTENGRA_FROM:
        cands.append(_compile(inputs, output, sizes, _cotengra_pairs(inputs, output, sizes), "cotengra", eq))
    split = _split_plan(inputs, output, sizes, eq)
    if split is not None:
        cands.insert(0, split)  # on a tie, the plan built to write the output once in mode order
    return min(cands, key=lambda p: p.cost)


# -- execution ---------------------------------------------------------------------------------------------
#: Row blocks of a large product hold about this many elements (512 KiB): each block is zeroed, accumulated
#: and written back while in cache, so the output crosses memory once instead of three times.
_BLOCK_ELEMENTS = 2**16
#: Products with fewer result elements than this run as one BLAS call.
_BLOCK_FROM = 2**20


def _threads() -> int:
    """Worker threads for the blocked product: the cores this process may use, capped by the BLAS/OpenMP
    thread settings when they are set (a benchmark pinned to 2 threads gets 2)."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit() and int(os.environ[var]) > 0:
            n = min(n, int(os.environ[var]))
    return max(1, min(n, 16))


@lru_cache(maxsize=1)
def _pool(n: int, pid: int) -> Any:
    """A persistent pool per process: keyed by pid, since a forked child inherits the pool but not its threads."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=n, thread_name_prefix="tensorexpr-matmul")


def _blocked_matmul(x: Any, y: Any, torch_: bool) -> Any:
    """``x @ y`` written into one preallocated C-contiguous result, a cache-sized block of rows at a time.

    On numpy the row range is shared among :func:`_threads` threads (BLAS releases the GIL), so the page
    faults and writes of the output run in parallel; torch parallelizes inside its own kernels.
    """
    I, J = x.shape[0], y.shape[1]
    if I * J < _BLOCK_FROM or I == 1 or (torch_ and x.device.type != "cpu"):
        return x @ y
    rows = max(1, _BLOCK_ELEMENTS // J)
    if torch_:
        torch = torch_module()
        z = torch.empty((I, J), dtype=x.dtype, device=x.device)
        for s in range(0, I, rows):
            torch.matmul(x[s : s + rows], y, out=z[s : s + rows])
        return z
    z = np.empty((I, J), dtype=np.result_type(x, y))

    def work(lo: int, hi: int) -> None:
        for s in range(lo, hi, rows):
            e = min(s + rows, hi)
            np.matmul(x[s:e], y, out=z[s:e])

    n = min(_threads(), -(-I // rows))
    if n <= 1:
        work(0, I)
        return z
    bounds = [I * t // n // rows * rows for t in range(n)] + [I]
    for f in [_pool(n, os.getpid()).submit(work, lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]:
        f.result()
    return z


def execute(plan: Plan, operands: Sequence[Any], backend: str = "numpy") -> Any:
    """Run ``plan`` on contiguous float arrays (numpy or torch); the result is C-contiguous in output order.

    Parameters
    ----------
    plan : Plan
        A plan from :func:`plan_contraction` for these operands' shapes.
    operands : sequence of array
        The operands, numpy arrays or torch tensors.
    backend : str, optional
        ``"numpy"`` or ``"torch"``.

    Returns
    -------
    array
        The contraction, C-contiguous, axes in the equation's output order.
    """
    vals: dict[int, Any] = dict(enumerate(operands))
    nxt = len(operands)
    torch_ = backend == "torch"
    for st in plan.steps:
        x, y = vals.pop(st.a), vals.pop(st.b)
        if st.a_sum:
            x = x.sum(dim=st.a_sum) if torch_ else x.sum(axis=st.a_sum)
        if st.b_sum:
            y = y.sum(dim=st.b_sum) if torch_ else y.sum(axis=st.b_sum)
        if st.a_perm is not None:
            x = x.permute(st.a_perm).contiguous() if torch_ else np.ascontiguousarray(x.transpose(st.a_perm))
        if st.b_perm is not None:
            y = y.permute(st.b_perm).contiguous() if torch_ else np.ascontiguousarray(y.transpose(st.b_perm))
        x = x.reshape(st.a_shape3)
        y = y.reshape(st.b_shape3)
        if st.outer:  # no contracted letter: a broadcast product (Khatri-Rao over the batch letters)
            z = x * y
        elif st.a_shape3[0] == 1:
            z = _blocked_matmul(x[0], y[0], torch_)
        else:
            z = x @ y
        vals[nxt] = z.reshape(st.out_shape)
        nxt += 1
    (res,) = vals.values()
    if plan.final_perm is not None:
        perm = plan.final_perm
        res = res.permute(perm).contiguous() if torch_ else np.ascontiguousarray(res.transpose(perm))
    return res
