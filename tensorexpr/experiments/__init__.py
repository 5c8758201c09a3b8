"""Experiments with trainable models (needs torch): data sets, training, configs.

``te.experiments.train(TrainConfig(...)) -> TrainResult``; data: ``blobs``, ``digits``, ``teacher``.
"""

from __future__ import annotations

from tensorexpr.experiments.checkpoint import CheckpointError, load
from tensorexpr.experiments.config import ConfigError, MODEL_KINDS, TrainConfig
from tensorexpr.experiments.data import TASKS, Dataset, DataError, blob_images, blobs, closedness_score, digits, symmetry_score, teacher
from tensorexpr.experiments.digits32 import ROTATIONS, digit_images32, digits32, rotate_images
from tensorexpr.experiments.train import TrainResult, evaluate, make_dataset, make_model, plot_curves, train

__all__ = [
    "TrainConfig",
    "load",
    "CheckpointError",
    "ConfigError",
    "MODEL_KINDS",
    "train",
    "TrainResult",
    "evaluate",
    "make_dataset",
    "make_model",
    "plot_curves",
    "Dataset",
    "DataError",
    "TASKS",
    "blobs",
    "blob_images",
    "closedness_score",
    "symmetry_score",
    "digits",
    "teacher",
    "digits32",
    "digit_images32",
    "rotate_images",
    "ROTATIONS",
]
