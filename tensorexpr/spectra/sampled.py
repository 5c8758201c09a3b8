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

from tensorexpr.core.errors import NetworkError
from tensorexpr.core.network import Network
from tensorexpr.core.partitions import Partition

__all__ = ["sample_configurations", "network_entries", "sampled_singular_values", "ROUNDING_ULPS"]

ROUNDING_ULPS = 64.0


def sample_configurations(n_sites: int, T: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``(k, n_sites)`` distinct template configurations: all of them when ``T^n_sites <= count``, else
    ``count`` drawn uniformly (with duplicates removed).

    Parameters
    ----------
    n_sites : int
        Number of modes on the side.
    T : int
        Number of templates per mode.
    count : int
        How many configurations are wanted.
    rng : numpy.random.Generator
        The random source.

    Returns
    -------
    numpy.ndarray
        int64 array ``(k, n_sites)`` of template indices, ``k <= count`` distinct rows (all ``T^n_sites`` in C
        order when they fit; one empty row when ``n_sites == 0``).
    """
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


def _pow2(m: float) -> float:
    """The power of two at or above ``m``: dividing by it is exact in binary floating point."""
    return 2.0 ** math.ceil(math.log2(m))


def network_entries(net: Network, X: np.ndarray, output: int = 0) -> tuple[np.ndarray, float, np.ndarray]:
    """Outputs of ``net`` on the template configurations ``X (B, N)``: ``(values, log_scale, error_bound)``.

    Bottom-up over the nodes, batched over ``B`` (the batched twin of
    :func:`tensorexpr.testing.random_network_output`), in float64. Product networks without sum nodes are
    rescaled per node by a power of two (exact; carried in ``log_scale``), so deep ConvACs do not overflow.

    ``error_bound`` bounds ``|computed - exact|`` per entry (in the same scale): the network is evaluated a second
    time on absolute values (``|F|``, ``|W|``; products stay products, ReLU pooling becomes a sum of magnitudes,
    which dominates both the value and the Lipschitz propagation of errors through ``max``/``relu``), and the
    standard forward error bound of a sum-product circuit of depth ``n`` operations gives
    ``|error| <= gamma_n * abs_value`` with ``gamma_n = n eps / (1 - n eps)``; ``n`` is counted per node
    (children, input width and the scaling) along the deepest path, then doubled.

    Parameters
    ----------
    net : Network
        Any network.
    X : numpy.ndarray
        int array ``(B, N)``: a template index per mode for each of ``B`` configurations.
    output : int, optional
        The output channel.

    Returns
    -------
    values : numpy.ndarray
        ``(B,)``: the outputs divided by ``exp(log_scale)``.
    log_scale : float
        Natural log of the common scale.
    error_bound : numpy.ndarray
        ``(B,)``: bounds on the rounding error of ``values``, in the same scale.
    """
    F = np.asarray(net.F, dtype=np.float64)
    Fa = np.abs(F)
    product = net.op.multilinear
    rescale = product and not any(nd.kind == "sum" for nd in net.live_nodes)
    vals: dict[str, np.ndarray] = {}
    absv: dict[str, np.ndarray] = {}
    logs: dict[str, float] = {}
    ops: dict[str, int] = {}
    for nd in net.live_nodes:
        if nd.kind == "leaf":
            v, a, lg, n = F[X[:, nd.mode]], Fa[X[:, nd.mode]], 0.0, 1
        else:
            kids = [vals[c] for c in nd.children]
            akids = [absv[c] for c in nd.children]
            lg = sum(logs[c] for c in nd.children)
            n = max(ops[c] for c in nd.children) + len(kids) + 1
            if nd.kind == "sum":
                v, a = sum(kids[1:], kids[0]), sum(akids[1:], akids[0])
            elif nd.kind == "linear":
                v, a = kids[0], akids[0]
            else:
                v = net.op(kids)
                a = net.op(akids) if product else sum(akids[1:], akids[0])
        if nd.weight is not None:
            W = np.asarray(nd.weight, dtype=np.float64)
            v, a = v @ W, a @ np.abs(W)
            n += W.shape[0] + 1
        if rescale:
            m = float(np.max(a)) if a.size else 0.0
            if m > 0 and math.isfinite(m):
                m = _pow2(m)
                v, a = v / m, a / m
                lg += math.log(m)
        vals[nd.id], absv[nd.id], logs[nd.id], ops[nd.id] = v, a, lg, n
    n = 2 * ops[net.output]
    eps = np.finfo(np.float64).eps
    gamma = n * eps / (1 - n * eps)
    return vals[net.output][:, output], logs[net.output], gamma * absv[net.output][:, output]


def sampled_singular_values(evaluate: Callable[[np.ndarray], tuple[np.ndarray, float, np.ndarray]], P: Partition, T: int,
                            rows: int, cols: int, seed: int = 0, batch: int = 65536,
                            progress: bool = False) -> tuple[np.ndarray, float, dict[str, Any]]:
    """Singular values of a sampled sub-matrix of ``[A]_{I,J}`` as ``(s / s_1, log s_1, details)``.

    ``evaluate(X)`` maps template configurations ``(B, N)`` to ``(values, log_scale, error_bound)``; blocks with
    different log scales are brought to a common one. ``details["margin"]`` is the certified perturbation bound
    relative to ``sigma_1``: ``||E||_F / sigma_1`` (entry errors; Weyl) plus ``64 eps max(R, C)`` (the SVD's own
    backward error).

    Parameters
    ----------
    evaluate : callable
        ``evaluate(X) -> (values, log_scale, error_bound)``, e.g. :func:`network_entries`.
    P : Partition
        The partition ``(I, J)``.
    T : int
        Number of templates per mode.
    rows, cols : int
        How many row (``I``) and column (``J``) configurations to sample.
    seed : int, optional
        Seed of the sampling.
    batch : int, optional
        Entries per call of ``evaluate``.
    progress : bool, optional
        Show a tqdm bar over the entries.

    Returns
    -------
    normalized : numpy.ndarray
        ``s / s_1`` of the sub-matrix, descending; empty when it is zero.
    log_sigma1 : float
        ``log s_1`` (``-inf`` for a zero sub-matrix).
    details : dict
        ``rows``, ``cols``, ``seed``, ``all_rows``, ``all_cols`` (whether every configuration was taken) and
        ``margin``.

    Raises
    ------
    NetworkError
        When the sub-matrix would exceed 5 * 10^7 entries, or its entries are not finite.
    """
    rng = np.random.default_rng(seed)
    R = sample_configurations(len(P.rows), T, rows, rng)
    C = sample_configurations(len(P.cols), T, cols, rng)
    total = len(R) * len(C)
    if total > 50_000_000:
        raise NetworkError(f"A {len(R)} x {len(C)} sampled sub-matrix is too large; use rows, cols <= ~5000.")
    blocks: list[tuple[np.ndarray, float, np.ndarray]] = []
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
    finite = [lg for _, lg, _ in blocks if math.isfinite(lg)]
    ref = max(finite) if finite else 0.0
    vals = np.concatenate([v * math.exp(lg - ref) if math.isfinite(lg) else v * 0 for v, lg, _ in blocks])
    errs = np.concatenate([e * math.exp(lg - ref) if math.isfinite(lg) else e * 0 for _, lg, e in blocks])
    B = vals.reshape(len(R), len(C))
    if not np.isfinite(B).all():
        raise NetworkError("Sampled entries are not finite (overflow or NaN in the model's outputs).")
    s = np.linalg.svd(B, compute_uv=False)
    err_f = float(np.sqrt(np.sum(errs**2)))
    info = {"rows": len(R), "cols": len(C), "seed": seed,
            "all_rows": len(P.rows) * math.log(T) <= math.log(rows) + 1e-9,
            "all_cols": len(P.cols) * math.log(T) <= math.log(cols) + 1e-9}
    if s.size == 0 or s[0] == 0:
        return np.zeros(0), -math.inf, {**info, "margin": math.inf}
    info["margin"] = err_f / s[0] + ROUNDING_ULPS * np.finfo(np.float64).eps * max(len(R), len(C))
    return s / s[0], ref + math.log(s[0]), info
