"""Structured weight tying beyond translations: p4 group convolutions and attribute convolutions.

Both are parametrizations of the one network form (``Tied(block, basis)``, docs/design.md): constructors
:func:`group_convac` (Diaconu & Worrall, ICML 2019) and :func:`attribute_convac` (Jacobsen, Oyallon, Mallat &
Smeulders, 2017).
"""

from __future__ import annotations

from .attribute import attribute_convac
from .p4 import group_convac, rotate_grid_tensor, rotate_partition, template_rotation, tree_rotation_closed
from .tying import LevelMap, selection_basis, tied_tree_network

__all__ = ["group_convac", "attribute_convac", "rotate_grid_tensor", "rotate_partition", "template_rotation", "tree_rotation_closed",
           "LevelMap", "selection_basis", "tied_tree_network"]
