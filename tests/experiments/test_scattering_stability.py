"""Scattering stability helpers (``tensorexpr/experiments/scattering_stability.py``): deformation, translation and the
displacement gradient norm against closed forms."""

from __future__ import annotations

import torch

from tensorexpr.experiments import scattering_stability as st


def test_deformation_helpers(border_images):
    x = border_images(2)
    assert torch.allclose(st.deform(x, torch.zeros(2, 2, 32, 32)), x, atol=1e-6)
    assert torch.allclose(st.translate(x, (2, -3)), torch.roll(x, (2, -3), dims=(-2, -1)), atol=1e-6)
    A = torch.tensor([[0.01, 0.02], [-0.03, 0.005]])
    r, c = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    tau = torch.einsum("ij,jhw->ihw", A, torch.stack([r, c])).unsqueeze(0)
    assert abs(float(st.gradient_norm(tau)[0]) - float(torch.linalg.matrix_norm(A, ord=2))) < 1e-6
