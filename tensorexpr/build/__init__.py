"""Constructors of the one network form: CP and HT (ConvAC) trees, tree and mixed decompositions, overlapping
networks, hybrid trees and structured tying (p4 group convolutions, attribute convolutions), and the spec
parser that names any of them (:class:`NetworkSpec`).

Each returns a :class:`~tensorexpr.core.network.Network` (docs/design.md, "One network form").
"""

from __future__ import annotations

from tensorexpr.build.attribute import attribute_convac
from tensorexpr.build.convac import convac, cp, hierarchical, resolve_widths
from tensorexpr.build.dilated import dilated, tree_decomposition
from tensorexpr.build.hybrid import embed_hybrid, hybrid_choices, hybrid_tree
from tensorexpr.build.mixed import common_nodes, mixed
from tensorexpr.build.overlapping import overlapping
from tensorexpr.build.p4 import group_convac
from tensorexpr.build.spec import NetworkSpec, PartitionSpec

__all__ = ["convac", "cp", "hierarchical", "resolve_widths", "tree_decomposition", "dilated", "mixed",
           "common_nodes", "overlapping", "hybrid_tree", "hybrid_choices", "embed_hybrid", "group_convac",
           "attribute_convac", "NetworkSpec", "PartitionSpec"]
