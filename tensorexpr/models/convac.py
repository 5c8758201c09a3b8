"""The trainable ConvAC: product pooling over any mode tree, computed in log space.

.. math::
    \\phi_{leaf}[g] = \\sum_d f_d(x_m) W_{leaf}[d, g], \\qquad
    \\phi_t[g] = \\sum_a W_t[a, g] \\prod_{c \\in \\mathrm{children}(t)} \\phi_c[a]

(Cohen, Sharir & Shashua, COLT 2016; the HT decomposition of docs/conventions.md.) The model keeps
``log phi``. Pooling is a sum of the children's logs; every 1x1 conv is a "MEX" layer (Cohen & Shashua,
ICLR 2017), a log-sum-exp with learned offsets ``O = log W``, i.e. a conv with **positive** weights
``W = exp(O)`` -- the authors' choice. Signed weights would need a (log|x|, sign) representation whose
cancellations make ``log|x|`` and its gradient unbounded; positive weights keep every value finite, so we
take them, and the extracted :class:`~tensorexpr.Network` has positive weights.

Stability trick (a generalization of the authors'): each MEX subtracts the per-position maximum over input
channels and the per-column maximum of the offsets before ``exp``, so the matmul sees entries in (0, 1] and
its result is at least one product of two of them, never 0:

.. math::
    \\mathrm{MEX}(l)_g = m + o_g + \\log \\sum_a e^{l_a - m} e^{O[a, g] - o_g},\\quad m = \\max_a l_a,\\; o_g = \\max_a O[a, g].

``forward`` returns ``log h_y(x)``: the log of the network's outputs, which are also the logits of the
authors' softmax. Hence ``exp(model(x))`` on template inputs equals the extracted network's grid tensor.
"""

from __future__ import annotations

from typing import Any

import torch

from tensorexpr.core.modetree import ModeTree
from tensorexpr.models.base import TreeModel
from tensorexpr.models.gridpath import window_sum
from tensorexpr.models.layers import Representation, Stage

__all__ = ["ConvAC", "log_mex"]


def log_mex(l: torch.Tensor, O: torch.Tensor) -> torch.Tensor:
    """``log(exp(l) @ exp(O))`` computed stably (max-shifted on both factors).

    Parameters
    ----------
    l : torch.Tensor
        ``(B, n, r_in)`` log values.
    O : torch.Tensor
        ``(r_in, r_out)`` (shared) or ``(n, r_in, r_out)`` (per node) log weights.

    Returns
    -------
    torch.Tensor
        ``(B, n, r_out)``.

    Examples
    --------
    >>> import torch
    >>> l, O = torch.log(torch.tensor([[[1.0, 2.0]]])), torch.log(torch.tensor([[3.0], [4.0]]))
    >>> log_mex(l, O).exp().round().tolist()
    [[[11.0]]]
    """
    m = l.detach().amax(-1, keepdim=True)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = torch.exp(l - m)
    if O.dim() == 2:
        o = O.detach().amax(0)
        s = e @ torch.exp(O - o)
    else:
        o = O.detach().amax(1)  # (n, r_out)
        s = torch.einsum("bnr,nrs->bns", e, torch.exp(O - o.unsqueeze(1)))
    return m + o + torch.log(s)


class ConvAC(TreeModel):
    """A convolutional arithmetic circuit on any mode tree (line, square, mirror, nested, shallow).

    Parameters
    ----------
    tree : ModeTree
        The pooling geometry; windows come from the tree by index gathering.
    M : int
        Representation functions per position.
    widths : int, sequence or dict
        As in :func:`tensorexpr.convac` (``r_0 .. r_{L-1}``).
    outputs : int
        Output channels ``Y``.
    representation : {"one_hot", "gaussian", "linear"} or Representation
    shared : bool
        Convolution (weights tied per level) or locally connected layers.
    in_features : int
        Raw features per position (channels ``C``), for ``gaussian`` and ``linear``.
    seed : int
        Weight initialization seed; offsets start ``U(-1, 1)`` as in the authors' code.
    device : optional
        CUDA when available, else CPU.
    fast : bool
        Use the reshape fast path when the tree is a square / mirror grid (:mod:`tensorexpr.models.gridpath`).

    Raises
    ------
    NetworkError
        When ``tree`` is not a :class:`ModeTree`, ``M`` is not a positive integer, the representation is
        unknown or does not match ``M``, or ``widths`` / ``outputs`` do not fit the tree.

    References
    ----------
    Cohen, Sharir & Shashua, "On the Expressive Power of Deep Learning: A Tensor Analysis", COLT 2016;
    Cohen & Shashua, "Inductive Bias of Deep Convolutional Networks through Pooling Geometry", ICLR 2017.

    Examples
    --------
    >>> import tensorexpr as te, torch
    >>> model = te.models.ConvAC(te.ModeTree.grid(4, 4), M=2, widths=3, outputs=2, device="cpu")
    >>> model(torch.zeros(5, 4, 4, dtype=torch.long)).shape
    torch.Size([5, 2])
    """

    multilinear = True

    _pad_value = 0.0  # log 1: a missing child multiplies by one

    #: How :func:`~tensorexpr.models.from_model` reads this model (a class fact, inherited by subclasses).
    extraction = "convac"

    def __init__(self, tree: ModeTree, M: int, widths: Any, outputs: int = 1,
                 representation: str | Representation = "one_hot", shared: bool = True, in_features: int = 1,
                 seed: int | None = 0, device: Any = None, fast: bool = True):
        super().__init__(tree, M, widths, outputs, representation, shared, in_features, seed, device, fast=fast)

    def _init_weight(self, shape: tuple[int, ...], st: Stage, gen: torch.Generator) -> torch.Tensor:
        return torch.rand(shape, generator=gen) * 2 - 1

    def _leaf(self, x: torch.Tensor, st: Stage, O: torch.Tensor) -> torch.Tensor:
        if self.representation.discrete:  # log(onehot @ exp(O)) = O[x]: no -inf ever formed
            sym = x[..., 0]
            if O.dim() == 2:
                return O[sym]
            return O[torch.arange(O.shape[0], device=O.device), sym]
        return log_mex(self.representation.log_forward(x), O)

    def _pool(self, kids: torch.Tensor, st: Stage, counts: torch.Tensor) -> torch.Tensor:
        return kids.sum(2)

    def _conv(self, x: torch.Tensor, O: torch.Tensor) -> torch.Tensor:
        return log_mex(x, O)

    def _window(self, x: torch.Tensor, h: int) -> torch.Tensor:
        return window_sum(x, h)  # product pooling = sum of logs
