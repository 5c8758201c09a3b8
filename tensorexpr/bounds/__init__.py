"""Bounds on separation ranks that never form the dense grid tensor: min-cut, pooling geometry
(numeric and symbolic), specialization, and the certificates and profiles built from them.

Every bound returns a :class:`Bound`; :func:`certify` walks the explicit, ordered list
:data:`DEFAULT_PROVIDERS` (or the ``providers=`` it is given), each provider ``compute(net, P, ctx) -> Bound``,
and :func:`analyze` gives the plan that owns what is derived from a network across partitions.
"""

from __future__ import annotations


from tensorexpr.bounds.analysis import Analysis, analyze
from tensorexpr.bounds.result import Bound, BoundContext, BoundProvider, BoundProviders
from tensorexpr.bounds.providers import DEFAULT_PROVIDERS
from tensorexpr.bounds.certificate import Certificate, certify, integer_twin
from tensorexpr.bounds.geometry import ClosedForm, GeometryBound, closed_form, geometry_bound
from tensorexpr.bounds.mincut import MinCutResult, mincut_bound
from tensorexpr.bounds.profile import Profile, profile
from tensorexpr.bounds.specialization import SpecializationBound, specialization_bound
from tensorexpr.bounds.symmetry import SymmetryBound, symmetry_bound
from tensorexpr.bounds.gram import gram_bound
from tensorexpr.bounds.flow import FlowBound, flow_bound

__all__ = [
    "Bound",
    "BoundContext",
    "BoundProvider",
    "BoundProviders",
    "DEFAULT_PROVIDERS",
    "Analysis",
    "analyze",
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
