"""Attribute models (``tensorexpr/models/attribute.py``): the extracted network equals the model on template inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tensorexpr as te


@pytest.mark.parametrize("cls,kw,tree,padding", [
    ("AttributeConvAC", {}, te.ModeTree.line(8), "zero"),
    ("AttributeReLUNet", {"pooling": "max"}, te.ModeTree.line(8), "zero"),
    ("AttributeReLUNet", {"pooling": "avg"}, te.ModeTree.line(8), "periodic"),
    pytest.param("AttributeConvAC", {}, te.ModeTree.grid(4, 4, geometry="mirror"), "periodic", marks=pytest.mark.slow),
])
def test_to_network_grid_tensor_equals_model_on_template_inputs(cls, kw, tree, padding):
    m = getattr(te.models, cls)(tree, M=2, widths=2, outputs=2, support=2, padding=padding, device="cpu", seed=1, **kw)
    net = m.to_network()
    assert net.is_tied and net.n_params == m.n_params
    X = m.template_images()
    with torch.no_grad():
        out = m(X).double()
    if cls == "AttributeConvAC":
        out = out.exp()
    for y in range(2):
        A = te.grid_tensor(net, output=y).reshape(-1)
        np.testing.assert_allclose(A, out[:, y].numpy(), rtol=2e-5, atol=1e-6 * np.abs(A).max())
