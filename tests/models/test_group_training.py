"""Learnability of the p4 / learned-basis ReLU models on digits 32x32, and the centering that makes it possible.

The oracle is the data itself: a model that can fit 64 training images drives its training loss far below its
start (``log 10`` for a uniform guess) and its training accuracy far above chance (0.1). Before the centering
(tensorexpr.models.tied.TiedTreeModel._center) the p4 ReLU net collapsed to a constant output here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import tensorexpr as te
from tensorexpr.experiments import digits32


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
        A = net.grid_tensor(output=y).reshape(-1)
        assert A.std() > 1e-3 * np.abs(A).max() > 0  # a live, non-constant function (else the check is empty)
        np.testing.assert_allclose(A, out[:, y], rtol=1e-5, atol=1e-6 * np.abs(A).max())


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
    for step in range(400):
        ce = torch.nn.functional.cross_entropy(m(d.X_train), d.y_train)
        loss = ce + m.auxiliary_loss(d.X_train)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = float(ce.detach()) if step == 0 else first
    with torch.no_grad():
        out = m(d.X_train)
        last = float(torch.nn.functional.cross_entropy(out, d.y_train))
        eq = float(m.equivariance_loss(d.X_train))
    acc = float((out.argmax(1) == d.y_train).float().mean())
    assert first > 0.8 * math.log(10)
    assert last < 0.7 * first and acc > 0.3, (first, last, acc)  # chance 0.1; the collapsed model: 2.253, 0.14
    assert eq < 0.05 * eq0 and eq < 0.1, (eq0, eq)  # and the bases became (nearly) rotations of each other
