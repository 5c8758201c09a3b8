"""Symmetry bound for tied (convolutional) networks: orbit counts vs brute force, vs exact ranks, vs the
geometry bound without ties, symbolic vs numeric, and certified tables on the shared 4x4 and 32x32 grids."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
import sympy as sp

import tensorexpr as te
from tensorexpr.bounds import DEFAULT_PROVIDERS, BoundContext
from tensorexpr.bounds.symmetry import M_SYMBOL, multichoose, symmetry_bound
from tensorexpr.core.errors import NotApplicable
from tensorexpr.core.params import FIXED
from tensorexpr.testing import random_tree

KINDS = ["left_right", "top_bottom", "checkerboard", "interleaved_rows", "interleaved_cols", "mirror_left_right",
         "mirror_top_bottom"]


# -- brute-force oracle for the orbit counts ---------------------------------------------------------------------
def _automorphisms_fixing(net: te.Network, fixed: frozenset) -> list[tuple[int, ...]]:
    """All permutations of the modes that map every node's receptive field onto the receptive field of a node
    with the same kind, width and tie key, and fix ``fixed`` pointwise (brute force over S_N)."""
    by_modes = {net.modes[nd.id]: nd.id for nd in net.live_nodes}
    wid = net.widths
    label = {m: (net.node(i).kind, wid[i], net.tie_key(i)) for m, i in by_modes.items()}
    n = net.n_modes
    out = []
    for perm in itertools.permutations(range(n)):
        if any(perm[m] != m for m in fixed):
            continue
        ok = True
        for m, lab in label.items():
            img = frozenset(perm[x] for x in m)
            if label.get(img) != lab:
                ok = False
                break
        if ok:
            out.append(perm)
    return out


def _orbits_bruteforce(group: list[tuple[int, ...]], side: list[int], q: int) -> int:
    """Burnside: average number of fixed points of the group's elements on [q]^side."""
    pos = {m: i for i, m in enumerate(side)}
    total = 0
    for perm in group:
        seen, cycles = set(), 0
        for m in side:
            if m in seen:
                continue
            cycles += 1
            x = m
            while x not in seen:
                seen.add(x)
                x = perm[x]
        total += q**cycles
        assert all(perm[m] in pos for m in side)
    assert total % len(group) == 0
    return total // len(group)


def _random_tied(seed: int, max_n: int = 7):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, max_n + 1))
    tree = random_tree(n, rng, max_fan=4)
    M = int(rng.integers(1, 4))
    widths = [int(rng.integers(1, 5)) for _ in range(tree.depth)]
    net = te.convac(tree, M, widths, shared=True, seed=seed, integer=True)
    I = rng.choice(n, size=int(rng.integers(1, n)), replace=False).tolist()
    return net, te.Partition(I, n)


@pytest.mark.parametrize("seed", range(8))
def test_orbit_counts_match_bruteforce_burnside(seed):
    net, P = _random_tied(seed)
    b = symmetry_bound(net, P)
    root = [x for x in b.nodes if x.node == net.output]
    assert root, "the root is mixed for a partition with both sides non-empty"
    q = b.q
    GI = _automorphisms_fixing(net, P.J)
    GJ = _automorphisms_fixing(net, P.I)
    assert root[0].orbits_I == _orbits_bruteforce(GI, sorted(P.I), q)
    assert root[0].orbits_J == _orbits_bruteforce(GJ, sorted(P.J), q)


@pytest.mark.parametrize("seed", range(10))
def test_untied_orbits_are_trivial_and_bound_is_below_geometry(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 12))
    tree = random_tree(n, rng, max_fan=4)
    net = te.convac(tree, int(rng.integers(1, 4)), [int(rng.integers(1, 5)) for _ in range(tree.depth)], seed=seed)
    P = te.Partition(rng.choice(n, size=int(rng.integers(1, n)), replace=False).tolist(), n)
    b = symmetry_bound(net, P)
    assert b.root_groups == ("1", "1")  # no ties: trivial groups, orbit counts q^|I| and q^|J|
    root = [x for x in b.nodes if x.node == net.output][0]
    assert (root.orbits_I, root.orbits_J) == (b.q ** len(P.I), b.q ** len(P.J))
    assert b.value <= te.geometry_bound(net, P).value  # the span step can only sharpen the geometry recursion
    if 3 ** n <= 3**8:
        assert b.value >= te.rank(te.integer_twin(net, 1), P, method="exact").rank


@pytest.mark.parametrize("seed", range(8))
def test_tied_bound_holds_and_is_below_geometry(seed):
    net, P = _random_tied(seed, max_n=8)
    b = symmetry_bound(net, P).value
    assert b <= te.geometry_bound(net, P).value
    observed = max(te.rank(te.integer_twin(net, s), P, method="exact").rank for s in range(3))
    assert observed <= b


