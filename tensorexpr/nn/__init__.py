"""torch modules for ConvACs and the tracer from torch to the Network form (the ``[torch]`` extra; docs/torch.md).

``te.nn.ProductPool2d`` and ``te.nn.Representation`` go inside an ordinary ``nn.Sequential``;
``te.from_torch(module, input_shape, templates)`` traces a module with ``torch.fx`` into a
:class:`~tensorexpr.Network` whose grid tensor is the module on every template image.
"""

from __future__ import annotations

from tensorexpr.nn.group import LearnedBasisConv2d, OrientationPool, P4Conv2d
from tensorexpr.nn.hybrid import AttributeConv2d, FrontEnd
from tensorexpr.nn.modules import ProductPool2d, Representation
from tensorexpr.nn.rearrange import Rearrange
from tensorexpr.nn.trace import SUPPORTED_MODULES, from_torch

__all__ = ["ProductPool2d", "Representation", "from_torch", "SUPPORTED_MODULES"]
__all__ += ["FrontEnd", "AttributeConv2d", "Rearrange"]
__all__ += ["P4Conv2d", "OrientationPool", "LearnedBasisConv2d"]
