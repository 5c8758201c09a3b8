"""Extraction: a trained tree model -> the one :class:`~tensorexpr.Network` representation.

The network gets the model's tree, one weight per node (the same frozen array on every node of a stage
when the model is shared, so ties survive), the operator (``product`` for :class:`ConvAC`, ``relu-max`` /
``relu-avg`` for :class:`ReLUNet`) and the template matrix ``F[i, d] = f_d(x^(i))`` read from the
representation layer at the chosen templates (docs/conventions.md). Then ``te.grid_tensor(net)[d_1..d_N]``
is the model's output on the input whose position ``m`` holds template ``x^(d_m)``:
``exp(model(x))`` for the log-space ConvAC, ``model(x)`` for the ReLU net. ``te.rank``, ``te.certify``
and ``te.profile`` then apply to trained models. Weights are float64 copies; a ConvAC's are positive
(``exp`` of its offsets, see :mod:`tensorexpr.models.convac`).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from tensorexpr.core.errors import NetworkError
from tensorexpr.core.network import Network
from tensorexpr.build.convac import hierarchical

__all__ = ["from_model", "template_inputs"]


def _templates(model: Any, templates: Any) -> torch.Tensor:
    rep = model.representation
    if templates is None:
        t = rep.default_templates()
    elif hasattr(rep, "points_from_templates"):  # scattering: template patches -> their coefficient vectors
        t = rep.points_from_templates(templates)
    else:
        t = torch.as_tensor(np.asarray(templates.detach().cpu() if hasattr(templates, "detach") else templates))
        if t.dim() == 1:
            t = t.unsqueeze(-1)
        if t.dim() != 2 or t.shape[1] != rep.in_features or t.shape[0] < 1:
            raise NetworkError(f"templates must have shape (T, in_features={rep.in_features}), got {tuple(t.shape)}.")
    if rep.discrete:
        if t.dtype.is_floating_point and not torch.equal(t, t.round()):
            raise NetworkError("one_hot templates must be integer symbols.")
        t = t.long()
        if int(t.min()) < 0 or int(t.max()) >= rep.M:
            raise NetworkError(f"one_hot templates must lie in 0..{rep.M - 1}, got {t.min().item()}..{t.max().item()}.")
    return t


def template_inputs(model: Any, templates: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(templates, X)``: ``X[k]`` is the input ``(N, C)`` of grid entry ``k`` in C order (tiny N only).

    Parameters
    ----------
    model : TreeModel
    templates : array_like, optional
        As for :func:`from_model`.

    Returns
    -------
    templates : torch.Tensor
        ``(T, C)``.
    X : torch.Tensor
        ``(T^N, N, C)``.

    Raises
    ------
    NetworkError
        When ``T^N > 2^20``, or the templates are malformed (shape, non-integer or out-of-range symbols).
    """
    t = _templates(model, templates)
    T, N = t.shape[0], model.tree.n_modes
    if T**N > 2**20:
        raise NetworkError(f"template_inputs builds T^N = {T}^{N} inputs; limit is 2^20. Use a smaller tree.")
    idx = torch.cartesian_prod(*[torch.arange(T)] * N) if N > 1 else torch.arange(T).unsqueeze(-1)
    return t, t[idx]