def test_window_2_2_is_sym2():
    """One tied 2x2 window split 2|2: the symmetric matrix on Sym^2(C^M), rank M(M+1)/2 (exact rank oracle)."""
    for M in (2, 3, 4):
        net = te.convac(te.ModeTree.shallow(4), M, 20, shared=True, seed=1, integer=True)
        P = te.Partition([0, 1], 4)
        assert symmetry_bound(net, P).value == M * (M + 1) // 2
        assert te.rank(net, P, method="exact").rank == M * (M + 1) // 2
        untied = te.convac(te.ModeTree.shallow(4), M, 20, seed=1, integer=True)
        assert te.rank(untied, P, method="exact").rank == M * M  # tying is what drops the rank


def test_tied_copies_span_a_symmetric_power():
    """widths [2, 9] on the tied 4x4 grid: each window's channels span <= 2 dimensions, and two tied copies
    on one side span Sym^2 of that, 3 (the orbit count alone says 15, the min-cut 4); exact rank 3."""
    net = te.convac(te.ModeTree.grid(4, 4), 2, [2, 9], shared=True, seed=0)
    P = te.Partition.grid(4, 4, "left_right")
    b = symmetry_bound(net, P)
    root = [x for x in b.nodes if x.node == net.output][0]
    assert (root.orbits_I, root.span_I, b.value) == (15, 3, 3)
    assert {te.rank(te.integer_twin(net, s), P, method="exact").rank for s in range(3)} == {3}
    c = te.certify(net, P)
    assert c.certified and c.value == 3
    cb = symmetry_bound(net, te.Partition.grid(4, 4, "checkerboard"))
    assert cb.value == 16  # min(r_0, M(M+1)/2)^(N/4) with r_0 = 2


def test_rank_deficient_F_uses_rank_F():
    F = np.array([[1, 2], [2, 4], [0, 0]])  # T=3 templates, rank 1
    net = te.convac(te.ModeTree.grid(2, 2), 2, 3, shared=True, seed=0, integer=True, F=F)
    P = te.Partition.grid(2, 2, "checkerboard")
    b = symmetry_bound(net, P)
    assert b.q == 1 and b.value == 1
    assert te.rank(net, P, method="exact").rank == 1


def test_fixed_and_identity_weights_count_as_tied_only_when_equal():
    tree = te.ModeTree.shallow(4)  # one window of four leaves, split 2|2
    net = te.convac(tree, 2, 5, seed=0, integer=True)  # untied
    P = te.Partition([0, 1], 4)
    assert symmetry_bound(net, P).value == 4
    # leaves fixed to one constant: the two leaves of each window are now interchangeable
    E = np.arange(1, 11).reshape(2, 5)
    nodes = [replace(nd, weight=E, param=FIXED) if nd.kind == "leaf" else nd for nd in net.nodes]
    fixed = replace(net, nodes=tuple(nodes), params={b: v for b, v in net.params.items() if not b.startswith("x")})
    b = symmetry_bound(fixed, P)
    assert b.value == 3
    assert te.rank(fixed, P, method="exact").rank <= 3
    # equal *values* under different free blocks are not ties
    nodes = [replace(nd, weight=E, param=None) if nd.kind == "leaf" else nd for nd in net.nodes]
    free = replace(net, nodes=tuple(nodes), params={b: v for b, v in net.params.items() if not b.startswith("x")})
    assert symmetry_bound(free, P).value == 4


def test_shared_grid_4x4_certified_and_exact():
    """The issue's oracle: 4x4 grid, M=2, widths [4, 9], tied; every standard partition under both geometries
    is certified, and equals the exact rank of several integer instances."""
    for geometry in ("square", "mirror"):
        net = te.convac(te.ModeTree.grid(4, 4, 2, geometry), 2, [4, 9], shared=True, seed=0)
        for kind in KINDS:
            P = te.Partition.grid(4, 4, kind)
            c = te.certify(net, P)
            exact = {te.rank(te.integer_twin(net, s), P, method="exact").rank for s in (3, 4)}
            assert c.certified, (geometry, kind, c)
            assert exact == {c.value}, (geometry, kind, exact, c)
            assert symmetry_bound(net, P).value == c.value  # the upper bound is the exact rank on all 14 cells


def test_blob_net_32x32_symmetric_cells():
    """32x32, M=2, widths 16, tied: on the partitions that split windows 2|2 the symmetry bound meets the
    specialization lower bound at 3^256 = (M(M+1)/2)^(N/4)."""
    for geometry, kinds in (("square", KINDS[2:]), ("mirror", KINDS[:5])):
        net = te.convac(te.ModeTree.grid(32, 32, 2, geometry), 2, 16, shared=True, seed=0)
        for kind in kinds:
            P = te.Partition.grid(32, 32, kind)
            assert symmetry_bound(net, P).value == 3**256
            assert te.specialization_bound(net, P).value == 3**256


