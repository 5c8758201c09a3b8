"""Grid tensors: ``A[d_1..d_N]`` = the network's output on the templates ``x^(d_1), ..., x^(d_N)``.

Two evaluators, one answer (docs/design.md):

* product networks on trees (and DAGs, unrolled, with the reused input modes as copy hyper-edges) become
  one einsum over all weights; its contraction plan (the cheapest of opt_einsum's, cotengra's and a split
  whose last matrix product writes the output once, C-contiguous: :mod:`tensorexpr.evaluate.plan`) is cached
  per (equation, shapes) and run on numpy or torch (CUDA when torch sees it);
* every other case (ReLU operators, sum nodes, exact integer / prime-field arithmetic) is evaluated
  bottom-up with broadcasting over each node's receptive field.

Before any dense evaluation the bytes needed are estimated and refused over budget (:class:`BudgetError`).
For the einsum the estimate is the peak of the plan that will run (live arrays at its worst step), not a
generic size model, so a budget refuses only what would not fit.
"""

from __future__ import annotations

import math
import os
from typing import Any, Sequence

import numpy as np

from tensorexpr.evaluate.plan import Plan, as_float, execute, plan_contraction
from tensorexpr.core.backends import torch_device, torch_module
from tensorexpr.core.errors import BudgetError, NetworkError
from tensorexpr.core.tensornet import tensor_network
from tensorexpr.core.network import Network
from tensorexpr.core.validation import check_output

__all__ = [
    "grid_tensor",
    "grid_tensor_mod",
    "einsum_network",
    "estimate_bytes",
    "default_memory_budget",
    "DEFAULT_PRIME",
    "BACKENDS",
]

#: Largest prime below 2^25: products of two residues fit in 2^50, so int64 sums of up to 2^13 of them are exact.
DEFAULT_PRIME = 33554393
_MAX_UNROLLED_OPERANDS = 4096
#: Allowance for numpy's internal buffers and Python objects made during one evaluation (not modelled per step).
_SLACK_BYTES = 64 * 1024
BACKENDS = ("numpy", "torch", "exact")


def default_memory_budget() -> int:
    """Bytes allowed for one dense evaluation: ``$TENSOREXPR_MEMORY_BUDGET`` or 2 GiB.

    Returns
    -------
    int
        The budget in bytes (the environment variable may be written as a float, e.g. ``4e9``).
    """
    return int(float(os.environ.get("TENSOREXPR_MEMORY_BUDGET", 2 * 1024**3)))


