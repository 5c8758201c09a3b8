"""Certified lower bounds on singular values from sampled sub-matrices (any network, any model, any scale).

For row indices ``S`` and column indices ``T`` of a matrix ``A``, the sub-matrix ``B = A[S, T]`` satisfies
(Cauchy/Thompson interlacing; Horn & Johnson, *Topics in Matrix Analysis*, Cor. 3.1.3)

.. math::
    \\sigma_k(A[S, T]) \\le \\sigma_k(A) \\quad \\text{for every } k ,

so ``#{k : sigma_k(B) > t} <= #{k : sigma_k(A) > t}``: *numeric rank of* ``[A]_{I,J}`` *at tolerance* ``t``
*is at least* the count for ``B``. Here ``A = [A]_{I,J}`` is the matricized grid tensor, rows are
configurations of the ``I`` positions (templates ``x^(d)`` there) and columns configurations of ``J``; the
entry is the network's output on the input that combines both, so only ``R * C`` forward evaluations are
needed. Rows and columns are drawn without repetition (a repeated row is *not* a sub-matrix: ``[1; 1]`` has
singular value ``sqrt 2 > 1``). The count is certified against float64 rounding by a margin: a singular value
counts only when it exceeds ``t`` by ``64 * eps * max(R, C) * sigma_1(B)`` (entries are accurate to a few
dozen ulps; Weyl's inequality bounds the effect of entry errors on each singular value by the spectral norm
of the error).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ..errors import NetworkError
from ..network import Network
from ..partitions import Partition

__all__ = ["sample_configurations", "network_entries", "model_entries", "sampled_singular_values", "ROUNDING_ULPS"]

ROUNDING_ULPS = 64.0


def sample_configurations(n_sites: int, T: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``(k, n_sites)`` distinct template configurations: all of them when ``T^n_sites <= count``, else
    ``count`` drawn uniformly (with duplicates removed)."""
    if n_sites == 0:
        return np.zeros((1, 0), dtype=np.int64)
    if n_sites * math.log(T) <= math.log(max(count, 1)) + 1e-9:
        grids = np.meshgrid(*[np.arange(T)] * n_sites, indexing="ij")
        return np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)
    X = rng.integers(0, T, size=(int(count * 1.1) + 8, n_sites))
    X = np.unique(X, axis=0)
    return X[rng.permutation(len(X))[:count]]


