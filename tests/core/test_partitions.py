import math

import numpy as np
import pytest

import tensorexpr as te


def test_odd_even_left_right():
    p = te.Partition.odd_even(6)
    assert p.rows == (0, 2, 4) and p.cols == (1, 3, 5)
    q = te.Partition.left_right(6)
    assert q.rows == (0, 1, 2) and q.cols == (3, 4, 5)


# the 4x4 sets written out by hand (mode = row * 4 + col), not recomputed from the library's rules
_GRID_4x4 = {
    "left_right": {0, 1, 4, 5, 8, 9, 12, 13},
    "top_bottom": {0, 1, 2, 3, 4, 5, 6, 7},
    "checkerboard": {0, 2, 5, 7, 8, 10, 13, 15},
    "interleaved_rows": {0, 1, 2, 3, 8, 9, 10, 11},
    "interleaved_cols": {0, 2, 4, 6, 8, 10, 12, 14},
}


@pytest.mark.parametrize("kind", sorted(_GRID_4x4))
def test_grid_kinds_balanced_and_match_definition(kind):
    p = te.Partition.grid(4, 4, kind)
    assert set(p.I) == _GRID_4x4[kind] and set(p.J) == set(range(16)) - _GRID_4x4[kind] and p.balanced


def test_repeated_modes_raise_instead_of_deduplicating():
    with pytest.raises(te.PartitionError, match=r"modes \[2\] more than once"):
        te.Partition([0, 2, 2], 4)


def test_random_is_seeded_and_balanced():
    a, b = te.Partition.random(10, seed=3), te.Partition.random(10, seed=3)
    assert a == b and len(a.I) == 5


def test_from_mask_and_all_balanced():
    p = te.Partition.from_mask(np.array([[1, 0], [0, 1]]))
    assert p.rows == (0, 3)
    parts = list(te.Partition.all_balanced(6))
    assert len(parts) == math.comb(5, 2) and all(0 in q.I and len(q.I) == 3 for q in parts)
    assert len({q.I for q in parts}) == len(parts)
    with pytest.raises(te.PartitionError, match="max_n"):
        list(te.Partition.all_balanced(30))


def test_bad_partitions():
    with pytest.raises(te.PartitionError, match="overlap"):
        te.Partition([0, 1], 4, J=[1, 2, 3])
    with pytest.raises(te.PartitionError, match=r"missing \[3\]"):
        te.Partition([0, 1], 4, J=[2])
    with pytest.raises(te.PartitionError, match="outside"):
        te.Partition([0, 9], 4)
    with pytest.raises(te.PartitionError, match="Unknown 2-D partition"):
        te.Partition.grid(4, 4, "diagonal")
    with pytest.raises(te.PartitionError, match="0/1"):
        te.Partition.from_mask([0, 2, 1])


@pytest.mark.parametrize("kind", ["mirror_left_right", "mirror_top_bottom"])
def test_mirror_halves_are_coarse_for_the_mirror_tree(kind):
    h = w = 8
    P = te.Partition.grid(h, w, kind)
    tree = te.ModeTree.grid(h, w, geometry="mirror")
    assert len(P.I) == 32
    assert all(P.is_pure(c) for c in tree.children(tree.root))
    # a mirror pair of columns (c, w-1-c) always lies on one side
    mask = P.mask((h, w))
    assert (mask == (mask[:, ::-1] if kind == "mirror_left_right" else mask[::-1, :])).all()


@pytest.mark.parametrize("h,w", [(2, 2), (4, 4), (8, 8), (4, 8), (8, 4), (16, 16), (2, 8)])
@pytest.mark.parametrize("kind,pick", [("mirror_left_right", (0, 2)), ("mirror_top_bottom", (0, 1))])
def test_mirror_halves_are_the_mirror_tree_root_children(h, w, kind, pick):
    """The halves read from the nested tuples equal the union of the built mirror tree's root children."""
    tree = te.ModeTree.grid(h, w, geometry="mirror")
    kids = tree.children(tree.root)
    if len(kids) != 4:
        with pytest.raises(te.PartitionError, match="2x2"):
            te.Partition.grid(h, w, kind)
        return
    assert set(te.Partition.grid(h, w, kind).I) == set(kids[pick[0]] | kids[pick[1]])
