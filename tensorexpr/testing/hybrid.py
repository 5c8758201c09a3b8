"""Helpers for testing scattering-hybrid models against their extracted networks."""

from __future__ import annotations

from typing import Any

import numpy as np


def forward_on_templates(model: Any) -> np.ndarray:
    """The model's output on every template input ``(T^N, outputs)``, ``exp`` for a ConvAC (log-space) model,
    computed from the per-position coefficient vectors (the representation's spatial path switched off)."""
    import torch

    from tensorexpr.models import ConvAC, template_inputs

    _, X = template_inputs(model)
    rep = model.representation
    rep.spatial = False  # feed the per-position (scaled) coefficient vectors directly
    try:
        out = model(X.float())
    finally:
        del rep.spatial
    log_space = getattr(model, "log_space", isinstance(model, ConvAC))  # ConvACs output log h
    out = torch.exp(out) if log_space else out
    return out.detach().double().cpu().numpy()
