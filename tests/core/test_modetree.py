import networkx as nx
import pytest

import tensorexpr as te
from tensorexpr.core.pooling import mirror_source


def test_line_structure():
    t = te.ModeTree.line(8)
    assert t.n_modes == 8 and t.depth == 3
    assert t.to_nested() == (((0, 1), (2, 3)), ((4, 5), (6, 7)))
    assert [len(t.nodes_at_level(k)) for k in range(4)] == [8, 4, 2, 1]
    assert t.levels[t.root] == 3 and t.levels[frozenset({0})] == 0
    assert "line:8" in repr(t) and "depth=3" in repr(t)


def test_line_window3_and_shallow():
    t = te.ModeTree.line(9, window=3)
    assert t.to_nested() == ((0, 1, 2), (3, 4, 5), (6, 7, 8))
    s = te.ModeTree.shallow(5)
    assert s.depth == 1 and s.children(s.root) == tuple(frozenset({i}) for i in range(5))


def test_grid_square_is_quad_tree():
    t = te.ModeTree.grid(4, 4)
    assert t.to_nested() == ((0, 1, 4, 5), (2, 3, 6, 7), (8, 9, 12, 13), (10, 11, 14, 15))


def test_mirror_windows_hold_mirror_images():
    h = w = 8
    t = te.ModeTree.grid(h, w, geometry="mirror")
    for node in t.nodes_at_level(1):
        (r0, c0) = divmod(min(node), w)
        expected = {(r0, c0), (h - 1 - r0, c0), (r0, w - 1 - c0), (h - 1 - r0, w - 1 - c0)}
        assert {divmod(m, w) for m in node} == expected


def test_mirror_source_is_a_permutation():
    for h in (2, 4, 8, 16):
        assert sorted(mirror_source(h).tolist()) == list(range(h))


def test_from_nested_and_networkx():
    t = te.ModeTree.from_nested(((0, 2), (1, (3, 4))))
    g = t.to_networkx()
    assert isinstance(g, nx.DiGraph) and nx.is_arborescence(g)
    assert g.number_of_nodes() == len(t.nodes) == 5 + 4
    assert t.levels[t.root] == 3


@pytest.mark.parametrize(
    "nested, msg",
    [
        (((0, 1), (1, 2)), "repeated"),
        (((0, 2), (3, 4)), "0..3"),
        (((0, 1), ()), "Empty window"),
        ((("a", 1),), "ints and sequences"),
    ],
)
def test_bad_nested_trees(nested, msg):
    with pytest.raises(te.GeometryError, match=msg):
        te.ModeTree.from_nested(nested)


def test_bad_windows():
    with pytest.raises(te.GeometryError, match="does not divide"):
        te.ModeTree.line(12)
    with pytest.raises(te.GeometryError, match="does not divide"):
        te.ModeTree.grid(6, 4)
    with pytest.raises(te.GeometryError, match="positive integer"):
        te.ModeTree.line(0)
    with pytest.raises(te.GeometryError, match="Unknown grid geometry"):
        te.ModeTree.grid(4, 4, geometry="hex")
    with pytest.raises(te.GeometryError, match="2x2"):
        te.ModeTree.grid(9, 9, window=3, geometry="mirror")


def test_specs_roundtrip():
    from tensorexpr.core.specs import parse_geometry

    assert parse_geometry("line:16") == te.ModeTree.line(16)
    assert parse_geometry("grid:8x8:mirror") == te.ModeTree.grid(8, 8, geometry="mirror")
    assert parse_geometry("shallow:8") == te.ModeTree.shallow(8)
    assert parse_geometry("nested:((0,1),(2,3))") == te.ModeTree.line(4)
    with pytest.raises(te.GeometryError, match="Unknown geometry"):
        parse_geometry("torus:4")
