"""Singular spectra of ``[A]_{I,J}`` for networks and trained models: exact on product trees, certified lower
bounds from sampled sub-matrices everywhere else (see :func:`spectrum`)."""

from __future__ import annotations

from tensorexpr.spectra.compute import DEFAULT_MAX_BOND, DEFAULT_RTOL, SPECTRUM_METHODS, spectrum
from tensorexpr.spectra.result import KINDS, Spectrum, entanglement_entropy

__all__ = ["spectrum", "Spectrum", "entanglement_entropy", "SPECTRUM_METHODS", "DEFAULT_RTOL",
           "DEFAULT_MAX_BOND", "KINDS"]
