"""Trainable ConvACs and ReLU ConvNets on any mode tree, and their extraction to networks (needs torch).

``te.models.ConvAC`` (log-space product pooling, positive MEX convs), ``te.models.ReLUNet`` (1x1 conv,
ReLU, max/avg pooling), ``te.models.from_model`` / ``model.to_network()`` returning the
:class:`~tensorexpr.Network` that ``te.rank`` and friends read, and ``te.experiments.load(run_dir)`` restoring a
trained model from its training run.
"""

from __future__ import annotations

from tensorexpr.models.base import TreeModel
from tensorexpr.models.convac import ConvAC, log_mex
from tensorexpr.models.extract import from_model, template_inputs
from tensorexpr.models.layers import (
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
from tensorexpr.models.relunet import POOLINGS, ReLUNet
from tensorexpr.models.group import P4ConvAC, P4ReLUNet, PatchConvAC, PatchReLUNet
from tensorexpr.models.sensitivity import rotation_sensitivity
from tensorexpr.models.attribute import AttributeConvAC, AttributeReLUNet
from tensorexpr.models.learned_basis import LearnedBasisConvAC, LearnedBasisReLUNet

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


def structured_model(kind: str, tree, M: int, widths, kernel: int = 2, pooling: str = "max", shared: bool = True,
                     **common):
    """The structured model of a training-config kind (``p4``, ``learned``, ``patch``, ``attribute``, ``*-relu``)."""
    from tensorexpr.core.errors import NetworkError

    table = {"p4": P4ConvAC, "p4-relu": P4ReLUNet, "learned": LearnedBasisConvAC, "learned-relu": LearnedBasisReLUNet,
             "patch": PatchConvAC, "patch-relu": PatchReLUNet, "attribute": AttributeConvAC,
             "attribute-relu": AttributeReLUNet}
    if kind not in table:
        raise NetworkError(f"Unknown structured model kind {kind!r}; expected one of {sorted(table)}.")
    if not shared:
        raise NetworkError(f"{kind} models are convolutions (weights shared across positions); shared=False is not offered.")
    cls = table[kind]
    kw = dict(common)
    if kind.endswith("-relu"):
        kw["pooling"] = pooling
    if not kind.startswith("attribute"):
        kw["kernel"] = kernel
    return cls(tree, M, widths, **kw)


__all__.append("structured_model")
