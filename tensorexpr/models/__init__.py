"""Trainable ConvACs and ReLU ConvNets on any mode tree, and their extraction to networks (needs torch).

``te.models.ConvAC`` (log-space product pooling, positive MEX convs), ``te.models.ReLUNet`` (1x1 conv,
ReLU, max/avg pooling), ``te.models.from_model`` / ``model.to_network()`` returning the
:class:`~tensorexpr.Network` that ``te.rank`` and friends read, and ``te.experiments.load(run_dir)`` restoring a
trained model from its training run.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> the submodule defining it; loaded on first use (PEP 562), so that the torch-free
#: ``tensorexpr.models.kinds`` (read by the command-line parser) does not load torch.
_EXPORTS = {
    "TreeModel": "base", "ConvAC": "convac", "log_mex": "convac", "from_model": "extract",
    "template_inputs": "extract", "REPRESENTATIONS": "layers", "Gaussian": "layers", "Linear": "layers",
    "ModelInputError": "layers", "OneHot": "layers", "Representation": "layers", "Stage": "layers",
    "compile_tree": "layers", "default_device": "layers", "make_representation": "representations", "POOLINGS": "relunet",
    "ReLUNet": "relunet", "P4ConvAC": "group", "P4ReLUNet": "group", "PatchConvAC": "group",
    "PatchReLUNet": "group", "rotation_sensitivity": "sensitivity", "AttributeConvAC": "attribute",
    "AttributeReLUNet": "attribute", "LearnedBasisConvAC": "learned_basis", "LearnedBasisReLUNet": "learned_basis",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


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
    """The structured model of a training-config kind (``p4``, ``learned``, ``patch``, ``attribute``, ``*-relu``).

    Parameters
    ----------
    kind : str
        ``"p4"``, ``"learned"``, ``"patch"``, ``"attribute"``, or one of them with ``"-relu"`` (the generalized
        ConvNet with ReLU activation and max or average pooling).
    tree : ModeTree
        The pooling geometry.
    M : int
        Number of representation functions.
    widths : sequence of int
        Channels per level.
    kernel : int, default 2
        Side of the rotated patch filters (not used by the attribute models).
    pooling : {"max", "avg"}, default "max"
        Pooling of the ``-relu`` kinds.
    shared : bool, default True
        Must be true: these models are convolutions.
    **common
        Passed to the model's constructor.

    Returns
    -------
    torch.nn.Module
        The model; its ``to_network()`` gives the calculator's network.

    Raises
    ------
    NetworkError
        Unknown ``kind``, or ``shared=False``.
    """
    from tensorexpr.core.errors import NetworkError
    from tensorexpr.models.attribute import AttributeConvAC, AttributeReLUNet
    from tensorexpr.models.group import P4ConvAC, P4ReLUNet, PatchConvAC, PatchReLUNet
    from tensorexpr.models.learned_basis import LearnedBasisConvAC, LearnedBasisReLUNet

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
