"""Checkpoints (``tensorexpr/experiments/checkpoint.py``): ``te.experiments.load`` on a missing, damaged or foreign
run directory is a :class:`CheckpointError` naming the file (rows of docs/errors.md)."""

from __future__ import annotations

import pytest
import torch

import tensorexpr as te
from tensorexpr.experiments import TrainConfig, train

TINY = dict(geometry="line:8", task="teacher", widths=2, n_train=32, n_test=16, batch_size=16, progress=False,
            device="cpu", epochs=1)


def _damaged_weights(d):
    train(TrainConfig(model="convac", seed=0, out_dir=str(d / "run"), **TINY))
    state = torch.load(d / "run" / "checkpoint.pt", map_location="cpu", weights_only=False)
    state["model"] = {k: torch.zeros(3, 3, 3) for k in state["model"]}  # weights of another shape
    torch.save(state, d / "run" / "checkpoint.pt")
    return te.experiments.load(d / "run", device="cpu")


def _foreign(d):
    torch.save({"weights": [1, 2]}, d / "foreign.pt")
    return te.experiments.load(d / "foreign.pt")


def _corrupt(d):
    (d / "checkpoint.pt").write_bytes(b"not a checkpoint")
    return te.experiments.load(d)


ERROR_ROWS = [
    ("checkpoint-missing", lambda d: te.experiments.load(d / "nonexistent")),
    ("checkpoint-missing-file", lambda d: te.experiments.load(d)),
    ("checkpoint-corrupt", _corrupt),
    ("checkpoint-foreign", _foreign),
    ("checkpoint-weights-mismatch", _damaged_weights),
]


@pytest.mark.parametrize("row, call", ERROR_ROWS, ids=[r for r, _ in ERROR_ROWS])
def test_checkpoint_mistakes_of_the_errors_page(row, call, tmp_path, check_error_row):
    check_error_row(row, lambda: call(tmp_path))


def test_a_good_checkpoint_loads(tmp_path):
    """The control for the rows above: the undamaged run loads, and its network is what the model extracts."""
    r = train(TrainConfig(model="convac", seed=0, out_dir=str(tmp_path / "run"), **TINY))
    model = te.experiments.load(tmp_path / "run", device="cpu")
    assert model.to_network().n_modes == 8 and r.n_params == sum(p.numel() for p in model.parameters())
