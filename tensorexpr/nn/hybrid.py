"""Layers for hybrid and attribute CNNs, traced by :func:`tensorexpr.from_torch` (docs/cnn_hybrid.md).

:class:`FrontEnd` wraps a *fixed* feature map (a scattering transform, Oyallon et al., ICCV 2017) with a
fitted per-channel standardization; the tracer reads it as the representation, so the grid tensor of a
``nn.Sequential(FrontEnd(...), cnn...)`` is the CNN on coefficient fields made of templates (coefficient
vectors). :class:`AttributeConv2d` convolves along the channel (attribute) axis as well as space, with
weights tied across attribute positions (Jacobsen et al., 2017); the tracer keeps the ties.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from tensorexpr.core.errors import NetworkError

__all__ = ["FrontEnd", "AttributeConv2d"]


def _positive(v: Any, what: str, lo: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise NetworkError(f"{what} must be an int >= {lo}, got {v!r}.")
    return int(v)


class FrontEnd(nn.Module):
    """A fixed feature map followed by a fitted standardization: ``y = (transform(x) - mean) / std``.

    Parameters
    ----------
    transform : torch.nn.Module
        Fixed (no trained parameters), ``(B, C, H, W) -> (B, K, h, w)``, e.g.
        ``tensorexpr.models.ScatteringTransform``. Each output position is a function of an input patch.
    channels : int
        ``K``, the transform's output channels.

    Raises
    ------
    NetworkError
        When ``transform`` is not a module, has trainable parameters, or ``channels`` is not positive.

    Notes
    -----
    ``from_torch`` reads a leading ``FrontEnd`` as the representation: the modes are the ``h x w`` output
    positions and the templates are ``(M, K)`` coefficient vectors (e.g. :meth:`fit_templates`), so the grid
    tensor is the network *after* the front end on every coefficient field made of templates
    (docs/cnn_hybrid.md). The transform itself is not polynomial and is not traced.

    Examples
    --------
    >>> fe = FrontEnd(torch.nn.AvgPool2d(2), 1)
    >>> tuple(fe(torch.ones(3, 1, 4, 4)).shape)
    (3, 1, 2, 2)
    """

    def __init__(self, transform: nn.Module, channels: int) -> None:
        super().__init__()
        if not isinstance(transform, nn.Module):
            raise NetworkError(f"FrontEnd needs a torch.nn.Module transform, got {type(transform).__name__}.")
        if any(p.requires_grad for p in transform.parameters()):
            raise NetworkError(f"FrontEnd: {type(transform).__name__} has trainable parameters; the front end is "
                               f"fixed. Hint: freeze them (p.requires_grad_(False)) or put the layer in the CNN.")
        self.transform = transform
        self.channels = _positive(channels, "FrontEnd channels")
        self.register_buffer("mean", torch.zeros(self.channels))
        self.register_buffer("std", torch.ones(self.channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The fixed transform of ``x``, standardized per channel: ``(transform(x) - mean) / std``.

        Parameters
        ----------
        x : torch.Tensor
            Images ``(B, C, H, W)`` in the transform's input format.

        Returns
        -------
        torch.Tensor
            ``(B, channels, h, w)``; no gradient flows into the transform.

        Raises
        ------
        NetworkError
            The transform's output is not ``(B, channels, h, w)``.
        """
        with torch.no_grad():
            s = self.transform(x).to(x.dtype)
        if s.dim() != 4 or s.shape[1] != self.channels:
            raise NetworkError(f"FrontEnd: the transform gave shape {tuple(s.shape)}, expected (B, {self.channels}, "
                               f"h, w).")
        return (s - self.mean.to(x.dtype)[None, :, None, None]) / self.std.to(x.dtype)[None, :, None, None]

    def fit(self, images: torch.Tensor) -> "FrontEnd":
        """Set ``mean`` and ``std`` per channel from ``images`` (over images and positions); returns self.

        Parameters
        ----------
        images : torch.Tensor
            ``(n, C, H, W)`` training images.

        Returns
        -------
        FrontEnd
        """
        with torch.no_grad():
            s = self.transform(images.float()).double()
            self.mean.copy_(s.mean((0, 2, 3)).float())
            self.std.copy_(s.std((0, 2, 3)).clamp_min(1e-6).float())
        return self

    def fit_templates(self, images: torch.Tensor, M: int, seed: int = 0, max_vectors: int = 20000) -> torch.Tensor:
        """``M`` templates for ``from_torch``: k-means centroids of the front end's output vectors on ``images``.

        Parameters
        ----------
        images : torch.Tensor
            ``(n, C, H, W)``.
        M : int
            Templates.
        seed : int, optional
        max_vectors : int, optional
            Coefficient vectors sampled (seeded) before k-means.

        Returns
        -------
        torch.Tensor
            ``(M, K)`` float64 coefficient vectors (standardized, as the CNN sees them).

        Raises
        ------
        NetworkError
            When ``M`` is not in ``1..#vectors``.
        """
        from sklearn.cluster import KMeans

        with torch.no_grad():
            v = self(images.float()).permute(0, 2, 3, 1).reshape(-1, self.channels).double().numpy()
        rng = np.random.default_rng(seed)
        if len(v) > max_vectors:
            v = v[rng.choice(len(v), max_vectors, replace=False)]
        if isinstance(M, bool) or not isinstance(M, int) or not 1 <= M <= len(v):
            raise NetworkError(f"FrontEnd.fit_templates: M={M!r} must be an int in 1..{len(v)} (the vectors).")
        km = KMeans(n_clusters=M, n_init=3, random_state=seed).fit(v)
        return torch.as_tensor(km.cluster_centers_, dtype=torch.float64)

    def extra_repr(self) -> str:
        """The module's settings in its ``repr``.

        Returns
        -------
        str
            ``channels``.
        """
        return f"channels={self.channels}"


