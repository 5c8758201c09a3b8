"""Spectra drawn as PNGs: ``sigma_k / sigma_1`` on a log scale (dashed: certified lower bounds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tensorexpr.core.backends import require
from tensorexpr.spectra.result import Spectrum

__all__ = ["plot_spectra"]


def plot_spectra(spectra: Sequence[Spectrum], labels: Sequence[str] | None = None, path: str | Path | None = None,
                 ax: Any = None, title: str = "") -> Any:
    """Several spectra on one log-scale axis (dashed: lower bounds), with the tolerance lines.

    Parameters
    ----------
    spectra : sequence of Spectrum
        From :func:`tensorexpr.spectrum`; each is drawn normalized by its largest singular value.
    labels : sequence of str, optional
        One legend entry per spectrum; default ``"<partition> (<kind>)"``.
    path : str or Path, optional
        The PNG to write (ignored when ``ax`` is given).
    ax : matplotlib Axes, optional
        Draw into this axis instead of a new figure.
    title : str, optional
        The axis title.

    Returns
    -------
    Axes or Path
        ``ax`` when one is given or no ``path``; else the written PNG's path.

    Raises
    ------
    MissingExtraError
        matplotlib is not installed (the ``[plot]`` extra).
    """
    matplotlib = require("matplotlib", "plot", "plot_spectra")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, sp in enumerate(spectra):
        lab = labels[i] if labels else f"{sp.partition} ({sp.kind})"
        ls = "--" if sp.kind == "lower-bound" else "-"
        y = sp.normalized if sp.normalized.size else np.array([np.nan])
        ax.semilogy(np.arange(1, y.size + 1), np.maximum(y, 1e-300), ls, marker=".", label=lab)
    tols = sorted({sp.rtol for sp in spectra})
    for t in tols:
        ax.axhline(t, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("k")
    ax.set_ylabel(r"$\sigma_k / \sigma_1$")
    ax.set_title(title or "singular spectra of $[A]_{I,J}$ (dashed: certified lower bounds)")
    ax.legend(fontsize=7)
    if not own:
        return ax
    fig.tight_layout()
    if path is None:
        return ax
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
