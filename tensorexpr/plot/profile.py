"""Profiles drawn as PNGs: one column per profile, one row per partition (mask and log-rank bar)."""

from __future__ import annotations

from typing import Sequence

from tensorexpr.bounds.profile import Profile
from tensorexpr.core.backends import require
from tensorexpr.core.errors import PartitionError

__all__ = ["plot_profiles"]


def _pow2_ticks(xmax: float) -> list[float]:
    """log2 positions for ticks: 0, 4 (rank 16), then a power-of-2 step of the exponent up to ``xmax``."""
    step = 4.0
    while xmax / step > 6:
        step *= 2
    ticks = ([0.0] if xmax <= 24 else []) + [4.0] + [k * step for k in range(1, int(xmax // step) + 1)]
    return sorted({t for t in ticks if t <= max(xmax, 4.0)})


def _tick_label(t: float) -> str:
    return "1" if t == 0 else str(2 ** int(t)) if t <= 4 else f"2^{int(t)}"


def plot_profiles(profiles: Sequence[Profile], path: str, titles: Sequence[str] | None = None) -> str:
    """Draw profiles side by side (e.g. square vs mirror pooling) into one PNG; returns ``path``.

    Each profile is a column of rows, one per partition: the partition mask (2-D geometries) and a bar of
    ``log2`` rank (certified value, or the interval as a solid lower and hatched upper part) against the
    maximum ``log2 min(T^|I|, T^|J|)`` drawn as a tick.

    Parameters
    ----------
    profiles : sequence of Profile
        One panel each (partition masks beside their log2 intervals).
    path : str
        Where the PNG goes.
    titles : sequence of str, optional

    Returns
    -------
    str
        ``path``.

    Raises
    ------
    MissingExtraError
        Without matplotlib (the ``[plot]`` extra).
    """
    matplotlib = require("matplotlib", "plot", "plot_profiles")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not profiles:
        raise PartitionError("plot_profiles needs at least one profile.")
    titles = list(titles) if titles is not None else [p.network for p in profiles]
    n_rows = max(len(p.partitions) for p in profiles)
    has_mask = any(p.shape is not None for p in profiles)
    n_cols = len(profiles) * (2 if has_mask else 1)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(4.2 * len(profiles) + (1.4 * len(profiles) if has_mask else 0),
                                                      0.9 * n_rows + 1.0), squeeze=False,
                             gridspec_kw={"width_ratios": ([1, 4] if has_mask else [1]) * len(profiles)})
    xmax = max(max(p.max_log2) for p in profiles) or 1.0
    for j, prof in enumerate(profiles):
        bounds = prof.log2_bounds()
        for i in range(n_rows):
            ax_bar = axes[i, 2 * j + 1] if has_mask else axes[i, j]
            ax_mask = axes[i, 2 * j] if has_mask else None
            if i >= len(prof.partitions):
                ax_bar.axis("off")
                if ax_mask is not None:
                    ax_mask.axis("off")
                continue
            P, c = prof.partitions[i], prof.certificates[i]
            lo, up = bounds[i]
            if ax_mask is not None:
                if prof.shape is not None:
                    ax_mask.imshow(P.mask(prof.shape), cmap="gray_r", interpolation="nearest")
                ax_mask.set_xticks([])
                ax_mask.set_yticks([])
            ax_bar.barh([0], [max(lo, 0)], color="tab:blue" if c.certified else "tab:gray")
            if not c.certified:
                ax_bar.barh([0], [up - max(lo, 0)], left=[max(lo, 0)], color="none", edgecolor="tab:gray", hatch="//")
            ax_bar.axvline(prof.max_log2[i], color="tab:red", lw=1)
            ax_bar.set_xlim(0, xmax * 1.05)
            ax_bar.set_yticks([])
            from tensorexpr.core.numbers import format_count

            label = f"{P.name}: " + (format_count(c.lower) if c.certified
                                     else f"[{format_count(c.lower)}, {format_count(c.upper)}]")
            ax_bar.text(0.01 * xmax, 0, label, va="center", fontsize=7)
            ticks = _pow2_ticks(xmax)
            ax_bar.set_xticks(ticks)
            ax_bar.set_xticklabels([] if i < n_rows - 1 else [_tick_label(t) for t in ticks], fontsize=7)
            if i == n_rows - 1:
                ax_bar.set_xlabel("rank (log scale; red line: largest possible)")
        (axes[0, 2 * j + 1] if has_mask else axes[0, j]).set_title(titles[j], fontsize=9)
    from matplotlib.patches import Patch

    fig.legend(handles=[Patch(color="tab:blue", label="certified rank"),
                        Patch(color="tab:gray", label="proved lower bound (interval open)"),
                        Patch(facecolor="none", edgecolor="tab:gray", hatch="//", label="interval up to the upper bound")],
               loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
