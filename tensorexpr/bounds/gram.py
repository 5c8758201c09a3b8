"""Gram lower bound: the rank of ``X^T [A]_{I,J} Y`` at an integer instance, computed through the tree with
Gram matrices of the pure subtrees, so coarse partitions of a 1024-mode network cost milliseconds.

It is a certified lower bound on the generic rank for *any* parametrization of a product tree network (free,
tied, fixed, identity weights): it is a rank at one integer point of the architecture (the network's integer
twin, which keeps every tie and every constant). It complements the specialization bound on tied networks,
where no per-node specialization is free (docs/design.md, "Bounds"; docs/theory.md, "Weight sharing").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tensorexpr.core.errors import BudgetError, NetworkError
from tensorexpr.evaluate.grid import DEFAULT_PRIME
from tensorexpr.core.network import Network
from tensorexpr.core.partitions import Partition
from tensorexpr.rank.modp import matmul_mod_p, rref_mod_p
from tensorexpr.core.validation import check_output, check_partition
from tensorexpr.bounds.analysis import Analysis, analysis_of
from tensorexpr.bounds.result import Bound, BoundContext, BoundProvider
from tensorexpr.bounds.symmetry import network_tables, partition_patterns, side_numbers, tie_signatures

__all__ = ["gram_bound", "GRAM_MAX_ENTRIES"]

#: Largest ``r_in * rows * cols`` of one node's Kronecker terms before the bound steps aside.
GRAM_MAX_ENTRIES = 1 << 22


def _had(mats: list[np.ndarray], p: int) -> np.ndarray | None:
    out = None
    for m in mats:
        out = m if out is None else (out * m) % p
    return out


def _estimate(net: Network, P: Partition, analysis: Analysis) -> Any:
    """Refuse before any arithmetic when some node's terms would exceed :data:`GRAM_MAX_ENTRIES`.

    The compressed row count of a mixed node is at most the dimension of the span of its channels' column
    spaces, itself at most the orbit count of :mod:`~tensorexpr.bounds.symmetry` (invariant functions)."""
    st = tie_signatures(net, analysis)
    _, n, _, d = network_tables(net, st, analysis)
    pv, _, _ = partition_patterns(st, P, d)  # equal patterns have equal counts: one pass per pattern
    inI = pv.inI
    inJ = {t: pv.size[t] - inI[t] for t in pv.order}
    oI, _ = side_numbers(pv, inI, pv.size, n, pv.d)  # type: ignore[arg-type]
    oJ, _ = side_numbers(pv, inJ, pv.size, n, pv.d)  # type: ignore[arg-type]
    rows: dict[int, int] = {}
    cols: dict[int, int] = {}
    for t in pv.order:
        if inI[t] == 0 or inJ[t] == 0:
            continue
        kids = pv.children[t]
        r_in = pv.r_in[t]
        R = r_in if any(inJ[c] == 0 for c in kids) else 1
        C = r_in if any(inI[c] == 0 for c in kids) else 1
        for c in kids:
            if inI[c] and inJ[c]:
                R, C = R * rows[c], C * cols[c]
        if r_in * R * C > GRAM_MAX_ENTRIES:
            raise BudgetError(
                f"gram bound: node {pv.rep[t]!r} would need {r_in} x {R} x {C} Kronecker terms, over "
                f"GRAM_MAX_ENTRIES={GRAM_MAX_ENTRIES:,}. Hint: the interval is for the symmetry/specialization "
                f"bounds here."
            )
        w = net.widths[pv.rep[t]]
        rows[t], cols[t] = min(R, oI[t], w * C), min(C, oJ[t], w * R)
    return st


def _mm(A: np.ndarray, B: np.ndarray, p: int) -> np.ndarray:
    """``A @ B mod p`` for reduced int64 inputs; one BLAS-free int64 product when it cannot overflow."""
    if A.shape[1] * (p - 1) ** 2 < 2**63:
        return (A @ B) % p
    return matmul_mod_p(A, B, p)


def _instance_weights(net: Network, seed: int, p: int, int_range: int = 10**6) -> dict[str, np.ndarray | None]:
    """Weights mod ``p`` of the integer instance that :func:`~tensorexpr.bounds.certificate.integer_twin`
    draws for ``seed`` (same blocks, same order), without building the network: tied weights stay tied,
    fixed weights stay constants."""
    from tensorexpr.core.params import Tied, materialize

    rng = np.random.default_rng(seed)
    blocks = {b: rng.integers(-int_range, int_range + 1, size=v.size).astype(np.int64)
              for b, v in sorted(net.params.items())}
    out: dict[str, np.ndarray | None] = {}
    for nd in net.live_nodes:
        if nd.weight is None:
            out[nd.id] = None
            continue
        if isinstance(nd.param, Tied):
            basis = nd.param.basis
            if basis is not None and not np.all(np.equal(np.mod(basis, 1), 0)):
                raise NetworkError(f"{net.name}: block {nd.param.block!r} is tied through a non-integer basis; "
                                   f"no integer instance.")
            w = materialize(nd.param, blocks[nd.param.block], nd.weight.shape)
        else:
            w = np.asarray(nd.weight)
            if not np.all(np.equal(np.mod(w, 1), 0)):
                raise NetworkError(f"{net.name}: fixed weight of node {nd.id!r} is not integer-valued, so no "
                                   f"integer instance has the same architecture.")
        out[nd.id] = np.mod(np.asarray(w).astype(object).astype(np.int64) if np.asarray(w).dtype.kind == "O"
                            else np.asarray(w).astype(np.int64), p)
    return out


def gram_bound(net: Network, P: Partition, output: int = 0, seed: int = 0, prime: int = DEFAULT_PRIME,
               analysis: Analysis | None = None) -> Bound:
    """Certified lower bound on the generic rank of ``[A]_{I,J}``: ``rank_{GF(p)} K_root[output]`` at the
    integer twin of ``net`` (seed ``seed``).

    .. math::
        G_t = \\Phi_t^\\top \\Phi_t = W_t^\\top \\big(\\textstyle\\bigodot_c G_c\\big) W_t \\;(t\\text{ pure}),
        \\qquad K_t[g] = \\sum_a W_t[a, g]\\; H_I[:, a] \\otimes \\textstyle\\bigotimes_{c\\text{ mixed}}
        K_c[a] \\otimes H_J[a, :]

    with ``H_I`` the Hadamard product of the Grams of ``t``'s pure-I children (``H_J`` likewise), and
    ``G_leaf = W^T F^T F W``.

    **Proof.** Let ``Phi_t`` hold the channel vectors ``phi_t[a]`` of a pure node as columns; the Gram of
    the Khatri-Rao product of children (column ``a`` = ``(x)_c phi_c[a]``) is the Hadamard product of their
    Grams, which gives the recursion for ``G_t``. For a mixed node, with ``M_t[g] = [phi_t[g]]_{I_t,J_t}``
    (rows ordered as the pure-I block, then the mixed children, a fixed permutation that keeps ranks),
    ``M_t[g] = sum_a W[a,g] (KR_I e_a) (x) (x)_c M_c[a] (x) (KR_J e_a)^T``. Take
    ``X_t = KR_I (x) (x)_c X_c`` and ``Y_t`` likewise: by the mixed-product rule
    ``X_t^T M_t[g] Y_t = K_t[g]``, since ``KR_I^T KR_I e_a = H_I[:, a]``. Compressing keeps the pivot rows
    (columns) of the stacked ``K_t``, i.e. replaces ``X_t`` by ``X_t S`` for a 0/1 selection ``S``. All
    ``X, Y`` are integer matrices, and every step is the reduction mod ``p`` of the integer computation, so
    ``rank_p K_root <= rank_Q(X^T M Y) <= rank_Q M <= `` the generic rank (the rank at any point is at most
    the generic rank, and a prime-field rank at most the rational one). Over the reals ``X^T`` is injective
    on ``col(X) >= col(M)``, so the bound is the instance's rank unless ``p`` divides a minor.

    Parameters
    ----------
    net : Network
        A product tree network on its mode tree, with an integer ``F``.
    P : Partition
        The partition ``(I, J)``.
    output : int, optional
        The output channel.
    seed : int, optional
        Seed of the integer instance.
    prime : int, optional
        The modulus.
    analysis : Analysis, optional
        The network's analysis plan, reused across partitions.

    Returns
    -------
    Bound
        A lower bound, ``method="gram"``; ``details`` names the prime, seed and root block shape.

    Raises
    ------
    NotApplicable
        Not a product tree network on a mode tree (see :func:`~tensorexpr.bounds.symmetry.symmetry_bound`).
    NetworkError
        Non-integer ``F`` or non-integer fixed weights (no integer instance of the architecture).
    BudgetError
        Some mixed node's Kronecker terms would exceed :data:`GRAM_MAX_ENTRIES` (highly mixed partitions;
        the specialization and symmetry bounds are the tools there).
    """
    check_partition(P, net.n_modes, "gram_bound", net.name, NetworkError)
    output = check_output(output, net.outputs)
    st = _estimate(net, P, analysis_of(net, analysis))
    F0 = np.asarray(net.F)
    if not np.all(np.equal(np.mod(F0, 1), 0)):
        raise NetworkError(f"{net.name} has a non-integer template matrix F, so no integer instance has the same "
                           f"architecture. Hint: pass an integer F (e.g. one-hot templates).")
    p = int(prime)
    weights = _instance_weights(net, seed, p)
    twin = net  # the structure (modes, widths, children) is the architecture's; the weights are the instance's
    F = np.mod(F0.astype(object).astype(np.int64), p)
    FtF = matmul_mod_p(F.T, F, p)
    gram: dict[str, np.ndarray] = {}
    by_sig: dict[int, np.ndarray] = {}  # equal tie signature => equal function => equal Gram (any instance)
    K: dict[str, np.ndarray] = {}
    for nd in twin.live_nodes:
        m = twin.modes[nd.id]
        nI = len(m & P.I)
        W = weights[nd.id]
        if nI == 0 or nI == len(m):  # pure: a Gram matrix of the channel vectors
            s = st.sig[nd.id]
            if s not in by_sig:
                inner = FtF if nd.kind == "leaf" else _had([gram[c] for c in nd.children], p)
                by_sig[s] = inner if W is None else _mm(_mm(W.T, inner, p), W, p)
            gram[nd.id] = by_sig[s]
            continue
        HI = _had([gram[c] for c in nd.children if c in gram and not (twin.modes[c] & P.J)], p)
        HJ = _had([gram[c] for c in nd.children if c in gram and not (twin.modes[c] & P.I)], p)
        r_in = twin.widths[nd.children[0]]
        terms = np.ones((r_in, 1, 1), dtype=np.int64)
        parts = ([HI.T[:, :, None]] if HI is not None else []) + [K[c] for c in nd.children if c in K] + (
            [HJ[:, None, :]] if HJ is not None else [])
        for f in parts:  # batched Kronecker over the channel index a
            a, r1, c1 = terms.shape
            _, r2, c2 = f.shape
            terms = (terms[:, :, None, :, None] * f[:, None, :, None, :]) % p
            terms = terms.reshape(a, r1 * r2, c1 * c2)
        a, R, C = terms.shape
        flat = terms.reshape(a, R * C)
        Wm = np.eye(a, dtype=np.int64) if W is None else W
        out = matmul_mod_p(Wm.T, flat, p).reshape(Wm.shape[1], R, C)
        if nd.id == twin.output:
            K[nd.id] = out[output : output + 1]
            continue
        g = out.shape[0]
        _, prow = rref_mod_p(np.ascontiguousarray(out.transpose(1, 0, 2).reshape(R, g * C)).T, p)
        out = out[:, prow, :]
        _, pcol = rref_mod_p(out.reshape(g * len(prow), C), p)
        K[nd.id] = np.ascontiguousarray(out[:, :, pcol])
    root = K[twin.output][0]
    value = len(rref_mod_p(root if root.shape[0] <= root.shape[1] else root.T, p)[1]) if root.size else 0
    return Bound(value=value, side="lower", method="gram", partition=P.name,
                 assumptions=("product", "tree", "mode-tree", "integer-F"),
                 details={"prime": p, "seed": seed, "instance": f"{net.name}[int seed={seed}]",
                          "root_shape": list(root.shape)})


def _provider(net: Network, P: Partition, ctx: BoundContext) -> Bound:
    return gram_bound(net, P, output=ctx.output, analysis=ctx.analysis)


GRAM = BoundProvider("gram", "lower", _provider, needs=("product", "tree", "mode-tree", "integer-F"))
