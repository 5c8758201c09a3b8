"""Measurements of the scattering transform's stability claims (Mallat 2012; Bruna & Mallat 2013; Oyallon),
applied to any image map ``Phi``: the scattering transform or a trained model (docs/theory.md, "Scattering").

The representation layer itself lives in :mod:`tensorexpr.models.scattering`.
"""

from __future__ import annotations

from .stability import (
    StabilityReport,
    deform,
    gradient_norm,
    measure_stability,
    model_map,
    nonexpansive_ratios,
    deformation_ratios,
    rotation_error,
    scattering_map,
    smooth_displacement,
    translate,
    translation_curve,
)

__all__ = [
    "StabilityReport",
    "deform",
    "gradient_norm",
    "measure_stability",
    "model_map",
    "nonexpansive_ratios",
    "deformation_ratios",
    "rotation_error",
    "scattering_map",
    "smooth_displacement",
    "translate",
    "translation_curve",
]
