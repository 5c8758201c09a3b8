r"""The 2-D scattering transform as a ConvAC representation layer (hybrid scattering + ConvAC / ReLU nets).

.. math::
    S_J x = \{x \star \phi_J,\ |x \star \psi_{j_1,\theta_1}| \star \phi_J,\
    ||x \star \psi_{j_1,\theta_1}| \star \psi_{j_2,\theta_2}| \star \phi_J\}_{j_1 < j_2 < J}

(Mallat, "Group invariant scattering", CPAM 2012; Bruna & Mallat, PAMI 2013; Oyallon, Belilovsky &
Zagoruyko, "Scaling the scattering transform: deep hybrid networks", ICCV 2017; docs/theory.md, "Scattering").
The transform is computed by kymatio (0.3) and subsampled by ``2^J``: an image ``(B, C, H, W)`` becomes a
grid of ``(H / 2^J) x (W / 2^J)`` positions with ``M = C (1 + J L + L^2 J (J - 1) / 2)`` coefficients each
(81 for ``J=2, L=8``, order 2, one channel). Those coefficients *are* the ``M`` representation functions
``f_d`` of Cohen, Sharir & Shashua (COLT 2016): the tree of the model on top is over the reduced grid.

How coefficients enter the models
---------------------------------
Every coefficient of order >= 1 is ``|.| * phi_J >= 0``; the order-0 one is ``x * phi_J >= 0`` for the
non-negative images used here. A ConvAC's first layer computes ``sum_d f_d(x) W[d, g]`` with positive
weights and works in log space, so we take

.. math::  f_d = S_J x(u, d) / \sigma_d + \varepsilon, \qquad \log f_d = \log(S_J x(u, d) / \sigma_d + \varepsilon),

with ``eps = 1e-3`` by default (spec key ``eps``) and ``sigma_d`` the RMS of coefficient ``d`` on the training
images (:meth:`Scattering.fit_scale`; 1 until fitted). Why: (i) ``f_d`` stays the scattering coefficient
itself up to a positive scale and a constant, so the ConvAC's leaf conv is Oyallon's learned 1x1 encoder
``W^T S_J x`` restricted to positive weights, and the extracted template matrix is ``F = S / sigma + eps``;
a positive column scaling changes neither the model class (the leaf conv absorbs it) nor ``rank F``;
(ii) ``eps > 0`` keeps ``log f`` finite on blank regions, where every coefficient vanishes; (iii) orders 0,
1, 2 differ by decades in size, which ``sigma`` evens out for training. The ReLU net reads
``f_d = S_J x(u, d) / sigma_d`` (signed weights, no shift). Signed images could make the order-0 coefficient
negative; the ConvAC path clamps it at 0 before the log.

kymatio and scipy >= 1.17
-------------------------
``import kymatio.torch`` imports the 3-D harmonic scattering, which imports ``scipy.special.sph_harm``;
scipy 1.17 removed it, so that import fails. The 2-D frontend does not touch it, so we import
``kymatio.scattering2d.frontend.torch_frontend.ScatteringTorch2D`` directly (:func:`scattering2d_class`).
No scipy pin, no patch of ``scipy.special``. ``tests/test_scattering.py`` checks that this import works in
a fresh interpreter and leaves ``kymatio.torch`` and the 3-D filter bank unimported.

Rotation-invariant option
-------------------------
``rotinv=1`` averages over orientations: order 1 over ``theta_1``; order 2 over ``theta_1`` at fixed
relative angle ``theta_2 - theta_1 (mod L)`` (the roto-translation orbit average of Sifre & Mallat, CVPR
2013, and Oyallon & Mallat, CVPR 2015). A rotation by ``k 90`` degrees (``L`` even) shifts every
``theta`` index by ``k L / 2``, so these averages are invariant per position; the grid itself is rotated. ``M``
becomes ``C (1 + J + L J (J - 1) / 2)``, 11 for ``J=2, L=8``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from tensorexpr.core.errors import NetworkError
from tensorexpr.models.layers import ModelInputError, Representation

__all__ = [
    "ScatteringUnavailable",
    "ScatteringSpec",
    "parse_scattering",
    "is_scattering_spec",
    "scattering2d_class",
    "coefficient_meta",
    "n_coefficients",
    "ScatteringTransform",
    "Scattering",
    "ScatteringLinear",
    "rotate_coefficients",
    "coefficient_rotation",
    "orientation_average",
    "fit_templates",
    "exact_rank",
    "integer_template_matrix",
    "KYMATIO_2D_MODULE",
]

#: Where kymatio 0.3 keeps the 2-D torch frontend; importing it avoids ``kymatio.torch`` (see module doc).
KYMATIO_2D_MODULE = "kymatio.scattering2d.frontend.torch_frontend"


from tensorexpr.core.errors import ScatteringUnavailable  # noqa: E402,F401  (re-exported: defined in errors.py)


def _grid_hw(tree: Any) -> tuple[int, int] | None:
    """``(h, w)`` of a 2x2 grid pooling tree, recognised from its structure (never its name), else None."""
    from tensorexpr.bounds.geometry import tree_shape

    shape = tree_shape(tree)
    return tuple(shape[1]) if shape is not None and shape[0].startswith("grid") else None  # type: ignore[return-value]


def scattering2d_class() -> type:
    """kymatio's ``ScatteringTorch2D`` class, imported without ``kymatio.torch`` (scipy >= 1.17 safe).

    Returns
    -------
    type

    Raises
    ------
    ScatteringUnavailable
        When kymatio's 2-D torch frontend cannot be imported (the ``[scattering]`` extra).
    """
    try:
        mod = importlib.import_module(KYMATIO_2D_MODULE)
    except ImportError as exc:
        raise ScatteringUnavailable(
            f"The scattering representation needs kymatio's 2-D torch frontend ({KYMATIO_2D_MODULE}), which could "
            f"not be imported: {exc}. Hint: pip install 'kymatio>=0.3' (tensorexpr imports the 2-D frontend "
            f"directly, so the scipy>=1.17 sph_harm problem of kymatio.torch does not apply)."
        ) from exc
    return mod.ScatteringTorch2D


# -- spec --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScatteringSpec:
    """Parameters of ``S_J``: scale ``J``, orientations ``L``, ``max_order`` (1 or 2), ``rotinv``, ``eps``.

    Parameters
    ----------
    J : int, optional
        Scale (>= 1); the grid is subsampled by ``2^J``.
    L : int, optional
        Orientations (>= 1).
    max_order : {1, 2}, optional
    rotinv : bool, optional
        Average over orientations (module docstring, "Rotation-invariant option").
    eps : float, optional
        The shift of ``log f = log(S / sigma + eps)`` (> 0).

    Raises
    ------
    NetworkError
        When ``J``, ``L`` or ``max_order`` is not a positive integer, ``max_order > 2``, or ``eps <= 0``.
    """

    J: int = 2
    L: int = 8
    max_order: int = 2
    rotinv: bool = False
    eps: float = 1e-3

    def __post_init__(self) -> None:
        for name, lo in (("J", 1), ("L", 1), ("max_order", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise NetworkError(f"scattering {name} must be an integer >= {lo}, got {v!r}.")
        if self.max_order > 2:
            raise NetworkError(f"scattering max_order must be 1 or 2 (kymatio 2-D), got {self.max_order}.")
        if not self.eps > 0:
            raise NetworkError(f"scattering eps must be > 0 (log f = log(S + eps)), got {self.eps!r}.")

    def n_coefficients(self, channels: int = 1) -> int:
        """``M`` per position: ``C (1 + J L + L^2 J (J-1) / 2)``, or ``C (1 + J + L J (J-1) / 2)`` with rotinv.

        Parameters
        ----------
        channels : int, optional
            Image channels ``C``.

        Returns
        -------
        int

        Examples
        --------
        >>> ScatteringSpec().n_coefficients(), ScatteringSpec(rotinv=True).n_coefficients()
        (81, 11)
        """
        return n_coefficients(self.J, self.L, self.max_order, self.rotinv, channels)

    def __str__(self) -> str:
        s = f"scattering:J={self.J},L={self.L}"
        if self.max_order != 2:
            s += f",order={self.max_order}"
        if self.rotinv:
            s += ",rotinv=1"
        if self.eps != 1e-3:
            s += f",eps={self.eps:g}"
        return s


def is_scattering_spec(rep: Any) -> bool:
    """Whether ``rep`` is a scattering spec string (``"scattering"`` or ``"scattering:..."``).

    Parameters
    ----------
    rep : object

    Returns
    -------
    bool
    """
    return isinstance(rep, str) and (rep == "scattering" or rep.startswith("scattering:"))


def parse_scattering(text: str) -> ScatteringSpec:
    """``"scattering:J=2,L=8[,order=2][,rotinv=1][,eps=1e-3]"`` -> :class:`ScatteringSpec`.

    Parameters
    ----------
    text : str
        ``"scattering"`` alone gives the defaults.

    Returns
    -------
    ScatteringSpec

    Raises
    ------
    NetworkError
        When ``text`` is not a scattering spec, an option is unknown or not a number, or the values are invalid.

    Examples
    --------
    >>> parse_scattering("scattering:J=2,L=8,rotinv=1")
    ScatteringSpec(J=2, L=8, max_order=2, rotinv=True, eps=0.001)
    """
    if not is_scattering_spec(text):
        raise NetworkError(f"Not a scattering spec: {text!r}; expected 'scattering:J=2,L=8[,order=2][,rotinv=1]'.")
    body = text.split(":", 1)[1] if ":" in text else ""
    kw: dict[str, Any] = {}
    keys = {"J": "J", "L": "L", "order": "max_order", "max_order": "max_order", "rotinv": "rotinv", "eps": "eps"}
    for item in filter(None, (s.strip() for s in body.split(","))):
        k, sep, v = item.partition("=")
        if not sep or k.strip() not in keys:
            raise NetworkError(f"Bad scattering option {item!r} in {text!r}; expected key=value with keys {sorted(keys)}.")
        name = keys[k.strip()]
        try:
            kw[name] = float(v) if name == "eps" else int(v)
        except ValueError:
            raise NetworkError(f"Scattering option {k}={v!r} in {text!r} is not a number.") from None
    if "rotinv" in kw:
        kw["rotinv"] = bool(kw["rotinv"])
    return ScatteringSpec(**kw)


# -- coefficient bookkeeping -----------------------------------------------------------------------------
def n_coefficients(J: int, L: int, max_order: int = 2, rotinv: bool = False, channels: int = 1) -> int:
    """Scattering coefficients per position (kymatio's count; orientation-averaged with ``rotinv``).

    Parameters
    ----------
    J, L : int
    max_order : int, optional
    rotinv : bool, optional
    channels : int, optional

    Returns
    -------
    int

    Examples
    --------
    >>> n_coefficients(2, 8), n_coefficients(2, 8, rotinv=True), n_coefficients(3, 8, max_order=1)
    (81, 11, 25)
    """
    o2 = J * (J - 1) // 2 if max_order >= 2 else 0
    per = 1 + J + L * o2 if rotinv else 1 + J * L + L * L * o2
    return channels * per


def coefficient_meta(J: int, L: int, max_order: int = 2) -> list[tuple[int, tuple[int, ...], tuple[int, ...]]]:
    """``(order, js, thetas)`` of every coefficient in kymatio's output order (one input channel).

    Order 0; then order 1 for ``(j_1, theta_1)`` j-major; then order 2 for ``(j_1, theta_1)`` then
    ``(j_2 > j_1, theta_2)`` (kymatio ``scattering2d``; checked against its ``out_type='list'`` in the tests).

    Parameters
    ----------
    J, L : int
    max_order : int, optional

    Returns
    -------
    list of (int, tuple of int, tuple of int)

    Examples
    --------
    >>> coefficient_meta(1, 2)
    [(0, (), ()), (1, (0,), (0,)), (1, (0,), (1,))]
    """
    psi = [(j, t) for j in range(J) for t in range(L)]
    out: list[tuple[int, tuple[int, ...], tuple[int, ...]]] = [(0, (), ())]
    out += [(1, (j, ), (t, )) for j, t in psi]
    if max_order >= 2:
        for j1, t1 in psi:
            out += [(2, (j1, j2), (t1, t2)) for j2, t2 in psi if j2 > j1]
    return out


def rotate_coefficients(S: torch.Tensor, k: int, L: int, J: int, max_order: int = 2) -> torch.Tensor:
    r"""``g.S``: rotate a scattering field ``(..., C*K, h, w)`` by ``k`` quarter turns, space and orientations.

    .. math:: (g.S)(u, \lambda) = S(g^{-1}u, g^{-1}\lambda)

    The grid turns with ``torch.rot90`` (counter-clockwise, as ``np.rot90`` on images) and every
    orientation index moves by ``k L / 2`` (mod ``L``): kymatio's ``L`` angles ``theta_l = (L/2 - 1 - l) pi / L``
    cover ``[0, pi)``, and the modulus of a real signal's Morlet coefficients is ``pi``-periodic in ``theta``
    (``psi_{theta + pi} = conj(psi_theta)``). So an even ``L`` suffices here; the seeds' "L a multiple of 4"
    counts orientations over ``[0, 2 pi)``.

    Parameters
    ----------
    S : torch.Tensor
        ``(..., C*K, h, w)``, ``K`` coefficients per channel in kymatio's order (not orientation-averaged).
    k : int
        Quarter turns.
    L, J : int
    max_order : int, optional

    Returns
    -------
    torch.Tensor

    Raises
    ------
    NetworkError
        When ``L`` is odd, or the channel count is not a multiple of ``K``.

    References
    ----------
    Mallat, "Group Invariant Scattering", Comm. Pure Appl. Math. 2012; Bruna & Mallat, "Invariant Scattering
    Convolution Networks", PAMI 2013.
    """
    if L % 2:
        raise NetworkError(f"Quarter-turn covariance needs an even L (a quarter turn is L/2 orientation steps "
                           f"of pi/L), got L={L}.")
    meta = coefficient_meta(J, L, max_order)
    K = len(meta)
    C = S.shape[-3] // K
    if C * K != S.shape[-3]:
        raise NetworkError(f"Field has {S.shape[-3]} channels, not a multiple of K={K} coefficients (J={J}, L={L}).")
    index = {(o, js, ts): i for i, (o, js, ts) in enumerate(meta)}
    shift = (k * L // 2) % L
    # new[(o, js, ts)] = old[(o, js, ts + shift)]: the coefficient at orientation l after the turn is the
    # one at l + L k / 4 before it (theta decreases with l)
    src = [index[(o, js, tuple((t + shift) % L for t in ts))] for (o, js, ts) in meta]
    src_all = torch.as_tensor([c * K + s for c in range(C) for s in src], device=S.device)
    return torch.rot90(S.index_select(-3, src_all), k, dims=(-2, -1))


def coefficient_rotation(spec: "ScatteringSpec", channels: int = 1, k: int = 1) -> np.ndarray:
    """``q[e]``: the coefficient index that coefficient ``e`` moves to under ``k`` quarter turns (per position).

    The per-position part of :func:`rotate_coefficients`: there ``new[i] = old[src[i]]``, so ``q = src^{-1}``.
    Every ``theta`` shifts by ``k L / 2 (mod L)``, so ``q`` has order 2 (a half turn fixes every coefficient:
    the modulus is ``pi``-periodic in ``theta``). With ``rotinv`` the orbit averages are invariant and ``q`` is
    the identity. Layout: channel-major, ``c * K + i`` as in the transform's output.

    Parameters
    ----------
    spec : ScatteringSpec
    channels : int, optional
    k : int, optional
        Quarter turns.

    Returns
    -------
    numpy.ndarray
        ``int64`` permutation of ``0..M-1``.

    Raises
    ------
    NetworkError
        When ``spec.L`` is odd (and not ``rotinv``).
    """
    if spec.rotinv:
        return np.arange(spec.n_coefficients(channels), dtype=np.int64)
    if spec.L % 2:
        raise NetworkError(f"Quarter-turn covariance needs an even L (a quarter turn is L/2 orientation steps "
                           f"of pi/L), got L={spec.L}.")
    meta = coefficient_meta(spec.J, spec.L, spec.max_order)
    K = len(meta)
    index = {m: i for i, m in enumerate(meta)}
    shift = (k * spec.L // 2) % spec.L
    src = np.array([index[(o, js, tuple((t + shift) % spec.L for t in ts))] for (o, js, ts) in meta], dtype=np.int64)
    q = np.empty(K, dtype=np.int64)
    q[src] = np.arange(K)
    return np.concatenate([c * K + q for c in range(channels)])


def orientation_average(S: torch.Tensor, J: int, L: int, max_order: int = 2) -> torch.Tensor:
    """``(..., C*K, h, w) -> (..., C*K_rot, h, w)``: orientation averages of the coefficients.

    Order 1 is averaged over ``theta_1``, order 2 over ``theta_1`` at fixed ``theta_2 - theta_1 (mod L)``.

    Parameters
    ----------
    S : torch.Tensor
    J, L : int
    max_order : int, optional

    Returns
    -------
    torch.Tensor

    References
    ----------
    Sifre & Mallat, CVPR 2013; Oyallon & Mallat, CVPR 2015 (roto-translation orbit averages).
    """
    meta = coefficient_meta(J, L, max_order)
    K = len(meta)
    C = S.shape[-3] // K
    groups: dict[tuple, list[int]] = {}
    for i, (o, js, ts) in enumerate(meta):
        key = (o, js) if o < 2 else (o, js, (ts[1] - ts[0]) % L)
        groups.setdefault(key, []).append(i)
    G = torch.zeros(len(groups), K, dtype=S.dtype, device=S.device)
    for g, idx in enumerate(groups.values()):
        G[g, idx] = 1.0 / len(idx)
    Sc = S.reshape(*S.shape[:-3], C, K, *S.shape[-2:])
    out = torch.einsum("gk,...ckhw->...cghw", G, Sc)
    return out.reshape(*S.shape[:-3], C * len(groups), *S.shape[-2:])


# -- the transform ------------------------------------------------------------------------------------------
class ScatteringTransform(nn.Module):
    """``(B, C, H, W) -> (B, C*K, H/2^J, W/2^J)`` with kymatio, on the input's device.

    kymatio's filter banks are kept outside the module's state dict (one per image shape and device, built on
    first use and owned by this module), so checkpoints hold no filter buffers and a model moves between
    devices freely. Images the module has seen are memoized by their bytes (up to ``cache_size``).

    Parameters
    ----------
    spec : ScatteringSpec
    cache_size : int, optional
        Images memoized; 0 turns the memo off.

    Raises
    ------
    ScatteringUnavailable
        Without kymatio.

    References
    ----------
    Mallat, "Group Invariant Scattering", Comm. Pure Appl. Math. 2012; Bruna & Mallat, "Invariant Scattering
    Convolution Networks", PAMI 2013.
    """

    def __init__(self, spec: ScatteringSpec, cache_size: int = 20000):
        super().__init__()
        self.spec = spec
        # exact memo: image bytes -> coefficients (the transform is fixed, so a training loop that revisits
        # the same images each epoch pays kymatio once); keys are the raw bytes, so no hash collision is possible
        self.cache_size = int(cache_size)
        self._cache: dict[tuple, torch.Tensor] = {}
        self._banks: dict[tuple, Any] = {}  # plain attribute: not parameters, not in the state dict
        scattering2d_class()  # fail early, with the clear error, when kymatio is missing

    def _bank(self, H: int, W: int, device: torch.device) -> Any:
        sp = self.spec
        key = (H, W, str(device))
        if key not in self._banks:  # building a filter bank costs seconds; it depends on these numbers only
            cls = scattering2d_class()
            self._banks[key] = cls(J=sp.J, shape=(H, W), L=sp.L, max_order=sp.max_order).to(device)
        return self._banks[key]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The scattering field of float images (computed in float32, returned in ``x``'s dtype).

        Parameters
        ----------
        x : torch.Tensor
            ``(B, C, H, W)`` or ``(B, H, W)`` float images; ``H`` and ``W`` multiples of ``2^J``, at least
            ``2^{J+1}``.

        Returns
        -------
        torch.Tensor
            ``(B, C*K, H/2^J, W/2^J)`` (orientation-averaged with ``rotinv``).

        Raises
        ------
        ModelInputError
            On non-float input, a wrong number of dims, or sides that do not fit ``J``.
        """
        if x.dim() == 3:
            x = x.unsqueeze(1)
        if x.dim() != 4 or not x.dtype.is_floating_point:
            raise ModelInputError(f"Scattering takes float images (B, C, H, W) or (B, H, W), got {tuple(x.shape)} "
                                  f"of dtype {x.dtype}.")
        B, C, H, W = x.shape
        s = 2 ** self.spec.J
        if H % s or W % s or H < 2 * s or W < 2 * s:
            raise ModelInputError(f"Scattering with J={self.spec.J} needs H and W multiples of 2^J={s} and >= {2 * s}, "
                                  f"got {H}x{W}.")
        out = self._memo(x) if self.cache_size and not x.requires_grad else None
        if out is None:
            out = self._compute(x)
        out = out.to(x.dtype)
        if self.spec.rotinv:
            out = orientation_average(out, self.spec.J, self.spec.L, self.spec.max_order)
        return out

    def _compute(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        s = 2 ** self.spec.J
        bank = self._bank(H, W, x.device)
        return bank(x.float().contiguous()).reshape(B, -1, H // s, W // s)  # kymatio: (B, C, K, h, w)

    def _memo(self, x: torch.Tensor) -> torch.Tensor:
        xc = x.detach().float().contiguous().cpu().numpy()
        keys = [(str(x.device), xc.shape[1:], xc[i].tobytes()) for i in range(len(xc))]
        miss = [i for i, k in enumerate(keys) if k not in self._cache]
        if miss:
            new = self._compute(x[miss].detach())
            if len(self._cache) + len(miss) > self.cache_size:
                self._cache.clear()
            for j, i in enumerate(miss):
                self._cache[keys[i]] = new[j]
            if len(miss) == len(keys):
                return new
        return torch.stack([self._cache[k] for k in keys])

    def extra_repr(self) -> str:
        """The summary line ``torch`` prints inside the module's repr.

        Returns
        -------
        str
        """
        return str(self.spec)


class Scattering(Representation):
    """Representation layer ``f_d(u) = S_J x(u, d)``: images in, a reduced grid of ``M`` coefficients out.

    ``spatial = True`` tells the models to call :meth:`lift` on the whole image (the coefficients at a
    position depend on a ``~2^J``-wide neighbourhood, not on one pixel). After lifting, ``in_features``
    is ``M`` (the per-position features), and ``channels`` the image channels ``C``.

    Parameters
    ----------
    M : int
        Must equal ``spec.n_coefficients(channels)``.
    channels : int, optional
        Image channels.
    spec : ScatteringSpec or str, optional

    Raises
    ------
    NetworkError
        When ``M`` does not match the spec, or the spec is invalid.
    ScatteringUnavailable
        Without kymatio.

    References
    ----------
    Oyallon, Belilovsky & Zagoruyko, "Scaling the Scattering Transform: Deep Hybrid Networks", ICCV 2017.
    """

    name = "scattering"
    spatial = True

    def __init__(self, M: int, channels: int = 1, spec: ScatteringSpec | str = "scattering:J=2,L=8"):
        spec = parse_scattering(spec) if isinstance(spec, str) else spec
        want = spec.n_coefficients(channels)
        if M != want:
            raise NetworkError(
                f"M={M} does not match the scattering representation {spec} on {channels} channel(s): it has "
                f"{want} coefficients per position, so M must be {want}. Hint: M = C (1 + J L + L^2 J (J-1)/2)"
                f"{' averaged over orientations' if spec.rotinv else ''}; "
                f"te.models.scattering.n_coefficients(J, L, channels=C) gives it."
            )
        super().__init__(M, M)
        self.channels = int(channels)
        self.spec = spec
        self.transform = ScatteringTransform(spec)
        self.register_buffer("scale", torch.ones(M), persistent=True)
        self.register_buffer("templates", torch.zeros(0, M), persistent=True)
        self.register_buffer("template_patches", torch.zeros(0), persistent=True)

    @classmethod
    def from_spec(cls, text: str, M: int, in_features: int = 1, seed: int | None = None) -> "Scattering":
        """The layer of a spec string (the registry's constructor; ``seed`` is unused).

        Parameters
        ----------
        text : str
        M : int
        in_features : int, optional
            Image channels.
        seed : int, optional

        Returns
        -------
        Scattering

        Raises
        ------
        NetworkError
            On a bad spec or a mismatched ``M``.
        """
        return cls(M, in_features, parse_scattering(text))

    # -- images -> positions -----------------------------------------------------------------------------
    def field(self, x: Any) -> torch.Tensor:
        """``(B, M, h, w)``: the scattering field of images ``x`` (not divided by the scale).

        Parameters
        ----------
        x : array_like or torch.Tensor
            Float images.

        Returns
        -------
        torch.Tensor

        Raises
        ------
        ModelInputError
            As :meth:`ScatteringTransform.forward`.
        """
        return self.transform(torch.as_tensor(x))

    def lift(self, x: Any, tree: Any, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """``(B, N, M)``: the coefficients at each position of the reduced grid, mode ``row * w + col``, over ``sigma``.

        Parameters
        ----------
        x : array_like or torch.Tensor
            Float images ``(B, C, H, W)`` or ``(B, H, W)``.
        tree : ModeTree
            Over the ``(H/2^J) x (W/2^J)`` grid.
        device : torch.device
        dtype : torch.dtype

        Returns
        -------
        torch.Tensor

        Raises
        ------
        ModelInputError
            When the channel count is wrong or the scattering grid does not match the tree.
        """
        x = torch.as_tensor(np.asarray(x)) if not isinstance(x, torch.Tensor) else x
        if x.dim() == 3:
            x = x.unsqueeze(1)
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ModelInputError(f"The scattering representation takes float images (B, {self.channels}, H, W), "
                                  f"got {tuple(x.shape)}.")
        s = 2 ** self.spec.J
        hw = _grid_hw(tree)
        h, w = x.shape[2] // s, x.shape[3] // s
        if h * w != tree.n_modes or (hw is not None and (h, w) != tuple(hw)):
            want = f"(B, {self.channels}, {hw[0] * s}, {hw[1] * s})" if hw else f"H*W = {tree.n_modes} * 4^J"
            raise ModelInputError(f"Images {tuple(x.shape)} give a {h}x{w} scattering grid (J={self.spec.J}), but the "
                                  f"tree has N={tree.n_modes} modes; expected {want}. Hint: the tree is over the "
                                  f"(H/2^J) x (W/2^J) grid.")
        S = self.transform(x.to(device=device, dtype=dtype))
        return S.reshape(S.shape[0], self.M, -1).transpose(1, 2) / self.scale.to(dtype)

    def fit_scale(self, images: Any, batch: int = 256) -> torch.Tensor:
        """Set the per-coefficient scale ``sigma_d`` to the RMS of coefficient ``d`` over ``images``.

        The layer then outputs ``S_d / sigma_d``: orders 0, 1, 2 differ by decades in size, and a positive
        diagonal rescaling changes neither the model class (the leaf conv absorbs it) nor ``rank(F)``.

        Parameters
        ----------
        images : array_like or torch.Tensor
            Float images.
        batch : int, optional

        Returns
        -------
        torch.Tensor
            ``sigma`` (``float64``, clamped at ``1e-6``).
        """
        X = torch.as_tensor(np.asarray(images.detach().cpu() if hasattr(images, "detach") else images)).float()
        if X.dim() == 3:
            X = X.unsqueeze(1)
        acc = torch.zeros(self.M, dtype=torch.float64)
        count = 0
        with torch.no_grad():
            for i in range(0, len(X), batch):
                S = self.transform(X[i:i + batch].to(self.scale.device))
                acc += (S.double() ** 2).sum((0, 2, 3)).cpu()
                count += S.shape[0] * S.shape[2] * S.shape[3]
        sigma = torch.sqrt(acc / max(count, 1)).clamp_min(1e-6)
        self.scale = sigma.to(self.scale.device, self.scale.dtype)
        return sigma

    # -- per-position maps -------------------------------------------------------------------------------
    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """The per-position features as they are (``f_d = S_d / sigma_d``, for the ReLU net).

        Parameters
        ----------
        feats : torch.Tensor
            ``(B, N, M)`` from :meth:`lift`.

        Returns
        -------
        torch.Tensor
        """
        return feats

    def log_forward(self, feats: torch.Tensor) -> torch.Tensor:
        """``log(max(f, 0) + eps)`` (for the log-space ConvAC).

        Parameters
        ----------
        feats : torch.Tensor
            ``(B, N, M)`` from :meth:`lift`.

        Returns
        -------
        torch.Tensor
        """
        return torch.log(feats.clamp_min(0) + self.spec.eps)

    # -- templates ----------------------------------------------------------------------------------------
    def default_templates(self) -> torch.Tensor:
        """The fitted coefficient templates ``(T, M)`` (see :func:`fit_templates`).

        Returns
        -------
        torch.Tensor

        Raises
        ------
        NetworkError
            When no template set has been fitted.
        """
        if self.templates.shape[0] == 0:
            raise NetworkError(
                "This scattering representation has no template set yet. Hint: "
                "te.models.scattering.fit_templates(model, images, T=...) (k-means centroids of the data's patches), "
                "or pass templates=(T, C, p, p) patches to to_network()."
            )
        return self.templates.detach().clone()

    def points_from_templates(self, templates: Any) -> torch.Tensor:
        """Template patches ``(T, C, p, p)`` -> their coefficient vectors ``(T, M)``; ``(T, M)`` passes through.

        Parameters
        ----------
        templates : array_like or torch.Tensor

        Returns
        -------
        torch.Tensor
            ``float64`` (patch coefficients divided by the scale).

        Raises
        ------
        NetworkError
            When ``templates`` is neither patches nor coefficient vectors.
        """
        t = torch.as_tensor(np.asarray(templates.detach().cpu() if hasattr(templates, "detach") else templates))
        if t.dim() == 2 and t.shape[1] == self.M:
            return t.double()
        if t.dim() == 3:
            t = t.unsqueeze(1)
        if t.dim() != 4 or t.shape[1] != self.channels:
            raise NetworkError(f"Scattering templates must be patches (T, {self.channels}, p, p) or coefficient "
                               f"vectors (T, {self.M}), got {tuple(t.shape)}.")
        return (patch_coefficients(self, t.float()) / self.scale.cpu()).double()

    def extra_repr(self) -> str:
        """The summary line ``torch`` prints inside the module's repr.

        Returns
        -------
        str
        """
        return f"{self.spec}, M={self.M}, channels={self.channels}, templates={self.templates.shape[0]}"


def patch_coefficients(rep: Scattering, patches: torch.Tensor, canvas: int | None = None) -> torch.Tensor:
    """Scattering coefficients ``(T, M)`` of patches, each centred on a blank ``canvas x canvas`` image.

    Read at the central grid position (the position whose receptive field the patch covers); not divided by
    the scale.

    Parameters
    ----------
    rep : Scattering
    patches : torch.Tensor
        ``(T, C, p, p)``.
    canvas : int, optional
        Canvas side (a multiple of ``2^J``, at least ``p``); default at least ``4 * 2^J``.

    Returns
    -------
    torch.Tensor

    Raises
    ------
    NetworkError
        On a bad ``canvas``.
    """
    s = 2 ** rep.spec.J
    p = patches.shape[-1]
    canvas = canvas or max(4 * s, ((p + 2 * s + s - 1) // s) * s)
    if canvas % s or canvas < p:
        raise NetworkError(f"canvas={canvas} must be a multiple of 2^J={s} and >= the patch size {p}.")
    c = canvas // s // 2  # central grid position
    img = patches.new_zeros(patches.shape[0], rep.channels, canvas, canvas)
    o = c * s + s // 2 - p // 2  # patch centre on the centre of grid cell c
    o = min(max(o, 0), canvas - p)
    img[:, :, o:o + p, o:o + p] = patches
    with torch.no_grad():
        S = rep.transform(img)
    return S[:, :, c, c]


def fit_templates(model: Any, images: Any, T: int = 96, patch: int | None = None, seed: int = 0,
                  max_patches: int = 20000) -> torch.Tensor:
    """Choose the hybrid's template set: k-means centroids of the data's patches, stored in the model.

    Patches of side ``patch`` (default ``2^{J+2}``, the effective support of ``phi_J``) are cut around every
    grid position of ``images`` (``(n, C, H, W)``); scikit-learn's k-means (seeded) gives ``T``
    centroids; their scattering coefficients (:func:`patch_coefficients`) become the templates, so the
    extracted network's ``F[i, d] = S(centroid_i)(d) + eps`` (ConvAC) or ``S(centroid_i)(d)`` (ReLU net).

    Parameters
    ----------
    model : TreeModel or Scattering
        A model with a scattering representation, or the layer itself.
    images : array_like or torch.Tensor
    T : int, optional
        Number of templates.
    patch : int, optional
        Patch side.
    seed : int, optional
    max_patches : int, optional
        Patches sampled (seeded) before k-means.

    Returns
    -------
    torch.Tensor
        The ``(T, M)`` coefficient templates (divided by the scale).

    Raises
    ------
    NetworkError
        When the representation is not scattering, or ``T`` is not in ``1..#patches``.

    References
    ----------
    Oyallon, Belilovsky & Zagoruyko, "Scaling the Scattering Transform: Deep Hybrid Networks", ICCV 2017.
    """
    from sklearn.cluster import KMeans

    rep = model.representation if hasattr(model, "representation") else model
    if not isinstance(rep, Scattering):
        raise NetworkError(f"fit_templates needs a scattering representation, got {type(rep).__name__}.")
    X = torch.as_tensor(np.asarray(images.detach().cpu() if hasattr(images, "detach") else images)).float()
    if X.dim() == 3:
        X = X.unsqueeze(1)
    s = 2 ** rep.spec.J
    p = patch or 4 * s
    pad = p // 2
    Xp = nn.functional.pad(X, (pad, pad, pad, pad))
    cols = nn.functional.unfold(Xp, kernel_size=p, stride=s)  # (n, C p p, L) around each grid cell
    P = cols.transpose(1, 2).reshape(-1, rep.channels * p * p).numpy()
    rng = np.random.default_rng(seed)
    if len(P) > max_patches:
        P = P[rng.choice(len(P), max_patches, replace=False)]
    if T < 1 or T > len(P):
        raise NetworkError(f"T={T} templates must lie in 1..{len(P)} (the number of patches).")
    km = KMeans(n_clusters=T, n_init=3, random_state=seed).fit(P)
    centroids = torch.as_tensor(km.cluster_centers_, dtype=torch.float32).reshape(T, rep.channels, p, p)
    coeffs = patch_coefficients(rep, centroids) / rep.scale.cpu()
    rep.templates = coeffs.to(rep.templates.device, rep.templates.dtype)
    rep.template_patches = centroids.to(rep.templates.device)
    return coeffs


# -- exact ranks of the template matrix ------------------------------------------------------------------
def exact_rank(F: Any) -> int:
    """The exact rank over Q of a matrix of floats, ints or Fractions (every float64 is a dyadic rational).

    The one exact-rank routine of the package, :func:`tensorexpr.core.rational.rank_over_Q`: entries are taken
    at their exact values (no truncation) and ranked with python-flint.

    Parameters
    ----------
    F : array_like
        A 2-D matrix.

    Returns
    -------
    int

    Examples
    --------
    >>> from fractions import Fraction as Fr
    >>> exact_rank([[0.5, 1.0], [1.0, 2.0]]), exact_rank([[1, 0], [0, 1]]), exact_rank([[Fr(1, 2), 0], [0, Fr(1, 3)]])
    (1, 2, 2)
    """
    from tensorexpr.core.rational import rank_over_Q

    return rank_over_Q(np.asarray(F))


def integer_template_matrix(F: Any, bits: int = 24) -> np.ndarray:
    """An integer matrix ``round(2^b F / max|F|)`` **checked** to have the exact rank of ``F``.

    For a product (ConvAC) network the generic separation ranks depend on ``F`` only through its rank
    (``F = U V`` with ``U`` of full column rank and ``V`` of full row rank: ``V`` folds into the free leaf
    weights and ``U`` is injective on every Kronecker power), so an integer matrix of the same rank gives
    the same certificate, and integer ``F`` is what certify's exact instance ranks need. ``b`` runs over
    ``bits, bits + 8, ...`` below 53.

    Parameters
    ----------
    F : array_like
        A float matrix.
    bits : int, optional
        The first precision tried.

    Returns
    -------
    numpy.ndarray
        ``int64``.

    Raises
    ------
    NetworkError
        When no precision tried keeps the rank (the message says 52 bits; the last one tried is 48 for the
        default ``bits=24``).

    Examples
    --------
    >>> integer_template_matrix([[0.5, 1.0], [0.25, 0.5]], bits=2).tolist()
    [[2, 4], [1, 2]]
    """
    A = np.asarray(F, dtype=np.float64)
    scale = float(np.abs(A).max()) or 1.0
    r = exact_rank(A)
    for b in range(bits, 53, 8):
        Q = np.rint(A / scale * 2.0**b).astype(np.int64)
        if exact_rank(Q) == r:
            return Q
    raise NetworkError(f"No integer rounding of F (up to 52 bits) keeps its exact rank {r}.")


# -- the linear / 1x1-encoder baseline -----------------------------------------------------------------
class ScatteringLinear(nn.Module):
    """Scattering + linear baseline: ``S_J x`` -> optional learned 1x1 encoder (width ``encoder``) -> linear.

    With ``encoder=None`` the classifier is linear on all ``M h w`` coefficients (Oyallon's
    "scattering + linear"); with ``encoder=r`` a shared 1x1 conv ``M -> r`` (the "shared local encoder")
    precedes the linear read-out (no non-linearity in between: a rank-``r`` factorization of the linear map).
    A non-affine batch norm sits before the read-out.

    Parameters
    ----------
    image_shape : tuple of (int, int)
        ``(H, W)`` of the images.
    outputs : int
    representation : str, optional
        A scattering spec.
    channels : int, optional
    encoder : int, optional
    seed : int, optional
    device : str or torch.device, optional

    Raises
    ------
    NetworkError
        On a bad spec.
    ScatteringUnavailable
        Without kymatio.

    References
    ----------
    Oyallon, Belilovsky & Zagoruyko, "Scaling the Scattering Transform: Deep Hybrid Networks", ICCV 2017.
    """

    def __init__(self, image_shape: tuple[int, int], outputs: int, representation: str = "scattering:J=2,L=8",
                 channels: int = 1, encoder: int | None = None, seed: int | None = 0, device: Any = None):
        super().__init__()
        from tensorexpr.models.layers import default_device

        spec = parse_scattering(representation)
        self.spec = spec
        self.M = spec.n_coefficients(channels)
        self.channels = int(channels)
        s = 2 ** spec.J
        h, w = int(image_shape[0]) // s, int(image_shape[1]) // s
        self.grid = (h, w)
        self.transform = ScatteringTransform(spec)
        g = torch.Generator().manual_seed(0 if seed is None else int(seed))
        self.encoder = None
        d = self.M
        if encoder is not None:
            self.encoder = nn.Parameter(torch.randn(self.M, int(encoder), generator=g) / np.sqrt(self.M))
            d = int(encoder)
        self.norm = nn.BatchNorm1d(d * h * w, affine=False)  # scattering orders differ by decades in scale
        self.head = nn.Linear(d * h * w, int(outputs))
        with torch.no_grad():
            self.head.weight.copy_(torch.randn(self.head.weight.shape, generator=g) / np.sqrt(d * h * w))
            self.head.bias.zero_()
        self.to(default_device() if device is None else torch.device(device))

    @property
    def device(self) -> torch.device:
        """The device of the read-out."""
        return self.head.weight.device

    @property
    def n_params(self) -> int:
        """Trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def forward(self, x: Any) -> torch.Tensor:
        """Logits ``(B, outputs)`` of float images.

        Parameters
        ----------
        x : array_like or torch.Tensor
            ``(B, C, H, W)`` or ``(B, H, W)`` images of the constructor's shape.

        Returns
        -------
        torch.Tensor

        Raises
        ------
        ModelInputError
            As :meth:`ScatteringTransform.forward`.
        """
        x = torch.as_tensor(x).to(self.device, torch.float32)
        S = self.transform(x)  # (B, M, h, w)
        if self.encoder is not None:
            S = torch.einsum("bmhw,mr->brhw", S, self.encoder)
        return self.head(self.norm(S.flatten(1)))
