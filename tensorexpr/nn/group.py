r"""p4 group convolutions for standard CNNs, traced by :func:`tensorexpr.from_torch` (docs/cnn_hybrid.md).

Conventions (shared with :mod:`tensorexpr.build.p4` and :mod:`tensorexpr.models.group`): a quarter turn is
``torch.rot90(x, 1, (-2, -1))`` (pixel ``(a, b)`` of a side-``S`` map goes to ``(S - 1 - b, a)``), and the
group element ``r`` is ``r`` quarter turns. **Channel layout**: a p4 feature map with ``C`` features has
``4 C`` channels, channel ``c * 4 + r`` holding feature ``c`` at orientation ``r`` (a view
``(B, C, 4, H, W)``).

* :class:`P4Conv2d` (Cohen & Welling, ICML 2016). Lifting layer, base filter ``w[o, c, u, v]``: output
  channel ``o * 4 + r`` is the cross-correlation with ``rot90^r w[o]``. Group layer, base filter
  ``w[o, c, s, u, v]`` on a p4 input: output ``o * 4 + r`` reads input channel ``c * 4 + s`` through
  ``rot90^r w[o, c, (s - r) mod 4]``. One bias per output feature, shared by its 4 orientations. Then for a
  quarter turn ``R`` of the input, ``y_r(R x) = R y_{r-1}(x)``: the maps rotate and the orientation index
  shifts by one (exact for odd kernels with ``padding = kernel // 2``, stride 1, square inputs).
* :class:`OrientationPool`: the mean (or max) over the 4 orientations of each feature, ``(B, 4 C, H, W) ->
  (B, C, H, W)``; after it, a rotation of the input only rotates the maps, and a global spatial pooling makes
  the output invariant.
* :class:`LearnedBasisConv2d` (Diaconu & Worrall, ICML 2019): ``K`` learned atoms ``Psi_r`` (``k x k``) per
  orientation ``r``, free parameters; a filter is rotation-invariant coefficients on the atoms, and its copy at
  orientation ``r`` uses the basis ``Psi_r``. Initialised with ``Psi_r = rot90^r Psi_0``, it is exactly a
  :class:`P4Conv2d`; :meth:`LearnedBasisConv2d.equivariance_loss` measures how far it has drifted.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from tensorexpr.core.errors import NetworkError

__all__ = ["ORDER", "P4Conv2d", "OrientationPool", "LearnedBasisConv2d"]

#: Orientations of p4.
ORDER = 4


def _int(v: Any, what: str, lo: int, hint: str = "") -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise NetworkError(f"{what} must be an int >= {lo}, got {v!r}." + (f" Hint: {hint}" if hint else ""))
    return v


def _check_input(x: torch.Tensor, channels: int, name: str, lifting: bool) -> None:
    if x.dim() != 4 or x.shape[1] != channels:
        what = f"{channels} channels" if lifting else f"{channels} channels ({channels // ORDER} features x 4 orientations)"
        raise NetworkError(f"{name} expects (B, C, H, W) with {what}, got shape {tuple(x.shape)}."
                           + ("" if lifting else " Hint: a group layer reads a p4 map (channel c * 4 + r); the "
                                                 "first p4 layer must have lifting=True."))


class _P4Base(nn.Module):
    """Shared arguments, checks and the expansion from base filters to the full ``Conv2d`` weight."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int,
                 bias: bool, lifting: bool, name: str) -> None:
        super().__init__()
        self.in_channels = _int(in_channels, f"{name} in_channels", 1, "features per orientation for a group layer.")
        self.out_channels = _int(out_channels, f"{name} out_channels", 1)
        self.kernel_size = _int(kernel_size, f"{name} kernel_size", 1,
                                "one int: a rotated filter needs a square kernel.")
        self.stride = _int(stride, f"{name} stride", 1)
        self.padding = _int(padding, f"{name} padding", 0, "an int (zero padding); 'same' is kernel_size // 2.")
        self.lifting = bool(lifting)
        self.has_bias = bool(bias)

    @property
    def in_total(self) -> int:
        """Channels the layer reads: ``in_channels`` (lifting) or ``4 * in_channels`` (group layer)."""
        return self.in_channels if self.lifting else ORDER * self.in_channels

    @property
    def out_total(self) -> int:
        """Channels the layer writes: ``4 * out_channels``."""
        return ORDER * self.out_channels

    def expand(self, filters: list[torch.Tensor]) -> torch.Tensor:
        """The full ``Conv2d`` weight ``(4 out, in_total, k, k)`` from the orientation-``r`` filters ``filters[r]``.

        Row ``o * 4 + r`` is ``filters[r][o]``; for a group layer ``filters[r]`` is ``(out, in, 4, k, k)``
        indexed by the *base* orientation ``t``, and input channel ``c * 4 + s`` reads ``t = (s - r) mod 4``
        (``torch.roll``). It only places entries, so applied to index arrays it gives the tracer's ties.

        Parameters
        ----------
        filters : list of torch.Tensor
            Four tensors ``(out, in, k, k)`` (lifting) or ``(out, in, 4, k, k)``.

        Returns
        -------
        torch.Tensor
        """
        cols = []
        for r, f in enumerate(filters):
            if not self.lifting:
                f = torch.roll(f, shifts=r, dims=2).reshape(self.out_channels, self.in_total, *f.shape[-2:])
            cols.append(f)
        return torch.stack(cols, 1).reshape(self.out_total, self.in_total, *filters[0].shape[-2:])

    def _bias_full(self) -> torch.Tensor | None:
        return None if self.bias is None else self.bias.repeat_interleave(ORDER)

    def full_weight(self) -> torch.Tensor:  # pragma: no cover - each layer defines it
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The p4 convolution: ``nn.functional.conv2d`` with :meth:`full_weight` and the bias repeated over the
        four orientations.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, in_channels, H, W)`` (lifting) or ``(B, 4 in_channels, H, W)``.

        Returns
        -------
        torch.Tensor
            ``(B, 4 out_channels, H', W')``, channel ``o * 4 + r``.

        Raises
        ------
        NetworkError
            When ``x`` does not have ``in_total`` channels.
        """
        _check_input(x, self.in_total, type(self).__name__, self.lifting)
        bias = self._bias_full()
        return nn.functional.conv2d(x, self.full_weight().to(x.dtype), None if bias is None else bias.to(x.dtype),
                                    self.stride, self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, bias={self.has_bias}, lifting={self.lifting}")


class P4Conv2d(_P4Base):
    """The p4 group convolution of Cohen & Welling: rotated copies of each base filter (see the module doc).

    Parameters
    ----------
    in_channels : int
        Input channels (lifting) or input *features*, each with 4 orientation channels (group layer).
    out_channels : int
        Output features; the output has ``4 * out_channels`` channels, channel ``o * 4 + r``.
    kernel_size : int
        Side of the square kernel.
    stride, padding : int, optional
        As for ``nn.Conv2d`` (zero padding).
    bias : bool, optional
        One bias per output feature, shared by its 4 orientations.
    lifting : bool, optional
        ``True``: the input is an ordinary image (first layer); ``False``: a p4 map with ``4 * in_channels``
        channels.

    Raises
    ------
    NetworkError
        On a non-positive channel count, kernel or stride, a negative or non-int padding, or (forward) an
        input whose channel count is not ``in_channels`` / ``4 * in_channels``.

    Notes
    -----
    The base filter is ``weight``, ``(out, in, k, k)`` (lifting) or ``(out, in, 4, k, k)`` (group layer):
    the layer has as many parameters as ``out`` ordinary filters, while its output has ``4 out`` channels.
    :meth:`full_weight` is the equivalent ``nn.Conv2d`` weight. ``from_torch`` ties all rotated copies to
    the one base filter (docs/cnn_hybrid.md). The base filter starts He-uniform (``U(-sqrt(6 / fan_in),
    sqrt(6 / fan_in))``, ``fan_in = in_total k^2``): with ``nn.Conv2d``'s default ``1 / sqrt(fan_in)`` the 3-block
    p4 CNN of ``examples/cnn_rotation.py`` reached 62.8% test accuracy on rotated digits (seed 0, 30 epochs),
    with He 72.0%.

    References
    ----------
    Cohen & Welling, "Group Equivariant Convolutional Networks", ICML 2016.

    Examples
    --------
    >>> import torch
    >>> m = P4Conv2d(1, 2, 3, padding=1, lifting=True)
    >>> x = torch.randn(1, 1, 5, 5)
    >>> y, y_rot = m(x), m(torch.rot90(x, 1, (-2, -1)))
    >>> torch.allclose(y_rot.reshape(1, 2, 4, 5, 5), torch.rot90(y.reshape(1, 2, 4, 5, 5), 1, (-2, -1)).roll(1, 2),
    ...                atol=1e-6)
    True
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 bias: bool = True, lifting: bool = False) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias, lifting, "P4Conv2d")
        k = self.kernel_size
        shape = (self.out_channels, self.in_channels, k, k) if self.lifting else \
            (self.out_channels, self.in_channels, ORDER, k, k)
        fan_in = self.in_total * k * k  # a filter reads in_total channels
        bound = (6.0 / fan_in) ** 0.5  # He (ReLU) uniform; nn.Conv2d's default is 1/sqrt(fan_in): see Notes
        self.weight = nn.Parameter(torch.empty(shape).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(self.out_channels).uniform_(-fan_in ** -0.5, fan_in ** -0.5)) \
            if bias else None

    def full_weight(self) -> torch.Tensor:
        """The ``nn.Conv2d`` weight ``(4 out, in_total, k, k)``: row ``o * 4 + r`` is the orientation-``r`` copy.

        Returns
        -------
        torch.Tensor
        """
        return self.expand([torch.rot90(self.weight, r, (-2, -1)) for r in range(ORDER)])


