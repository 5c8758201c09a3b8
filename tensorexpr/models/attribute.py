"""Attribute-convolution tree models (Jacobsen, Oyallon, Mallat & Smeulders, 2017): channel mixing is a
convolution along attribute axes, a new attribute per level, the oldest summed out (the tying of
:mod:`tensorexpr.build.attribute`). One position per pixel or sequence element, as in
:class:`tensorexpr.models.ConvAC`; ``to_network()`` gives the tied network.
"""

from __future__ import annotations

from typing import Any

from tensorexpr.core.errors import NetworkError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.build.attribute import attribute_maps, plain_param_count
from tensorexpr.models.tied import TiedTreeModel

__all__ = ["AttributeConvAC", "AttributeReLUNet"]


class AttributeConvAC(TiedTreeModel):
    """An attribute-convolution ConvAC on any balanced mode tree (log space, positive weights).

    Parameters
    ----------
    tree : ModeTree
    M : int
        Representation functions per position.
    widths : int or list
        Size ``n_l`` of the attribute created at level ``l``; channels are products of the last ``keep`` sizes.
    outputs : int
    support : int, optional
        Kernel support along each attribute axis (default: the whole axis).
    padding : {"periodic", "zero"}
    keep : int
        Attributes kept per level (3 in the seed).
    representation, in_features, seed, device : as in :class:`tensorexpr.models.ConvAC`.

    Raises
    ------
    NetworkError
        When ``tree`` is not a :class:`ModeTree` or is unbalanced, or on bad ``widths``, ``keep``, ``support`` or
        ``padding`` (see :func:`tensorexpr.build.attribute.attribute_maps`).

    References
    ----------
    Jacobsen, Oyallon, Mallat & Smeulders, "Hierarchical Attribute CNNs", ICML 2017 workshop.

    Examples
    --------
    >>> import tensorexpr as te, torch
    >>> m = te.models.AttributeConvAC(te.ModeTree.grid(8, 8), M=2, widths=2, outputs=3, support=1, device="cpu")
    >>> m(torch.zeros(4, 8, 8, dtype=torch.long)).shape
    torch.Size([4, 3])
    """

    log_space = True

    def __init__(self, tree: ModeTree, M: int, widths: Any, outputs: int = 1, support: int | None = None,
                 padding: str = "periodic", keep: int = 3, representation: Any = "one_hot", in_features: int = 1,
                 seed: int | None = 0, device: Any = None):
        if not isinstance(tree, ModeTree):
            raise NetworkError(f"Models are built from a te.ModeTree, got {type(tree).__name__}.")
        maps, self.attribute_layers = attribute_maps(tree, M, widths, outputs, support, padding, keep)
        self.widths_spec, self.support, self.padding, self.keep = widths, support, padding, keep
        super().__init__(tree, M, maps, outputs, 1, representation, in_features, seed, device)

    @property
    def plain_n_params(self) -> int:
        """Parameters of the unconstrained net with the same channel widths (representation excluded)."""
        return plain_param_count(self.maps)


class AttributeReLUNet(AttributeConvAC):
    """The ReLU counterpart of :class:`AttributeConvAC` (ReLU then max/avg pooling, same tying).

    Parameters
    ----------
    tree, M, widths, outputs, support, padding, keep, representation, in_features, seed, device
        As for :class:`AttributeConvAC`.
    pooling : {"max", "avg"}, optional

    Raises
    ------
    NetworkError
        On an unknown ``pooling``, or as :class:`AttributeConvAC`.

    References
    ----------
    Jacobsen, Oyallon, Mallat & Smeulders, "Hierarchical Attribute CNNs", ICML 2017 workshop.
    """

    log_space = False

    def __init__(self, tree: ModeTree, M: int, widths: Any, outputs: int = 1, support: int | None = None,
                 padding: str = "periodic", keep: int = 3, pooling: str = "max", representation: Any = "one_hot",
                 in_features: int = 1, seed: int | None = 0, device: Any = None):
        if pooling not in ("max", "avg"):
            raise NetworkError(f"Unknown pooling {pooling!r}; expected 'max' or 'avg'.")
        self.pooling = pooling
        super().__init__(tree, M, widths, outputs, support, padding, keep, representation, in_features, seed, device)
