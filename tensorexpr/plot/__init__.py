"""Plots (the ``[plot]`` extra, matplotlib): profiles, spectra and data-fit heat maps, drawn to PNG files.

matplotlib is imported when a plot is drawn, never on ``import tensorexpr.plot``.
"""

from __future__ import annotations

from tensorexpr.plot.data import plot_geometry_fits
from tensorexpr.plot.profile import plot_profiles
from tensorexpr.plot.spectra import plot_spectra

__all__ = ["plot_profiles", "plot_spectra", "plot_geometry_fits"]