def format_bytes(b: float) -> str:
    """A byte count in binary units, e.g. ``1.5 GiB``.

    Parameters
    ----------
    b : float
        A number of bytes.

    Returns
    -------
    str
        One decimal, in B, KiB, MiB, GiB, TiB or PiB (PiB beyond).
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if b < 1024 or unit == "PiB":
            return f"{b:.1f} {unit}"
        b /= 1024
    return f"{b:.3g} B"


#: numpy arrays hold at most 64 axes; a dense grid tensor has one axis per mode.
MAX_DENSE_MODES = 64


def _check_dense_modes(net: Network) -> None:
    if net.n_modes > MAX_DENSE_MODES:
        raise BudgetError(
            f"A dense grid tensor of {net.name} needs {net.n_modes} axes, over numpy's limit of {MAX_DENSE_MODES}. "
            f"Hint: te.rank(net, P, method='structured') or te.certify(net, P) never form it."
        )


def _check_budget(nbytes: float, budget: int | None, what: str) -> None:
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget <= 0):
        raise BudgetError(f"memory_budget must be a positive number of bytes, got {budget!r}.")
    budget = default_memory_budget() if budget is None else int(budget)
    if nbytes > budget:
        raise BudgetError(
            f"{what} needs about {format_bytes(nbytes)}, over the memory budget of {format_bytes(budget)}. "
            f"Hint: use te.rank(net, P, method='structured'), te.certify or te.mincut_bound, which never form "
            f"the dense tensor, or raise memory_budget= / $TENSOREXPR_MEMORY_BUDGET."
        )


# -- einsum construction -----------------------------------------------------------------------------------
def einsum_network(net: Network, output: int | None = 0) -> tuple[str, list[np.ndarray]]:
    """The product network as one einsum: ``(equation, operands)``.

    Output letters are the modes ``0..N-1`` (then nothing else when ``output`` is an int, or a leading
    output-channel letter when ``output=None``). Each pool node's input channel is one letter shared by its
    weight row and every child's weight column (a hyper-edge); a mode read by several leaves is one
    letter shared by their ``F`` operands (a copy hyper-edge). DAG nodes are unrolled per use. It is the
    equation of the one tensor-network form, :func:`tensorexpr.core.tensornet.tensor_network`.

    Parameters
    ----------
    net : Network
        A product network without sum nodes (trees and DAGs).
    output : int or None, optional
        The output channel, or None for all channels.

    Returns
    -------
    equation : str
        The einsum equation ``"ab,bc,...->mnop"``.
    operands : list of numpy.ndarray
        The operands, in the equation's order.

    Raises
    ------
    NetworkError
        For a non-product operator or sum nodes, or an invalid ``output``.
    BudgetError
        When unrolling a DAG would exceed the operand limit.
    """
    if not net.op.multilinear:
        raise NetworkError(f"einsum_network needs the product operator, got {net.op.name!r}.")
    if any(nd.kind == "sum" for nd in net.live_nodes):
        raise NetworkError("einsum_network cannot express sum nodes (mixed networks); use the bottom-up evaluator.")
    tn = tensor_network(net, output, max_operands=_MAX_UNROLLED_OPERANDS)
    return tn.equation, list(tn.arrays)


def _expression(net: Network, eq: str, shapes: tuple[tuple[int, ...], ...]) -> Plan:
    """The executed plan for ``eq`` on ``shapes``, planned once per network (opt_einsum vs cotengra vs split;
    see :mod:`tensorexpr.evaluate.plan`) and kept in :attr:`Network.contraction_plans`."""
    plans = net.contraction_plans
    key = (eq, shapes)
    if key not in plans:
        plans[key] = plan_contraction(eq, shapes)
    return plans[key]


def _output_elements(eq: str, shapes: tuple[tuple[int, ...], ...]) -> int:
    sizes: dict[str, int] = {}
    for term, shp in zip(eq.split("->")[0].split(","), shapes):
        sizes.update(zip(term, shp))
    return math.prod(sizes[ch] for ch in eq.split("->")[1])


def _einsum_bytes(net: Network, eq: str, ops: Sequence[np.ndarray], itemsize: int) -> float:
    """Peak bytes of the plan that :func:`grid_tensor` executes on ``ops`` (see :func:`_plan_bytes`)."""
    return _plan_bytes(_expression(net, eq, tuple(o.shape for o in ops)), ops, itemsize)


def _plan_bytes(plan: Plan, ops: Sequence[np.ndarray], itemsize: int, backend: str = "numpy") -> float:
    """The plan's worst step (every live array, that step's permuted copies and result:
    :attr:`tensorexpr.evaluate.plan.Plan.peak_elements`, operands counted once), plus the float64 copies made of
    operands that are not already C-contiguous float64 (integer networks; every operand for torch), plus
    ``_SLACK_BYTES`` for numpy's small buffers."""
    converted = sum(o.size for o in ops if backend == "torch" or o.dtype != np.float64 or not o.flags.c_contiguous)
    return as_float((plan.peak_elements + converted) * itemsize + _SLACK_BYTES)