def from_model(model: Any, templates: Any = None, name: str | None = None) -> Network:
    """The :class:`~tensorexpr.Network` of a trained :class:`ConvAC` or :class:`ReLUNet`.

    A ConvAC's log-space weights are exponentiated; the template matrix is ``F[i, d] = f_d(x^(i))``
    (docs/conventions.md, "Representation and templates").

    Parameters
    ----------
    model : ConvAC or ReLUNet
    templates : array (T, in_features), optional
        Template points ``x^(1..T)``. Default: the representation's natural templates (symbols ``0..M-1``
        for ``one_hot``, giving ``F = I``; the learned means for ``gaussian``). ``linear`` needs them.
    name : str, optional

    Returns
    -------
    Network
        Float (``integer=False``); weights tied per level when the model is shared.

    Raises
    ------
    NetworkError
        For another model type, a model with conv biases, or malformed templates.

    Examples
    --------
    >>> import tensorexpr as te
    >>> m = te.models.ConvAC(te.ModeTree.line(4), M=2, widths=2, device="cpu")
    >>> te.models.from_model(m)
    Network(convac-model(line:4), n_modes=4, M=2, op=product, outputs=1, leaf=4, pool=3, params=10, weights: tied=6)
    """
    kind = getattr(model, "extraction", None)  # a class attribute of ConvAC / ReLUNet (and their subclasses)
    if kind not in ("convac", "relunet"):
        raise NetworkError(f"from_model takes a te.models.ConvAC or ReLUNet, got {type(model).__name__}.")
    if getattr(model, "bias", False):
        raise NetworkError("This model has conv biases, which the Network form (and every bound) lacks; extract a "
                           "bias-free model (bias=False), or use te.spectrum's sampled lower bounds on the model.")
    rep = model.representation
    t = _templates(model, templates)
    with torch.no_grad():
        if rep.discrete:
            F: np.ndarray = np.eye(rep.M, dtype=np.int64)[t[:, 0].numpy()]
        else:
            tt = t.to(device=model.device, dtype=model.dtype).unsqueeze(0)  # (1, T, C)
            vals = rep.log_forward(tt).exp() if kind == "convac" else rep(tt)
            F = vals[0].double().cpu().numpy()
        weights: dict[frozenset, np.ndarray] = {}
        for i, st in enumerate(model.stages):
            W = model.weights[i].detach().double().cpu()
            if kind == "convac":  # log-space weights
                W = torch.exp(W)
            W = W.numpy()
            if model.shared:
                W = np.array(W, copy=True)
                W.setflags(write=False)
                for n in st.nodes:
                    weights[n] = W
            else:
                for j, n in enumerate(st.nodes):
                    weights[n] = W[j]
    if kind == "convac":
        op, label = "product", "convac-model"
    else:
        op, label = model.op_name, f"relunet-{model.pooling}-model"
    return hierarchical(model.tree, weights, model.M, op, F, integer=False, shared=model.shared,
                        name=name or f"{label}({model.tree.name})")


def forward_entries(model: Any, templates: Any = None, output: int = 0, batch: int = 4096) -> Callable[[np.ndarray], tuple[np.ndarray, float, np.ndarray]]:
    """An entry evaluator running a trained :class:`~tensorexpr.models.ConvAC`'s own forward on the template inputs.

    Batched, in float64 (on a double copy of the model), on the model's device (CUDA when it lives there).
    A ConvAC returns ``l = log h``; entries ``h = exp(l - c)`` carry ``c = max l`` as the log scale. The log-space
    forward adds the children's logs and takes a stable log-sum-exp per node, each with absolute rounding error
    ``<= ~eps * |l|`` that adds up over the nodes, so ``|l_computed - l| <= 8 eps * n_nodes * max(1, max |l|)``
    and the entry's relative error is at most that (first order); ``error_bound`` is it times ``h``. ReLU nets
    (signed sums, no such bound from outputs alone) go through :func:`network_entries` instead.

    Parameters
    ----------
    model : ConvAC
    templates : array_like, optional
    output : int, optional
    batch : int, optional
        Inputs per forward pass.

    Returns
    -------
    callable
        ``evaluate(X) -> (h, c, error_bound)`` for an ``(n, N)`` integer array of template indices.

    Raises
    ------
    NetworkError
        For a model that is not a ConvAC, or malformed templates.
    """
    import copy

    if getattr(model, "extraction", None) != "convac":
        # only a ReLU net has signed sums; a tied product model (log space) is refused because its forward is not
        # the ConvAC stage layout the error bound below counts nodes of, not because of its arithmetic
        why = ("has signed sums whose rounding its outputs cannot bound"
               if not getattr(model, "log_space", False) else
               "is a tied product model, whose forward is not the te.models.ConvAC stage layout the rounding "
               "bound of this evaluator counts")
        raise NetworkError(f"evaluator='forward' is for te.models.ConvAC models (extraction='convac'); "
                           f"{type(model).__name__} (extraction={getattr(model, 'extraction', None)!r}) {why}. "
                           f"Hint: evaluator='network' (float64, bounded).")
    t = _templates(model, templates)
    m64 = copy.deepcopy(model).double()
    n_nodes = sum(len(st.nodes) for st in m64.stages)
    eps = float(np.finfo(np.float64).eps)

    def evaluate(X: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        outs = []
        m64.eval()
        with torch.no_grad():
            for i in range(0, len(X), batch):
                xb = t[torch.as_tensor(X[i : i + batch])]  # (B, N, C)
                outs.append(m64(xb.to(m64.device))[:, output].double().cpu())
        y = torch.cat(outs).numpy() if outs else np.zeros(0)
        c = float(np.max(y)) if y.size else 0.0
        h = np.exp(y - c)
        delta = 8 * eps * n_nodes * max(1.0, float(np.max(np.abs(y))) if y.size else 1.0)
        return h, c, delta * h

    return evaluate
