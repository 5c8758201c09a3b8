"""Helpers for testing scattering-hybrid models against their extracted networks."""

from __future__ import annotations

from typing import Any

import numpy as np


def forward_on_templates(model: Any) -> np.ndarray:
    """The model's output on every template input, ``exp`` of it for a ConvAC (log-space) model.

    Computed from the per-position coefficient vectors: the representation's spatial path is switched off for
    the call (``rep.spatial = False``) and restored after.

    Parameters
    ----------
    model : torch.nn.Module
        A scattering-hybrid :class:`~tensorexpr.models.ConvAC` or :class:`~tensorexpr.models.ReLUNet`.

    Returns
    -------
    numpy.ndarray
        ``float64``, shape ``(T^N, outputs)``, rows in the order of :func:`tensorexpr.models.template_inputs`.
    """
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
