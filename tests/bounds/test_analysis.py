"""The analysis plan (tensorexpr/bounds/analysis.py): one object per network owns what is derived from it, and
the facts it answers from its own derived structures are what the facts themselves say (oracle:
``tensorexpr.core.facts.check_fact`` on the network)."""

from __future__ import annotations

from dataclasses import replace

import pytest

import tensorexpr as te
from tensorexpr.bounds.analysis import Analysis, analysis_of
from tensorexpr.core.facts import FACTS, check_fact, mode_multiplicity, tree_matches


def test_an_analysis_is_reused_and_gives_the_same_certificates():
    """One plan per network: the same intervals as fresh certify calls, and partition-free work done once."""
    net = te.convac(te.ModeTree.grid(8, 8), M=2, widths=[2, 4, 4], seed=1, shared=True)
    a = te.analyze(net)
    for kind in ("left_right", "checkerboard", "top_bottom"):
        P = te.Partition.grid(8, 8, kind)
        fresh, planned = te.certify(net, P), te.certify(a, P)
        assert (fresh.lower, fresh.upper, fresh.lower_method, fresh.upper_method) == \
            (planned.lower, planned.upper, planned.lower_method, planned.upper_method)
    n_derived = len(a._memo)
    te.certify(a, te.Partition.grid(8, 8, "left_right"))
    assert len(a._memo) == n_derived  # nothing partition-free recomputed
    other = te.analyze(te.convac(te.ModeTree.grid(8, 8), 2, 2, seed=0))
    with pytest.raises(te.NetworkError, match="plan of"):
        te.specialization_bound(net, te.Partition.grid(8, 8, "left_right"), analysis=other)


def test_derived_runs_once_and_remembers_not_applicable():
    a = te.analyze(te.convac(te.ModeTree.line(4), 2, 2, seed=0))
    calls = []

    def build():
        calls.append(1)
        raise te.NotApplicable("hypothesis H fails")

    for _ in range(3):
        with pytest.raises(te.NotApplicable, match="hypothesis H"):
            a.derived(("test.fails",), build)
    assert calls == [1]
    assert a.derived(("test.ok",), lambda: 41 + 1) == 42 == a.derived(("test.ok",), lambda: 0)


def test_facts_agree_with_the_pure_functions():
    for net in (te.convac(te.ModeTree.grid(4, 4), 2, 2, seed=0, shared=True),
                te.overlapping(5, [(2, 1, 2), (2, 1, 2)], M=2, seed=1)):
        a = te.analyze(net)
        assert a.mode_multiplicity == mode_multiplicity(net) and a.tree_matches == tree_matches(net)
        facts = a.facts()
        assert (facts["modes-read-once"] is True) == all(k == 1 for k in mode_multiplicity(net).values())
        assert (facts["all-free"] is True) == net.all_free


def test_bad_arguments():
    with pytest.raises(te.NetworkError, match="te.Network"):
        te.analyze("net")
    net = te.convac(te.ModeTree.line(4), 2, 2, seed=0)
    assert analysis_of(net).net is net and isinstance(analysis_of(te.analyze(net)), Analysis)
    with pytest.raises(te.NetworkError, match="analysis="):
        analysis_of(net, analysis="plan")


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
