"""Learned-basis models (``tensorexpr/models/learned_basis.py``): the equivariance term, exact rotations of the bases,
and the lift the extracted network fixes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import tensorexpr as te
from tensorexpr.experiments import digits32


def test_learned_basis_convac_learns_with_its_equivariance_term_on():
    """Issue 10: the former term (error / full response energy) was minimized by atoms constant over the patch.

    With it on, 400 steps at lr 0.05 left the output exactly constant (CE 2.253 = the class prior, accuracy 0.14
    on seeds 0-2). The term normalized by the spread of the non-DC responses keeps the bases equivariant
    (term -> ~0.01) while the model learns. lr 0.05 as for the other ConvACs (see ``test_structured_models_fit``).
    """
    torch.manual_seed(0)
    d = digits32(n_test=297, seed=0, n_train=64)
    m = te.models.LearnedBasisConvAC(te.ModeTree.grid(4, 4), 4, 4, kernel=8, outputs=10, representation="linear",
                                     in_features=1, seed=0, device="cpu", equivariance_weight=1.0)
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=0.05, betas=(0.9, 0.9))
    eq0 = float(m.equivariance_loss(d.X_train).detach())
    first = None
    for step in range(400):
        ce = torch.nn.functional.cross_entropy(m(d.X_train), d.y_train)
        loss = ce + m.auxiliary_loss(d.X_train)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = float(ce.detach()) if first is None else first
    with torch.no_grad():
        out = m(d.X_train)
        last = float(torch.nn.functional.cross_entropy(out, d.y_train))
        eq = float(m.equivariance_loss(d.X_train))
    acc = float((out.argmax(1) == d.y_train).float().mean())
    assert first > 0.8 * math.log(10)
    assert last < 0.7 * first and acc > 0.3, (first, last, acc)  # chance 0.1; the collapsed model: 2.253, 0.14
    assert eq < 0.05 * eq0 and eq < 0.1, (eq0, eq)  # and the bases became (nearly) rotations of each other


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
    A = te.grid_tensor(net).reshape(-1)
    np.testing.assert_allclose(A, out[:, 0], rtol=2e-5, atol=1e-6 * np.abs(A).max())
    P = te.Partition.grid(2, 2, "left_right")
    c = te.certify(net, P)
    point = te.rank(net, P, method="numeric").rank  # a rank the architecture attains
    assert c.upper >= point and not (c.certified and c.lower != point)
