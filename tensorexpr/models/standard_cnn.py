"""Standard CNNs with overlapping receptive fields on any pooling geometry (docs/cnn_hybrid.md, "Overlapping
CNNs on any pooling geometry").

* :func:`overlapping_convac`: per level a ``k x k`` convolution (padded so that the map keeps its size
  and ``k = 1`` is the non-overlapping tree ConvAC) then a ``2 x 2`` product pooling, down to one position, then
  a linear head; an optional learned :class:`~tensorexpr.nn.Representation` first;
* :func:`relu_cnn`: the same shapes with ReLU and ``2 x 2`` max pooling (the generalized counterpart);

both preceded by :class:`~tensorexpr.nn.Rearrange` when a pooling ``geometry`` other than the square one is
asked for. Every piece is a layer that :func:`tensorexpr.from_torch` traces.

References
----------
Sharir & Shashua, "On the Expressive Power of Overlapping Architectures of Deep Learning", ICLR 2018.
Cohen & Shashua, "Inductive Bias of Deep Convolutional Networks through Pooling Geometry", ICLR 2017.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from tensorexpr.core.errors import NetworkError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.nn import ProductPool2d, Rearrange, Representation

__all__ = ["overlapping_convac", "relu_cnn", "KINDS"]

KINDS = ("convac", "relu")


def _levels(side: int) -> int:
    if isinstance(side, bool) or not isinstance(side, int) or side < 2 or side & (side - 1):
        raise NetworkError(f"side must be a power of 2 (>= 2) so that 2x2 poolings reach one position, got {side!r}.")
    return int(math.log2(side))


def _kernel(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise NetworkError(f"kernel_size must be a positive int, got {k!r}. "
                           f"Hint: 1 gives the non-overlapping tree ConvAC, 2, 3 and 5 overlapping windows.")
    return k


def _same_conv(cin: int, cout: int, k: int) -> list[nn.Module]:
    """A ``k x k`` convolution that keeps the map size: padding ``k // 2``, or for an even ``k`` a ``ZeroPad2d``
    of ``(k - 1) // 2`` before and ``k // 2`` after (torch's ``padding="same"`` split)."""
    if k % 2:
        return [nn.Conv2d(cin, cout, k, padding=k // 2)]
    lo, hi = (k - 1) // 2, k // 2
    return [nn.ZeroPad2d((lo, hi, lo, hi)), nn.Conv2d(cin, cout, k)]


def _stack(side: int, classes: int, width: int, kernel_size: int, kind: str, in_channels: int, M: int | None,
           geometry: ModeTree | None) -> nn.Sequential:
    if kind not in KINDS:
        raise NetworkError(f"kind must be one of {KINDS}, got {kind!r}.")
    levels, k = _levels(side), _kernel(kernel_size)
    for name, v in (("classes", classes), ("width", width), ("in_channels", in_channels)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise NetworkError(f"{name} must be a positive int, got {v!r}.")
    layers: list[nn.Module] = []
    if geometry is not None:
        layers.append(Rearrange.from_tree(geometry, side, side, 2))
    c = in_channels
    if M is not None:
        layers.append(Representation(M, in_channels, kind="gaussian", learned=True, seed=0))
        c = M
    for _ in range(levels):
        same = _same_conv(c, width, k)
        if kind == "convac":
            with torch.no_grad():  # a product of 4 small terms vanishes; with bias 1 each factor starts near 1
                same[-1].bias.fill_(1.0)
            layers += [*same, ProductPool2d(2)]
        else:
            layers += [*same, nn.ReLU(), nn.MaxPool2d(2)]
        c = width
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(width, classes))


def overlapping_convac(side: int, classes: int, width: int = 16, kernel_size: int = 3, in_channels: int = 1,
                       M: int | None = None, geometry: ModeTree | None = None) -> nn.Sequential:
    """A ConvAC with ``kernel_size x kernel_size`` convolutions and ``2 x 2`` product pooling on ``geometry``.

    ``log2(side)`` levels of (conv ``k x k`` keeping the map size, bias initialized to 1; ``ProductPool2d(2)``),
    then ``Flatten`` and ``Linear(width, classes)``. With ``k = 1`` each level is a 1x1 convolution and the
    network is the tree ConvAC of the geometry (Cohen, Sharir & Shashua, COLT 2016); with ``k > 1`` the
    receptive fields of neighbouring positions overlap (Sharir & Shashua, ICLR 2018).

    Parameters
    ----------
    side : int
        Image side, a power of 2.
    classes : int
        Outputs.
    width : int, default 16
        Channels of every convolution.
    kernel_size : int, default 3
        Kernel side; an even one is padded ``(k - 1) // 2`` before and ``k // 2`` after (``nn.ZeroPad2d``).
    in_channels : int, default 1
        Input channels.
    M : int, optional
        Put a learned Gaussian :class:`~tensorexpr.nn.Representation` of ``M`` functions first.
    geometry : ModeTree, optional
        The pooling geometry over the ``side * side`` pixels (default: square); realized by a leading
        :class:`~tensorexpr.nn.Rearrange`.

    Returns
    -------
    torch.nn.Sequential

    Raises
    ------
    NetworkError
        ``side`` not a power of 2, a non-positive kernel or size.
    GeometryError
        ``geometry`` is not shaped like a stack of 2x2 poolings on the image.

    References
    ----------
    Sharir & Shashua, "On the Expressive Power of Overlapping Architectures of Deep Learning", ICLR 2018.
    """
    return _stack(side, classes, width, kernel_size, "convac", in_channels, M, geometry)


def relu_cnn(side: int, classes: int, width: int = 16, kernel_size: int = 3, in_channels: int = 1,
             M: int | None = None, geometry: ModeTree | None = None) -> nn.Sequential:
    """The ReLU CNN of :func:`overlapping_convac`'s shapes: (conv ``k x k``, ReLU, ``MaxPool2d(2)``) per level.

    Parameters
    ----------
    side, classes, width, kernel_size, in_channels, M, geometry
        As in :func:`overlapping_convac`.

    Returns
    -------
    torch.nn.Sequential

    Raises
    ------
    NetworkError
        As :func:`overlapping_convac`.
    GeometryError
        As :func:`overlapping_convac`.

    References
    ----------
    Cohen & Shashua, "Convolutional Rectifier Networks as Generalized Tensor Decompositions", ICML 2016.
    """
    return _stack(side, classes, width, kernel_size, "relu", in_channels, M, geometry)
