"""p4 and patch models (``tensorexpr/models/group.py``): learnability on digits 32x32 and the centering that makes
it possible, invariance to rot90 of symbols, images and patches, extraction, bad inputs; and on scattering,
quarter-turn invariance where the theory makes it exact, and the measured error where it does not.

Learnability oracle: the data itself. A model that can fit 64 training images drives its training loss far below
its start (``log 10`` for a uniform guess) and its training accuracy far above chance (0.1). Before the centering
(tensorexpr.models.tied.TiedTreeModel) the p4 ReLU net collapsed to a constant output here.

Oracle: the scattering field's covariance ``S_{gx}(u, lambda) = S_x(g^{-1} u, g^{-1} lambda)`` for rotations
that map kymatio's sampling lattice ``4 Z^2`` (J = 2) onto itself, plus the p4 lift law (module doc of
:mod:`tensorexpr.models.group`): the model output must not change, to float rounding. Controls: the same
model with the orientation permutation switched off, and rotations about the image centre.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import tensorexpr as te
from tensorexpr.build.p4 import ORDER, group_map, permutation_lift_map
from tensorexpr.core.errors import NetworkError
from tensorexpr.experiments import digits32
from tensorexpr.models import scattering as sc
from tensorexpr.testing.hybrid import forward_on_templates


FULL, ROTINV = "scattering:J=2,L=8", "scattering:J=2,L=8,rotinv=1"
TREE = te.ModeTree.grid(8, 8)


def _images(n: int = 3, seed: int = 0) -> torch.Tensor:
    """Support in pixels 5..23 (symmetric about 14, >= 4 zero pixels from every border: kymatio pads by reflection)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 1, 32, 32)
    x[..., 5:24, 5:24] = torch.rand(n, 1, 19, 19, generator=g)
    return x


def _rot_lattice(x: torch.Tensor, k: int) -> torch.Tensor:
    """``k`` quarter turns about pixel (14, 14) = 4 * 3.5: grid index i -> 7 - i, i.e. torch.rot90 of the 8x8 grid."""
    return torch.nn.functional.pad(torch.rot90(x[..., :29, :29], k, dims=(-2, -1)), (0, 3, 0, 3))


def _rel(a: torch.Tensor, b: torch.Tensor, log_space: bool = True) -> float:
    """ConvAC (``log h``): ``max |log h(gx) - log h(x)|``, the largest log-ratio of the outputs ``h``;
    ReLU net (logits): ``||y(gx) - y(x)|| / ||y(x)||``."""
    a, b = a.detach().double(), b.detach().double()
    return float((a - b).abs().max()) if log_space else float((a - b).norm() / b.norm())


def _tol(y: torch.Tensor) -> float:
    """float32 rounding of outputs of size ``|y|`` (a ConvAC's ``log h`` is ~ -80 here)."""
    return 1e-5 * max(1.0, float(y.detach().abs().max()))


def test_the_lattice_rotation_moves_the_whole_field_exactly():
    T = sc.ScatteringTransform(sc.parse_scattering(FULL), cache_size=0)
    x = _images()
    S = T(x)
    err = (T(_rot_lattice(x, 1)) - sc.rotate_coefficients(S, 1, L=8, J=2)).norm() / S.norm()
    assert err < 1e-5  # the full 8x8 grid, not only the interior


def test_coefficient_rotation_is_the_per_position_part_of_rotate_coefficients():
    spec = sc.parse_scattering(FULL)
    S = torch.randn(2, 2 * 81, 1, 1)
    for k in range(ORDER):
        q = sc.coefficient_rotation(spec, channels=2, k=k)
        moved = torch.empty_like(S)
        moved[:, q] = S  # coefficient e goes to q[e]
        assert torch.equal(moved, sc.rotate_coefficients(S, k, L=8, J=2))
    q1 = sc.coefficient_rotation(spec, k=1)
    assert np.array_equal(q1[q1], np.arange(81)) and not np.array_equal(q1, np.arange(81))  # order exactly 2
    assert np.array_equal(sc.coefficient_rotation(sc.parse_scattering(ROTINV), k=1), np.arange(11))


@pytest.mark.parametrize("cls,rep,M", [(te.models.P4ConvAC, FULL, 81), (te.models.P4ReLUNet, FULL, 81),
                                       (te.models.P4ConvAC, ROTINV, 11)])
