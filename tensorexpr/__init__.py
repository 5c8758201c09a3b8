"""tensorexpr: the expressiveness of convolutional networks through hierarchical tensor decompositions.

The data flows one way: geometry (:class:`ModeTree`) -> network (:class:`Network`, built by :func:`convac`,
:func:`cp`, ...) -> measures (:meth:`Network.grid_tensor`, :func:`matricize`, :func:`rank`) -> reports.
"""

from __future__ import annotations

from tensorexpr.evaluate import grid as _grid  # noqa: F401  (attaches Network.grid_tensor)
from tensorexpr.core.errors import (BudgetError, GeometryError, NetworkError, NotApplicable, PartitionError, RankError,
                     TensorExprError)
from tensorexpr.evaluate.grid import DEFAULT_PRIME, default_memory_budget, einsum_network, estimate_bytes, grid_tensor, grid_tensor_mod
from tensorexpr.evaluate.matricize import matricize
from tensorexpr.core.modetree import ModeTree
from tensorexpr.core.network import Network, Node
from tensorexpr.build.convac import convac, cp, hierarchical
from tensorexpr.core.operators import OPERATORS, Operator, get_operator, register_operator
from tensorexpr.core.partitions import Partition
from tensorexpr.rank import RANK_METHODS, RankResult, RankWarning, rank, rank_many, register_rank_method
from tensorexpr.build.overlapping import overlapping
from tensorexpr.build.mixed import common_nodes, mixed
from tensorexpr.core.rational import clear_denominators
from tensorexpr.build.dilated import dilated, tree_decomposition

__version__ = "0.1.0"

__all__ = [
    "ModeTree",
    "Partition",
    "Network",
    "Node",
    "convac",
    "cp",
    "hierarchical",
    "grid_tensor",
    "grid_tensor_mod",
    "einsum_network",
    "estimate_bytes",
    "default_memory_budget",
    "DEFAULT_PRIME",
    "matricize",
    "rank",
    "rank_many",
    "RankResult",
    "RankWarning",
    "RANK_METHODS",
    "register_rank_method",
    "OPERATORS",
    "Operator",
    "get_operator",
    "register_operator",
    "TensorExprError",
    "GeometryError",
    "PartitionError",
    "NetworkError",
    "BudgetError",
    "RankError",
    "NotApplicable",
    "clear_denominators",
    "overlapping",
    "mixed",
    "common_nodes",
    "tree_decomposition",
    "dilated",
]

from tensorexpr.bounds import (  # noqa: E402
    BOUND_PROVIDERS,
    Bound,
    BoundProvider,
    SpecializationBound,
    register_bound_provider,
    specialization_bound,
)

__all__ += ["specialization_bound", "SpecializationBound", "Bound", "BoundProvider", "BOUND_PROVIDERS",
            "register_bound_provider"]

from tensorexpr.bounds.tiling import tiling, tiling_bounds  # noqa: E402
from tensorexpr.build.hybrid import hybrid_tree, hybrid_choices, embed_hybrid  # noqa: E402

__all__ += ["tiling", "tiling_bounds", "hybrid_tree", "hybrid_choices", "embed_hybrid"]

from tensorexpr.build import attribute_convac, group_convac  # noqa: E402

__all__ += ["group_convac", "attribute_convac"]

# -- bounds, certificates and profiles (tensorexpr.bounds) ---------------------------------------------------
from tensorexpr.bounds import (  # noqa: E402
    Certificate,
    ClosedForm,
    GeometryBound,
    MinCutResult,
    Profile,
    certify,
    closed_form,
    geometry_bound,
    integer_twin,
    mincut_bound,
    plot_profiles,
    profile,
    symmetry_bound,
    flow_bound,
)

__all__ += [
    "mincut_bound",
    "MinCutResult",
    "geometry_bound",
    "GeometryBound",
    "closed_form",
    "ClosedForm",
    "certify",
    "Certificate",
    "integer_twin",
    "profile",
    "Profile",
    "plot_profiles",
    "symmetry_bound",
    "flow_bound",
]


from tensorexpr.spectra import Spectrum, spectrum  # noqa: E402  (te.spectrum is the function; the package is tensorexpr.spectra)

__all__ += ["spectrum", "Spectrum"]

# -- torch-backed subpackages, imported lazily so that ``import tensorexpr`` stays light -------------------
_LAZY_SUBPACKAGES = ("models", "experiments")


def __getattr__(name: str):  # PEP 562
    if name in _LAZY_SUBPACKAGES:
        import importlib

        mod = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = mod
        return mod
    if name == "from_model":
        from tensorexpr.models import from_model

        return from_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ += ["models", "experiments", "from_model"]
