"""tensorexpr: the expressiveness of convolutional networks through hierarchical tensor decompositions.

The data flows one way (docs/design.md): a geometry (:class:`ModeTree`) -> a network (:class:`Network`, built
by :func:`convac`, :func:`cp`, ...) -> measures (:func:`grid_tensor`, :func:`matricize`, :func:`rank`) ->
certified bounds (:func:`certify`, :func:`profile`) and spectra (:func:`spectrum`); the data side is
:func:`data_entanglement` / :func:`geometry_fit`. This namespace holds what a user calls; everything else is
importable from its module. ``te.from_torch``, ``te.nn``, ``te.models`` and ``te.experiments`` (the ``[torch]``
extra) load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from tensorexpr.bounds import (Bound, Certificate, Profile, analyze, certify, closed_form, geometry_bound, integer_twin,
                               mincut_bound, profile, specialization_bound, symmetry_bound)
from tensorexpr.build import (NetworkSpec, attribute_convac, convac, cp, dilated, group_convac, hierarchical, mixed,
                              overlapping, tree_decomposition)
from tensorexpr.core.errors import (BudgetError, GeometryError, NetworkError, NotApplicable, PartitionError,
                                    RankError, TensorExprError)
from tensorexpr.core.modetree import ModeTree
from tensorexpr.core.network import Network, Node
from tensorexpr.core.partitions import Partition
from tensorexpr.data import data_entanglement, geometry_fit, rearrange
from tensorexpr.evaluate.grid import grid_tensor
from tensorexpr.evaluate.matricize import matricize
from tensorexpr.plot import plot_profiles
from tensorexpr.rank import RankResult, rank
from tensorexpr.spectra import Spectrum, spectrum

__version__ = "0.1.0"

__all__ = [
    # geometry and the network form
    "ModeTree", "Partition", "Network", "Node",
    # constructors
    "convac", "cp", "hierarchical", "overlapping", "mixed", "tree_decomposition", "dilated", "group_convac",
    "attribute_convac", "NetworkSpec",
    # measures
    "grid_tensor", "matricize", "rank", "RankResult",
    # certified bounds
    "analyze", "certify", "Certificate", "Bound", "profile", "Profile", "mincut_bound", "geometry_bound", "symmetry_bound",
    "specialization_bound", "closed_form", "integer_twin",
    # spectra, data, plots
    "spectrum", "Spectrum", "data_entanglement", "geometry_fit", "rearrange", "plot_profiles",
    # errors
    "TensorExprError", "GeometryError", "PartitionError", "NetworkError", "BudgetError", "RankError",
    "NotApplicable",
    # torch-backed: the tracer and subpackages, loaded on first use
    "from_torch", "nn", "models", "experiments",
]

_LAZY_SUBPACKAGES = ("models", "experiments", "nn")


def __getattr__(name: str) -> Any:  # PEP 562: torch loads only when a model is asked for
    if name == "from_torch":
        from tensorexpr.nn.trace import from_torch

        globals()[name] = from_torch
        return from_torch
    if name in _LAZY_SUBPACKAGES:
        mod = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = mod
        return mod
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}. Hint: everything not in "
                         f"tensorexpr.__all__ is importable from its module (docs/api.md).")
