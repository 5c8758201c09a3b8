"""The authors' training settings (``tensorexpr/experiments/config.py``), iteration schedules, checkpoints and
`certify --checkpoint`."""

from __future__ import annotations

import json
import math

import pytest
import torch

import tensorexpr as te
from tensorexpr.cli import main as cli_main
from tensorexpr.experiments import ConfigError, TrainConfig, train
from tensorexpr.experiments.train import _Batches, _optimizer, _set_lr

TINY = dict(geometry="line:16", task="teacher", widths=4, n_train=96, n_test=32, batch_size=32, progress=False,
            device="cpu", lr=0.03)


def test_presets_are_the_authors_train_plans():
    # constants of exp/blob/{cac,crn}/train_plan.json and net.prototmp (docs/theory.md)
    c = TrainConfig.preset("iclr2017-convac", task="symmetry")
    assert (c.lr, c.betas, c.eps, c.weight_decay, c.batch_size, c.iterations) == (0.003, (0.9, 0.9), 1e-16, 0.0, 64, 15000)
    assert c.shared and c.widths == 16 and c.order == "sequential" and c.blob_recipe == "iclr2017"
    assert c.lr_at_iteration(11_999) == 0.003 and math.isclose(c.lr_at_iteration(12_000), 0.0003)
    r = TrainConfig.preset("iclr2017-relu", task="closedness", pooling="avg")
    assert (r.lr, r.betas, r.weight_decay, r.bias, r.init, r.pooling) == (0.001, (0.9, 0.999), 1e-4, True, "xavier", "avg")
    assert r.resolved_data_seed == 0 and TrainConfig.preset("iclr2017-relu", seed=3).resolved_data_seed == 0
    with pytest.raises(ConfigError, match="preset"):
        TrainConfig.preset("iclr2016")
    with pytest.raises(ConfigError, match="32x32"):
        TrainConfig(task="closedness", geometry="grid:8x8:square")
    with pytest.raises(ConfigError, match="bias"):
        TrainConfig(model="convac", bias=True)


def test_task_defaults_digits_unshared():
    d = TrainConfig(task="digits", geometry="grid:8x8:square")
    assert (d.shared, d.lr, d.epochs) == (False, 0.01, 20)
    b = TrainConfig()
    assert (b.shared, b.lr, b.epochs) == (True, 0.003, 5)
    assert TrainConfig(task="digits", geometry="grid:8x8:square", shared=True, lr=0.1).shared is True


def test_batch_orders():
    seq = _Batches(10, 4, "sequential", 0)
    assert [seq(t).tolist() for t in range(3)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 1]]  # cycled, as Caffe
    sh = _Batches(10, 5, "shuffle", 0)
    for e in range(2):
        assert sorted(torch.cat([sh(2 * e), sh(2 * e + 1)]).tolist()) == list(range(10))  # a permutation per pass


def test_optimizer_groups_and_xavier_init():
    cfg = TrainConfig(model="relu", bias=True, init="xavier", weight_decay=1e-4, lr=0.001, **{k: v for k, v in TINY.items() if k != "lr"})
    model = te.models.ReLUNet(te.ModeTree.line(16), 2, 4, outputs=2, bias=True, init="xavier", device="cpu")
    for st, W in zip(model.stages, model.weights):
        assert float(W.detach().abs().max()) <= math.sqrt(3 / st.r_in)  # Caffe's Xavier filler: U(-sqrt(3/fan_in), ..)
    assert all(float(b.detach().abs().max()) == 0 for b in model.biases)
    opt = _optimizer(cfg, model)
    _set_lr(opt, 0.001)
    (w, b) = opt.param_groups
    assert w["weight_decay"] == 1e-4 and w["lr"] == 0.001 and len(w["params"]) == len(model.weights)
    assert b["weight_decay"] == 0.0 and b["lr"] == 0.002 and len(b["params"]) == len(model.biases)
    with pytest.raises(te.NetworkError, match="biases"):
        model.to_network()


def test_iteration_run_resumes_bit_for_bit(tmp_path):
    kw = dict(TINY, iterations=12, eval_every=4, order="shuffle")
    full = train(TrainConfig(model="convac", **kw))
    assert [h["iteration"] for h in full.history] == [4, 8, 12]
    assert [h["lr"] for h in full.history] == [0.03, 0.03, pytest.approx(0.003)]  # x0.1 from int(0.8 * 12) = 9
    part = train(TrainConfig(model="convac", out_dir=str(tmp_path), **kw), stop_after=1)
    assert len(part.history) == 1
    rest = train(TrainConfig(model="convac", out_dir=str(tmp_path), **kw))
    assert rest.resumed_from == 1 and rest.metrics() == full.metrics()