class OrientationPool(nn.Module):
    """Pool the 4 orientations of each feature: ``(B, 4 C, H, W) -> (B, C, H, W)``, channel ``c * 4 + r`` -> ``c``.

    Parameters
    ----------
    mode : {"mean", "max"}
        ``from_torch`` traces ``"mean"`` (a fixed linear map); ``"max"`` over channels at one position is not
        a network operator and is refused there.

    Raises
    ------
    NetworkError
        On an unknown ``mode``, or (forward) a channel count that is not a multiple of 4.

    References
    ----------
    Cohen & Welling, "Group Equivariant Convolutional Networks", ICML 2016 (pooling over rotations).

    Examples
    --------
    >>> import torch
    >>> OrientationPool()(torch.arange(8.0).reshape(1, 8, 1, 1)).flatten().tolist()
    [1.5, 5.5]
    """

    MODES = ("mean", "max")

    def __init__(self, mode: str = "mean") -> None:
        super().__init__()
        if mode not in self.MODES:
            raise NetworkError(f"OrientationPool mode must be one of {self.MODES}, got {mode!r}.")
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The mean or max over the orientations of each feature.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, 4 C, H, W)``, channel ``c * 4 + r``.

        Returns
        -------
        torch.Tensor
            ``(B, C, H, W)``.

        Raises
        ------
        NetworkError
            When ``x`` is not 4-D with a multiple of 4 channels.
        """
        if x.dim() != 4 or x.shape[1] % ORDER:
            raise NetworkError(f"OrientationPool expects (B, 4 C, H, W) (channel c * 4 + r), got shape "
                               f"{tuple(x.shape)}. Hint: apply it to the output of a P4Conv2d.")
        v = x.reshape(x.shape[0], x.shape[1] // ORDER, ORDER, *x.shape[2:])
        return v.mean(2) if self.mode == "mean" else v.amax(2)

    def extra_repr(self) -> str:
        """``mode=...`` for the module's repr.

        Returns
        -------
        str
        """
        return f"mode={self.mode!r}"


class LearnedBasisConv2d(_P4Base):
    r"""A p4 layer whose rotated filters come from learned rotated bases (Diaconu & Worrall).

    ``K`` atoms ``Psi_r[i]`` (``k x k``) per orientation ``r`` are free parameters; a filter is encoded by
    coefficients ``coeff[o, c, i]`` (lifting) or ``coeff[o, c, t, i]`` (group layer), the same at every
    orientation. The orientation-``r`` copy is

    .. math:: w_r[o, c(, t)] = \sum_{i < K} \mathrm{coeff}[o, c(, t), i]\, \Psi_r[i],

    placed as :class:`P4Conv2d` places ``rot90^r w`` (the group layer shifts the input orientation by ``r``).
    With ``Psi_r = rot90^r Psi_0`` (the initialisation) the layer is the :class:`P4Conv2d` with base filter
    :meth:`base_weight`; nothing in the forward keeps it so, :meth:`equivariance_loss` is the penalty.

    Parameters
    ----------
    in_channels, out_channels, kernel_size, stride, padding, bias, lifting
        As for :class:`P4Conv2d`.
    n_basis : int, optional
        Atoms ``K`` per orientation (default ``kernel_size ** 2``, a complete basis).
    seed : int, optional
        Seeds the initial atoms (an orthonormal ``Psi_0``) and coefficients; ``None`` uses torch's global RNG.

    Raises
    ------
    NetworkError
        As :class:`P4Conv2d`, or on a non-positive ``n_basis``.

    Notes
    -----
    ``from_torch`` traces the expanded weight as FIXED: it is bilinear in (coefficients, atoms), not a fixed
    linear map of one parameter block, so no bound may treat it as free (as
    :meth:`tensorexpr.models.LearnedBasisConvAC.to_network` does for the tree models).

    References
    ----------
    Diaconu & Worrall, "Learning to Convolve: A Generalized Weight-Tying Approach", ICML 2019.

    Examples
    --------
    >>> m = LearnedBasisConv2d(1, 2, 3, padding=1, lifting=True, seed=0)
    >>> float(m.equivariance_loss().detach()) < 1e-12
    True
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, n_basis: int | None = None,
                 stride: int = 1, padding: int = 0, bias: bool = True, lifting: bool = False,
                 seed: int | None = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias, lifting, "LearnedBasisConv2d")
        k = self.kernel_size
        self.n_basis = _int(k * k if n_basis is None else n_basis, "LearnedBasisConv2d n_basis", 1)
        g = torch.Generator()
        g.manual_seed(int(seed) if seed is not None else int(torch.randint(0, 2**62, (1,))))
        K = self.n_basis
        a = torch.randn(max(K, k * k), k * k, generator=g)
        q = torch.linalg.qr(a.T)[0].T if K <= k * k else a / a.norm(dim=1, keepdim=True)  # orthonormal atoms
        psi0 = q[:K].reshape(K, k, k)
        self.bases = nn.Parameter(torch.stack([torch.rot90(psi0, r, (-2, -1)) for r in range(ORDER)]))  # (4, K, k, k)
        shape = (self.out_channels, self.in_channels, K) if self.lifting else \
            (self.out_channels, self.in_channels, ORDER, K)
        fan_in = self.in_total * k * k
        # orthonormal atoms: |w|^2 = |coeff|^2, so this matches P4Conv2d's He-uniform filters in norm
        bound = (6.0 / fan_in) ** 0.5 * k / K ** 0.5
        self.coeffs = nn.Parameter((torch.rand(shape, generator=g) * 2 - 1) * bound)
        self.bias = nn.Parameter((torch.rand(self.out_channels, generator=g) * 2 - 1) * fan_in ** -0.5) \
            if bias else None

    def filters(self) -> list[torch.Tensor]:
        """``w_r`` for ``r = 0..3``: ``coeff`` on the basis ``Psi_r``.

        Returns
        -------
        list of torch.Tensor
            Each ``(out, in, k, k)`` (lifting) or ``(out, in, 4, k, k)``.
        """
        return [torch.tensordot(self.coeffs, self.bases[r], dims=([-1], [0])) for r in range(ORDER)]

    def base_weight(self) -> torch.Tensor:
        """``w_0``: the :class:`P4Conv2d` base filter this layer equals while ``Psi_r = rot90^r Psi_0``.

        Returns
        -------
        torch.Tensor
        """
        return self.filters()[0]

    def full_weight(self) -> torch.Tensor:
        """The ``nn.Conv2d`` weight ``(4 out, in_total, k, k)``, as :meth:`P4Conv2d.full_weight` lays it out.

        Returns
        -------
        torch.Tensor
        """
        return self.expand(self.filters())


    def equivariance_loss(self, x: torch.Tensor | None = None) -> torch.Tensor:
        r"""Equivariance error of the bases, relative to the spread of their non-constant (non-DC) responses.

        As :meth:`tensorexpr.models.LearnedBasisConvAC.equivariance_loss`, with ``s_{r,i}(p) = <Psi_r[i], p>``
        over ``k x k`` patches ``p`` and ``Psi^{ac}`` the atom less its mean over the pixels:

        .. math::
            L = \frac{\sum_{r,i,p} (\langle \Psi_{r+1}[i], \mathrm{rot}\, p\rangle - \langle \Psi_r[i], p\rangle)^2}
                     {\sum_{r,i} |p| \, \mathrm{Var}_p \langle \Psi^{ac}_r[i], p\rangle}

        ``L = 0`` exactly when ``Psi_{r+1} = rot Psi_r`` on the span of the patches (the p4 layer). Without
        ``x`` the patches are the ``k^2`` unit patches, and ``L = sum_r |rot^{-1} Psi_{r+1} - Psi_r|^2 /
        sum_r |Psi^{ac}_r|^2`` (data-free).

        Parameters
        ----------
        x : torch.Tensor, optional
            The layer's input ``(B, in_total, H, W)``: every channel's ``k x k`` patches (after the layer's
            padding) are the patches ``p``.

        Returns
        -------
        torch.Tensor
            A scalar (the denominator is clamped at ``1e-12``).

        Raises
        ------
        NetworkError
            When ``x`` does not fit the layer.

        References
        ----------
        Diaconu & Worrall, "Learning to Convolve: A Generalized Weight-Tying Approach", ICML 2019.
        """
        k = self.kernel_size
        P = self.bases.reshape(ORDER, self.n_basis, k * k)
        if x is None:
            p = torch.eye(k * k, dtype=P.dtype, device=P.device)
        else:
            _check_input(x, self.in_total, "LearnedBasisConv2d.equivariance_loss", self.lifting)
            cols = nn.functional.unfold(x.reshape(-1, 1, *x.shape[-2:]).to(P.dtype), k, padding=self.padding)
            p = cols.transpose(1, 2).reshape(-1, k * k)
        p_rot = torch.rot90(p.reshape(-1, k, k), 1, (-2, -1)).reshape(-1, k * k)
        resp = torch.einsum("np,rip->rni", p, P)
        resp_rot = torch.einsum("np,rip->rni", p_rot, P)
        diff = resp_rot[(torch.arange(ORDER) + 1) % ORDER] - resp
        ac = P - P.mean(-1, keepdim=True)
        resp_ac = torch.einsum("np,rip->rni", p, ac)
        spread = (resp_ac - resp_ac.mean(1, keepdim=True)).pow(2).sum()  # sum_{r,i} |p| Var_p
        return diff.pow(2).sum() / spread.clamp_min(1e-12)
