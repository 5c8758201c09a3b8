"""p4 group-equivariant ConvACs: rotation closure of trees, invariance oracles, tying, extraction, sound certify."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import tensorexpr as te
from tensorexpr.bounds.certificate import integer_twin
from tensorexpr.build import p4
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
    A = net.grid_tensor()
    assert A.shape == (16,) * 4
    for s in (1, 2, 3):
        pi = template_rotation(F, 2, 2, s)
        assert np.allclose(rotate_grid_tensor(A, 2, pi, s), A, rtol=1e-12, atol=1e-12 * np.abs(A).max())


def test_invariance_oracle_has_teeth():
    """A plain ConvAC on the same patches is not invariant (the p4 tying is what makes the oracle hold); a
    mirror flip of the templates is not a symmetry of the p4 net."""
    F = patch_templates(2, 2)
    plain = te.convac(te.ModeTree.grid(2, 2), 8, [12], seed=1, shared=True, F=F)
    A = plain.grid_tensor()
    pi = template_rotation(F, 2, 2, 1)
    assert not np.allclose(rotate_grid_tensor(A, 2, pi, 1), A)
    net = group_convac(te.ModeTree.grid(2, 2), M=2, widths=[3], kernel=2, seed=1, F=F)
    B = net.grid_tensor()
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


# -- the trainable models -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,kw", [("P4ConvAC", {}),
                                    ("P4ReLUNet", {"pooling": "max"}), ("P4ReLUNet", {"pooling": "avg"})])
@pytest.mark.parametrize("geometry", ["square", "mirror"])
def test_model_is_invariant_to_rot90_symbols(cls, kw, geometry):
    cls = getattr(te.models, cls) if isinstance(cls, str) else cls
    m = cls(te.ModeTree.grid(4, 4, geometry=geometry), M=3, widths=[2, 3], outputs=4, kernel=2, device="cpu", **kw)
    x = torch.randint(0, 3, (6, 8, 8), generator=torch.Generator().manual_seed(0))
    y = m(x)
    for s in (1, 2, 3):
        torch.testing.assert_close(m(torch.rot90(x, s, (-2, -1))), y, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["P4ConvAC", "P4ReLUNet"])
def test_model_is_invariant_to_rot90_float_images(name):
    m = getattr(te.models, name)(te.ModeTree.grid(4, 4), M=4, widths=2, outputs=3, kernel=3,
                                 representation="gaussian", in_features=2, device="cpu")
    x = torch.rand(5, 2, 12, 12, generator=torch.Generator().manual_seed(0))
    y = m(x)
    yr = m(torch.rot90(x, 1, (-2, -1)))
    torch.testing.assert_close(yr, y, rtol=1e-5, atol=1e-5)
    rounding = max((yr - y).abs().max().item(), 1e-6)
    flipped = (m(torch.flip(x, (-1,))) - y).abs().max().item()
    assert flipped > 50 * rounding  # p4 has no mirror symmetry: the change is far above the rotation's rounding


@pytest.mark.parametrize("name,kw", [("P4ConvAC", {}), ("P4ReLUNet", {"pooling": "avg"}), ("P4ReLUNet", {"pooling": "max"})])
def test_to_network_grid_tensor_equals_model_on_template_images(name, kw):
    m = getattr(te.models, name)(te.ModeTree.grid(2, 2), M=2, widths=2, outputs=2, kernel=2, device="cpu", seed=3, **kw)
    net = m.to_network()
    assert net.is_tied and net.M == 8 and net.n_params == m.n_params
    imgs = m.template_images()  # all 2^16 binary 4x4 images
    with torch.no_grad():
        out = m(imgs).double()
    if name == "P4ConvAC":
        out = out.exp()
    for y in range(2):
        A = net.grid_tensor(output=y).reshape(-1)
        np.testing.assert_allclose(A, out[:, y].numpy(), rtol=2e-5, atol=1e-6 * np.abs(A).max())


def test_model_rejects_bad_inputs():
    m = te.models.P4ConvAC(te.ModeTree.grid(2, 2), M=2, widths=1, kernel=2, device="cpu")
    with pytest.raises(te.models.ModelInputError):
        m(torch.zeros(2, 5, 5, dtype=torch.long))
    with pytest.raises(te.models.ModelInputError):
        m(torch.full((2, 4, 4), 2))


# -- learned rotated bases and rotation sensitivity -------------------------------------------------------------
def _make_bases_exact_rotations(m):
    with torch.no_grad():
        for r in range(1, 4):
            m.bases[r][:, m._frot] = m.bases[r - 1]


@pytest.mark.parametrize("name", ["LearnedBasisConvAC", "LearnedBasisReLUNet"])
def test_learned_basis_equivariance_loss_vanishes_exactly_on_rotated_bases(name):
    m = getattr(te.models, name)(te.ModeTree.grid(4, 4), M=2, widths=2, outputs=3, kernel=2, device="cpu")
    x = torch.randint(0, 2, (6, 8, 8), generator=torch.Generator().manual_seed(0))
    xr = torch.rot90(x, 1, (-2, -1))
    assert float(m.equivariance_loss(x).detach()) > 1e-3  # independent random bases: not equivariant
    assert not torch.allclose(m(xr), m(x), atol=1e-3)
    _make_bases_exact_rotations(m)
    assert float(m.equivariance_loss(x).detach()) < 1e-10
    torch.testing.assert_close(m(xr), m(x), rtol=1e-5, atol=1e-5)


def test_learned_basis_filters_switch_basis_under_rotation():
    """Coefficients are shared: channel (r, b) is c_b on basis Psi_r (the lift has rank <= K per orientation)."""
    m = te.models.LearnedBasisReLUNet(te.ModeTree.grid(2, 2), M=2, widths=3, kernel=2, n_basis=2, device="cpu")
    W = m._leaf_weight().detach()  # (F, 4 * 3)
    for r in range(4):
        block = W[:, 3 * r: 3 * r + 3]
        torch.testing.assert_close(block, (m.coeffs @ m.bases[r]).T.detach())
        assert torch.linalg.matrix_rank(block) <= 2


@pytest.mark.slow
def test_learned_basis_network_fixes_the_lift_and_certify_stays_sound():
    m = te.models.LearnedBasisConvAC(te.ModeTree.grid(2, 2), M=2, widths=2, outputs=1, kernel=2, device="cpu", seed=4)
    net = m.to_network()
    assert {net.weight_kind(nd.id) for nd in net.live_nodes if nd.kind == "leaf"} == {"fixed"}
    imgs = m.template_images()
    with torch.no_grad():
        out = m(imgs).double().exp().numpy()
    A = net.grid_tensor().reshape(-1)
    np.testing.assert_allclose(A, out[:, 0], rtol=2e-5, atol=1e-6 * np.abs(A).max())
    P = te.Partition.grid(2, 2, "left_right")
    c = te.certify(net, P)
    point = te.rank(net, P, method="numeric").rank  # a rank the architecture attains
    assert c.upper >= point and not (c.certified and c.lower != point)


@pytest.mark.slow
def test_rotation_sensitivity_is_zero_at_90_degrees_for_p4_only():
    X = torch.rand(6, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    kw = dict(M=3, widths=2, outputs=3, kernel=2, representation="gaussian", device="cpu")
    for cls in (te.models.P4ConvAC, te.models.P4ReLUNet):
        m = cls(te.ModeTree.grid(8, 8), **kw)
        s = te.models.rotation_sensitivity(m, X, angles=(90, 180, 30))
        for angle in ("90", "180"):
            assert s[angle]["output"] < 1e-4
            for k, v in s[angle].items():  # NaN: the orientation-summed map cancels (zero-sum lift, checked below)
                assert v < 1e-4 or (np.isnan(v) and k == "stage0" and cls is te.models.P4ReLUNet), (cls, angle, k, v)
        assert s["30"]["output"] > 1e-3  # interpolated rotations are not symmetries of the pixel grid
    with torch.no_grad():  # why stage0 is NaN for the ReLU net: its lifted channels sum to ~0 over orientations
        h0 = m.hidden(X)[0].double()
    summed = h0.reshape(h0.shape[0], h0.shape[1], 4, -1).sum(2)
    assert float(summed.abs().max()) < 1e-6 * float(h0.abs().max())
    s = te.models.rotation_sensitivity(te.models.PatchReLUNet(te.ModeTree.grid(8, 8), **kw), X, angles=(90,))
    assert s["90"]["output"] > 1e-2 and s["90"]["stage0"] > 1e-2


def test_p4_models_are_also_invariant_to_rotating_every_patch_in_place():
    """Derived: an in-place rotation of all patches shifts every lifted orientation index by one, group convs
    commute with the shift, pooling is symmetric and the root sums over orientations; so the model cannot
    tell the orientation of patch content (only relative orientations across patches). Plain patch nets can."""
    x = torch.randint(0, 2, (4, 16, 16), generator=torch.Generator().manual_seed(0))
    p = x.reshape(4, 4, 4, 4, 4).permute(0, 1, 3, 2, 4)
    xr = torch.rot90(p, 1, (-2, -1)).permute(0, 1, 3, 2, 4).reshape(4, 16, 16)
    kw = dict(M=2, widths=2, outputs=3, kernel=4, device="cpu")
    for cls in (te.models.P4ConvAC, te.models.P4ReLUNet):
        m = cls(te.ModeTree.grid(4, 4), **kw)
        torch.testing.assert_close(m(xr), m(x), rtol=1e-5, atol=1e-5)
    plain = te.models.PatchReLUNet(te.ModeTree.grid(4, 4), **kw)
    assert not torch.allclose(plain(xr), plain(x), atol=1e-3)
