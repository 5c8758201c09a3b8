"""The data's side of the fit between a pooling geometry and a data set: the entanglement of a data set under
partitions of its features, a ranking of geometries, and a feature rearrangement (docs/data.md)."""

from __future__ import annotations

from tensorexpr.data.entanglement import FEATURE_MAPS, DataEntanglement, data_entanglement, feature_embedding
from tensorexpr.data.fit import GeometryFit, canonical_nodes, geometry_fit, rank_geometries, rearrange

__all__ = ["data_entanglement", "DataEntanglement", "feature_embedding", "FEATURE_MAPS", "geometry_fit",
           "GeometryFit", "canonical_nodes", "rank_geometries", "rearrange"]
