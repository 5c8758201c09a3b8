"""The grid fast path of the tree models equals the general index-gather path (outputs and gradients)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tensorexpr as te
from tensorexpr.models.gridpath import grid_plan, window_max, window_sum

CASES = [
    (te.models.ConvAC, {}),
    (te.models.ReLUNet, {"pooling": "max"}),
    (te.models.ReLUNet, {"pooling": "avg", "bias": True, "init": "xavier"}),
]


def twins(cls, tree, shared, representation="one_hot", **kw):
    fast = cls(tree, 2, 3, outputs=2, shared=shared, representation=representation, device="cpu", **kw).double()
    slow = cls(tree, 2, 3, outputs=2, shared=shared, representation=representation, device="cpu", fast=False,
               **kw).double()
    with torch.no_grad():
        for p in fast.parameters():
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel()), dtype=p.dtype) * 0.3)
    slow.load_state_dict(fast.state_dict())
    assert fast.plan is not None and slow.plan is None
    return fast, slow


@pytest.mark.parametrize("geometry", ["square", "mirror"])
@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_fast_path_equals_general_path(geometry, shared, case):
    cls, kw = CASES[case]
    tree = te.ModeTree.grid(8, 8, geometry=geometry)
    fast, slow = twins(cls, tree, shared, **kw)
    x = torch.randint(0, 2, (5, 8, 8), generator=torch.Generator().manual_seed(1))
    yf, ys = fast(x), slow(x)
    torch.testing.assert_close(yf, ys, rtol=1e-12, atol=1e-12)
    yf.sum().backward()
    ys.sum().backward()
    for (name, p), q in zip(fast.named_parameters(), slow.parameters()):
        if kw.get("pooling") == "max" and not shared:
            continue  # at ties max routes the gradient to one maximum (as MaxPool2d), the general path splits it
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-10, atol=1e-10, msg=name)


def test_fast_path_max_gradients_without_ties():
    """Continuous inputs (gaussian representation) have no ties: the max gradients agree too."""
    tree = te.ModeTree.grid(4, 4, geometry="mirror")
    fast, slow = twins(te.models.ReLUNet, tree, False, representation="gaussian", pooling="max")
    x = torch.rand(6, 1, 4, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    fast(x).sum().backward()
    slow(x).sum().backward()
    for p, q in zip(fast.parameters(), slow.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-10, atol=1e-10)


def test_fast_path_keeps_to_network_exact():
    """to_network reads the weights, not the path: the extracted grid tensor equals exp(model) on templates."""
    tree = te.ModeTree.grid(4, 4, geometry="mirror")
    model = te.models.ConvAC(tree, 2, 2, outputs=1, device="cpu").double()
    net = model.to_network()
    _, X = te.models.template_inputs(model)
    with torch.no_grad():
        out = torch.exp(model(X[:, :, 0].reshape(-1, 4, 4)))[:, 0].numpy()
    np.testing.assert_allclose(out, np.asarray(te.grid_tensor(net), dtype=float).ravel(), rtol=1e-10)


def test_plan_recognizes_structure_not_names():
    sq = te.ModeTree.grid(8, 8)
    assert grid_plan(sq, te.models.ConvAC(sq, 2, 2, device="cpu").stages).geometries == ("square",) * 3
    mi = te.ModeTree.grid(8, 8, geometry="mirror")
    # the last 2x2 level pools the whole grid either way; no permutation is the cheaper reading
    assert grid_plan(mi, te.models.ConvAC(mi, 2, 2, device="cpu").stages).geometries == ("mirror", "mirror", "square")
    renamed = te.ModeTree.from_nested(mi.to_nested(), name="grid:8x8:square")  # a misleading name
    assert te.models.ConvAC(renamed, 2, 2, device="cpu").plan.geometries[:2] == ("mirror", "mirror")
    for other in (te.ModeTree.line(64), te.ModeTree.shallow(16), te.ModeTree.grid(8, 4), te.ModeTree.grid(9, 9, 3)):
        assert te.models.ConvAC(other, 2, 2, device="cpu").plan is None  # arbitrary trees: general path


def test_window_ops_against_loops():
    x = torch.randn(2, 16, 3, dtype=torch.float64)
    g = x.view(2, 4, 4, 3)
    ref_sum = torch.stack([g[:, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].sum((1, 2)) for i in range(2) for j in range(2)], 1)
    ref_max = torch.stack([g[:, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].amax((1, 2)) for i in range(2) for j in range(2)], 1)
    torch.testing.assert_close(window_sum(x, 4), ref_sum)
    torch.testing.assert_close(window_max(x, 4), ref_max)
    xr = x.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda t: window_sum(t, 4), (xr,))
