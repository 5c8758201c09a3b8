"""One Bound shape, one provider protocol (net, P, ctx) -> Bound, and certify walking an explicit ordered list."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.bounds import DEFAULT_PROVIDERS, BoundProvider, BoundProviders
from tensorexpr.core.facts import Fact, mode_multiplicity, modes_read_once, tree_matches
from tensorexpr.testing import brute_generic_rank


def test_every_bound_is_a_bound():
    net = te.convac(te.ModeTree.line(8), M=2, widths=2, seed=0, integer=True)
    P = te.Partition.odd_even(8)
    for b, side, method in [(te.specialization_bound(net, P), "lower", "specialization"),
                            (te.geometry_bound(net, P), "upper", "geometry"),
                            (te.mincut_bound(net, P), "upper", "mincut")]:
        assert isinstance(b, te.Bound) and (b.side, b.method) == (side, method)
        d = b.to_dict()
        assert d["value"] == b.value == int(b) and d["side"] == side and d["assumptions"] == list(b.assumptions)
        json.dumps(d, default=str)
    # the oracle: on this line the closed form min(r_0, M)^{N/2} = 16 is the exact rank
    assert te.specialization_bound(net, P).value == te.mincut_bound(net, P).bound == te.rank(net, P, "exact").rank == 16
    cert = te.certify(net, P)
    assert all(isinstance(b, te.Bound) for b in cert.results.values())
    assert set(cert.to_dict()["bounds"]) == set(cert.results)


def test_add_a_bound_in_a_few_lines():
    """The recipe of docs/design.md, "How to add a bound", run verbatim from the page: one function, one entry."""
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "design.md").read_text()
    section = page[page.index("## How to add a bound"):page.index("## How to add an operator")]
    (recipe,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(recipe.strip().splitlines()) <= 10  # a few lines
    net = te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0)
    scope = {"te": te, "net": net}
    exec(recipe, scope)
    cert, providers = scope["cert"], scope["providers"]

    assert cert.details["half-modes"]["value"] == 2 ** 2 == cert.results["half-modes"].value
    assert providers.names[1] == "half-modes" and "half-modes" not in DEFAULT_PROVIDERS  # lists are immutable
    assert cert.upper == brute_generic_rank(net, te.Partition.left_right(4), draws=2)  # still the truth


def test_duplicate_provider_names_are_refused():
    dup = BoundProvider("mincut", "upper", lambda net, P, ctx: te.Bound(1, "upper", "x"))
    with pytest.raises(te.NetworkError, match="already in the list"):
        DEFAULT_PROVIDERS.add(dup)
    replaced = DEFAULT_PROVIDERS.without("mincut").add(dup, before="flow")
    assert replaced.names.index("mincut") == replaced.names.index("flow") - 1
    with pytest.raises(te.NetworkError, match="Unknown bound provider"):
        DEFAULT_PROVIDERS.without("no-such")
    with pytest.raises(te.NetworkError, match="unknown facts"):
        BoundProvider("x", "upper", lambda net, P, ctx: None, needs=("no-such-fact",))
    with pytest.raises(te.NetworkError, match="side"):
        BoundProvider("x", "sideways", lambda net, P, ctx: None)


def test_certify_runs_the_list_in_order_with_the_context():
    """A provider sees the best bounds so far; a wrong-side result is caught loudly; methods= selects."""
    net = te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0)
    P = te.Partition.left_right(4)
    truth = brute_generic_rank(net, P, draws=2)
    calls = []

    def tight(net, P, ctx):
        calls.append((ctx.upper, ctx.lower, ctx.output, ctx.analysis.net is net))
        return te.Bound(truth, "upper", "oracle-test", P.name, ("product",))

    first = BoundProviders([DEFAULT_PROVIDERS["trivial"], BoundProvider("oracle-test", "upper", tight, needs=("product",)),
                            *DEFAULT_PROVIDERS[1:]])
    cert = te.certify(net, P, providers=first)
    assert calls == [(2 ** 2, 0, 0, True)] and cert.details["oracle-test"]["value"] == truth
    assert cert.upper == truth
    only = te.certify(net, P, methods=["oracle-test"], providers=first)
    assert set(k for k in only.details if k != "certifies") == {"trivial", "oracle-test"}
    liar = DEFAULT_PROVIDERS.add(BoundProvider("liar", "upper", lambda net, P, ctx: te.Bound(1, "lower", "liar")),
                                 before="symmetry")
    with pytest.raises(te.RankError, match="liar"):
        te.certify(net, P, providers=liar)
    with pytest.raises(te.NetworkError, match="providers="):
        te.certify(net, P, providers=[tight])


def test_needs_are_checked_from_the_network_and_reasons_recorded():
    seen = []
    needs_free = BoundProvider("needs-free", "lower", lambda net, P, ctx: seen.append(1) or te.Bound(1, "lower", "x"),
                               needs=("all-free", "modes-read-once"))
    tied = te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0, shared=True)
    cert = te.certify(tied, te.Partition.odd_even(4), providers=DEFAULT_PROVIDERS.add(needs_free, before="symmetry"))
    d = cert.to_dict()["details"]["needs-free"]
    assert d["skip_kind"] == "assumption" and "all-free" in d["skipped"] and "tied" in d["skipped"] and not seen
    assert cert.to_dict()["assumptions"]["all-free"] != True  # noqa: E712 (the reason string)
    assert cert.to_dict()["parametrization"]["n_free_params"] == tied.n_params


def test_a_provider_may_declare_its_own_fact():
    even = Fact("even-modes", "an even number of modes", lambda n: n.n_modes % 2 == 0, lambda n: f"{n.n_modes} modes")
    prov = BoundProvider("needs-even", "upper", lambda net, P, ctx: te.Bound(10 ** 9, "upper", "e"), needs=(even,))
    odd = te.convac(te.ModeTree.from_nested(((0, 1), 2)), M=2, widths=2, seed=0)
    cert = te.certify(odd, te.Partition([0], 3), providers=DEFAULT_PROVIDERS.add(prov, before="symmetry"))
    assert cert.details["needs-even"]["skip_kind"] == "assumption" and "3 modes" in cert.details["needs-even"]["skipped"]


def test_not_applicable_is_recorded_not_a_number():
    def refuse(net, P, ctx):
        raise te.NotApplicable("the hypothesis H fails for this network")

    providers = DEFAULT_PROVIDERS.add(BoundProvider("refuser", "lower", refuse), before="specialization")
    cert = te.certify(te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0), te.Partition.odd_even(4),
                      providers=providers)
    assert cert.details["refuser"] == {"role": "lower", "skipped": "the hypothesis H fails for this network",
                                       "skip_kind": "not applicable"}


def test_bounds_that_cannot_change_the_answer_are_skipped():
    net = te.convac(te.ModeTree.line(8), M=3, widths=2, seed=0)
    cert = te.certify(net, te.Partition.odd_even(8))
    assert cert.certified and cert.value == 16 == min(2, 3) ** 4  # COLT 2016 Thm. 1 closed form
    for name in ("structured", "exact"):
        assert cert.details[name]["skip_kind"] == "not needed"


def test_names_are_labels_only():
    """Renaming a network or lying in a mode tree's name changes no number."""
    tree = te.ModeTree.from_nested(((0, 2), (1, 3)), name="line:4")
    net = te.convac(tree, M=2, widths=2, seed=0)
    P = te.Partition.odd_even(4)  # pure windows in this tree: rank <= r_1 = 2
    a = te.certify(net, P)
    b = te.certify(replace(net, name="shared=True overlapping grid:2x2:square"), P)
    assert (a.lower, a.upper) == (b.lower, b.upper) == (2, 2) == (brute_generic_rank(net, P, draws=2),) * 2