def _inputs(P: Partition, rows: np.ndarray, cols: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Template indices ``(B, N)`` of the entries ``lo..hi`` (row-major over ``rows x cols``)."""
    k = np.arange(lo, hi)
    r, c = k // len(cols), k % len(cols)
    X = np.empty((hi - lo, P.n_modes), dtype=np.int64)
    X[:, list(P.rows)] = rows[r]
    X[:, list(P.cols)] = cols[c]
    return X


def network_entries(net: Network, X: np.ndarray, output: int = 0) -> tuple[np.ndarray, float]:
    """Outputs of ``net`` on the template configurations ``X (B, N)``, as ``(values, log_scale)``.

    Bottom-up over the nodes, batched over ``B`` (the batched twin of
    :func:`tensorexpr.testing.random_network_output`). Product networks without sum nodes are rescaled per node
    (a common positive factor, carried in ``log_scale``), so deep ConvACs do not overflow.
    """
    F = np.asarray(net.F, dtype=np.float64)
    rescale = net.op.multilinear and not any(nd.kind == "sum" for nd in net.live_nodes)
    vals: dict[str, np.ndarray] = {}
    logs: dict[str, float] = {}
    for nd in net.live_nodes:
        if nd.kind == "leaf":
            v = F[X[:, nd.mode]]
            lg = 0.0
        else:
            kids = [vals[c] for c in nd.children]
            lg = sum(logs[c] for c in nd.children)
            if nd.kind == "sum":
                v = sum(kids[1:], kids[0])
            elif nd.kind == "linear":
                v = kids[0]
            else:
                v = net.op(kids)
        if nd.weight is not None:
            v = v @ np.asarray(nd.weight, dtype=np.float64)
        if rescale:
            m = float(np.max(np.abs(v))) if v.size else 0.0
            if m > 0 and math.isfinite(m):
                v = v / m
                lg += math.log(m)
        vals[nd.id], logs[nd.id] = v, lg
    return vals[net.output][:, output], logs[net.output]


def model_entries(model: Any, templates: Any = None, output: int = 0, batch: int = 4096) -> Callable[[np.ndarray], tuple[np.ndarray, float]]:
    """An entry evaluator for a trained :class:`~tensorexpr.models.ConvAC` / ``ReLUNet``: runs the model's own
    forward on the template inputs (batched, on the model's device, CUDA when it lives there).

    A ConvAC returns ``log h``; its entries ``h = exp(log h - c)`` carry ``c = max log h`` as the log scale.
    """
    import torch

    from ..models.convac import ConvAC
    from ..models.extract import _templates

    t = _templates(model, templates)
    is_log = isinstance(model, ConvAC)

    def evaluate(X: np.ndarray) -> tuple[np.ndarray, float]:
        outs = []
        model.eval()
        with torch.no_grad():
            for i in range(0, len(X), batch):
                xb = t[torch.as_tensor(X[i : i + batch])]  # (B, N, C)
                outs.append(model(xb.to(model.device))[:, output].double().cpu())
        y = torch.cat(outs).numpy() if outs else np.zeros(0)
        if not is_log:
            return y, 0.0
        c = float(np.max(y)) if y.size else 0.0
        return np.exp(y - c), c

    return evaluate


def sampled_singular_values(evaluate: Callable[[np.ndarray], tuple[np.ndarray, float]], P: Partition, T: int,
                            rows: int, cols: int, seed: int = 0, batch: int = 65536,
                            progress: bool = False) -> tuple[np.ndarray, float, dict[str, Any]]:
    """Singular values of a sampled sub-matrix of ``[A]_{I,J}`` as ``(s / s_1, log s_1, details)``.

    ``evaluate(X)`` maps template configurations ``(B, N)`` to ``(values, log_scale)``; blocks with different
    log scales are brought to a common one.
    """
    rng = np.random.default_rng(seed)
    R = sample_configurations(len(P.rows), T, rows, rng)
    C = sample_configurations(len(P.cols), T, cols, rng)
    total = len(R) * len(C)
    if total > 50_000_000:
        raise NetworkError(f"A {len(R)} x {len(C)} sampled sub-matrix is too large; use rows, cols <= ~5000.")
    blocks: list[tuple[np.ndarray, float]] = []
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None
    bar = tqdm(total=total, desc=f"entries {P.name}", disable=not progress, unit="entry") if tqdm else None
    for lo in range(0, total, batch):
        hi = min(total, lo + batch)
        blocks.append(evaluate(_inputs(P, R, C, lo, hi)))
        if bar is not None:
            bar.update(hi - lo)
    if bar is not None:
        bar.close()
    finite = [lg for _, lg in blocks if math.isfinite(lg)]
    ref = max(finite) if finite else 0.0
    vals = np.concatenate([v * math.exp(lg - ref) if math.isfinite(lg) else v * 0 for v, lg in blocks])
    B = vals.reshape(len(R), len(C))
    if not np.isfinite(B).all():
        raise NetworkError("Sampled entries are not finite (overflow or NaN in the model's outputs).")
    s = np.linalg.svd(B, compute_uv=False)
    info = {"rows": len(R), "cols": len(C), "seed": seed,
            "all_rows": len(P.rows) * math.log(T) <= math.log(rows) + 1e-9,
            "all_cols": len(P.cols) * math.log(T) <= math.log(cols) + 1e-9}
    if s.size == 0 or s[0] == 0:
        return np.zeros(0), -math.inf, info
    return s / s[0], ref + math.log(s[0]), info