def test_load_restores_the_trained_model_and_certify_checkpoint(tmp_path, capsys):
    run = tmp_path / "run"
    r = train(TrainConfig(model="convac", out_dir=str(run), epochs=2, **{k: v for k, v in TINY.items()}))
    model = te.experiments.load(run, device="cpu")
    x = torch.randint(0, 2, (7, 16), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        torch.testing.assert_close(model(x), r.model.eval()(x), rtol=0, atol=0)
    assert model.train_config.geometry == "line:16" and len(model.history) == 2
    # the CLI certifies the restored architecture exactly as te.certify does on the extracted network
    assert cli_main(["certify", "--checkpoint", str(run), "--partition", "odd_even", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)["results"][0]["certificate"]
    ref = te.certify(r.model.to_network(), te.Partition.odd_even(16))
    assert (got["lower"], got["upper"]) == (ref.lower, ref.upper)
    with pytest.raises(te.experiments.CheckpointError, match="No checkpoint"):
        te.experiments.load(tmp_path / "missing")
    # spectrum --checkpoint measures the trained weights: the same singular values as te.spectrum on the model
    assert cli_main(["spectrum", "--checkpoint", str(run), "--partition", "left_right", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)["spectra"][0]
    ref = te.spectrum(r.model, te.Partition.left_right(16))
    assert got["rank"] == ref.rank and got["kind"] == ref.kind
    assert got["normalized"] == pytest.approx([float(v) for v in ref.normalized], rel=1e-9, abs=1e-12)


@pytest.mark.slow
def test_each_builtin_task_learns_with_its_default_config():
    torch.set_num_threads(1)
    d = train(TrainConfig(task="digits", geometry="grid:8x8:square", progress=False, device="cpu"))
    assert d.test_acc > 0.6  # 10 classes: chance 0.1 (the shared default sat at the prior, 0.08)
    t = train(TrainConfig(task="teacher", progress=False, device="cpu"))  # the default geometry, grid:32x32
    assert t.test_acc > 0.6
    for task in ("closedness", "symmetry"):  # the defaults: all 20,000 / 4,000 authors' images, 5 epochs (~2 min each)
        b = train(TrainConfig(task=task, progress=False, device="cpu"))
        assert b.test_acc > 0.7


@pytest.mark.parametrize("fields, error, message", [
    ({"model": "nope"}, ConfigError, "model='nope' is unknown"),
    ({"task": "nope"}, ConfigError, "task='nope' is unknown"),
    ({"pooling": "sum"}, ConfigError, "pooling='sum' is unknown"),
    ({"geometry": "grid:8x16:square", "blob_recipe": "centred"}, ConfigError, "need a square grid"),
    ({"representation": "scattering:J=2,L=8"}, ConfigError, "needs float images"),
    ({"model": "scatlinear"}, ConfigError, "scattering \\+ linear baseline"),
    ({"task": "digits32", "geometry": "grid:8x8:square"}, ConfigError, "digits32 images are 32x32"),
    ({"model": "p4", "kernel": 2}, ConfigError, "patch models need kernel=1"),
    ({"blob_recipe": "other"}, ConfigError, "blob_recipe='other' is unknown"),
    ({"order": "random"}, ConfigError, "order='random' is unknown"),
    ({"init": "zeros"}, ConfigError, "init='zeros' is unknown"),
    ({"task": "digits", "geometry": "grid:4x4:square"}, ConfigError, "digits are 8x8"),
    ({"representation": "gaussian"}, ConfigError, "has symbol inputs"),
    ({"batch_size": 0}, ConfigError, "batch_size must be a positive integer"),
    ({"epochs": True}, ConfigError, "epochs must be a positive integer"),
    ({"lr": -1.0}, ConfigError, "Need lr > 0"),
    ({"eps": 0.0}, ConfigError, "Need eps > 0"),
])
def test_each_validation_concern_names_its_field(fields, error, message):
    with pytest.raises(error, match=message):
        TrainConfig(**fields)


@pytest.mark.parametrize("fields, api", [
    ({"geometry": "torus:3"}, "convac torus:3"),
    ({"widths": 0}, "convac line:8 widths=0"),
    ({"widths": (16, -1)}, "convac line:8 widths=16,-1"),
])
def test_spec_errors_are_the_network_spec_errors(fields, api):
    """TrainConfig reads geometry and widths with the one spec grammar: the same error class and message."""
    from tensorexpr.build.spec import NetworkSpec

    with pytest.raises(te.TensorExprError) as want:
        NetworkSpec.parse(api)
    with pytest.raises(type(want.value)) as got:
        TrainConfig(**fields)
    assert str(got.value) == str(want.value)