@pytest.mark.slow
def test_blob_net_32x32_all_cells_certified():
    for geometry in ("square", "mirror"):
        net = te.convac(te.ModeTree.grid(32, 32, 2, geometry), 2, 16, shared=True, seed=0)
        for kind in KINDS:
            c = te.certify(net, te.Partition.grid(32, 32, kind))
            assert c.certified, (geometry, kind, c)
            assert c.value in (16, 3**256)


def test_symbolic_checkerboard_and_substitution():
    net = te.convac(te.ModeTree.grid(8, 8), 2, [5, 7, 9], shared=True, seed=0)
    P = te.Partition.grid(8, 8, "checkerboard")
    b = symmetry_bound(net, P, symbolic=True)
    assert sp.simplify(b.wide_expr - sp.binomial(M_SYMBOL + 1, 2) ** 16) == 0  # (M(M+1)/2)^(N/4)
    assert int(b.expr.subs(b.values)) == b.value == 3**16
    assert int(b.subs({"M": 3, "r_0": 100, "r_1": 10**9, "r_2": 10**9})) == 6**16
    b3 = symmetry_bound(te.convac(te.ModeTree.grid(8, 8), 2, [2, 7, 9], shared=True, seed=0), P, symbolic=True)
    # r_0 = 2 < 3 binds per window (c = 2); the orbit count above (3^4 per 4x4 block) would not see it, the
    # span step does: the specialization lower bound meets it
    assert b3.value == 2**16 and int(b3.expr.subs(b3.values)) == 2**16
    assert [x.c for x in b3.nodes if x.node == "t0,1,8,9"] == [2]
    assert te.specialization_bound(te.convac(te.ModeTree.grid(8, 8), 2, [2, 7, 9], shared=True, seed=0), P).value == 2**16


def test_scale_exact_integers_32x32_M3():
    net = te.convac(te.ModeTree.grid(32, 32), 3, 64, shared=True, seed=0)
    b = symmetry_bound(net, te.Partition.grid(32, 32, "checkerboard"))
    assert b.value == 6**256  # C(3+1, 2)^(N/4), N = 1024, exact integer
    assert b.root_groups == ("S2^256", "S2^256")


def test_multichoose():
    for n in range(1, 6):
        for k in range(5):
            assert multichoose(n, k) == math.comb(n + k - 1, k)
    assert sp.expand_func(multichoose(M_SYMBOL, 2) - M_SYMBOL * (M_SYMBOL + 1) / 2) == 0


def test_not_applicable_and_registry():
    P = te.Partition.odd_even(8)
    relu = te.convac(te.ModeTree.line(8), 2, 2, shared=True, op="relu-max", seed=0)
    with pytest.raises(NotApplicable, match="product"):
        symmetry_bound(relu, P)
    from tensorexpr.testing import overlap_net

    with pytest.raises(NotApplicable, match="tree"):
        symmetry_bound(overlap_net(4, 2, 2, 2, seed=0), te.Partition.odd_even(4))


def test_provider_registered_and_to_dict():
    prov = DEFAULT_PROVIDERS["symmetry"]
    assert prov.side == "upper" and set(prov.needs) == {"product", "tree", "mode-tree"}
    net = te.convac(te.ModeTree.grid(4, 4), 2, [4, 9], shared=True, seed=0)
    b = prov.compute(net, te.Partition.grid(4, 4, "checkerboard"), BoundContext(te.analyze(net)))
    d = b.to_dict()
    assert d["value"] == 81 and d["side"] == "upper" and d["method"] == "symmetry"
    assert d["root_groups"] == ["S2^4", "S2^4"]
    assert {x["node"] for x in d["nodes"]} >= {net.output}
    assert "S2^4" in repr(b)


@pytest.mark.parametrize("side, widths", [(4, [4, 9]), pytest.param(32, 16, marks=pytest.mark.slow)])
def test_trained_shared_convac_is_certified_on_all_partitions(side, widths):
    """A ConvAC trained a few steps (weights shared: a convolution), extracted with model.to_network(): its
    architecture's generic ranks are certified on every standard partition, and equal those of te.convac's
    tied network of the same shape (the certificate is about the architecture, not the trained values)."""
    torch = pytest.importorskip("torch")
    for geometry in ("square", "mirror"):
        tree = te.ModeTree.grid(side, side, 2, geometry)
        model = te.models.ConvAC(tree, M=2, widths=widths, outputs=2, shared=True, device="cpu", seed=0)
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        x, y = torch.randint(0, 2, (8, side * side, 1)).float(), torch.randint(0, 2, (8,))
        for _ in range(2):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        net = model.to_network()
        assert net.is_tied
        ref = te.convac(tree, 2, widths, outputs=2, shared=True, seed=0)
        for kind in KINDS:
            P = te.Partition.grid(side, side, kind)
            c = te.certify(net, P, output=1)
            assert c.certified, (geometry, kind, c)
            assert c.value == te.certify(ref, P).value


