"""The analysis plan (``tensorexpr/bounds/analysis.py``): facts it answers from its own derived structures are
what the facts themselves say (oracle: ``tensorexpr.core.facts.check_fact`` on the network)."""

from __future__ import annotations

from dataclasses import replace

import pytest

import tensorexpr as te
from tensorexpr.core.facts import FACTS, check_fact


def _nets():
    tree = te.ModeTree.grid(4, 4)
    net = te.convac(tree, 2, 2, seed=0)
    return [net, te.convac(tree, 2, 2, seed=0, shared=True),
            te.convac(te.ModeTree.grid(4, 4, geometry="mirror"), 2, 2, seed=0),
            te.overlapping(3, [(2, 1, 3)], M=2, seed=0),  # a DAG that reads modes twice
            replace(net, tree=te.ModeTree.line(16)),  # a mode tree the graph does not follow
            replace(net, tree=None)]


@pytest.mark.parametrize("i", range(6))
def test_plan_facts_equal_direct_facts(i):
    net = _nets()[i]
    a = te.analyze(net)
    for key in FACTS:
        assert a.fact(key) == check_fact(net, key), key


def test_plan_facts_cover_both_verdicts():
    got = {(k, te.analyze(n).fact(k) is None) for n in _nets() for k in ("mode-tree", "modes-read-once")}
    assert got == {(k, v) for k in ("mode-tree", "modes-read-once") for v in (True, False)}