def test_mode_multiplicity_oracle():
    assert modes_read_once(te.convac(te.ModeTree.line(4), 2, 2, seed=0))
    ov = te.overlapping(3, [(2, 1, 3)], M=2, seed=0)
    assert mode_multiplicity(ov) == {0: 1, 1: 2, 2: 1}  # the middle position feeds both windows
    assert not modes_read_once(ov)
    net = te.convac(te.ModeTree.line(4), 2, 2, seed=0)
    assert tree_matches(net) and not tree_matches(replace(net, tree=te.ModeTree.shallow(4)))


def test_geometry_steps_aside_when_the_tree_does_not_match():
    net = te.convac(te.ModeTree.line(4), 2, 2, seed=0)
    liar = replace(net, tree=te.ModeTree.from_nested(((0, 2), (1, 3))))
    with pytest.raises(te.NotApplicable, match="node for node"):
        te.geometry_bound(liar, te.Partition.odd_even(4))
    cert = te.certify(liar, te.Partition.odd_even(4))
    assert cert.details["geometry"]["skip_kind"] == "assumption"
    assert cert.lower <= brute_generic_rank(net, te.Partition.odd_even(4), draws=2) <= cert.upper


def test_specialization_keeps_fixed_weights_above_the_first_level_as_constants():
    """Identity weights above the first level: the bound still applies and matches the oracle."""
    tree = te.ModeTree.line(8)
    rng = np.random.default_rng(4)
    W = {}
    for n in tree.nodes:
        lvl = tree.levels[n]
        W[n] = (rng.integers(-5, 6, size=(2, 2)) if lvl <= 1 else None if n != tree.root
                else rng.integers(-5, 6, size=(2, 1)))
    net = te.hierarchical(tree, W, 2, integer=True)
    P = te.Partition.odd_even(8)
    b = te.specialization_bound(net, P)
    assert any("identity" in a for a in b.assumptions)
    generic = brute_generic_rank(net, P, draws=2)
    assert b.value <= generic and te.certify(net, P).value == generic


def test_specialization_on_uneven_shared_trees_with_constants_matches_oracle():
    """Leaves under a higher node tied to window leaves, with an identity above: sound or steps aside."""
    tree = te.ModeTree.from_nested((((0, 1), 2), ((3, 4), 5)))
    rng = np.random.default_rng(7)
    U = rng.integers(-5, 6, size=(2, 2))
    for shared in (False, True):
        W = {}
        for n in tree.nodes:
            W[n] = (U if tree.is_leaf(n) else None if len(n) == 3 else
                    rng.integers(-5, 6, size=(2, 1)) if n == tree.root else np.array([[1, 2], [3, 5]]))
        net = te.hierarchical(tree, W, 2, integer=True, shared=shared)
        for P in (te.Partition([0, 3], 6), te.Partition([0, 2, 4], 6), te.Partition([1, 5], 6)):
            generic = brute_generic_rank(net, P, draws=3)
            cert = te.certify(net, P)
            assert cert.lower <= generic <= cert.upper
            try:
                assert te.specialization_bound(net, P).value <= generic
            except te.NotApplicable:
                pass