def test_p4_on_scattering_is_invariant_to_lattice_quarter_turns(cls, rep, M):
    m = cls(TREE, M, 3, outputs=3, kernel=1, representation=rep, device="cpu")
    x = _images()
    y = m(x)
    assert float(y.detach().std()) > 1e-4  # not a constant network
    for k in (1, 2, 3):
        assert _rel(m(_rot_lattice(x, k)), y, cls.log_space) < _tol(y)


def test_without_the_orientation_shift_the_model_is_not_invariant():
    """Control: the same tying with an identity permutation at the lift (positions rotate, orientations do not)."""
    m = te.models.P4ConvAC(TREE, 81, 3, outputs=3, kernel=1, representation=FULL, device="cpu")
    theta0 = m.thetas[0].detach().clone()
    wrong = permutation_lift_map([np.arange(81)] * ORDER, 3)
    assert wrong.n_free == m.maps[0].n_free
    m.maps[0] = wrong
    m._sel0 = torch.tensor(np.asarray(wrong.basis).argmax(1))
    with torch.no_grad():
        m.thetas[0].copy_(theta0)
    x = _images()
    assert _rel(m(_rot_lattice(x, 1)), m(x)) > 1e-2


def test_a_shared_convac_on_rotinv_is_already_invariant_and_on_full_coefficients_is_not():
    """Why the p4 tying matters only for the orientation-resolved coefficients."""
    x = _images()
    inv = te.models.ConvAC(TREE, 11, 3, outputs=3, representation=ROTINV, shared=True, device="cpu")
    y = inv(x)
    assert _rel(inv(_rot_lattice(x, 1)), y) < _tol(y)
    full = te.models.ConvAC(TREE, 81, 3, outputs=3, representation=FULL, shared=True, device="cpu")
    assert _rel(full(_rot_lattice(x, 1)), full(x)) > 1e-2


def test_rotation_about_the_image_centre_is_only_approximately_invariant():
    """torch.rot90 about (15.5, 15.5) is the lattice rotation plus a 3-pixel shift (not a lattice vector): measured."""
    m = te.models.P4ConvAC(TREE, 81, 3, outputs=3, kernel=1, representation=FULL, device="cpu")
    x = _images()
    e = _rel(m(torch.rot90(x, 1, dims=(-2, -1))), m(x))
    assert e > 1e-3  # orders of magnitude above the lattice case; the doc reports the measured sizes


def test_p4_scattering_errors():
    with pytest.raises(NetworkError, match="kernel=1"):
        te.models.P4ConvAC(TREE, 81, 2, kernel=2, representation=FULL, device="cpu")
    with pytest.raises(NetworkError, match="M must be 81"):
        te.models.P4ConvAC(TREE, 80, 2, kernel=1, representation=FULL, device="cpu")
    with pytest.raises(NetworkError, match="permutations"):
        permutation_lift_map([np.arange(3)] * 3, 2)
    assert group_map(2, 2).n_free == 16  # the group convs are those of the pixel model


@pytest.mark.parametrize("cls", [te.models.P4ConvAC, te.models.P4ReLUNet])
def test_scattering_p4_extracts_to_a_network_equal_to_the_model(cls):
    """to_network() of the scattering p4 model: its grid tensor is the model's forward on every template
    input (exp for the ConvAC), and certify on it brackets a rank the extracted weights attain."""
    SPEC = "scattering:J=2,L=8"
    m = cls(te.ModeTree.grid(2, 2), 81, 2, outputs=2, kernel=1, representation=SPEC, device="cpu", seed=0)
    imgs = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    m.representation.fit_scale(imgs)
    sc.fit_templates(m, imgs, T=3, patch=8, seed=0)
    net = m.to_network()
    assert net.is_tied and net.F.shape == (3, 81)
    A = np.asarray(te.grid_tensor(net, output=None), dtype=np.float64)  # (outputs, T, T, T, T)
    got = forward_on_templates(m)
    ref = np.moveaxis(A, 0, -1).reshape(-1, A.shape[0])
    np.testing.assert_allclose(got, ref, rtol=2e-5, atol=1e-6 * np.abs(ref).max())
    P = te.Partition.grid(2, 2, "left_right")
    c = te.certify(net, P)
    point = te.rank(net, P, method="numeric").rank  # the trained point's own rank
    assert c.upper >= point and not (c.certified and net.op.multilinear and c.lower != point)


