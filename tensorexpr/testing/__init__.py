"""Test oracles and builders, importable by tests, benchmarks and users (``tensorexpr.testing``).

Everything here is written apart from the code paths it checks: an entry-by-entry grid tensor, a
pure-Python rank over Q by fraction elimination, an independent min-cut, and hand-made networks.
"""

from __future__ import annotations

from tensorexpr.testing.mincut_oracle import local_mincut_bound
from tensorexpr.testing.networks import overlap_net
from tensorexpr.testing.oracles import brute_generic_rank, brute_matricization, fraction_rank
from tensorexpr.testing.reference import random_network_output, random_tree, reference_grid_tensor

__all__ = ["reference_grid_tensor", "random_tree", "random_network_output", "overlap_net", "local_mincut_bound",
           "fraction_rank", "brute_matricization", "brute_generic_rank"]
