"""p4 group-equivariant ConvACs (``tensorexpr/build/p4.py``): rotation closure of trees, invariance oracles, tying,
sound certify."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import tensorexpr as te
from tensorexpr.bounds.certificate import integer_twin
from tensorexpr.build.p4 import (
    feature_rotation,
    group_convac,
    rot_positions,
    rotate_grid_tensor,
    rotate_partition,
    template_rotation,
    tree_rotation_closed,
)


PARTS_2x2 = ("left_right", "top_bottom", "checkerboard", "interleaved_rows", "interleaved_cols")


def patch_templates(kernel: int, M: int) -> np.ndarray:
    """Every patch of symbols as concatenated one-hots: ``F (M^(k^2), k^2 M)``, a rotation-closed set."""
    rows = list(itertools.product(range(M), repeat=kernel * kernel))
    return np.eye(M, dtype=np.int64)[np.array(rows)].reshape(len(rows), -1)


@pytest.mark.parametrize("side", [2, 4, 8, 16])
@pytest.mark.parametrize("geometry", ["square", "mirror"])
def test_quad_trees_map_onto_themselves_under_rotation(side, geometry):
    assert tree_rotation_closed(te.ModeTree.grid(side, side, geometry=geometry))


def test_rotation_closure_detects_a_tree_that_is_not_closed():
    # horizontal pairs first: rotating a horizontal pair gives a vertical pair, not a node
    rows = te.ModeTree.from_nested((((0, 1), (2, 3)), ((4, 5), (6, 7)), ((8, 9), (10, 11)), ((12, 13), (14, 15))))
    assert not tree_rotation_closed(rows)
    with pytest.raises(te.GeometryError):
        group_convac(rows, M=1, widths=[1, 1], kernel=2)


@pytest.mark.parametrize("s", range(4))
def test_position_and_feature_maps_follow_torch_rot90(s):
    img = torch.arange(36).reshape(6, 6)
    rot = torch.rot90(img, s, (-2, -1)).reshape(-1).numpy()
    perm = rot_positions(6, s)
    assert np.array_equal(rot[perm], np.arange(36))
    q = feature_rotation(3, 2, s)  # patch 3x3, 2 functions per pixel: feature (p, d) -> (rot p, d)
    assert np.array_equal(q % 2, np.arange(18) % 2)
    assert np.array_equal(q // 2, np.repeat(rot_positions(3, s), 2))


@pytest.mark.parametrize("geometry", ["square", "mirror"])
@pytest.mark.parametrize("op", ["product", "relu-max", "relu-avg"])
def test_grid_tensor_invariant_under_rotations_of_positions_and_templates(geometry, op):
    """All 2^16 binary 4x4 images: 2x2 positions of 2x2 patches, every patch a template."""
    F = patch_templates(2, 2)
    net = group_convac(te.ModeTree.grid(2, 2, geometry=geometry), M=2, widths=[3], kernel=2, op=op, seed=1, F=F)
    A = te.grid_tensor(net)
    assert A.shape == (16,) * 4
    for s in (1, 2, 3):
        pi = template_rotation(F, 2, 2, s)
        assert np.allclose(rotate_grid_tensor(A, 2, pi, s), A, rtol=1e-12, atol=1e-12 * np.abs(A).max())


def test_invariance_oracle_has_teeth():
    """A plain ConvAC on the same patches is not invariant (the p4 tying is what makes the oracle hold); a
    mirror flip of the templates is not a symmetry of the p4 net."""
    F = patch_templates(2, 2)
    plain = te.convac(te.ModeTree.grid(2, 2), 8, [12], seed=1, shared=True, F=F)
    A = te.grid_tensor(plain)
    pi = template_rotation(F, 2, 2, 1)
    assert not np.allclose(rotate_grid_tensor(A, 2, pi, 1), A)
    net = group_convac(te.ModeTree.grid(2, 2), M=2, widths=[3], kernel=2, seed=1, F=F)
    B = te.grid_tensor(net)
    flip = template_rotation(F, 2, 2, 1)[template_rotation(F, 2, 2, 0)]  # identity composition sanity
    assert np.array_equal(flip, pi)
    mirror = np.array([F.tolist().index(list(np.asarray(f).reshape(2, 2, 2)[:, ::-1].reshape(-1))) for f in F])
    assert not np.allclose(B[np.ix_(mirror, mirror, mirror, mirror)], B)


def test_template_set_not_closed_is_refused():
    F = np.array([[1, 0, 0, 0], [0, 1, 0, 0]])
    with pytest.raises(te.NetworkError, match="not closed"):
        template_rotation(F, 2, 1)


@pytest.mark.parametrize("kind", PARTS_2x2)
def test_exact_ranks_under_P_and_gP_agree(kind):
    F = patch_templates(2, 2)
    net = group_convac(te.ModeTree.grid(2, 2), M=2, widths=[3], kernel=2, seed=2, integer=True, F=F, int_range=50)
    P = te.Partition.grid(2, 2, kind)
    r = te.rank(net, P, method="exact").rank
    for s in (1, 2, 3):
        assert te.rank(net, rotate_partition(P, 2, s), method="exact").rank == r


def test_exact_ranks_agree_on_random_partitions_4x4_grid():
    """4x4 positions, one pixel of 2 symbols each (T = 2): ranks of 16-mode grid tensors."""
    net = group_convac(te.ModeTree.grid(4, 4), M=2, widths=[2, 2], kernel=1, seed=3, integer=True, int_range=50)
    for seed in range(3):
        P = te.Partition.random(16, seed=seed)
        r = te.rank(net, P, method="exact").rank
        assert te.rank(net, rotate_partition(P, 4, 1), method="exact").rank == r


def test_tying_structure_is_block_circulant_and_declared():
    net = group_convac(te.ModeTree.grid(4, 4), M=2, widths=[2, 3], outputs=2, kernel=2, seed=0)
    assert all(net.weight_kind(nd.id) == "tied" for nd in net.live_nodes)
    assert net.n_params == 2 * 4 * 2 + 2 * 3 * 4 + 3 * 2  # lift + one group conv + invariant root
    W = net.node("t0,1,4,5").weight.reshape(4, 2, 4, 3)  # (r, k, r', k')
    for r, r2 in itertools.product(range(4), range(4)):
        assert np.array_equal(W[r, :, r2], W[(r + 1) % 4, :, (r2 + 1) % 4])
    lift = net.node("x0").weight.reshape(4, 2, 4, 2)  # (pixel, d, r, b): column r is the rotated basis
    q = feature_rotation(2, 2, 1)
    for r in range(3):
        col = lift[:, :, r, :].reshape(8, 2)
        nxt = np.empty_like(col)
        nxt[q] = col
        assert np.array_equal(nxt, lift[:, :, r + 1, :].reshape(8, 2))
    root = net.node(net.output).weight.reshape(4, 3, 2)
    assert all(np.array_equal(root[0], root[r]) for r in range(4))
    keys = {net.tie_key(nd.id) for nd in net.live_nodes if net.tree.levels[net.modes[nd.id]] == 0}
    assert len(keys) == 1
    twin = integer_twin(net, seed=5)
    Wt = twin.node("t0,1,4,5").weight.reshape(4, 2, 4, 3)
    assert np.array_equal(Wt[0, :, 1], Wt[1, :, 2]) and not np.array_equal(Wt, W)


@pytest.mark.parametrize("M,kernel,widths", [(2, 1, [2]), (3, 1, [2]), (2, 2, [1]), (1, 2, [2])])
@pytest.mark.parametrize("kind", ["left_right", "checkerboard"])
def test_certify_never_overclaims_on_p4_nets(M, kernel, widths, kind):
    """Oracle: exact ranks of several integer points (max = the generic rank w.h.p.). With 1x1 patches the
    lift is degenerate and the generic rank is 2, below the untied specialization construction's 3."""
    net = group_convac(te.ModeTree.grid(2, 2), M=M, widths=widths, kernel=kernel, seed=0)
    P = te.Partition.grid(2, 2, kind)
    exact = max(te.rank(integer_twin(net, seed=s), P, method="exact").rank for s in range(3))
    c = te.certify(net, P)
    assert c.lower <= exact <= c.upper
    if c.certified:
        assert c.lower == exact


def test_specialization_refuses_structured_ties():
    net = group_convac(te.ModeTree.grid(2, 2), M=2, widths=[2], kernel=1, seed=0)
    with pytest.raises(te.TensorExprError, match="fixed"):
        te.specialization_bound(net, te.Partition.grid(2, 2, "left_right"))
