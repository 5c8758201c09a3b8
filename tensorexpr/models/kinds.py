"""The trainable model kinds, torch-free, so that the command-line parser lists them without importing torch.

:class:`tensorexpr.experiments.TrainConfig` validates ``model`` against this tuple; the models themselves live
in :mod:`tensorexpr.models`.
"""

from __future__ import annotations

__all__ = ["MODEL_KINDS"]

MODEL_KINDS: tuple[str, ...] = (
    "convac", "relu",
    # structured tying (tensorexpr.models.group / learned_basis / attribute); patch* are untied baselines
    "p4", "p4-relu", "learned", "learned-relu", "patch", "patch-relu", "attribute", "attribute-relu",
    "scatlinear",  # scattering + linear baseline (tensorexpr.models.scattering)
)
