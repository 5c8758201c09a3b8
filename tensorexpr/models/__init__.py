"""Trainable ConvACs and ReLU ConvNets on any mode tree, and their extraction to networks (needs torch).

``te.models.ConvAC`` (log-space product pooling, positive MEX convs), ``te.models.ReLUNet`` (1x1 conv,
ReLU, max/avg pooling), ``te.models.from_model`` / ``model.to_network()`` returning the
:class:`~tensorexpr.Network` that ``te.rank`` and friends read, and ``te.models.load(run_dir)`` restoring a
trained model from its training run.
"""

from __future__ import annotations

from .base import TreeModel
from .checkpoint import CheckpointError, load
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

__all__ = [
    "load",
    "CheckpointError",
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
]