def overfit(kind: str, steps: int, lr: float, seed: int = 0) -> tuple[float, float, float]:
    """``(first loss, last loss, train accuracy)`` of full-batch Adam on 64 digits (4x4 positions of 8x8 patches)."""
    torch.manual_seed(seed)
    d = digits32(n_test=297, seed=0, n_train=64)
    m = te.models.structured_model(kind, te.ModeTree.grid(4, 4), 4, 4, kernel=8, outputs=10,
                                   representation="linear", in_features=1, seed=seed, device="cpu")
    opt = torch.optim.Adam(m.parameters(), lr=lr, betas=(0.9, 0.9))
    losses = []
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(m(d.X_train), d.y_train)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    with torch.no_grad():
        out = m(d.X_train)
        if kind.startswith("p4"):  # the trained model stays exactly p4-invariant (the centering is equivariant)
            torch.testing.assert_close(m(torch.rot90(d.X_train, 1, (-2, -1))), out, rtol=1e-4, atol=1e-4)
    return losses[0], losses[-1], float((out.argmax(1) == d.y_train).float().mean())


def test_p4_relu_net_fits_a_small_batch():
    first, last, acc = overfit("p4-relu", steps=150, lr=0.003)
    assert first > 0.8 * math.log(10)
    assert last < 0.35 * first, (first, last)
    assert acc > 0.6, acc  # chance is 0.1; a collapsed net (constant output) sits at ln 10 and ~0.12


@pytest.mark.slow
@pytest.mark.parametrize("kind,lr,acc_min", [("learned-relu", 0.003, 0.8), ("patch-relu", 0.003, 0.8), ("p4", 0.05, 0.25)])
def test_structured_models_fit_a_small_batch(kind, lr, acc_min):
    first, last, acc = overfit(kind, steps=150, lr=lr)
    assert last < 0.8 * first and acc > acc_min, (first, last, acc)


@pytest.mark.parametrize("cls", ["P4ReLUNet", "PatchReLUNet", "LearnedBasisReLUNet"])
def test_relu_patch_models_start_centered(cls):
    m = getattr(te.models, cls)(te.ModeTree.grid(4, 4), M=3, widths=2, outputs=4, kernel=3,
                                representation="linear", device="cpu", seed=1)
    with torch.no_grad():
        W0 = m._leaf_weight().reshape(9, 3, -1)  # (pixel, function, channel)
        np.testing.assert_allclose(W0.sum(0).numpy(), 0, atol=1e-5)  # zero-sum per function over the pixels
        for l in range(1, m.tree.depth + 1):
            np.testing.assert_allclose(m.level_weight(l).sum(0).numpy(), 0, atol=1e-5)
        h = m.hidden(torch.zeros(2, 1, 12, 12))
        assert float(h[0].abs().max()) == 0.0  # an empty patch lifts to 0 (background-centered features)
        x = torch.rand(3, 1, 12, 12, generator=torch.Generator().manual_seed(0))
        assert float(m.hidden(x)[0].std()) > 0


@pytest.mark.parametrize("cls,kw", [("P4ReLUNet", {"pooling": "max"}), ("PatchReLUNet", {"pooling": "avg"}),
                                    ("P4ReLUNet", {"pooling": "avg"})])
def test_to_network_equals_centered_model_on_float_templates(cls, kw):
    m = getattr(te.models, cls)(te.ModeTree.grid(2, 2), M=2, widths=2, outputs=2, kernel=2,
                                representation="linear", device="cpu", seed=2, **kw)
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():  # leave the zero-sum start (where the features' constant cancels) like training does
        for th in m.thetas:
            th.add_(0.5 * torch.randn(th.shape, generator=g))
    templates = torch.rand(3, 4, 1, generator=g)  # 3 float patches of 2x2 pixels
    net = m.to_network(templates)
    imgs = m.template_images(templates)  # all 3^4 images of 4x4 pixels
    with torch.no_grad():
        out = m(imgs).double().numpy()
    for y in range(2):
        A = te.grid_tensor(net, output=y).reshape(-1)
        assert A.std() > 1e-3 * np.abs(A).max() > 0  # a live, non-constant function (else the check is empty)
        np.testing.assert_allclose(A, out[:, y], rtol=1e-5, atol=1e-6 * np.abs(A).max())


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
        A = te.grid_tensor(net, output=y).reshape(-1)
        np.testing.assert_allclose(A, out[:, y].numpy(), rtol=2e-5, atol=1e-6 * np.abs(A).max())


def test_model_rejects_bad_inputs():
    m = te.models.P4ConvAC(te.ModeTree.grid(2, 2), M=2, widths=1, kernel=2, device="cpu")
    with pytest.raises(te.models.ModelInputError):
        m(torch.zeros(2, 5, 5, dtype=torch.long))
    with pytest.raises(te.models.ModelInputError):
        m(torch.full((2, 4, 4), 2))


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
