"""The ReLU ConvNet on any mode tree: representation -> 1x1 conv -> (ReLU -> pool -> 1x1 conv) per level.

It is the generalized tensor decomposition of Cohen & Shashua (ICML 2016) with
``g(a, b) = P(relu(a), relu(b))``: ``relu-max`` for max pooling, ``relu-avg`` for average pooling (the
operators of :mod:`tensorexpr.core.operators`). Convs are bias-free by default, so the model is exactly a
:class:`~tensorexpr.Network` (which has no biases); the root's conv gives the outputs with no activation.
``bias=True, init="xavier"`` is the authors' ReLU net (Cohen & Shashua, ICLR 2017, ``exp/blob/crn``:
Caffe's Xavier filler ``U(-sqrt(3/fan_in), sqrt(3/fan_in))``, zero biases); such a model trains and
evaluates like any other but has no Network form (``to_network`` refuses it).
"""

from __future__ import annotations

from typing import Any

import math

import torch

from tensorexpr.core.errors import NetworkError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.models.base import TreeModel
from tensorexpr.models.gridpath import window_max, window_sum
from tensorexpr.models.layers import Representation, Stage

__all__ = ["ReLUNet", "POOLINGS", "INITS"]

POOLINGS = ("max", "avg")
#: Weight initializations: He-normal ``N(0, 2 / r_in)``; Caffe's Xavier ``U(-sqrt(3 / r_in), sqrt(3 / r_in))``.
INITS = ("he", "xavier")


class ReLUNet(TreeModel):
    """A ReLU ConvNet with the same geometry, widths and representation options as :class:`ConvAC`.

    Pooling is ``relu`` then max or average over a node's children (``g = relu-max`` / ``relu-avg``,
    docs/conventions.md, "Operators"); ``forward`` returns the raw outputs (logits).

    Parameters
    ----------
    tree, M, widths, outputs, representation, shared, in_features, seed, device, fast
        As for :class:`ConvAC`.
    pooling : {"max", "avg"}, optional
    bias : bool, optional
        A learned bias after every conv.
    init : {"he", "xavier"}, optional
        See :data:`INITS`.

    Raises
    ------
    NetworkError
        On an unknown ``pooling`` or ``init``, or arguments :class:`TreeModel` refuses.

    References
    ----------
    Cohen & Shashua, "Convolutional Rectifier Networks as Generalized Tensor Decompositions", ICML 2016.

    Examples
    --------
    >>> import tensorexpr as te, torch
    >>> model = te.models.ReLUNet(te.ModeTree.line(8), M=2, widths=4, outputs=3, pooling="avg", device="cpu")
    >>> model(torch.zeros(2, 8, dtype=torch.long)).shape
    torch.Size([2, 3])
    """

    _pad_value = 0.0  # after ReLU every child is >= 0, so 0 is neutral for max and adds nothing to a sum

    #: How :func:`~tensorexpr.models.from_model` reads this model (a class fact, inherited by subclasses).
    extraction = "relunet"

    def __init__(self, tree: ModeTree, M: int, widths: Any, outputs: int = 1, pooling: str = "max",
                 representation: str | Representation = "one_hot", shared: bool = True, in_features: int = 1,
                 seed: int | None = 0, device: Any = None, bias: bool = False, init: str = "he",
                 fast: bool = True):
        if pooling not in POOLINGS:
            raise NetworkError(f"Unknown pooling {pooling!r}; expected one of {POOLINGS}.")
        if init not in INITS:
            raise NetworkError(f"Unknown init {init!r}; expected one of {INITS}.")
        self.pooling = pooling
        self.init = init
        super().__init__(tree, M, widths, outputs, representation, shared, in_features, seed, device, bias=bias,
                         fast=fast)

    @property
    def op_name(self) -> str:
        """The operator of the extracted network: ``relu-max`` or ``relu-avg``."""
        return f"relu-{self.pooling}"

    def _init_weight(self, shape: tuple[int, ...], st: Stage, gen: torch.Generator) -> torch.Tensor:
        if self.init == "xavier":
            return (torch.rand(shape, generator=gen) * 2 - 1) * math.sqrt(3.0 / st.r_in)
        return torch.randn(shape, generator=gen) * math.sqrt(2.0 / st.r_in)

    def _leaf(self, x: torch.Tensor, st: Stage, W: torch.Tensor) -> torch.Tensor:
        if self.representation.discrete:  # onehot @ W = W[x]
            sym = x[..., 0]
            return W[sym] if W.dim() == 2 else W[torch.arange(W.shape[0], device=W.device), sym]
        return self._conv(self.representation(x), W)

    def _pool(self, kids: torch.Tensor, st: Stage, counts: torch.Tensor) -> torch.Tensor:
        r = torch.relu(kids)
        if self.pooling == "max":
            return r.amax(2)
        s = r.sum(2)
        return s / counts.to(s.dtype).unsqueeze(-1)

    def _conv(self, x: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
        return x @ W if W.dim() == 2 else torch.einsum("bnr,nrs->bns", x, W)

    def _window(self, x: torch.Tensor, h: int) -> torch.Tensor:
        if self.pooling == "max":  # relu and max commute: pool first, rectify a quarter of the values
            return torch.relu(window_max(x, h))
        return window_sum(torch.relu(x), h) * 0.25

    def extra_repr(self) -> str:
        """The summary line ``torch`` prints inside the module's repr.

        Returns
        -------
        str
        """
        return super().extra_repr() + f", pooling={self.pooling}" + (f", init={self.init}" if self.init != "he" else "")
