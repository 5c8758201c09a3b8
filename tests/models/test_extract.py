"""Trainable tree models and their extraction (``tensorexpr/models/extract.py``): forward == extracted network's
grid tensor, gradients, input layouts, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorexpr as te
from tensorexpr.models import ConvAC, ModelInputError, ReLUNet, from_model, template_inputs
from tensorexpr.testing import random_tree, reference_grid_tensor


GEOMETRIES = {
    "square": lambda: te.ModeTree.grid(4, 4, geometry="square"),
    "mirror": lambda: te.ModeTree.grid(4, 4, geometry="mirror"),
    "line": lambda: te.ModeTree.line(8),
    "shallow": lambda: te.ModeTree.shallow(6),
    "nested": lambda: te.ModeTree.from_nested(((0, 1, 2), (3, (4, 5)), 6)),  # uneven: fan-in 3 and 2, padding
}
MODELS = {
    "convac": lambda *a, **k: ConvAC(*a, **k),
    "relu-max": lambda *a, **k: ReLUNet(*a, pooling="max", **k),
    "relu-avg": lambda *a, **k: ReLUNet(*a, pooling="avg", **k),
}


def _build(kind: str, tree: te.ModeTree, rep: str, shared: bool, seed: int = 0, M: int = 2) -> torch.nn.Module:
    feats = 1 if rep == "one_hot" else 2
    return MODELS[kind](tree, M, 3, outputs=2, representation=rep, shared=shared, in_features=feats, seed=seed,
                        device="cpu").double()


def _model_grid(model: torch.nn.Module, templates=None) -> np.ndarray:
    _, X = template_inputs(model, templates)
    if not model.representation.discrete:
        X = X.double()
    with torch.no_grad():
        y = model(X)
    if isinstance(model, ConvAC):
        y = torch.exp(y)
    T, N = (templates.shape[0] if templates is not None else model.M), model.tree.n_modes
    return y.numpy().T.reshape((model.outputs,) + (T,) * N)


@pytest.mark.parametrize("geometry", sorted(GEOMETRIES))
@pytest.mark.parametrize("rep", ["one_hot", "gaussian", "linear"])
@pytest.mark.parametrize("kind", sorted(MODELS))
def test_forward_equals_extracted_grid_tensor(geometry, rep, kind):
    shared = geometry != "line"  # cover unshared weights too
    model = _build(kind, GEOMETRIES[geometry](), rep, shared, seed=3)
    templates = torch.randn(2, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) if rep == "linear" else None
    net = model.to_network(templates=templates)
    assert net.op.name == ("product" if kind == "convac" else kind)
    A = te.grid_tensor(net, output=None)
    np.testing.assert_allclose(_model_grid(model, templates), A, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_extraction_matches_slow_reference(kind):
    """Independent oracle: the entry-by-entry evaluator of tensorexpr.testing."""
    model = _build(kind, te.ModeTree.from_nested(((0, 1), (2, 3, 4))), "gaussian", shared=False, seed=5)
    net = from_model(model)
    for out in range(2):
        np.testing.assert_allclose(_model_grid(model)[out], reference_grid_tensor(net, output=out), rtol=1e-10)


def test_shared_weights_stay_tied_in_the_network():
    model = _build("convac", te.ModeTree.grid(4, 4), "one_hot", shared=True)
    net = model.to_network()
    leaves = [nd for nd in net.nodes if nd.kind == "leaf"]
    assert all(nd.weight is leaves[0].weight for nd in leaves)
    assert np.all(leaves[0].weight > 0)  # the log-space ConvAC has positive weights (exp of offsets)
    assert net.n_params == sum(p.numel() for p in model.weights)  # tied weights counted once, as in the model
    assert np.array_equal(net.F, np.eye(2, dtype=np.int64))


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 7), kind=st.sampled_from(sorted(MODELS)), shared=st.booleans())
def test_random_trees_match(seed, n, kind, shared):
    tree = random_tree(n, np.random.default_rng(seed))
    model = _build(kind, tree, "one_hot", shared, seed=seed)
    np.testing.assert_allclose(_model_grid(model), te.grid_tensor(model.to_network(), output=None), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", sorted(MODELS))
@pytest.mark.parametrize("rep", ["one_hot", "gaussian", "linear"])
def test_gradients_reach_every_parameter(kind, rep):
    model = _build(kind, te.ModeTree.grid(4, 4, geometry="mirror"), rep, shared=True, seed=1)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 2, (16, 4, 4), generator=g) if rep == "one_hot" else torch.randn(16, 2, 4, 4, generator=g, dtype=torch.float64)
    loss = torch.nn.functional.cross_entropy(model(x), torch.randint(0, 2, (16,), generator=g))
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_n_params_and_repr():
    m = ConvAC(te.ModeTree.line(8), 3, [4, 5, 6], outputs=2, device="cpu")
    # leaf 3x4, level1 4x5, level2 5x6, root 6x2 (shared: one weight per level)
    assert m.n_params == 3 * 4 + 4 * 5 + 5 * 6 + 6 * 2
    u = ConvAC(te.ModeTree.line(8), 3, [4, 5, 6], outputs=2, shared=False, device="cpu")
    assert u.n_params == 8 * 12 + 4 * 20 + 2 * 30 + 12
    assert "params=" in repr(m)


def test_input_layouts_agree():
    tree = te.ModeTree.grid(4, 4)
    model = ConvAC(tree, 2, 3, representation="gaussian", in_features=1, device="cpu")
    x = torch.rand(3, 4, 4)
    y = model(x)
    torch.testing.assert_close(model(x.unsqueeze(1)), y)  # (B, C, H, W)
    torch.testing.assert_close(model(x.reshape(3, 16, 1)), y)  # (B, N, C)
    torch.testing.assert_close(model(x.reshape(3, 16)), y)  # (B, N)


def test_bad_inputs_raise_clear_errors():
    tree = te.ModeTree.grid(4, 4)
    model = ConvAC(tree, 2, 3, device="cpu")
    with pytest.raises(ModelInputError, match="N=16"):
        model(torch.zeros(2, 5, 5, dtype=torch.long))
    with pytest.raises(ModelInputError, match="0..1"):
        model(torch.full((2, 4, 4), 2))  # symbol 2 with M = 2
    with pytest.raises(te.TensorExprError, match="Unknown representation 'onehot'"):
        ConvAC(tree, 2, 3, representation="onehot")
    with pytest.raises(te.TensorExprError, match="M=3 functions but the model was given M=2"):
        ConvAC(tree, 2, 3, representation=te.models.Gaussian(3))
    with pytest.raises(ModelInputError, match="in_features=2"):
        ConvAC(tree, 2, 3, representation="gaussian", in_features=2, device="cpu")(torch.rand(2, 3, 4, 4))
    with pytest.raises(te.TensorExprError, match="depth 2"):
        ReLUNet(tree, 2, [3, 3, 3])
    with pytest.raises(te.TensorExprError, match="Unknown pooling"):
        ReLUNet(tree, 2, 3, pooling="median")
    with pytest.raises(te.TensorExprError, match="templates"):
        ConvAC(tree, 2, 3, representation="linear", device="cpu").to_network()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_cuda_default_device_and_extraction():
    model = ConvAC(te.ModeTree.grid(4, 4), 2, 3)
    assert model.device.type == "cuda"
    y = model(torch.randint(0, 2, (3, 4, 4)))
    assert y.device.type == "cuda"
    net = model.to_network()
    assert te.grid_tensor(net).shape == (2,) * 16
