"""Scattering + p4 networks: quarter-turn invariance where the theory makes it exact, and the measured error
where it does not.

Oracle: the scattering field's covariance ``S_{gx}(u, lambda) = S_x(g^{-1} u, g^{-1} lambda)`` for rotations
that map kymatio's sampling lattice ``4 Z^2`` (J = 2) onto itself, plus the p4 lift law (module doc of
:mod:`tensorexpr.models.group`): the model output must not change, to float rounding. Controls: the same
model with the orientation permutation switched off, and rotations about the image centre.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tensorexpr as te
from tensorexpr.testing.hybrid import forward_on_templates
from tensorexpr.core.errors import NetworkError
from tensorexpr.models import scattering as sc
from tensorexpr.build.p4 import ORDER, group_map, permutation_lift_map

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
    A = np.asarray(net.grid_tensor(output=None), dtype=np.float64)  # (outputs, T, T, T, T)
    got = forward_on_templates(m)
    ref = np.moveaxis(A, 0, -1).reshape(-1, A.shape[0])
    np.testing.assert_allclose(got, ref, rtol=2e-5, atol=1e-6 * np.abs(ref).max())
    P = te.Partition.grid(2, 2, "left_right")
    c = te.certify(net, P)
    point = te.rank(net, P, method="numeric").rank  # the trained point's own rank
    assert c.upper >= point and not (c.certified and net.op.multilinear and c.lower != point)
