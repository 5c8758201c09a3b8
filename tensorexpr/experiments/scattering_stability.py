"""Numerical checks of what the seeds claim about ``S_J`` (and, for comparison, about trained CNNs).

With ``L_tau x(u) = x(u - tau(u))`` and ``L_a`` the translation by ``a`` (Mallat, CPAM 2012, Thm 2.10;
Bruna & Mallat, PAMI 2013; Oyallon's talk; docs/theory.md, "Scattering"):

.. math::
    \\|S_J x - S_J y\\| \\le \\|x - y\\|, \\qquad
    \\|S_J L_\\tau x - S_J x\\| \\le C \\|\\nabla\\tau\\|_\\infty \\|x\\|, \\qquad
    |a| \\ll 2^J \\Rightarrow S_J L_a x \\approx S_J x, \\qquad
    S_J(g.x)(u, \\lambda) = S_J x(g^{-1}u, g^{-1}\\lambda).

Norms. kymatio samples ``S_J x`` every ``2^J`` pixels, so the discrete norm that approximates the
continuous ``L^2`` norm is ``2^J ||S_J x||_{l^2}`` (each sample stands for a ``2^J x 2^J`` cell);
:func:`scattering_map` includes that factor, and the ratios below use it. For a trained model ``Phi`` is the
centred logit vector (logits minus their mean: softmax is invariant to that shift); its scale is
arbitrary, so models are compared through *relative* changes ``||Phi x' - Phi x|| / ||Phi x||`` against
``||x' - x|| / ||x||`` (the same quantity is reported for ``S_J``).

Everything here measures; nothing asserts. Deformations use bilinear ``grid_sample`` with zero padding
(the digits have a blank border).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch

__all__ = [
    "deform",
    "translate",
    "smooth_displacement",
    "gradient_norm",
    "scattering_map",
    "model_map",
    "nonexpansive_ratios",
    "deformation_ratios",
    "translation_curve",
    "rotation_error",
    "measure_stability",
    "StabilityReport",
]

ImageMap = Callable[[torch.Tensor], torch.Tensor]


def _flat_norm(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(t.shape[0], -1).double().norm(dim=1)


# -- transformations ----------------------------------------------------------------------------------------
def deform(x: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    """``L_tau x(u) = x(u - tau(u))``, bilinear, zero outside the image.

    Parameters
    ----------
    x : torch.Tensor
        Images ``(B, C, H, W)``.
    tau : torch.Tensor
        Displacements ``(B, 2, H, W)`` in pixels (``tau[:, 0]`` rows, ``tau[:, 1]`` columns).

    Returns
    -------
    torch.Tensor
        Same shape as ``x``.
    """
    B, C, H, W = x.shape
    rows = torch.arange(H, dtype=x.dtype, device=x.device).view(1, H, 1).expand(B, H, W)
    cols = torch.arange(W, dtype=x.dtype, device=x.device).view(1, 1, W).expand(B, H, W)
    src_r = rows - tau[:, 0].to(x.dtype)
    src_c = cols - tau[:, 1].to(x.dtype)
    grid = torch.stack([2 * src_c / (W - 1) - 1, 2 * src_r / (H - 1) - 1], dim=-1)  # (x=col, y=row)
    return torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def translate(x: torch.Tensor, a: Sequence[float]) -> torch.Tensor:
    """``L_a x(u) = x(u - a)`` (``a = (rows, cols)`` in pixels, possibly fractional; zero fill).

    Parameters
    ----------
    x : torch.Tensor
        Images ``(B, C, H, W)``.
    a : sequence of float
        ``(rows, cols)``.

    Returns
    -------
    torch.Tensor

    Examples
    --------
    >>> import torch
    >>> translate(torch.eye(3).view(1, 1, 3, 3), (0.0, 1.0))[0, 0].tolist()
    [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    """
    tau = torch.zeros(x.shape[0], 2, *x.shape[2:], dtype=x.dtype, device=x.device)
    tau[:, 0], tau[:, 1] = float(a[0]), float(a[1])
    return deform(x, tau)


def smooth_displacement(n: int, size: int, amplitude: float, smoothness: float = 6.0, seed: int = 0) -> torch.Tensor:
    """``n`` smooth random displacement fields: white noise blurred by a Gaussian, scaled to ``max |tau| = amplitude``.

    Parameters
    ----------
    n : int
    size : int
        Grid side.
    amplitude : float
        Largest displacement in pixels (per field).
    smoothness : float, optional
        Gaussian width in pixels (periodic boundary).
    seed : int, optional

    Returns
    -------
    torch.Tensor
        ``float32``, shape ``(n, 2, size, size)``.
    """
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 2, size, size))
    z = gaussian_filter(z, sigma=(0, 0, smoothness, smoothness), mode="wrap")
    z *= amplitude / np.abs(z).reshape(n, -1).max(1)[:, None, None, None]
    return torch.as_tensor(z, dtype=torch.float32)


def gradient_norm(tau: torch.Tensor) -> torch.Tensor:
    """``||grad tau||_inf``: the largest operator norm of the 2x2 Jacobian over the grid (central differences).

    Parameters
    ----------
    tau : torch.Tensor
        ``(B, 2, H, W)`` displacements.

    Returns
    -------
    torch.Tensor
        ``float64``, shape ``(B,)``.
    """
    g0 = torch.gradient(tau.double(), dim=(2, 3))  # d/drow, d/dcol of both components
    J = torch.stack([torch.stack([g0[0][:, 0], g0[1][:, 0]], -1), torch.stack([g0[0][:, 1], g0[1][:, 1]], -1)], -2)
    return torch.linalg.matrix_norm(J, ord=2).reshape(tau.shape[0], -1).amax(1)


# -- maps ------------------------------------------------------------------------------------------------------
def scattering_map(spec: str = "scattering:J=2,L=8") -> ImageMap:
    """``x -> 2^J S_J x``: kymatio's scattering with the norm factor of the module docstring.

    Parameters
    ----------
    spec : str, optional
        A scattering spec (see :func:`tensorexpr.models.scattering.parse_scattering`).

    Returns
    -------
    callable
        Images ``(B, C, H, W)`` -> scattering coefficients.

    Raises
    ------
    ScatteringUnavailable
        Without kymatio (the ``[scattering]`` extra).
    TensorExprError
        On a bad spec.

    References
    ----------
    Mallat, "Group Invariant Scattering", Comm. Pure Appl. Math. 2012, Thm. 2.10; Bruna & Mallat, "Invariant
    Scattering Convolution Networks", PAMI 2013.
    """
    from tensorexpr.models.scattering import ScatteringTransform, parse_scattering

    sp = parse_scattering(spec)
    T = ScatteringTransform(sp, cache_size=0)
    return lambda x: T(x) * (2.0 ** sp.J)


def model_map(model: Any) -> ImageMap:
    """``x -> logits(x) - mean(logits(x))`` of a trained model (eval mode, no grad, float64 on the CPU).

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    callable
    """
    def phi(x: torch.Tensor) -> torch.Tensor:
        model.eval()
        with torch.no_grad():
            out = model(x).double().cpu()
        return out - out.mean(1, keepdim=True)
    return phi


# -- measurements ------------------------------------------------------------------------------------------
def nonexpansive_ratios(phi: ImageMap, x: torch.Tensor, y: torch.Tensor) -> dict[str, np.ndarray]:
    """Per pair: ``||Phi x - Phi y|| / ||x - y||`` (absolute) and the relative version.

    The relative version is ``(||Phi x - Phi y|| / ||Phi x||) / (||x - y|| / ||x||)``.

    Parameters
    ----------
    phi : callable
        An image map (:func:`scattering_map`, :func:`model_map`).
    x, y : torch.Tensor
        Paired image batches.

    Returns
    -------
    dict of str to numpy.ndarray
        ``{"ratio", "relative"}``, one value per pair.

    References
    ----------
    Mallat, "Group Invariant Scattering", Comm. Pure Appl. Math. 2012, Thm. 2.10; Bruna & Mallat, "Invariant
    Scattering Convolution Networks", PAMI 2013.
    """
    px, py = phi(x), phi(y)
    d_out, d_in = _flat_norm(px - py), _flat_norm(x - y)
    rel = (d_out / _flat_norm(px)) / (d_in / _flat_norm(x))
    return {"ratio": (d_out / d_in).numpy(), "relative": rel.numpy()}


def deformation_ratios(phi: ImageMap, x: torch.Tensor, tau: torch.Tensor) -> dict[str, np.ndarray]:
    """Per image: ``||grad tau||``, the constant ``C``, the relative change and the pixel change under ``L_tau``.

    ``C = ||Phi L_tau x - Phi x|| / (||grad tau|| ||x||)``, relative ``||Phi L_tau x - Phi x|| / ||Phi x||``,
    pixel ``||L_tau x - x|| / ||x||``.

    Parameters
    ----------
    phi : callable
    x : torch.Tensor
        Images ``(B, C, H, W)``.
    tau : torch.Tensor
        Displacements ``(B, 2, H, W)``.

    Returns
    -------
    dict of str to numpy.ndarray
        ``{"grad", "C", "relative", "pixel_relative"}``.

    References
    ----------
    Mallat, "Group Invariant Scattering", Comm. Pure Appl. Math. 2012, Thm. 2.10; Bruna & Mallat, "Invariant
    Scattering Convolution Networks", PAMI 2013.
    """
    xd = deform(x, tau)
    px, pd = phi(x), phi(xd)
    g = gradient_norm(tau)
    d = _flat_norm(pd - px)
    return {"grad": g.numpy(), "C": (d / (g * _flat_norm(x))).numpy(), "relative": (d / _flat_norm(px)).numpy(),
            "pixel_relative": (_flat_norm(xd - x) / _flat_norm(x)).numpy()}


def translation_curve(phi: ImageMap, x: torch.Tensor, shifts: Sequence[float]) -> np.ndarray:
    """Mean relative change ``||Phi L_a x - Phi x|| / ||Phi x||`` for horizontal shifts ``a``.

    Parameters
    ----------
    phi : callable
    x : torch.Tensor
    shifts : sequence of float
        Column shifts in pixels.

    Returns
    -------
    numpy.ndarray
        One mean per shift.
    """
    px = phi(x)
    n = _flat_norm(px)
    return np.array([float((_flat_norm(phi(translate(x, (0.0, a))) - px) / n).mean()) for a in shifts])


def rotation_error(S_gx: torch.Tensor, gS_x: torch.Tensor) -> float:
    """Largest relative error ``||S(g.x) - g.S x|| / ||S x||`` over a batch.

    Parameters
    ----------
    S_gx : torch.Tensor
        The map of the rotated inputs.
    gS_x : torch.Tensor
        The rotated map of the inputs (its norm is the denominator).

    Returns
    -------
    float
    """
    return float((_flat_norm(S_gx - gS_x) / _flat_norm(gS_x)).max())


@dataclass(frozen=True)
class StabilityReport:
    """Summary numbers of one map (scattering or a model) on one image set.

    Parameters
    ----------
    name : str
    nonexpansive_max, nonexpansive_relative_max : float
        Largest absolute and relative ratios of :func:`nonexpansive_ratios`.
    deformation_C_max : float
    deformation_relative_mean, pixel_relative_mean : float
    translation : tuple of float
        :func:`translation_curve` at ``shifts``.
    shifts : tuple of float
    rotation90_relative : float
        Mean ``||Phi(rot90 x) - Phi x|| / ||Phi x||`` (invariance error).
    extra : dict, optional
    """

    name: str
    nonexpansive_max: float
    nonexpansive_relative_max: float
    deformation_C_max: float
    deformation_relative_mean: float
    pixel_relative_mean: float
    translation: tuple[float, ...]
    shifts: tuple[float, ...]
    rotation90_relative: float
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """A JSON-ready dict of the fields (tuples as lists).

        Returns
        -------
        dict
        """
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}

    def __repr__(self) -> str:
        return (f"StabilityReport({self.name}: ||Phi x-Phi y||/||x-y|| <= {self.nonexpansive_max:.3g}, "
                f"C_max={self.deformation_C_max:.3g}, deformation rel={self.deformation_relative_mean:.3g} "
                f"(pixels {self.pixel_relative_mean:.3g}), rot90 rel={self.rotation90_relative:.3g})")


def measure_stability(name: str, phi: ImageMap, x: torch.Tensor, y: torch.Tensor, tau: torch.Tensor,
                      shifts: Sequence[float]) -> tuple[StabilityReport, dict[str, Any]]:
    """All measurements of one map; returns the report and the raw per-sample arrays (for plots).

    Parameters
    ----------
    name : str
    phi : callable
    x, y : torch.Tensor
        Paired image batches.
    tau : torch.Tensor
        Displacements for ``x``.
    shifts : sequence of float

    Returns
    -------
    report : StabilityReport
    raw : dict
        ``{"nonexpansive", "deformation", "translation"}``.

    References
    ----------
    Mallat, "Group Invariant Scattering", Comm. Pure Appl. Math. 2012, Thm. 2.10; Bruna & Mallat, "Invariant
    Scattering Convolution Networks", PAMI 2013.
    """
    ne = nonexpansive_ratios(phi, x, y)
    de = deformation_ratios(phi, x, tau)
    tr = translation_curve(phi, x, shifts)
    px, pr = phi(x), phi(torch.rot90(x, 1, dims=(-2, -1)))
    rot = float((_flat_norm(pr - px) / _flat_norm(px)).mean())  # invariance error of the whole output
    rep = StabilityReport(name, float(ne["ratio"].max()), float(ne["relative"].max()), float(de["C"].max()),
                          float(de["relative"].mean()), float(de["pixel_relative"].mean()),
                          tuple(float(v) for v in tr), tuple(float(a) for a in shifts), rot)
    return rep, {"nonexpansive": ne, "deformation": de, "translation": tr}
