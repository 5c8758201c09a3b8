"""Singular spectra of ``[A]_{I,J}`` for networks and trained models: exact on product trees, certified lower
bounds from sampled sub-matrices everywhere else (see :func:`spectrum`)."""

from __future__ import annotations

from .compute import DEFAULT_MAX_BOND, DEFAULT_RTOL, SPECTRUM_METHODS, spectrum
from .result import KINDS, Spectrum, entanglement_entropy, plot_spectra

__all__ = ["spectrum", "Spectrum", "entanglement_entropy", "plot_spectra", "SPECTRUM_METHODS", "DEFAULT_RTOL",
           "DEFAULT_MAX_BOND", "KINDS"]


class _CallableModule(__import__("types").ModuleType):
    """``te.spectrum`` is the function, but importing a submodule (``tensorexpr.spectrum.exact``) makes the import
    system rebind ``tensorexpr.spectrum`` to this package; calling the package forwards to :func:`spectrum`, so
    ``te.spectrum(net, P)`` works either way."""

    def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return spectrum(*args, **kwargs)


__import__("sys").modules[__name__].__class__ = _CallableModule
