"""Rotation sensitivity: the normalized change of feature maps and outputs under input rotation.

The measure of Diaconu & Worrall (ICML 2019, Sec. on sensitivity), for a tree model with patch positions:

.. math::
    S_{out}(\\theta) = \\frac{\\lVert f(R_\\theta x) - f(x) \\rVert}{\\lVert f(x) - \\bar f(x) \\rVert},\\qquad
    S_{feat}(\\theta) = \\frac{\\lVert R_\\theta^{-1}\\, \\bar h(R_\\theta x) - \\bar h(x) \\rVert}{\\lVert \\bar h(x) - \\mathrm{mean}\\, \\bar h(x) \\rVert}

over a batch (Frobenius norms over the whole batch). Inputs are first zeroed outside the inscribed disk and
feature maps are compared on the grid cells inside it, so rotations by any angle lose no content. Here ``f`` are the outputs (``log h`` for a ConvAC,
logits for a ReLU net), ``h`` a hidden level's feature map on its ``S x S`` grid of nodes, ``\\bar h`` its
channels summed over the orientation index (so every model, p4 or plain, is compared on the same
orientation-free quantity: for plain models nothing is summed; where that sum cancels to float noise, as for a
p4 lift whose filters sum to zero over orientations, ``S_feat`` is undefined and reported as NaN), and ``R_theta^{-1}`` rotates the feature
map back (exact permutation for multiples of 90 degrees, linear interpolation otherwise). Inputs are rotated
with :func:`tensorexpr.experiments.rotate_images` (linear interpolation, zero fill). The normalization by the
centred norm makes the number scale-free (log-space ConvAC features have a large common offset).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

__all__ = ["rotation_sensitivity"]


def _rotate(X: np.ndarray, angle: float) -> np.ndarray:
    if angle % 90 == 0:
        return np.rot90(X, int(angle // 90) % 4, axes=(-2, -1)).copy()
    from scipy.ndimage import rotate

    return rotate(X, angle, axes=(-1, -2), reshape=False, order=1, mode="constant", cval=0.0)


def _grid_map(model: Any, h: torch.Tensor, stage: int) -> np.ndarray:
    """``(B, C, s, s)`` feature map of a stage whose nodes tile a square grid (orientation summed if p4)."""
    st = model.stages[stage]
    side = model.side
    B = h.shape[0]
    cells = []
    for n in st.nodes:
        rows = sorted({m // side for m in n})
        cols = sorted({m % side for m in n})
        cells.append((rows[0], cols[0], len(rows)))
    size = cells[0][2]
    s = side // size
    v = h.detach().double().cpu().numpy()
    orient = getattr(model, "_orientations", None)
    if orient:
        v = v.reshape(B, v.shape[1], orient, -1).sum(2)
    out = np.zeros((B, v.shape[-1], s, s))
    for j, (r, c, _) in enumerate(cells):
        out[:, :, r // size, c // size] = v[:, j]
    return out


def _disk(n: int) -> np.ndarray:
    """Cells of an ``n x n`` grid whose centres lie in the inscribed disk."""
    c = np.arange(n) + 0.5 - n / 2
    return (c[:, None] ** 2 + c[None, :] ** 2) <= (n / 2) ** 2


def rotation_sensitivity(model: Any, X: torch.Tensor, angles: Sequence[float] = (90.0, 45.0),
                         stages: Sequence[int] | None = None) -> dict[str, dict[str, float]]:
    """``{angle: {"output": S_out, "stage{i}": S_feat, ...}}`` for images ``X (B, C, H, W)`` (see the module docstring).

    Parameters
    ----------
    model : TiedTreeModel
        A patch tree model with ``hidden`` (p4, patch, attribute or learned-basis models); put in eval mode.
    X : torch.Tensor
        Square images ``(B, C, H, W)``; zeroed outside the inscribed disk first.
    angles : sequence of float, optional
        Degrees; keys of the result are ``f"{angle:g}"``.
    stages : sequence of int, optional
        Stages whose feature maps are compared; default the leaf stage and the last stage below the root.

    Returns
    -------
    dict of str to dict of str to float
        ``S_feat`` is NaN where the orientation sum cancels to float noise.

    References
    ----------
    Diaconu & Worrall, "Learning to Convolve: A Generalized Weight-Tying Approach", ICML 2019.
    """
    model.eval()
    Xn = X.detach().cpu().numpy() * _disk(X.shape[-1])  # rotations then lose no content
    stages = list(stages) if stages is not None else sorted({0, len(model.stages) - 2})
    with torch.no_grad():
        base = model.hidden(torch.as_tensor(Xn, dtype=X.dtype))
        out0 = base[-1][:, 0].double().cpu().numpy()
        maps0 = {i: _grid_map(model, base[i], i) for i in stages}
        res: dict[str, dict[str, float]] = {}
        for a in angles:
            Xr = torch.as_tensor(_rotate(Xn, a), dtype=X.dtype)
            hr = model.hidden(Xr)
            out = hr[-1][:, 0].double().cpu().numpy()
            row = {"output": float(np.linalg.norm(out - out0) / max(np.linalg.norm(out0 - out0.mean()), 1e-300))}
            for i in stages:
                back = _rotate(_grid_map(model, hr[i], i), -a)
                ref = maps0[i]
                d = _disk(ref.shape[-1])
                back, ref = back[..., d], ref[..., d]
                spread = np.linalg.norm(ref - ref.mean())
                raw = float(base[i].double().norm())  # the stage before summing orientations
                # an orientation sum that cancels (zero-sum lift filters) leaves float noise over float noise
                noise = 100 * float(torch.finfo(base[i].dtype).eps) * max(raw, 1e-300)
                row[f"stage{i}"] = (float("nan") if spread <= noise
                                    else float(np.linalg.norm(back - ref) / max(spread, 1e-300)))
            res[f"{a:g}"] = row
    return res
