"""A representation layer from its name or spec: the registry of :mod:`tensorexpr.models.layers` plus the
parametrized scattering layer of :mod:`tensorexpr.models.scattering` (kept here, above both, so neither imports
the other)."""

from __future__ import annotations

from tensorexpr.core.errors import NetworkError
from tensorexpr.models.layers import REPRESENTATIONS, OneHot, Representation

__all__ = ["make_representation"]


def make_representation(rep: str | Representation, M: int, in_features: int = 1, seed: int | None = None) -> Representation:
    """A representation layer from a registry name, or a checked ready-made instance.

    Parameters
    ----------
    rep : str or Representation
        A key of :data:`REPRESENTATIONS`, a scattering spec (``"scattering:J=2,L=8"``), or an instance.
    M : int
    in_features : int, optional
    seed : int, optional

    Returns
    -------
    Representation

    Raises
    ------
    NetworkError
        On an unknown name, an instance whose ``M`` differs, or bad ``M`` / ``in_features``.
    ScatteringUnavailable
        For a scattering spec without kymatio.

    Examples
    --------
    >>> make_representation("one_hot", 3).default_templates().ravel().tolist()
    [0, 1, 2]
    """
    if isinstance(rep, Representation):
        if rep.M != M:
            raise NetworkError(
                f"The representation layer has M={rep.M} functions but the model was given M={M}; they must match "
                f"(the leaf 1x1 conv reads the M representation channels)."
            )
        return rep
    if isinstance(rep, str) and rep.startswith("scattering"):  # "scattering:J=2,L=8": a parametrized layer
        from tensorexpr.models.scattering import Scattering

        return Scattering.from_spec(rep, M, in_features, seed)
    if rep not in REPRESENTATIONS:
        raise NetworkError(f"Unknown representation {rep!r}; expected one of {sorted(REPRESENTATIONS)} or "
                           f"'scattering:J=2,L=8'.")
    cls = REPRESENTATIONS[rep]
    if cls is OneHot:
        return OneHot(M, in_features)
    return cls(M, in_features, seed=seed)
