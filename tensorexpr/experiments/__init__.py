"""Experiments with trainable models (needs torch): data sets, training, configs.

``te.experiments.train(TrainConfig(...)) -> TrainResult``; data: ``blobs``, ``digits``, ``teacher``.
"""

from __future__ import annotations

import importlib
from typing import Any

from .config import ConfigError, MODEL_KINDS, TrainConfig  # torch-free: the CLI parser reads these

# torch-backed names load on first use, so that `tensorexpr --help` and the calculator never import torch
_LAZY = {
    **{n: "data" for n in ("TASKS", "Dataset", "DataError", "blob_images", "blobs", "closedness_score", "digits",
                           "symmetry_score", "teacher")},
    **{n: "digits32" for n in ("ROTATIONS", "digit_images32", "digits32", "rotate_images")},
    **{n: "train" for n in ("TrainResult", "evaluate", "make_dataset", "make_model", "plot_curves", "train")},
}


def __getattr__(name: str) -> Any:  # PEP 562
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "TrainConfig",
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
