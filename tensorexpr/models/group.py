"""p4 group-equivariant tree models: a rotated filter basis lifts each patch, group convolutions mix.

Diaconu & Worrall, ICML 2019 (the group convolution ``[f * psi](g) = sum_x f(x) L_g[psi](x)``); the tying
is :mod:`tensorexpr.structured.p4`. ``model(torch.rot90(x, 1, (-2, -1)))`` equals ``model(x)`` up to float
rounding, because the output pools over the rotation index at the root and the tree maps onto itself.
"""

from __future__ import annotations

from typing import Any

from ..errors import NetworkError
from ..modetree import ModeTree
from ..structured.p4 import p4_maps, tree_rotation_closed
from .tied import TiedTreeModel

__all__ = ["P4ConvAC", "P4ReLUNet", "PatchConvAC", "PatchReLUNet"]


class P4ConvAC(TiedTreeModel):
    """The p4 ConvAC on a square grid tree over ``kernel x kernel`` patches (log space, positive weights).

    Parameters
    ----------
    tree : ModeTree
        Square or mirror grid tree over the ``S x S`` patch positions; images are ``(S k) x (S k)``.
    M : int
        Representation functions per pixel (symbols for ``one_hot``).
    widths : int or list
        Filters per orientation at each level (``4 * widths[l]`` channels).
    outputs : int
    kernel : int
        Patch side ``k``.
    representation, in_features, seed, device : as in :class:`tensorexpr.models.ConvAC`.

    Examples
    --------
    >>> import tensorexpr as te, torch
    >>> m = te.models.P4ConvAC(te.ModeTree.grid(4, 4), M=2, widths=2, outputs=3, kernel=2, device="cpu")
    >>> x = torch.randint(0, 2, (5, 8, 8))
    >>> bool(torch.allclose(m(torch.rot90(x, 1, (-2, -1))), m(x), atol=1e-5))
    True
    """

    log_space = True
    _orientations = 4  # hidden channels are (orientation, filter): summed for sensitivity measurements

    def __init__(self, tree: ModeTree, M: int, widths: Any, outputs: int = 1, kernel: int = 2,
                 representation: Any = "one_hot", in_features: int = 1, seed: int | None = 0, device: Any = None):
        if not isinstance(tree, ModeTree) or not tree_rotation_closed(tree):
            raise NetworkError(f"P4 models need a grid tree that maps onto itself under rotations, got {tree!r}.")
        self.widths_spec = widths
        super().__init__(tree, M, p4_maps(tree, M, widths, outputs, kernel), outputs, kernel, representation,
                         in_features, seed, device)


class P4ReLUNet(P4ConvAC):
    """The ReLU counterpart of :class:`P4ConvAC` (ReLU then max/avg pooling; same tying, same geometry).

    Pixel features are background-centered (``f(x) - f(0)``) and the initial filters zero-sum
    (:meth:`TiedTreeModel._center`): without both, the model collapsed to a constant output on digits.
    """

    log_space = False
    centered = True

    def __init__(self, tree: ModeTree, M: int, widths: Any, outputs: int = 1, kernel: int = 2, pooling: str = "max",
                 representation: Any = "one_hot", in_features: int = 1, seed: int | None = 0, device: Any = None):
        if pooling not in ("max", "avg"):
            raise NetworkError(f"Unknown pooling {pooling!r}; expected 'max' or 'avg'.")
        self.pooling = pooling
        super().__init__(tree, M, widths, outputs, kernel, representation, in_features, seed, device)


def _dense_maps(tree: ModeTree, M: int, widths: Any, outputs: int, kernel: int, factor: int) -> dict:
    from ..structured.p4 import level_widths
    from ..structured.tying import LevelMap
    import numpy as np

    B = [factor * b for b in level_widths(tree, widths)]
    dims = [kernel * kernel * M] + B + [outputs]
    return {l: LevelMap(dims[l], dims[l + 1], np.eye(dims[l] * dims[l + 1], dtype=np.int64), "free")
            for l in range(len(dims) - 1)}


class PatchConvAC(TiedTreeModel):
    """The untied baseline of :class:`P4ConvAC`: same patches, tree and channel counts (``4 * widths[l]``),
    dense free 1x1 convs shared across positions (a plain ConvAC on ``k x k`` patch features)."""

    log_space = True

    def __init__(self, tree: ModeTree, M: int, widths: Any, outputs: int = 1, kernel: int = 2,
                 representation: Any = "one_hot", in_features: int = 1, seed: int | None = 0, device: Any = None,
                 channel_factor: int = 4):
        self.widths_spec = widths
        super().__init__(tree, M, _dense_maps(tree, M, widths, outputs, kernel, channel_factor), outputs, kernel,
                         representation, in_features, seed, device)


class PatchReLUNet(PatchConvAC):
    """The untied ReLU baseline of :class:`P4ReLUNet` (same patches, tree and channel counts, same centering)."""

    log_space = False
    centered = True

    def __init__(self, tree: ModeTree, M: int, widths: Any, outputs: int = 1, kernel: int = 2, pooling: str = "max",
                 representation: Any = "one_hot", in_features: int = 1, seed: int | None = 0, device: Any = None,
                 channel_factor: int = 4):
        if pooling not in ("max", "avg"):
            raise NetworkError(f"Unknown pooling {pooling!r}; expected 'max' or 'avg'.")
        self.pooling = pooling
        super().__init__(tree, M, widths, outputs, kernel, representation, in_features, seed, device, channel_factor)
