"""Bounds on separation ranks that never form the dense grid tensor: min-cut, pooling geometry
(numeric and symbolic), specialization, and the certificates and profiles built from them.

Every bound returns a :class:`Bound`; :func:`certify` composes the providers registered in
:data:`BOUND_PROVIDERS`. Every module of this package is imported here, so a provider module that calls
:func:`register_bound_provider` at import (``symmetry.py``, ``coarse.py``, ...) is picked up by certify
without edits.
"""

from __future__ import annotations

import importlib
import pkgutil

from tensorexpr.bounds.result import ASSUMPTIONS, BOUND_PROVIDERS, Bound, BoundProvider, get_provider, register_bound_provider
from tensorexpr.bounds import providers as _providers  # noqa: F401  (registers the built-in providers)
from tensorexpr.bounds.certificate import Certificate, certify, integer_twin
from tensorexpr.bounds.geometry import ClosedForm, GeometryBound, closed_form, geometry_bound
from tensorexpr.bounds.mincut import MinCutResult, mincut_bound
from tensorexpr.bounds.profile import Profile, profile
from tensorexpr.bounds.specialization import SpecializationBound, specialization_bound

for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")
from tensorexpr.bounds.symmetry import SymmetryBound, symmetry_bound
from tensorexpr.bounds.gram import gram_bound
from tensorexpr.bounds.flow import FlowBound, flow_bound

__all__ = [
    "Bound",
    "BoundProvider",
    "BOUND_PROVIDERS",
    "ASSUMPTIONS",
    "register_bound_provider",
    "get_provider",
    "specialization_bound",
    "SpecializationBound",
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
    "symmetry_bound",
    "SymmetryBound",
    "gram_bound",
    "flow_bound",
    "FlowBound",
]