class AttributeConv2d(nn.Module):
    """A convolution over (attribute, height, width): channels ``f * L + l`` are feature ``f`` at attribute ``l``.

    ``y[b, o * L' + l', i, j] = bias[o] + sum_{f, t, u, v} weight[o, f, t, u, v] x[b, f * L + l' s_a - p_a + t,
    i s + u - p, j s + v - p]`` (out-of-range attributes and pixels read 0): a ``Conv3d`` over the input viewed
    as ``(B, in_features, L, H, W)``, so one kernel slides along the attribute axis (weights and bias tied
    across attribute positions).

    Parameters
    ----------
    in_features, out_features : int
    attributes : int
        ``L``, the attribute positions of the input (``in_channels = in_features * L``).
    attr_kernel : int
        Kernel length along the attribute axis.
    kernel_size : int
        Spatial kernel side.
    padding, attr_padding, stride, attr_stride : int, optional
        Zero padding and stride, spatial and along the attribute axis.
    bias : bool, optional

    Raises
    ------
    NetworkError
        On a non-positive size, or an attribute kernel longer than the padded attribute axis.

    References
    ----------
    Jacobsen, Oyallon, Mallat & Smeulders, "Multiscale Hierarchical Convolutional Networks", 2017;
    docs/theory.md ("attribute axis"), docs/cnn_hybrid.md.

    Examples
    --------
    >>> m = AttributeConv2d(1, 2, attributes=4, attr_kernel=3, kernel_size=3, padding=1, attr_padding=1)
    >>> tuple(m(torch.zeros(1, 4, 5, 5)).shape), m.out_attributes
    ((1, 8, 5, 5), 4)
    """

    def __init__(self, in_features: int, out_features: int, attributes: int, attr_kernel: int, kernel_size: int,
                 padding: int = 0, attr_padding: int = 0, stride: int = 1, attr_stride: int = 1,
                 bias: bool = True) -> None:
        super().__init__()
        self.in_features = _positive(in_features, "AttributeConv2d in_features")
        self.out_features = _positive(out_features, "AttributeConv2d out_features")
        self.attributes = _positive(attributes, "AttributeConv2d attributes")
        self.attr_kernel = _positive(attr_kernel, "AttributeConv2d attr_kernel")
        self.kernel_size = _positive(kernel_size, "AttributeConv2d kernel_size")
        self.padding = _positive(padding, "AttributeConv2d padding", 0)
        self.attr_padding = _positive(attr_padding, "AttributeConv2d attr_padding", 0)
        self.stride = _positive(stride, "AttributeConv2d stride")
        self.attr_stride = _positive(attr_stride, "AttributeConv2d attr_stride")
        span = self.attributes + 2 * self.attr_padding - self.attr_kernel
        if span < 0:
            raise NetworkError(f"AttributeConv2d: attr_kernel={attr_kernel} is longer than the {attributes} attributes "
                               f"plus padding {attr_padding} on each side.")
        self.out_attributes = span // self.attr_stride + 1
        self.conv = nn.Conv3d(self.in_features, self.out_features, (self.attr_kernel, self.kernel_size,
                              self.kernel_size), stride=(self.attr_stride, self.stride, self.stride),
                              padding=(self.attr_padding, self.padding, self.padding), bias=bias)

    @property
    def in_channels(self) -> int:
        """``in_features * attributes``."""
        return self.in_features * self.attributes

    @property
    def out_channels(self) -> int:
        """``out_features * out_attributes``."""
        return self.out_features * self.out_attributes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The ``Conv3d`` over ``(attribute, H, W)``, channels ``f * L + l`` in and ``o * L' + l'`` out.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, in_features * attributes, H, W)``.

        Returns
        -------
        torch.Tensor
            ``(B, out_features * out_attributes, H', W')``.

        Raises
        ------
        NetworkError
            ``x`` is not 4-d with ``in_features * attributes`` channels.
        """
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise NetworkError(f"AttributeConv2d expects (B, {self.in_channels}, H, W) ({self.in_features} features x "
                               f"{self.attributes} attributes), got {tuple(x.shape)}.")
        B, _, H, W = x.shape
        y = self.conv(x.reshape(B, self.in_features, self.attributes, H, W))
        return y.reshape(B, self.out_channels, y.shape[-2], y.shape[-1])

    def extra_repr(self) -> str:
        """The module's settings in its ``repr``.

        Returns
        -------
        str
            The feature and attribute sizes, kernels and paddings.
        """
        return (f"{self.in_features}x{self.attributes} -> {self.out_features}x{self.out_attributes}, "
                f"attr_kernel={self.attr_kernel}, kernel_size={self.kernel_size}, padding={self.padding}, "
                f"attr_padding={self.attr_padding}")
