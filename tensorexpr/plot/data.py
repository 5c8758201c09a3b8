"""Heat maps of a data set's entanglement per mode-tree node (docs/data.md)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensorexpr.core.backends import require

__all__ = ["plot_geometry_fits", "level_maps"]


def level_maps(fit: Any, shape: tuple[int, int]) -> dict[int, np.ndarray]:
    """One ``h x w`` image per node size (a tree level, on the regular trees): each pixel holds the entropy of
    the measured node of that size containing it, NaN where there is none.

    Parameters
    ----------
    fit : GeometryFit
        From :func:`tensorexpr.data.geometry_fit`; its ``per_node`` maps a node's modes to its entropy.
    shape : (int, int)
        The image shape ``(h, w)`` the modes live on (mode ``m = i * w + j``).

    Returns
    -------
    dict of int to numpy.ndarray
        Node size to an ``h x w`` float image, in increasing size.
    """
    h, w = shape
    out: dict[int, np.ndarray] = {}
    for node, e in fit.per_node.items():
        img = out.setdefault(len(node), np.full(h * w, np.nan))
        img[sorted(node)] = e
    return {size: img.reshape(h, w) for size, img in sorted(out.items())}


def plot_geometry_fits(fits: Sequence[Any], shape: tuple[int, int], path: str) -> None:
    """One row per geometry, one panel per tree level: the entanglement entropy of each canonical partition.

    Parameters
    ----------
    fits : sequence of GeometryFit
        From :func:`tensorexpr.data.geometry_fit` or :func:`tensorexpr.data.rank_geometries`.
    shape : (int, int)
        The image shape the modes live on (``(1, N)`` for sequences).
    path : str
        The PNG to write.

    Raises
    ------
    MissingExtraError
        If matplotlib is not installed (the ``[plot]`` extra).
    """
    matplotlib = require("matplotlib", "plot", "plot_geometry_fits")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [level_maps(f, shape) for f in fits]
    n_cols = max(len(r) for r in rows)
    vmax = max(max(f.per_node.values()) for f in fits)
    fig, axes = plt.subplots(len(fits), n_cols, figsize=(2.6 * n_cols, 2.6 * len(fits)), squeeze=False)
    for i, (f, maps) in enumerate(zip(fits, rows)):
        for j in range(n_cols):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= len(maps):
                ax.axis("off")
                continue
            size, img = list(maps.items())[j]
            im = ax.imshow(img, vmin=0, vmax=vmax, cmap="viridis")
            ax.set_title(f"nodes of {size} features", fontsize=8)
            if j == 0:
                ax.set_ylabel(f"{f.geometry}\nmean {f.total:.3f}", fontsize=8)
    fig.colorbar(im, ax=axes, shrink=0.6, label="entanglement entropy")
    fig.suptitle("Entanglement of the data under each canonical partition (lower fits better)", fontsize=9)
    fig.savefig(path, dpi=120)
    plt.close(fig)
