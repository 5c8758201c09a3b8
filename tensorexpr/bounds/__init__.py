"""Bounds on separation ranks that never form the dense grid tensor: min-cut, pooling geometry
(numeric and symbolic), specialization, and the certificates and profiles built from them."""

from __future__ import annotations

from .certificate import Certificate, certify, integer_twin
from .geometry import ClosedForm, GeometryBound, closed_form, geometry_bound
from .mincut import MinCutResult, mincut_bound
from .profile import Profile, plot_profiles, profile
from .specialization import specialization_bound
from .symmetry import SymmetryBound, symmetry_bound
from .gram import gram_bound

__all__ = [
    "specialization_bound",
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
    "SymmetryBound",
    "gram_bound",
]