# -- bottom-up evaluation ----------------------------------------------------------------------------------
class _Arith:
    """Array arithmetic for one number system (float numpy, torch, exact object, or int64 mod p)."""

    def __init__(self, kind: str, prime: int | None = None, torch_device: Any = None):
        self.kind, self.p, self.device = kind, prime, torch_device

    def asarray(self, a: np.ndarray) -> Any:
        if self.kind == "torch":
            return torch_module().tensor(np.asarray(a, dtype=np.float64), device=self.device)
        if self.kind == "float":
            return np.asarray(a, dtype=np.float64)
        if self.kind == "exact":
            return np.asarray(a, dtype=object)
        return np.mod(np.asarray(a, dtype=np.int64), self.p)

    def tensordot0(self, W: Any, X: Any) -> Any:
        """``out[g, ...] = sum_a W[a, g] X[a, ...]``."""
        if self.kind == "torch":
            return torch_module().tensordot(W, X, dims=([0], [0]))
        if self.kind == "modp":
            r_in = W.shape[0]
            step = max(1, (2**62) // (self.p - 1) ** 2)
            flat = X.reshape(r_in, -1)
            out = np.zeros((W.shape[1], flat.shape[1]), dtype=np.int64)
            for s in range(0, r_in, step):
                out = (out + (W[s : s + step].T @ flat[s : s + step]) % self.p) % self.p
            return out.reshape((W.shape[1],) + X.shape[1:])
        if self.kind == "exact":
            flat = X.reshape(X.shape[0], -1)
            return np.dot(W.T, flat).reshape((W.shape[1],) + X.shape[1:])
        return np.tensordot(W, X, axes=([0], [0]))

    def combine(self, net: Network, args: Sequence[Any]) -> Any:
        if self.kind == "modp":
            if not net.op.multilinear:
                raise NetworkError(f"Prime-field evaluation needs the product operator, got {net.op.name!r}.")
            out = args[0]
            for a in args[1:]:
                out = (out * a) % self.p
            return out
        return net.op(args)

    def add(self, args: Sequence[Any]) -> Any:
        out = args[0]
        for a in args[1:]:
            out = out + a
        return out % self.p if self.kind == "modp" else out


def _bottom_up_bytes(net: Network, itemsize: int) -> float:
    T = net.n_templates
    worst = 0.0
    for nd in net.live_nodes:
        if nd.kind == "leaf":
            continue
        r_in = net.widths[nd.children[0]]
        worst = max(worst, float(r_in + net.widths[nd.id]) * float(T) ** len(net.modes[nd.id]))
    return worst * itemsize


def _align(x: Any, modes: tuple[int, ...], union: tuple[int, ...]) -> Any:
    T = x.shape[1] if len(modes) else 1
    pos = set(modes)
    shape = (x.shape[0],) + tuple(T if u in pos else 1 for u in union)
    return x.reshape(shape)


def bottom_up(net: Network, arith: _Arith) -> Any:
    """Evaluate every live node bottom-up; returns an array ``(outputs, T, ..., T)`` over modes ``0..N-1``.

    Parameters
    ----------
    net : Network
        Any network (every operator, DAGs and sum nodes).
    arith : _Arith
        The number system: float numpy, torch, exact (object) or int64 mod p.

    Returns
    -------
    array
        The grid tensor ``A[g, d_1, ..., d_N]`` in ``arith``'s array type.

    Raises
    ------
    NetworkError
        When the output's receptive field is not the modes ``0..N-1``.
    """
    vals: dict[str, tuple[Any, tuple[int, ...]]] = {}
    uses = {nd.id: 0 for nd in net.live_nodes}
    for nd in net.live_nodes:
        for c in nd.children:
            uses[c] += 1
    F = arith.asarray(net.F)
    for nd in net.live_nodes:
        if nd.kind == "leaf":
            phi = F.T if nd.weight is None else arith.tensordot0(arith.asarray(nd.weight), F.T)
            vals[nd.id] = (phi, (nd.mode,))
            continue
        kids = [vals[c] for c in nd.children]
        union = tuple(sorted(set().union(*(m for _, m in kids))))
        aligned = [_align(x, m, union) for x, m in kids]
        if nd.kind == "sum":
            X = arith.add(aligned)
        elif nd.kind == "linear":
            X = aligned[0]
        else:
            X = arith.combine(net, aligned)
        # broadcasting over the union of receptive fields yields the full (r, T, ..., T) block
        assert tuple(X.shape[1:]) == (net.n_templates,) * len(union), (nd.id, X.shape)
        if nd.weight is not None:
            X = arith.tensordot0(arith.asarray(nd.weight), X)
        vals[nd.id] = (X, union)
        for c in nd.children:
            uses[c] -= 1
            if uses[c] == 0:
                del vals[c]
    out, modes = vals[net.output]
    if modes != tuple(range(net.n_modes)):
        raise NetworkError(f"Output covers modes {modes}, expected 0..{net.n_modes - 1}.")
    return out


def estimate_bytes(net: Network, method: str = "auto", itemsize: int = 8, output: int | None = 0) -> float:
    """Bytes a dense evaluation needs at its peak.

    For the einsum: the executed plan's worst step (every live array, that step's permuted copies and its
    result), plus a small allowance for numpy's buffers; bottom-up: a node's input and output blocks.

    Parameters
    ----------
    net : Network
        The network.
    method : str, optional
        ``"einsum"``, ``"bottom-up"`` or ``"auto"`` (einsum for product trees without sum nodes).
    itemsize : int, optional
        Bytes per entry (8 for float64).
    output : int or None, optional
        The output channel for the einsum, or None for all.

    Returns
    -------
    float
        The estimated peak in bytes.

    Raises
    ------
    NetworkError
        With ``method="einsum"`` on a network the einsum cannot express (see :func:`einsum_network`).
    """
    if method == "auto":
        method = _pick_method(net)
    if method == "einsum":
        eq, ops = einsum_network(net, output)
        return _einsum_bytes(net, eq, ops, itemsize)
    return _bottom_up_bytes(net, itemsize)


def _pick_method(net: Network) -> str:
    if net.op.multilinear and all(nd.kind != "sum" for nd in net.live_nodes) and net.is_tree:
        return "einsum"
    return "bottom-up"


def grid_tensor(
    net: Network,
    backend: str = "numpy",
    device: Any = None,
    output: int | None = 0,
    method: str = "auto",
    memory_budget: int | None = None,
) -> Any:
    """The grid tensor of ``net``: shape ``(T,) * N`` (``T`` templates, ``T = M`` by default).

    Parameters
    ----------
    backend : {"numpy", "torch", "exact"}
        ``numpy`` and ``torch`` evaluate in float64 (torch on CUDA when available, or on ``device``);
        ``exact`` evaluates an integer network in Python integers (object array).
    output : int or None
        Output channel to return; ``None`` returns all, with a leading axis of size ``outputs``.
    method : {"auto", "einsum", "bottom-up"}
        ``auto`` takes the cached einsum for product trees and bottom-up otherwise.
    memory_budget : int, optional
        Bytes; defaults to :func:`default_memory_budget`.

    Raises
    ------
    BudgetError
        When the estimated bytes exceed the budget, before anything is allocated.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Shape ``(T,) * N`` for an integer ``output``, ``(outputs,) + (T,) * N`` for ``output=None``.
    """
    if not isinstance(net, Network):
        raise NetworkError(f"grid_tensor needs a te.Network, got {type(net).__name__}. Hint: te.convac(tree, M, "
                           f"widths), or model.to_network() for a trained model.")
    if backend not in BACKENDS:
        raise NetworkError(f"Unknown backend {backend!r}; expected one of {BACKENDS}.")
    if method not in ("auto", "einsum", "bottom-up"):
        raise NetworkError(f"Unknown method {method!r}; expected 'auto', 'einsum' or 'bottom-up'.")
    if output is not None:
        check_output(output, net.outputs)
    _check_dense_modes(net)
    if backend == "exact":
        if not net.integer:
            raise NetworkError(
                f"backend='exact' needs an integer network; {net.name} has float weights. "
                f"Hint: te.convac(..., integer=True)."
            )
        sub = net if output is None else net.output_slice(output)
        _check_budget(_bottom_up_bytes(sub, 48), memory_budget, f"Exact grid tensor of {net.name}")
        out = bottom_up(sub, _Arith("exact"))
        return out if output is None else out[0]
    if method == "auto":
        method = _pick_method(net)
    if method == "einsum":
        eq, ops = einsum_network(net, output)
        shapes = tuple(o.shape for o in ops)
        what = f"Grid tensor of {net.name}"
        # the output alone is a lower bound on any plan: refuse before planning what cannot fit
        _check_budget(as_float(8 * _output_elements(eq, shapes)), memory_budget, what)
        plan = _expression(net, eq, shapes)
        _check_budget(_plan_bytes(plan, ops, 8, backend), memory_budget, what)
        if backend == "torch":
            torch, dev = torch_module(), torch_device(device)
            tops = [torch.tensor(np.asarray(o, dtype=np.float64), device=dev) for o in ops]
            return execute(plan, tops, backend="torch")
        return execute(plan, [np.ascontiguousarray(o, dtype=np.float64) for o in ops])
    sub = net if output is None else net.output_slice(output)
    _check_budget(_bottom_up_bytes(sub, 8), memory_budget, f"Grid tensor of {net.name}")
    arith = _Arith("torch", torch_device=torch_device(device)) if backend == "torch" else _Arith("float")
    out = bottom_up(sub, arith)
    return out if output is None else out[0]


def grid_tensor_mod(net: Network, prime: int = DEFAULT_PRIME, output: int = 0, memory_budget: int | None = None) -> np.ndarray:
    """The grid tensor of an integer product network reduced mod ``prime``, computed exactly in int64.

    Parameters
    ----------
    net : Network
        An integer network (``integer=True``) without Fraction entries; any operator.
    prime : int, optional
        A prime below ``2^31``; :data:`DEFAULT_PRIME` by default.
    output : int, optional
        The output channel.
    memory_budget : int, optional
        Bytes allowed; :func:`default_memory_budget` by default.

    Returns
    -------
    numpy.ndarray
        int64 array ``(T, ..., T)`` over the modes ``0..N-1``, entries in ``[0, prime)``.

    Raises
    ------
    NetworkError
        When the network is not integer, holds Fraction entries, or ``output`` is out of range.
    RankError
        When ``prime`` is not a prime in ``[2, 2^31)``.
    BudgetError
        When the network has more than 64 modes, the bottom-up evaluation exceeds the budget, or the budget is
        not a positive number.
    """
    if not net.integer:
        raise NetworkError(f"Prime-field evaluation needs an integer network; {net.name} has float weights.")
    from tensorexpr.core.rational import check_field_prime

    prime = check_field_prime(prime, max_bits=31)  # residues < 2^31: int64 products stay exact
    from tensorexpr.core.denominators import network_is_rational

    if network_is_rational(net):  # int64 casts would truncate 1/2 to 0: refuse instead of a wrong tensor
        raise NetworkError(
            f"{net.name} has fractions.Fraction entries; its tensor mod p needs integers. Hint: "
            f"tensorexpr.core.denominators.clear_denominators(net) is an integer network whose tensor is a positive multiple (same ranks)."
        )
    _check_dense_modes(net)
    sub = net.output_slice(output)
    _check_budget(_bottom_up_bytes(sub, 8), memory_budget, f"Grid tensor mod p of {net.name}")
    return bottom_up(sub, _Arith("modp", prime=prime))[0]
