"""Trainable ConvACs and ReLU ConvNets on any mode tree, and their extraction to networks (needs torch).

``te.models.ConvAC`` (log-space product pooling, positive MEX convs), ``te.models.ReLUNet`` (1x1 conv,
ReLU, max/avg pooling), and ``te.models.from_model`` / ``model.to_network()`` returning the
:class:`~tensorexpr.Network` that ``te.rank`` and friends read.
"""

from __future__ import annotations

from .base import TreeModel
from .convac import ConvAC, log_mex
from .extract import from_model, template_inputs
from .layers import (
    REPRESENTATIONS,
    Gaussian,
    Linear,
    ModelInputError,
    OneHot,
    Representation,
    Stage,
    compile_tree,
    default_device,
    make_representation,
)
from .relunet import POOLINGS, ReLUNet
from .group import P4ConvAC, P4ReLUNet, PatchConvAC, PatchReLUNet
from .sensitivity import rotation_sensitivity
from .attribute import AttributeConvAC, AttributeReLUNet
from .learned_basis import LearnedBasisConvAC, LearnedBasisReLUNet

__all__ = [
    "ConvAC",
    "ReLUNet",
    "TreeModel",
    "from_model",
    "template_inputs",
    "log_mex",
    "REPRESENTATIONS",
    "Representation",
    "OneHot",
    "Gaussian",
    "Linear",
    "ModelInputError",
    "Stage",
    "compile_tree",
    "default_device",
    "make_representation",
    "POOLINGS",
    "P4ConvAC",
    "P4ReLUNet",
    "PatchConvAC",
    "PatchReLUNet",
    "rotation_sensitivity",
    "AttributeConvAC",
    "AttributeReLUNet",
    "LearnedBasisConvAC",
    "LearnedBasisReLUNet",
]
