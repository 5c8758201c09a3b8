"""Data sets, training, checkpoint resume, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import tensorexpr as te
from tensorexpr.experiments import (
    ConfigError,
    DataError,
    TrainConfig,
    blob_images,
    blobs,
    closedness_score,
    digits,
    symmetry_score,
    teacher,
    train,
)

TINY = dict(geometry="line:16", task="teacher", widths=4, n_train=256, n_test=128, batch_size=32, progress=False,
            device="cpu", lr=0.03)


def test_blob_generator_is_seeded_and_binary():
    a, sa = blob_images(20, 16, seed=3)
    b, sb = blob_images(20, 16, seed=3)
    assert np.array_equal(a, b) and np.array_equal(sa, sb)
    assert a.shape == (20, 16, 16) and set(np.unique(a)) <= {0, 1}
    assert not np.array_equal(a, blob_images(20, 16, seed=4)[0])


def test_scores_on_hand_made_images():
    ring = np.zeros((9, 9), np.uint8)
    ring[2:7, 2:7] = 1
    assert closedness_score(ring) == 1.0  # a filled square is already closed
    holey = ring.copy()
    holey[4, 4] = 0
    assert closedness_score(holey) == 24 / 25  # closing fills the one hole
    assert symmetry_score(ring) == 1.0
    half = np.zeros((6, 6), np.uint8)
    half[1:5, 1] = 1
    half[1, 2:5] = 1  # an L-shape: the mirror keeps the top bar and the two end columns
    reg_sym = symmetry_score(half)
    assert 0 < reg_sym < 1


def test_centred_blob_variant_labels_follow_its_scores():
    from tensorexpr.experiments.data import centred_closedness_score

    d = blobs("closedness", 60, 20, size=16, seed=1, recipe="centred")
    s = np.array([centred_closedness_score(x.numpy()) for x in d.X_train])
    lo, hi = d.meta["threshold"]
    assert (s[d.y_train.numpy() == 0] <= lo).all() and (s[d.y_train.numpy() == 1] >= hi).all()
    assert d.M == 2 and d.n_classes == 2
    with pytest.raises(DataError, match="Unknown blob task"):
        blobs("roundness")


def test_digits_and_teacher():
    d = digits(n_test=297, seed=0)
    assert d.X_train.shape == (1500, 8, 8) and d.n_classes == 10 and int(d.X_train.max()) == 1
    f = digits(seed=0, levels=None)
    assert f.X_train.shape == (1500, 1, 8, 8) and f.M is None
    t = teacher(te.ModeTree.grid(4, 4, geometry="mirror"), 100, 20, seed=2, shape=(4, 4))
    assert t.X_train.shape == (100, 4, 4)
    assert min(t.meta["class_balance"]) > 0  # median centring keeps both classes


def test_training_lowers_the_loss_on_a_teacher_task():
    r = train(TrainConfig(model="convac", epochs=4, seed=0, **TINY))
    assert r.history[-1]["train_loss"] < r.history[0]["train_loss"] < np.log(2) + 0.05
    assert r.history[-1]["test_acc"] > 0.6
    assert not r.nonfinite
    r2 = train(TrainConfig(model="relu", epochs=4, seed=0, **TINY))
    assert r2.history[-1]["train_loss"] < r2.history[0]["train_loss"]


def test_same_seed_same_metrics():
    a = train(TrainConfig(model="convac", epochs=2, seed=5, **TINY))
    b = train(TrainConfig(model="convac", epochs=2, seed=5, **TINY))
    assert a.metrics() == b.metrics()


@pytest.mark.parametrize("model", ["convac", "relu"])
def test_checkpoint_resumes_bit_for_bit(tmp_path, model):
    cfg = TrainConfig(model=model, epochs=3, seed=1, **TINY)
    full = train(cfg.replace(out_dir=str(tmp_path / "full")))
    part = train(cfg.replace(out_dir=str(tmp_path / "cut")), stop_after=1)  # "interrupted" after epoch 1
    assert len(part.history) == 1
    resumed = train(cfg.replace(out_dir=str(tmp_path / "cut")))
    assert resumed.resumed_from == 1
    assert resumed.metrics() == full.metrics()
    for (k, v), (k2, v2) in zip(full.model.state_dict().items(), resumed.model.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)
    metrics = json.loads((tmp_path / "cut" / "metrics.json").read_text())
    assert len(metrics["history"]) == 3
    assert (tmp_path / "cut" / "curves.png").stat().st_size > 1000
    with pytest.raises(ConfigError, match="different config"):
        train(cfg.replace(out_dir=str(tmp_path / "cut"), lr=0.5))


def test_trained_model_extracts_to_its_network():
    r = train(TrainConfig(model="convac", epochs=1, seed=0, **{**TINY, "geometry": "line:8"}))
    model = r.model.double()
    net = model.to_network()
    X = torch.cartesian_prod(*[torch.arange(2)] * 8)
    with torch.no_grad():
        y = model(X).exp().numpy()
    np.testing.assert_allclose(y[:, 0].reshape((2,) * 8), net.grid_tensor(), rtol=1e-10)


def test_bad_configs():
    with pytest.raises(ConfigError, match="model='mlp'"):
        TrainConfig(model="mlp")
    with pytest.raises(ConfigError, match="8x8"):
        TrainConfig(task="digits", geometry="grid:32x32:square")
    with pytest.raises(ConfigError, match="square grid"):
        TrainConfig(task="symmetry", geometry="line:64")
    with pytest.raises(te.GeometryError):
        TrainConfig(geometry="grid:32x32:diagonal")
    with pytest.raises(ConfigError, match="Unknown config fields"):
        TrainConfig.from_dict({"modle": "convac"})


def test_cli_train(tmp_path, capsys):
    from tensorexpr.cli import main

    rc = main(["train", "--model", "convac", "--geometry", "line:16", "--task", "teacher", "--widths", "4",
               "--epochs", "2", "--n-train", "128", "--n-test", "64", "--out", str(tmp_path), "--no-progress", "--json",
               "--device", "cpu"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["history"]) == 2 and out["files"]["curves"].endswith("curves.png")
    assert main(["train", "--geometry", "grid:32x32:square", "--task", "digits", "--no-progress"]) == 2


def test_import_tensorexpr_stays_light():
    import subprocess
    import sys

    code = "import sys, tensorexpr as te; assert 'torch' not in sys.modules; te.models.ConvAC; assert 'torch' in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_inductive_bias_example_smoke(tmp_path):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "inductive_bias.py"
    spec = importlib.util.spec_from_file_location("inductive_bias", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rep = mod.main(["--quick", "--out", str(tmp_path), "--no-progress", "--seeds", "2"])
    assert (tmp_path / "inductive_bias.png").exists() and (tmp_path / "results.md").exists()
    ranks = {(r["task"], r["geometry"], r["partition"]): r for r in rep["ranks"]}
    assert len(ranks) == 2 * 2 * len(mod.PARTITIONS)
    for task in ("closedness", "symmetry"):
        # [derived] oracles (docs/theory.md), quick run = 8x8 grid, M=2, widths 4, tied weights: a coarse partition of
        # the pooling tree has rank <= r_{L-1} = 4; with tied leaves each mixed first-level window contributes
        # min(r_0, M) = 2 to the specialization lower bound, over 16 windows: 2^16.
        assert ranks[(task, "square", "left_right")]["upper"] <= 4
        assert ranks[(task, "mirror", "mirror_left_right")]["upper"] <= 4
        assert ranks[(task, "square", "checkerboard")]["lower"] >= 2**16
        assert ranks[(task, "mirror", "left_right")]["lower"] >= 2**16