def test_report_cli_tied_first_and_locally_connected(capsys):
    import json

    from tensorexpr.cli import main

    assert main(["report", "--grid", "4x4", "--widths", "4,9", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["weights"] == "tied" and "convolutional" in d["network"]
    tied = {r["name"]: r for r in d["square"]["rows"]}
    untied = {r["name"]: r for r in d["locally_connected"]["square"]["rows"]}
    assert d["square"]["meta"]["tied"] and not d["locally_connected"]["square"]["meta"]["tied"]
    assert tied["checkerboard"]["certified"] and tied["checkerboard"]["value"] == 81  # exact-rank oracle above
    assert untied["checkerboard"]["certified"] and untied["checkerboard"]["value"] == 256
    assert main(["report", "--grid", "4x4", "--widths", "4,9", "--weights", "untied"]) == 0
    out = capsys.readouterr().out
    assert "locally connected" in out and "convolutional" not in out


@pytest.mark.slow
def test_symbolic_blob_net_substitutes_to_numeric():
    net = te.convac(te.ModeTree.grid(32, 32), 2, 16, shared=True, seed=0)
    for kind in ("checkerboard", "left_right", "mirror_left_right"):
        b = symmetry_bound(net, te.Partition.grid(32, 32, kind), symbolic=True)
        assert int(b.expr.subs(b.values)) == b.value
    assert sp.simplify(b.wide_expr - sp.binomial(M_SYMBOL + 1, 2) ** 256) == 0  # mirror_left_right: all 2|2


def test_pattern_quotient_matches_the_node_by_node_recursion():
    """symmetry_bound computes once per pattern (signature + children's patterns); the node-by-node recursion
    over every node must give the same value, root groups and per-node rows."""
    import math

    from tensorexpr.bounds import symmetry as S

    for tree, M, w in [(te.ModeTree.grid(8, 8), 2, [2, 3, 4]), (te.ModeTree.line(16), 3, 2),
                       (te.ModeTree.grid(8, 8, geometry="mirror"), 2, 4)]:
        net = te.convac(tree, M, w, shared=True, seed=0)
        st = S.tie_signatures(net)
        q, n, names, d = S.network_tables(net, st)
        for P in [te.Partition.random(tree.n_modes, seed=s) for s in range(4)] + [te.Partition.odd_even(tree.n_modes)]:
            size, inI = S._sizes(st), S._inside(st, P)
            inJ = {t: size[t] - inI[t] for t in st.order}
            oI, DI = S.side_numbers(st, inI, size, n, d)
            oJ, DJ = S.side_numbers(st, inJ, size, n, d)
            # the one-pass numbers equal the separate orbit and span recursions they replaced in the hot path
            assert oI == S._side_orbits(st, inI, size, n, names)[0] and DI == S._spans(st, inI, size, d, min)
            assert oJ == S._side_orbits(st, inJ, size, n, names)[0] and DJ == S._spans(st, inJ, size, d, min)
            c, rows = {}, []
            for t in st.order:
                if inI[t] == 0 or inJ[t] == 0:
                    c[t] = 1
                    continue
                prod = st.r_in[t] * math.prod(c[k] for k in st.children[t])
                c[t] = min(oI[t], oJ[t], DI[t], DJ[t], prod)
                rows.append((t, oI[t], oJ[t], prod, c[t], DI[t], DJ[t]))
            b = symmetry_bound(net, P)
            assert b.value == c[st.root] and b.rows == tuple(rows)
            _, gI = S._side_orbits(st, inI, size, n, names)
            _, gJ = S._side_orbits(st, inJ, size, n, names)
            assert b.root_groups == (S._render(gI[st.root]), S._render(gJ[st.root]))


def test_symmetry_bound_pickles_with_its_group_names():
    """Bounds travel between processes (the report's workers): a pickled bound renders the same group names."""
    import pickle

    net = te.convac(te.ModeTree.grid(4, 4), M=2, widths=[4, 9], shared=True, seed=0)
    b = te.symmetry_bound(net, te.Partition.grid(4, 4, "checkerboard"))
    back = pickle.loads(pickle.dumps(b))
    assert back.value == b.value == 81
    assert [(r.group_I, r.group_J) for r in back.nodes] == [(r.group_I, r.group_J) for r in b.nodes]
    assert any(r.group_I != "1" for r in back.nodes)  # the names were rendered, not dropped
