"""Rotation-equivariant standard CNNs built from :mod:`tensorexpr.nn.group` layers that ``te.from_torch`` traces
(docs/cnn_hybrid.md, "Rotation-equivariant CNNs").

* :func:`p4_cnn`: a lifting :class:`~tensorexpr.nn.P4Conv2d`, then ``blocks - 1`` group layers, each 3x3 with
  padding 1 followed by ReLU + 2x2 max pool (``kind="relu"``) or a 2x2 product pool (``kind="convac"``), then
  :class:`~tensorexpr.nn.OrientationPool` (mean), a global average pool and a Linear: invariant to quarter
  turns of a square input whose side ``2^blocks`` divides (exactly, up to float rounding);
* :func:`learned_basis_cnn`: the same with :class:`~tensorexpr.nn.LearnedBasisConv2d` layers (Diaconu &
  Worrall, ICML 2019), starting as the p4 CNN; :func:`equivariance_loss` sums its layers' penalties;
* the plain baseline is :func:`tensorexpr.models.hybrid_cnn.small_cnn`; :func:`matched_plain_width` picks its
  width for a parameter budget; :func:`fit` is :func:`~tensorexpr.models.hybrid_cnn.fit` plus the
  equivariance penalty.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tensorexpr.core.errors import NetworkError
from tensorexpr.models import hybrid_cnn as hc
from tensorexpr.nn import LearnedBasisConv2d, OrientationPool, P4Conv2d, ProductPool2d

__all__ = ["p4_cnn", "learned_basis_cnn", "equivariance_loss", "matched_plain_width", "fit"]


def _check(side: int, blocks: int, kind: str, who: str) -> None:
    if kind not in hc.KINDS:
        raise NetworkError(f"{who} kind must be one of {hc.KINDS}, got {kind!r}.")
    if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 1:
        raise NetworkError(f"{who}: blocks must be an int >= 1, got {blocks!r}.")
    if side % 2**blocks:
        raise NetworkError(f"{who}: side {side} is not divisible by 2^blocks = {2**blocks}. Hint: the 2x2 pools "
                           f"must tile the map for a quarter turn to map the pooling windows onto themselves.")


def _build(side: int, classes: int, width: int, kind: str, blocks: int, conv: Any) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(blocks):
        c = conv(1 if i == 0 else width, width, i == 0)
        if kind == "relu":
            layers += [c, nn.ReLU(), nn.MaxPool2d(2)]
        else:
            with torch.no_grad():  # as hybrid_cnn.small_cnn: a product of 4 small terms vanishes; start near 1
                c.bias.fill_(1.0)
            layers += [c, ProductPool2d(2)]
    out = side // 2**blocks
    return nn.Sequential(*layers, OrientationPool("mean"), nn.AvgPool2d(out), nn.Flatten(), nn.Linear(width, classes))


def p4_cnn(side: int, classes: int, width: int = 8, kind: str = "relu", blocks: int = 2) -> nn.Sequential:
    """``blocks`` x (3x3 p4 conv with padding 1, ``width`` features x 4 orientations; ReLU + 2x2 max pool, or a
    2x2 product pool), mean over orientations, global average pool, Linear.

    Parameters
    ----------
    side : int
        Input ``(1, side, side)``; divisible by ``2^blocks``.
    classes, width, blocks : int
    kind : {"relu", "convac"}
        ``convac``: product pooling (the convs start with bias 1), so the module traces to a ConvAC.

    Returns
    -------
    torch.nn.Sequential

    Raises
    ------
    NetworkError
        On an unknown ``kind`` or a side the pooling does not divide.

    References
    ----------
    Cohen & Welling, "Group Equivariant Convolutional Networks", ICML 2016.

    Examples
    --------
    >>> m = p4_cnn(8, 3, width=2)
    >>> x = torch.randn(2, 1, 8, 8)
    >>> torch.allclose(m(torch.rot90(x, 1, (-2, -1))), m(x), atol=1e-5)
    True
    """
    _check(side, blocks, kind, "p4_cnn")
    return _build(side, classes, width, kind, blocks,
                  lambda cin, cout, lift: P4Conv2d(cin, cout, 3, padding=1, lifting=lift))


def learned_basis_cnn(side: int, classes: int, width: int = 8, kind: str = "relu", blocks: int = 2,
                      n_basis: int | None = None, seed: int = 0) -> nn.Sequential:
    """:func:`p4_cnn` with :class:`~tensorexpr.nn.LearnedBasisConv2d` layers (learned rotated bases).

    Parameters
    ----------
    side, classes, width, kind, blocks
        As for :func:`p4_cnn`.
    n_basis : int, optional
        Atoms per orientation and layer (default 9, complete for 3x3).
    seed : int, optional
        Seeds the atoms and coefficients (layer ``i`` uses ``seed * 100 + i``).

    Returns
    -------
    torch.nn.Sequential

    Raises
    ------
    NetworkError
        As :func:`p4_cnn`.

    References
    ----------
    Diaconu & Worrall, "Learning to Convolve: A Generalized Weight-Tying Approach", ICML 2019.
    """
    _check(side, blocks, kind, "learned_basis_cnn")
    count = iter(range(blocks))
    return _build(side, classes, width, kind, blocks,
                  lambda cin, cout, lift: LearnedBasisConv2d(cin, cout, 3, n_basis, padding=1, lifting=lift,
                                                             seed=seed * 100 + next(count)))


def equivariance_loss(model: nn.Module) -> torch.Tensor:
    """The sum of the data-free :meth:`~tensorexpr.nn.LearnedBasisConv2d.equivariance_loss` of ``model``'s layers.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    torch.Tensor
        A scalar; 0 for a model without learned-basis layers.
    """
    terms = [m.equivariance_loss() for m in model.modules() if isinstance(m, LearnedBasisConv2d)]
    return torch.stack(terms).sum() if terms else torch.zeros(())


def matched_plain_width(side: int, classes: int, target: int, kind: str = "relu", blocks: int = 2) -> int:
    """The width of :func:`~tensorexpr.models.hybrid_cnn.small_cnn` whose parameter count is closest to ``target``.

    Parameters
    ----------
    side, classes : int
    target : int
        Parameter budget (e.g. the p4 CNN's count).
    kind : {"relu", "convac"}
    blocks : int

    Returns
    -------
    int
    """
    return min(range(1, 129), key=lambda w: abs(hc.n_params(hc.small_cnn(1, side, classes, w, kind, blocks)) - target))


def fit(model: nn.Module, X: torch.Tensor, y: torch.Tensor, epochs: int = 30, lr: float = 3e-3, batch: int = 32,
        seed: int = 0, weight_decay: float = 1e-4, clip: float | None = 1.0, equivariance_weight: float = 0.0
        ) -> nn.Module:
    """Train ``model`` in place: Adam on cross-entropy plus ``equivariance_weight * equivariance_loss(model)``.

    The loop (seeded shuffles, gradient norm clipping, skipped non-finite steps) is that of
    :func:`tensorexpr.models.hybrid_cnn.fit`.

    Parameters
    ----------
    model : torch.nn.Module
    X, y : torch.Tensor
        Inputs and integer labels.
    epochs, batch, seed : int
    lr, weight_decay : float
    clip : float, optional
    equivariance_weight : float
        Weight of the bases' equivariance penalty (0: the learned bases are free).

    Returns
    -------
    torch.nn.Module
        ``model``, in eval mode.
    """
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(X), generator=g).split(batch):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
            if equivariance_weight:
                loss = loss + equivariance_weight * equivariance_loss(model)
            if not torch.isfinite(loss):
                continue
            loss.backward()
            if clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
    model.eval()
    return model
