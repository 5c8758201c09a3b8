"""``te.spectrum``: pick the exact tree path when the cut is small, else certified sampled lower bounds."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from tensorexpr.core.errors import BudgetError, NetworkError, NotApplicable
from tensorexpr.core.network import Network
from tensorexpr.core.partitions import Partition
from tensorexpr.core.validation import check_output, check_partition
from tensorexpr.spectra.exact import tree_spectrum
from tensorexpr.spectra.result import Spectrum, entanglement_entropy
from tensorexpr.spectra.sampled import network_entries, sampled_singular_values

__all__ = ["spectrum", "SPECTRUM_METHODS", "DEFAULT_RTOL", "DEFAULT_MAX_BOND"]

SPECTRUM_METHODS = ("auto", "exact", "sampled", "dense")
#: Relative tolerance of the numeric rank (``sigma_k > rtol * sigma_1``); the exact path resolves ~1e-13.
DEFAULT_RTOL = 1e-10
#: The largest min-cut bond dimension ``D`` the exact path takes on under ``method="auto"``.
DEFAULT_MAX_BOND = 4096


def _is_model(x: Any) -> bool:
    """A trained model in the sense of docs/design.md ("Models"): ``tree``, ``outputs``, ``to_network`` and
    ``forward_entries`` (the calculator never imports the model layer; it calls these methods)."""
    return all(hasattr(x, a) for a in ("tree", "outputs", "to_network", "forward_entries", "multilinear"))


def _rank_gap(s: np.ndarray, threshold: float) -> tuple[int, float]:
    k = int(np.sum(s > threshold))
    gap = math.inf if k >= s.size else (s[k - 1] / s[k] if k > 0 and s[k] > 0 else (math.inf if k > 0 else 0.0))
    return k, float(gap)


def spectrum(x: Any, P: Partition, method: str = "auto", output: int = 0, rtol: float = DEFAULT_RTOL,
             rows: int = 256, cols: int = 256, seed: int = 0, max_bond: int = DEFAULT_MAX_BOND,
             memory_budget: int | None = None, templates: Any = None, evaluator: str = "network",
             progress: bool = False) -> Spectrum:
    """The singular spectrum of ``[A]_{I,J}`` for a network or a trained model, never forming ``M^N``.

    Parameters
    ----------
    x : Network, te.models.ConvAC or te.models.ReLUNet
        A trained ConvAC is converted exactly by ``x.to_network(templates)``; a ReLU net is evaluated by its
        own forward.
    P : Partition
    method : {"auto", "exact", "sampled", "dense"}
        ``exact``: the tree recursion of :mod:`tensorexpr.spectra.exact` (the Gram identity
        :math:`\\sigma(L R^T) = \\sigma(G_I^{1/2} G_J^{1/2})` applied node by node; product trees only).
        ``sampled``: certified lower bounds :math:`\\sigma_k(A[S, T]) \\le \\sigma_k(A)` from a ``rows x cols``
        sub-matrix of sampled configurations (any operator, any model; :mod:`tensorexpr.spectra.sampled`).
        ``dense``: SVD of the formed matricization (small networks; the oracle).
        ``auto``: ``exact`` when it applies and the min-cut bound ``D = te.mincut_bound(net, P).bound`` is at
        most ``max_bond``, else ``sampled``.
    rtol : float
        Numeric rank tolerance relative to ``sigma_1`` (of the sub-matrix, for lower bounds).
    rows, cols, seed : sub-matrix size and sampling seed (``sampled``).
    templates : array, optional
        Template points of a model (default: its representation's own).
    evaluator : {"network", "forward"}
        How a model's sampled entries are computed: ``network`` evaluates ``model.to_network()`` in float64 with a
        forward error bound per entry; ``forward`` runs a ConvAC's own forward in float64, batched on its device
        (CUDA when it lives there). Either way the margin added to the tolerance covers the rounding.

    Returns
    -------
    Spectrum
        Normalised singular values, their scale and what they certify (exact or a lower bound).

    Raises
    ------
    NetworkError
        An unknown method or an input that is neither a network, a model nor a tensor.
    BudgetError
        A dense path over budget.

    Examples
    --------
    >>> import tensorexpr as te
    >>> net = te.convac(te.ModeTree.line(8), M=2, widths=3, seed=0)
    >>> sp = te.spectrum(net, te.Partition.left_right(8))
    >>> sp.rank, sp.kind
    (3, 'exact')
    """
    t0 = time.perf_counter()
    if method not in SPECTRUM_METHODS:
        raise NetworkError(f"method={method!r} is unknown; expected one of {SPECTRUM_METHODS}.")
    if not (isinstance(rtol, (int, float)) and 0 < rtol < 1):
        raise NetworkError(f"rtol must lie in (0, 1), got {rtol!r}.")
    for name, v in (("rows", rows), ("cols", cols), ("max_bond", max_bond)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise NetworkError(f"{name} must be a positive integer, got {v!r}.")
    model = None
    if _is_model(x):
        model = x
        net = x.to_network(templates=templates) if x.multilinear else None
        n_modes, outputs, label = x.tree.n_modes, x.outputs, f"{type(x).__name__}({x.tree.name})"
    elif isinstance(x, Network):
        net, n_modes, outputs, label = x, x.n_modes, x.outputs, x.name
    else:
        raise NetworkError(f"te.spectrum takes a te.Network or a te.models.ConvAC/ReLUNet, got {type(x).__name__}. "
                           f"Hint: te.convac(tree, M, widths) or te.experiments.load(run_dir).")
    check_partition(P, n_modes, "te.spectrum", label, NetworkError)
    check_output(output, outputs if isinstance(outputs, int) else 1)
    exact_ok = net is not None and net.op.multilinear and net.is_tree and not any(
        nd.kind == "sum" for nd in net.live_nodes)
    D = None
    if method == "auto" and exact_ok:
        from tensorexpr.bounds.mincut import mincut_bound

        D = mincut_bound(net, P, output=output).bound
        method_used = "exact" if D <= max_bond else "sampled"
    elif method == "auto":
        method_used = "sampled"
    else:
        method_used = method
    if method_used in ("exact", "dense") and net is None:
        raise NotApplicable(f"method={method!r} needs a product network; {label} is a ReLU net. "
                            f"Hint: method='sampled' (certified lower bounds from the model's forward).")
    details: dict[str, Any] = {}
    if method_used == "exact":
        try:
            s, lg, details = tree_spectrum(net, P, output, memory_budget)
        except BudgetError:
            if method != "auto":
                raise
            method_used = "sampled"
    if method_used == "dense":
        from tensorexpr.evaluate.grid import grid_tensor
        from tensorexpr.evaluate.matricize import matricize

        A = matricize(np.asarray(grid_tensor(net, output=output, memory_budget=memory_budget), dtype=np.float64), P)
        sv = np.linalg.svd(A, compute_uv=False)
        sv = sv[sv > 0]
        s, lg = (sv / sv[0], math.log(sv[0])) if sv.size else (np.zeros(0), -math.inf)
        details = {"shape": list(A.shape)}
    if method_used in ("exact", "dense"):
        k, gap = _rank_gap(s, rtol)
        return Spectrum(s, lg, "exact", "exact-tree" if method_used == "exact" else "dense", P.name, label, rtol, k,
                        gap, entanglement_entropy(s), D, 0.0, time.perf_counter() - t0, details)
    if evaluator not in ("network", "forward"):
        raise NetworkError(f"evaluator={evaluator!r} is unknown; expected 'network' or 'forward'.")
    if model is not None and evaluator == "forward":
        evaluate = model.forward_entries(templates, output)
        T = int(len(model.representation.default_templates()) if templates is None else len(np.asarray(templates)))
    else:
        net = net if net is not None else model.to_network(templates=templates)
        evaluate = lambda X: network_entries(net, X, output)  # noqa: E731
        T = net.n_templates
    s, lg, details = sampled_singular_values(evaluate, P, T, rows, cols, seed=seed, progress=progress)
    margin = float(details["margin"])
    k, gap = _rank_gap(s, rtol + margin)
    full = details["all_rows"] and details["all_cols"]  # the whole matrix: an exact (dense) spectrum
    return Spectrum(s, lg, "exact" if full else "lower-bound", "dense" if full else "sampled", P.name, label, rtol,
                    k, gap, entanglement_entropy(s) if full else None, D, float(margin), time.perf_counter() - t0,
                    details)
