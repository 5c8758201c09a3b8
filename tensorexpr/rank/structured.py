"""Structured exact rank over GF(p): bottom-up compressed matricizations, never forming ``T^N`` entries.

For every node ``t`` with receptive field ``S_t`` and every output channel ``g``, the matricization of
``phi_t[g]`` with rows on ``I n S_t`` and columns on ``J n S_t`` is kept as

.. math::
    [\\phi_t[g]]_{I_t, J_t} = P_t \\, K_t[g] \\, Q_t^{\\top},

with ``P_t`` (``T^{|I_t|} x a_t``) and ``Q_t`` (``T^{|J_t|} x b_t``) of full column rank over GF(p). Only the
small ``K_t`` is stored; ``P_t`` and ``Q_t`` stay implicit (Kronecker products of the children's, times the
pivot columns chosen at each compression), except where a relative needs them: below sum nodes, and below
pool nodes whose children share modes (overlapping networks), on the side (rows / columns) that is shared.
Explicit bases have rows indexed by their modes, ``T`` values each, in C order.

* leaf (mode ``m``): ``phi[g] = F @ W[:, g]`` (a column if ``m`` is in ``I``, a row if in ``J``);
* pool (product), disjoint children: ``K_t[g] = sum_a W[a, g] (x)_c K_c[a]`` (Kronecker product over the
  children), because ``[u (x) v]_{I,J} = [u] (x) [v]`` up to a fixed row and column permutation and
  ``(x)_c P_c`` has full column rank;
* pool, children sharing modes (DAGs from :func:`tensorexpr.build.overlapping`, copy hyper-edges): the product is
  entrywise on the union of the modes, so the children's bases combine by the *face-splitting* (row-wise
  Khatri-Rao) product, Kronecker on the modes one side has and diagonal (equal values) on the shared ones:
  ``phi_x . phi_y = (P_x . P_y)(K_x (x) K_y)(Q_x . Q_y)^T``. The combined basis is re-factored to full column
  rank over GF(p) (``B = B[:, pivots] C``) and ``C`` is contracted into the core one factor at a time, or,
  when it would have at least ``T^{|union|}`` columns, the side is absorbed (identity basis, core
  ``(P_x K_x) . (P_y K_y)``). See :mod:`tensorexpr.rank.facesplit`. Explicit bases have ``T^{|I n S_t|}``
  rows, so these networks cost more than trees and hit ``max_entries`` (a :class:`BudgetError`) sooner;
* linear: ``K_t[g] = sum_a W[a, g] K_c[a]``;
* sum (mixture nodes, Cohen, Tamari & Shashua ICLR 2018): the children's explicit bases are joined,
  ``[P_1 ... P_k] = U [C_1 ... C_k]``, and ``K = sum_c C_c K_c D_c^T``.

After every node the channels are stacked and the rows (columns) re-compressed to their exact rank over
GF(p) (``X = X[:, pivots] @ rref(X)``), so sizes follow the actual ranks, not ``T^N`` (docs/design.md,
"Structured rank"). The final answer is the rank over GF(p) of the output's ``K``: the same number as the
dense ``te.rank(net, P, "exact", field="prime")``, and a lower bound on the rank over Q, hence on the
generic rank of the architecture.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass

import numpy as np

from tensorexpr.core.backends import progress_bar
from tensorexpr.core.errors import BudgetError, RankError
from tensorexpr.core.network import Network, Node
from tensorexpr.core.partitions import Partition
from tensorexpr.rank.facesplit import chunked_rowspace, explicit_sides, overlap_step, tall_colspace
from tensorexpr.rank.modp import check_prime, colspace_factor, dense_rank_mod_p, matmul_mod_p, rowspace_factor
from tensorexpr.rank.result import RankResult
from tensorexpr.rank.structured_batch import batchable, batched_cores

__all__ = ["structured_rank", "DEFAULT_MAX_RANK", "DEFAULT_MAX_ENTRIES"]

#: Largest uncompressed side (rows or columns of one Kronecker block) the structured method forms.
DEFAULT_MAX_RANK = 8192
#: Largest number of int64 entries of one intermediate (all channels of a Kronecker block, or a basis).
DEFAULT_MAX_ENTRIES = 2**27


@dataclass
class _Value:
    """Compressed value of one node: ``K`` (channels, a, b) mod p; explicit bases when tracked."""

    K: np.ndarray
    P: np.ndarray | None = None  # (T^{|I_t|}, a), rows in the order of rmodes
    Q: np.ndarray | None = None  # (T^{|J_t|}, b), rows in the order of cmodes
    rmodes: tuple[int, ...] = ()
    cmodes: tuple[int, ...] = ()


def _short(node_id: str, n_modes: int) -> str:
    return node_id if len(node_id) <= 40 else f"{node_id[:32]}... ({n_modes} modes)"


class _Budget:
    def __init__(self, net: Network, max_rank: int, max_entries: int):
        self.net, self.max_rank, self.max_entries = net, int(max_rank), int(max_entries)
        self.max_side = 0

    def check(self, node: Node, a: int, b: int, channels: int) -> None:
        self.max_side = max(self.max_side, a, b)
        entries = a * b * max(channels, 1)
        if a > self.max_rank or b > self.max_rank or entries > self.max_entries:
            raise BudgetError(
                f"Structured rank of {self.net.name}: node {_short(node.id, len(self.net.modes[node.id]))!r} needs a {a} x {b} compressed block "
                f"({channels} channel(s), {entries:,} entries), over the budget of max_rank={self.max_rank} per "
                f"side / max_entries={self.max_entries:,}. The rank here is too large to compute exactly. "
                f"Hint: te.mincut_bound / te.certify give certified bounds instead, or raise max_rank= (CLI: --max-rank) / "
                f"max_entries=."
            )

    def check_basis(self, node: Node, rows: int, cols: int) -> None:
        if rows * cols > self.max_entries:
            raise BudgetError(
                f"Structured rank of {self.net.name}: node {_short(node.id, len(self.net.modes[node.id]))!r} needs its explicit "
                f"{rows} x {cols} basis ({rows * cols:,} entries), over max_entries={self.max_entries:,}. "
                f"Hint: te.mincut_bound / te.certify, or raise max_entries=."
            )


def _compress(v: _Value, p: int, dag: bool = False) -> _Value:
    """Re-compress the rows, then the columns, of the stacked channel blocks to their exact rank.

    ``dag``: eliminate by row chunks on BLAS (facesplit.tall_colspace, same result): the explicit bases of
    overlapping networks make these blocks tall and wide; trees keep the python-flint path."""
    r, a, b = v.K.shape
    if r == 0:
        return v
    H = v.K.transpose(1, 0, 2).reshape(a, r * b)  # [K[0] | K[1] | ...]
    U, C = (tall_colspace if dag else colspace_factor)(H, p)
    k = C.shape[0]
    K = C.reshape(k, r, b).transpose(1, 0, 2)
    P = _times(v.P, U, p)
    V = K.reshape(r * k, b)  # [K[0]; K[1]; ...]
    Cc, Vb = (chunked_rowspace if dag else rowspace_factor)(V, p)
    K = np.ascontiguousarray(Cc.reshape(r, k, Vb.shape[0]))
    Q = _times(v.Q, Vb.T, p)
    return _Value(K, P, Q, v.rmodes, v.cmodes)


def _times(B: np.ndarray | None, U: np.ndarray, p: int) -> np.ndarray | None:
    """``B @ U`` mod p; an identity basis (an absorbed side, see facesplit.overlap_step) costs nothing."""
    if B is None:
        return None
    n = B.shape[0]
    if B.shape[1] == n and np.count_nonzero(B) == n and (B.diagonal() == 1).all():
        return U
    return matmul_mod_p(B, U, p)


def _kron_pair(x: np.ndarray, y: np.ndarray, p: int) -> np.ndarray:
    """Channel-wise Kronecker product: ``out[c] = x[c] (x) y[c]`` mod p."""
    r, a1, b1 = x.shape
    _, a2, b2 = y.shape
    return ((x[:, :, None, :, None] * y[:, None, :, None, :]) % p).reshape(r, a1 * a2, b1 * b2)


def _kron_bases(x: np.ndarray | None, y: np.ndarray | None, p: int) -> np.ndarray | None:
    if x is None or y is None:
        return None
    return np.mod(np.kron(x, y), p)


def _weighted(X: np.ndarray, W: np.ndarray, p: int) -> np.ndarray:
    """``K[g] = sum_a W[a, g] X[a]`` mod p."""
    r_in, a, b = X.shape
    return matmul_mod_p(W.T, X.reshape(r_in, a * b), p).reshape(W.shape[1], a, b)


def _pool(net: Network, nd: Node, kids: list[_Value], W: np.ndarray | None, p: int, budget: _Budget,
          need: tuple[bool, bool], T: int, dag: bool) -> _Value:
    """Fold the children pairwise; ``need``: whether the finished node must keep its row / column basis."""
    cur = kids[0]
    rest = kids[1:]
    r_in = cur.K.shape[0]
    # shares[s][j]: step j (the product of kids[0..j] times kids[j+1]) meets a shared mode on side s; a
    # partial product keeps its basis when some later step does
    shares: tuple[list[bool], list[bool]] = ([], [])
    acc = [set(cur.rmodes), set(cur.cmodes)]
    for k in rest:
        for s, km in enumerate((set(k.rmodes), set(k.cmodes))):
            shares[s].append(bool(acc[s] & km))
            acc[s] |= km
    for i, nxt in enumerate(rest):
        a = cur.K.shape[1] * nxt.K.shape[1]
        b = cur.K.shape[2] * nxt.K.shape[2]
        last = i == len(rest) - 1
        want_p, want_q = need[0] or any(shares[0][i + 1 :]), need[1] or any(shares[1][i + 1 :])
        if set(cur.rmodes) & set(nxt.rmodes) or set(cur.cmodes) & set(nxt.cmodes):
            # overlapping fields: face-splitting product of the explicit bases (tensorexpr.rank.facesplit)
            K, Pb, Qb, rm, cm = overlap_step((cur.K, cur.P, cur.Q, cur.rmodes, cur.cmodes),
                                             (nxt.K, nxt.P, nxt.Q, nxt.rmodes, nxt.cmodes), (want_p, want_q),
                                             T, p, lambda rows, cols: budget.check_basis(nd, rows, cols))
            budget.check(nd, K.shape[1], K.shape[2], r_in)
            cur = _Value(K, Pb, Qb, rm, cm)
        else:
            if last and W is not None and W.shape[1] < r_in:
                # apply the weight while forming the last Kronecker block: r_out (< r_in) blocks in memory
                budget.check(nd, a, b, W.shape[1] + 1)
                K = np.zeros((W.shape[1], a, b), dtype=np.int64)
                for ch in range(r_in):
                    Xa = _kron_pair(cur.K[ch : ch + 1], nxt.K[ch : ch + 1], p)[0]
                    K = (K + (W[ch][:, None, None] * Xa[None]) % p) % p
                W = None
            else:
                budget.check(nd, a, b, r_in)
                K = _kron_pair(cur.K, nxt.K, p)
            P = _kron_bases(cur.P, nxt.P, p) if want_p else None
            Q = _kron_bases(cur.Q, nxt.Q, p) if want_q else None
            for B in (P, Q):
                if B is not None:
                    budget.check_basis(nd, B.shape[0], B.shape[1])
            cur = _Value(K, P, Q, cur.rmodes + nxt.rmodes, cur.cmodes + nxt.cmodes)
        if not last or W is not None:  # the caller compresses the finished node
            cur = _compress(cur, p, dag)
    if W is not None:
        cur = _Value(_weighted(cur.K, W, p), cur.P, cur.Q, cur.rmodes, cur.cmodes)
    return cur


def _sorted_basis(B: np.ndarray, modes: tuple[int, ...], T: int) -> np.ndarray:
    """Rows of a basis re-ordered from ``modes`` order to sorted mode order (C order, one axis per mode)."""
    k = len(modes)
    if k <= 1:
        return B
    perm = list(np.argsort(modes))
    return B.reshape((T,) * k + (B.shape[1],)).transpose(perm + [k]).reshape(T**k, B.shape[1])


def _sum(nd: Node, kids: list[_Value], T: int, p: int, budget: _Budget) -> _Value:
    rm, cm = tuple(sorted(kids[0].rmodes)), tuple(sorted(kids[0].cmodes))
    Ps = [_sorted_basis(k.P, k.rmodes, T) for k in kids]  # type: ignore[arg-type]
    Qs = [_sorted_basis(k.Q, k.cmodes, T) for k in kids]  # type: ignore[arg-type]
    budget.check_basis(nd, Ps[0].shape[0], sum(x.shape[1] for x in Ps))
    budget.check_basis(nd, Qs[0].shape[0], sum(x.shape[1] for x in Qs))
    UP, CP = colspace_factor(np.hstack(Ps), p)
    UQ, CQ = colspace_factor(np.hstack(Qs), p)
    r = kids[0].K.shape[0]
    K = np.zeros((r, CP.shape[0], CQ.shape[0]), dtype=np.int64)
    i = j = 0
    for kid in kids:
        a, b = kid.K.shape[1:]
        Cp, Cq = CP[:, i : i + a], CQ[:, j : j + b]
        i, j = i + a, j + b
        for g in range(r):
            K[g] = (K[g] + matmul_mod_p(matmul_mod_p(Cp, kid.K[g], p), Cq.T, p)) % p
    return _compress(_Value(K, UP, UQ, rm, cm), p)


def _validate(net: Network) -> None:
    if not isinstance(net, Network):
        raise RankError(
            f"method='structured' needs a te.Network, got {type(net).__name__}. "
            f"Hint: for a dense tensor use method='exact' or 'numeric'."
        )
    if not net.op.multilinear:
        raise RankError(
            f"method='structured' needs the product operator (a multilinear network); {net.name} uses "
            f"{net.op.name!r}, which is not multilinear, so ranks do not multiply over Kronecker products. "
            f"Hint: method='exact' or 'numeric' (CLI: --method exact|numeric) evaluate the grid tensor densely."
        )
    if not net.integer:
        raise RankError(
            f"method='structured' works over GF(p) and needs an integer network; {net.name} has float weights. "
            f"Hint: te.convac(..., integer=True, seed=...), or method='numeric'."
        )
    for nd in net.live_nodes:
        kids = [net.modes[c] for c in nd.children]
        if nd.kind == "sum" and any(k != net.modes[nd.id] for k in kids):
            raise RankError(
                f"Sum node {nd.id!r} adds children with different receptive fields "
                f"{[sorted(k)[:6] for k in kids]}; method='structured' needs equal fields. Hint: method='exact' (CLI: --method exact)."
            )


def _refuse_over_budget(net: Network, P: Partition, max_rank: int) -> None:
    """Refuse before any elimination when the specialization witness already has rank over ``max_rank``.

    A cheap pre-pass: the eliminations would run for seconds and must end over budget. (The witness bounds the
    generic rank; a degenerate integer point could be lower, which is why this is a budget refusal, never a
    rank.)
    """
    if net.tree is None or not net.op.multilinear:
        return
    from tensorexpr.core.errors import NotApplicable
    from tensorexpr.rank.specialization import specialization_value, specialization_witness

    try:
        w = specialization_witness(net)
        lb = specialization_value(w.tree, w.widths, w.M_eff, w.symmetric, P)[0]
    except NotApplicable:  # fixed/identity or basis-tied weights the proof cannot set
        return
    if lb > max_rank:
        raise BudgetError(
            f"Structured rank of {net.name} under {P.name}: the generic rank is at least {_fmt_big(lb)} "
            f"(specialization bound), over max_rank={max_rank}, so the compressed blocks cannot stay within "
            f"budget. Hint: te.certify(net, P) proves exponential ranks from bounds alone; raise max_rank= (CLI: --max-rank) "
            f"only if you need this integer point's own rank."
        )


def structured_rank(net: Network, P: Partition, prime: int | None = None, output: int = 0,
                    max_rank: int = DEFAULT_MAX_RANK, max_entries: int = DEFAULT_MAX_ENTRIES,
                    progress: bool | None = None, batch: bool = True) -> RankResult:
    """Exact rank over GF(p) of ``[A]_{I,J}`` for an integer product network, by compressed recursion.

    Parameters
    ----------
    net : Network
        Integer weights (``integer=True``), product operator; trees, DAGs (overlapping windows) and sum nodes.
    P : Partition
    prime : int, optional
        Modulus below ``2^31``; ``DEFAULT_PRIME`` by default.
    output : int
        Output channel.
    max_rank, max_entries : int
        Budget: the largest side of an uncompressed Kronecker block, and the largest number of entries of an
        intermediate; :class:`~tensorexpr.core.errors.BudgetError` beyond.
    progress : bool, optional
        tqdm bar over the nodes; default: on when stderr is a terminal.
    batch : bool
        Trees: compute the nodes level by level with equal-shaped blocks stacked
        (:mod:`tensorexpr.rank.structured_batch`; same cores, same rank). ``False`` visits one node at a time.

    Returns
    -------
    RankResult
        ``method="structured"``; equal to the dense ``method="exact", field="prime"`` rank, and a certified
        lower bound on the generic rank (rank over GF(p) <= rank over Q <= generic rank).

    Raises
    ------
    RankError
        When ``net`` is not a :class:`Network`, not integer, not a product network, has a sum node over unequal
        receptive fields, ``prime`` is not a prime in ``(2, 2^31)``, or ``output`` is out of range.
    BudgetError
        When the specialization bound already exceeds ``max_rank``, or an intermediate block would exceed
        ``max_rank`` or ``max_entries``.

    Examples
    --------
    >>> import tensorexpr as te
    >>> net = te.convac(te.ModeTree.line(16), M=3, widths=2, integer=True, seed=0)
    >>> structured_rank(net, te.Partition.odd_even(16)).rank
    256
    """
    from tensorexpr.evaluate.grid import DEFAULT_PRIME

    t0 = time.perf_counter()
    _validate(net)
    p = check_prime(DEFAULT_PRIME if prime is None else prime)
    if not 0 <= output < net.outputs:
        raise RankError(f"output={output} is out of range for a network with {net.outputs} outputs.")
    out_nd = net.node(net.output)
    sel = None
    if out_nd.weight is not None and out_nd.kind != "leaf":
        net, sel = net.output_slice(output), 0
    T = net.n_templates
    _refuse_over_budget(net, P, max_rank)
    budget = _Budget(net, max_rank, max_entries)
    need_p, need_q = explicit_sides(net, P)
    dag = any(nd.kind == "pool" and sum(len(net.modes[c]) for c in nd.children) != len(net.modes[nd.id])
              for nd in net.live_nodes)  # overlapping windows somewhere
    Fm = np.mod(np.asarray(net.F, dtype=np.int64), p)
    vals: dict[str, _Value] = {}
    uses = {nd.id: 0 for nd in net.live_nodes}
    for nd in net.live_nodes:
        for c in nd.children:
            uses[c] += 1
    # the output and the chain of single-use nodes below it through linear nodes: their K only feeds the
    # final dense rank, so re-compressing them would be one more elimination of the same size
    tail, top = {net.output}, net.node(net.output)
    while top.kind == "linear" and uses[top.children[0]] == 1:
        top = net.node(top.children[0])
        tail.add(top.id)
    show = sys.stderr.isatty() if progress is None else bool(progress)
    bar = progress_bar(len(net.live_nodes), "structured rank", show, leave=False)
    batched = batch and batchable(net, need_p, need_q, dag)
    if batched:
        # trees: every node below the output's linear chain, level by level with equal shapes stacked
        # (tensorexpr.rank.structured_batch, bit-identical cores); the loop below visits only the chain
        I = frozenset(P.I)
        for c, K in batched_cores(net, P, p, Fm, tail, budget.check, bar.update).items():
            vals[c] = _Value(K, None, None, tuple(sorted(net.modes[c] & I)), tuple(sorted(net.modes[c] - I)))
    for nd in net.live_nodes:
        if batched and nd.id not in tail:
            continue
        bar.update(1)
        W = None if nd.weight is None else np.mod(np.asarray(nd.weight, dtype=np.int64), p)
        if nd.kind == "leaf":
            V = Fm if W is None else matmul_mod_p(Fm, W, p)  # (T, r): column g is phi[g]
            r = V.shape[1]
            in_I = nd.mode in P.I
            K = V.T.reshape(r, T, 1) if in_I else V.T.reshape(r, 1, T)
            eye, one = np.eye(T, dtype=np.int64), np.ones((1, 1), dtype=np.int64)
            v = _Value(np.ascontiguousarray(K), eye if in_I else one, one if in_I else eye,
                       (nd.mode,) if in_I else (), () if in_I else (nd.mode,))
            v.P = v.P if nd.id in need_p else None
            v.Q = v.Q if nd.id in need_q else None
            val = _compress(v, p, dag)
        else:
            kids = [vals[c] for c in nd.children]
            fields = [net.modes[c] for c in nd.children]
            disjoint = sum(map(len, fields)) == len(net.modes[nd.id])
            if nd.id == net.output and nd.kind == "pool" and kids[0].K.shape[0] == 1 and len(kids) > 1 and disjoint:
                # one pooled channel: the output is a plain Kronecker product and rank(A (x) B) = rank A rank B
                scale = 1 if W is None or W[0, 0] % p else 0
                r = scale * math.prod(dense_rank_mod_p(k.K[0], p) for k in kids)
                bar.close()
                return _result(r, net, P, p, t0, budget, "kronecker-factored output")
            if nd.kind == "sum":
                val = _sum(nd, kids, T, p, budget)
            elif nd.kind == "linear":
                val = _Value(_weighted(kids[0].K, W, p), kids[0].P, kids[0].Q, kids[0].rmodes, kids[0].cmodes)
                if nd.id not in tail:
                    val = _compress(val, p, dag)
            else:
                val = _pool(net, nd, kids, W, p, budget, (nd.id in need_p, nd.id in need_q), T, dag)
                if nd.id not in tail:
                    val = _compress(val, p, dag)
            val.P = val.P if nd.id in need_p else None
            val.Q = val.Q if nd.id in need_q else None
            for c in nd.children:
                uses[c] -= 1
                if uses[c] == 0:
                    del vals[c]
        vals[nd.id] = val
    bar.close()
    K = vals[net.output].K
    Kg = K[output if sel is None else sel]
    return _result(dense_rank_mod_p(Kg, p), net, P, p, t0, budget, f"dense {Kg.shape[0]}x{Kg.shape[1]} output block")


def _fmt_big(v: int) -> str:
    return str(v) if v < 10**9 else f"~2^{v.bit_length() - 1}"


def _result(r: int, net: Network, P: Partition, p: int, t0: float, budget: _Budget, final: str) -> RankResult:
    T = net.n_templates
    shape = (T ** len(P.I), T ** len(P.J))
    return RankResult(
        r, "structured", shape, P.name, f"GF({p})",
        "the exact rank over GF(p) of this integer network's matricization (equal to method='exact', "
        "field='prime'); a lower bound on the rank over Q, hence on the generic rank",
        seconds=time.perf_counter() - t0,
        details={"prime": p, "largest_block_side": budget.max_side, "final": final, "nodes": len(net.live_nodes)},
    )
