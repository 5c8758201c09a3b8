"""Exact singular spectra of product networks on trees, in orthonormal bases that never form ``M^N``.

The identity behind it (the "Gram" form of the min-cut factorization, Levine et al., ICLR 2018). Let a cut of
the tensor network into an ``I`` side and a ``J`` side have bond dimension ``D``, so that
``[A]_{I,J} = L R^T`` with ``L`` of shape ``(M^|I|, D)`` and ``R`` of shape ``(M^|J|, D)``. With the Gram
matrices :math:`G_I = L^T L` and :math:`G_J = R^T R` (``D x D``, contracted side by side with their own copy),

.. math::
    \\sigma_k(L R^T)^2 = \\lambda_k(R L^T L R^T) = \\lambda_k(L^T L\\, R^T R) = \\lambda_k(G_I G_J)
    = \\lambda_k(G_I^{1/2} G_J G_I^{1/2}) = \\sigma_k(G_I^{1/2} G_J^{1/2})^2 ,

using that ``XY`` and ``YX`` have the same nonzero eigenvalues (twice) and that
:math:`G_I^{1/2} G_J G_I^{1/2} = (G_I^{1/2} G_J^{1/2})(G_I^{1/2} G_J^{1/2})^T`. Equivalently: write
``L = Q_L B_L`` with ``Q_L`` an isometry and ``B_L^T B_L = G_I`` (a square root of the Gram matrix), likewise
``R = Q_R B_R``; then ``L R^T = Q_L (B_L B_R^T) Q_R^T`` and the nonzero singular values of ``[A]_{I,J}`` are
those of the ``D x D`` core ``B_L B_R^T``.

Forming ``G`` squares the condition number (singular values below ``sqrt(eps) sigma_1`` drown). So this module
applies the same identity *recursively over the tree* and keeps the square roots, never the Grams: every
node ``t`` carries, per output channel ``g``, a core ``C_t[g]`` with

.. math::
    \\phi_t[g] = U_t\\, C_t[g]\\, V_t^T ,\\qquad U_t^T U_t = I,\\; V_t^T V_t = I ,

where ``U_t`` (functions of ``x_{I_t}``) and ``V_t`` (functions of ``x_{J_t}``) are implicit. At a leaf the
core is ``S V^T`` from the thin SVD of ``F W``. Product pooling multiplies children on disjoint modes, so
``prod_c phi_c[a] = (kron_c U_c) (kron_c C_c[a]) (kron_c V_c)^T``, and Kronecker products of isometries are
isometries. After the ``1x1`` conv (``C_t[g] = sum_a W[a, g] C'[a]``) the row space of all cores is
re-compressed by an SVD of ``[C_t[0], ..., C_t[r-1]]`` (and the columns likewise), which keeps the bases
orthonormal and the cores as small as the node's numerical rank. Each node's cores are divided by their largest
entry and the logarithm of the factor is carried, so trained ConvACs (whose outputs are ``exp`` of their
logits, far beyond float64 at 32x32) stay finite. At the root, ``[A]_{I,J} = U C V^T`` and
``sigma(A) = sigma(C)``. The cost follows the numerical ranks of the nodes, bounded by the min-cut of their
subtrees; the module docstring of :mod:`tensorexpr.bounds.mincut` has the cut. See ``docs/design.md``
("structured rank"), here in floating point.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tensorexpr.core.errors import BudgetError, NotApplicable
from tensorexpr.core.network import Network
from tensorexpr.core.partitions import Partition

__all__ = ["tree_spectrum", "COMPRESS_RTOL"]

#: Singular directions below this fraction of a node's largest are dropped while compressing (float64 noise).
COMPRESS_RTOL = 1e-14


def _orth_rows(C: np.ndarray, rtol: float) -> np.ndarray:
    """``C (r, P, Q) -> (r, k, Q)``: express every ``C[g]`` in an orthonormal basis of their joint row space."""
    r, P, Q = C.shape
    if P <= 1:
        return C
    X = C.transpose(1, 0, 2).reshape(P, r * Q)
    U, s, _ = np.linalg.svd(X, full_matrices=False)
    if s.size == 0 or s[0] == 0.0:
        return np.zeros((r, 1, Q))
    k = max(1, int(np.sum(s > rtol * s[0])))
    return np.einsum("pk,gpq->gkq", U[:, :k], C)


def _compress(C: np.ndarray, rtol: float) -> np.ndarray:
    C = _orth_rows(C, rtol)
    return _orth_rows(C.transpose(0, 2, 1), rtol).transpose(0, 2, 1)


def _kron_batched(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    r, p1, q1 = A.shape
    _, p2, q2 = B.shape
    return np.einsum("aij,akl->aikjl", A, B).reshape(r, p1 * p2, q1 * q2)


def _normalize(C: np.ndarray) -> tuple[np.ndarray, float]:
    m = float(np.max(np.abs(C))) if C.size else 0.0
    if m == 0.0 or not math.isfinite(m):
        return C, (-math.inf if m == 0.0 else math.nan)
    return C / m, math.log(m)


def tree_spectrum(net: Network, P: Partition, output: int = 0, memory_budget: int | None = None,
                  rtol: float = COMPRESS_RTOL) -> tuple[np.ndarray, float, dict[str, Any]]:
    """Singular values of ``[A]_{I,J}`` for a product network on a tree, as ``(s / s_1, log s_1, details)``.

    ``s`` are the nonzero singular values (descending, dropped below ``rtol`` per node, see the module
    docstring), divided by the largest; ``log s_1`` is the natural log of the largest (``-inf`` for a zero
    tensor). Raises :class:`~tensorexpr.core.errors.NotApplicable` for DAGs, sum nodes or non-product operators, and
    :class:`~tensorexpr.core.errors.BudgetError` when a node's core would exceed ``memory_budget`` bytes.

    Parameters
    ----------
    net : Network
        A product network on a tree, without sum nodes.
    P : Partition
        The partition ``(I, J)``.
    output : int, optional
        The output channel.
    memory_budget : int, optional
        Bytes allowed for one node's core; :func:`~tensorexpr.evaluate.grid.default_memory_budget` by default.
    rtol : float, optional
        Relative cut-off of the per-node compression.

    Returns
    -------
    normalized : numpy.ndarray
        ``s / s_1``, descending; empty for a zero tensor.
    log_sigma1 : float
        ``log s_1``.
    details : dict
        ``largest_core``: the largest ``rows * cols`` of a node's core.

    Raises
    ------
    NotApplicable
        For a non-product operator, a DAG or sum nodes.
    BudgetError
        When a node's Kronecker core would exceed ``memory_budget`` bytes.
    """
    from tensorexpr.evaluate.grid import format_bytes, default_memory_budget

    if not net.op.multilinear:
        raise NotApplicable(f"The exact spectrum needs a product network; {net.name} uses {net.op.name!r}. "
                            f"Hint: method='sampled' gives certified lower bounds for any operator.")
    if not net.is_tree or any(nd.kind == "sum" for nd in net.live_nodes):
        raise NotApplicable(f"The exact spectrum runs on tree networks without sum nodes; {net.name} is a DAG or "
                            f"mixed network. Hint: method='sampled' (certified lower bounds).")
    budget = default_memory_budget() if memory_budget is None else int(memory_budget)
    I = P.I
    F = np.asarray(net.F, dtype=np.float64)
    cores: dict[str, np.ndarray] = {}
    logs: dict[str, float] = {}
    largest = 0
    for nd in net.live_nodes:
        if nd.kind == "leaf":
            Phi = F if nd.weight is None else F @ np.asarray(nd.weight, dtype=np.float64)
            _, s, Vt = np.linalg.svd(Phi, full_matrices=False)
            k = max(1, int(np.sum(s > rtol * s[0]))) if s.size and s[0] > 0 else 1
            B = s[:k, None] * Vt[:k]  # (k, r): Phi = U B with U orthonormal
            C = B.T[:, :, None] if nd.mode in I else B.T[:, None, :]
        else:
            kids = [cores[c] for c in nd.children]
            C = kids[0]
            for K in kids[1:]:
                need = C.shape[0] * C.shape[1] * K.shape[1] * C.shape[2] * K.shape[2] * 8.0
                if need > budget:
                    raise BudgetError(
                        f"The exact spectrum at node {nd.id!r} needs a core of about {format_bytes(need)} "
                        f"({C.shape[1] * K.shape[1]} x {C.shape[2] * K.shape[2]} per channel), over the budget of "
                        f"{format_bytes(budget)}. Hint: method='sampled' gives certified lower bounds instead.")
                C = _compress(_kron_batched(C, K), rtol)
            if nd.weight is not None:
                C = np.einsum("apq,ag->gpq", C, np.asarray(nd.weight, dtype=np.float64))
            C = _compress(C, rtol)
        C, lg = _normalize(C)
        logs[nd.id] = lg + sum(logs[c] for c in nd.children)
        cores[nd.id] = C
        largest = max(largest, C.shape[1] * C.shape[2])
    root = cores[net.output][output]
    s = np.linalg.svd(root, compute_uv=False)
    s = s[s > 0]
    log_scale = logs[net.output]
    if s.size == 0 or not math.isfinite(log_scale):
        return np.zeros(0), -math.inf, {"largest_core": largest}
    return s / s[0], log_scale + math.log(s[0]), {"largest_core": largest}
