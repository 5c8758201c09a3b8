"""Rotation sensitivity (``tensorexpr/models/sensitivity.py``): zero at 90 degrees for the p4 models only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tensorexpr as te


@pytest.mark.slow
def test_rotation_sensitivity_is_zero_at_90_degrees_for_p4_only():
    X = torch.rand(6, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    kw = dict(M=3, widths=2, outputs=3, kernel=2, representation="gaussian", device="cpu")
    for cls in (te.models.P4ConvAC, te.models.P4ReLUNet):
        m = cls(te.ModeTree.grid(8, 8), **kw)
        s = te.models.rotation_sensitivity(m, X, angles=(90, 180, 30))
        for angle in ("90", "180"):
            assert s[angle]["output"] < 1e-4
            for k, v in s[angle].items():  # NaN: the orientation-summed map cancels (zero-sum lift, checked below)
                assert v < 1e-4 or (np.isnan(v) and k == "stage0" and cls is te.models.P4ReLUNet), (cls, angle, k, v)
        assert s["30"]["output"] > 1e-3  # interpolated rotations are not symmetries of the pixel grid
    with torch.no_grad():  # why stage0 is NaN for the ReLU net: its lifted channels sum to ~0 over orientations
        h0 = m.hidden(X)[0].double()
    summed = h0.reshape(h0.shape[0], h0.shape[1], 4, -1).sum(2)
    assert float(summed.abs().max()) < 1e-6 * float(h0.abs().max())
    s = te.models.rotation_sensitivity(te.models.PatchReLUNet(te.ModeTree.grid(8, 8), **kw), X, angles=(90,))
    assert s["90"]["output"] > 1e-2 and s["90"]["stage0"] > 1e-2
