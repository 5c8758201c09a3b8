"""Learned rotated bases (Diaconu & Worrall, "Learning to Convolve", ICML 2019) on the p4 tree models.

Instead of rotating a filter by permuting its pixels, the model learns a basis ``Psi_0`` of ``K`` patch
atoms **and each of its rotated versions** ``Psi_1, Psi_2, Psi_3`` as free parameters. A filter is encoded by
rotation-invariant coefficients ``c_b``; its copy at orientation ``r`` is the same coefficients on the
basis ``Psi_r`` (rotating a filter = switching the basis):

.. math::
    W_0[:, (r, b)] = \\sum_{i < K} c_{b, i}\\, \\Psi_r[i, :]

The layers above are the p4 group convolutions and the invariant root of :mod:`tensorexpr.build.p4`.
Nothing forces ``Psi_r`` to be a rotation of ``Psi_0``; the training loss adds the authors' kind of
equivariance term (:meth:`LearnedBasisConvAC.equivariance_loss`): the response of basis ``r + 1`` to a
rotated patch should equal the response of basis ``r`` to the patch, normalized by the spread over the
patches of the responses of the atoms' non-constant (non-DC) parts, so that constant atoms are no
trivial minimizer.
With ``Psi_r = rot^r Psi_0`` the model is exactly the p4 model and the term is zero.

In the calculator (:meth:`to_network`) the learned lift is a constant (``FIXED``): the map from
``(c, Psi)`` to ``W_0`` is bilinear, not a fixed linear map, so no bound may treat it as free; integer twins
and exact instance ranks then refuse, and certify reports upper bounds.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
from torch import nn

from tensorexpr.core.errors import NetworkError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.core.network import Node
from tensorexpr.core.params import FIXED
from tensorexpr.build.p4 import ORDER, feature_rotation
from tensorexpr.models.group import P4ConvAC

__all__ = ["LearnedBasisConvAC", "LearnedBasisReLUNet"]


class LearnedBasisConvAC(P4ConvAC):
    """The p4 ConvAC whose lifting basis and its rotated copies are learned (log space, positive weights).

    The lift is ``W_0[:, (r, b)] = sum_i c[b, i] Psi_r[i, :]`` with coefficients ``c`` shared across the
    orientations and one learned basis ``Psi_r`` per orientation; :meth:`equivariance_loss` pulls
    ``Psi_{r+1}`` towards ``rot Psi_r``.

    Parameters
    ----------
    n_basis : int
        Atoms ``K`` per basis (default ``min(kernel**2 * M, 16)``).
    equivariance_weight : float
        Weight of :meth:`equivariance_loss` in :meth:`auxiliary_loss` (added to the training loss).
    Other parameters as in :class:`~tensorexpr.models.P4ConvAC`.

    Raises
    ------
    NetworkError
        When ``n_basis < 1``, or as :class:`~tensorexpr.models.P4ConvAC`.
    GeometryError
        As :class:`~tensorexpr.models.P4ConvAC`.

    References
    ----------
    Diaconu & Worrall, "Learning to Convolve: A Generalized Weight-Tying Approach", ICML 2019.

    Examples
    --------
    >>> import tensorexpr as te, torch
    >>> m = te.models.LearnedBasisConvAC(te.ModeTree.grid(4, 4), M=2, widths=2, outputs=3, device="cpu")
    >>> x = torch.randint(0, 2, (5, 8, 8))
    >>> m(x).shape, m.equivariance_loss(x).item() > 0
    (torch.Size([5, 3]), True)
    """

    def __init__(self, tree: ModeTree, M: int, widths: Any, outputs: int = 1, kernel: int = 2,
                 n_basis: int | None = None, equivariance_weight: float = 1.0, representation: Any = "one_hot",
                 in_features: int = 1, seed: int | None = 0, device: Any = None):
        super().__init__(tree, M, widths, outputs, kernel, representation, in_features, seed, device)
        F = self.M_net
        K = min(F, 16) if n_basis is None else int(n_basis)
        if K < 1:
            raise NetworkError(f"n_basis must be a positive integer, got {n_basis!r}.")
        self.n_basis, self.equivariance_weight = K, float(equivariance_weight)
        B = self.maps[0].cols // ORDER
        gen = torch.Generator().manual_seed(1000 + (0 if seed is None else int(seed)))
        # the lift's selection map is replaced by (coefficients, bases); its block stays unused
        self.thetas[0].requires_grad_(False)
        scale = 1.0 if self.log_space else (2.0 / F) ** 0.5
        init = (lambda *s: torch.rand(*s, generator=gen) * 2 - 1) if self.log_space else \
            (lambda *s: torch.randn(*s, generator=gen) * scale)
        bases = init(ORDER, K, F)
        if self.centered and kernel > 1:  # zero-sum atoms per representation function (TiedTreeModel._center)
            bases = bases.reshape(ORDER, K, kernel * kernel, M)
            bases = (bases - bases.mean(2, keepdim=True)).reshape(ORDER, K, F)
        self.bases = nn.Parameter(bases.to(self.device))  # Psi_r[i, feature]
        self.coeffs = nn.Parameter(init(B, K).to(self.device))  # c[b, i], shared across orientations
        self.register_buffer("_frot", torch.as_tensor(feature_rotation(kernel, M, 1).copy()), persistent=False)

    def _leaf_weight(self) -> torch.Tensor:
        """``W_0[:, (r, b)] = sum_i c[b, i] Psi_r[i, :]`` (as ``log W_0`` for the ConvAC)."""
        if self.log_space:  # positive: exp(log c) @ exp(log Psi), in log space
            w = torch.logsumexp(self.coeffs[None, :, :, None] + self.bases[:, None, :, :], dim=2)  # (r, b, F)
        else:
            w = torch.einsum("bi,rif->rbf", self.coeffs, self.bases)
        return w.reshape(-1, w.shape[-1]).T.contiguous()  # (F, r * B + b)

    def basis_matrix(self) -> torch.Tensor:
        """``Psi`` as positive values (ConvAC) or signed (ReLU), shape ``(4, K, k^2 M)``.

        Returns
        -------
        torch.Tensor
        """
        return self.bases.exp() if self.log_space else self.bases

    def equivariance_loss(self, x: Any) -> torch.Tensor:
        r"""Equivariance error of the bases, relative to the spread of their non-constant (non-DC) responses.

        With ``s_{r,k}(p) = <Psi_r[k], p>`` over the patches ``p`` of ``x`` (positive atoms for the ConvAC),
        ``Psi^{ac} = Psi - Psi^{dc}`` where ``Psi^{dc}`` is the atom's mean over the patch pixels (per
        representation function), and ``Var_p`` the variance over the patches:

        .. math::
            L = \frac{\sum_{r,k,p} (\langle \Psi_{r+1}[k], \mathrm{rot}\, p\rangle
                         - \langle \Psi_r[k], p\rangle)^2}
                     {\sum_{r,k} |p| \, \mathrm{Var}_p \langle \Psi^{ac}_r[k], p\rangle}

        The numerator is zero exactly when ``Psi_{r+1} = rot Psi_r`` on the span of the patches, so ``L = 0``
        for ``Psi_r = rot^r Psi_0`` (the p4 model). Why the denominator drops the DC part: rotation only
        permutes pixels, so an atom constant over the patch (per function) answers a patch and its rotation
        alike; with the former normalization by the full response energy such atoms were a trivial minimizer,
        and positive log-space atoms drifted there until the output was constant (issue 10). Here the loss is
        homogeneous of degree 0 in the non-DC parts: shrinking them towards a constant atom does not lower
        it (it raises it while the DC parts of ``Psi_r`` and ``Psi_{r+1}`` differ), so only equivariant shapes
        do. Centering the responses over the patches drops what is constant over the data as well.

        Parameters
        ----------
        x : torch.Tensor or array_like
            A batch of inputs, as for :meth:`forward`.

        Returns
        -------
        torch.Tensor
            A scalar (the denominator is clamped at ``1e-12``).

        Raises
        ------
        ModelInputError
            When ``x`` does not fit the model.
        """
        f = self.features(x)
        f = f.exp() if self.log_space else f  # (B, N, F) patch features
        f = f.reshape(-1, f.shape[-1])
        rot = torch.empty_like(f)
        rot[:, self._frot] = f  # the rotated patch's features
        P = self.basis_matrix()
        resp = torch.einsum("nf,rkf->rnk", f, P)
        resp_rot = torch.einsum("nf,rkf->rnk", rot, P)
        diff = resp_rot[(torch.arange(ORDER) + 1) % ORDER] - resp
        k2 = self.kernel * self.kernel
        Pg = P.reshape(ORDER, P.shape[1], k2, -1)
        ac = (Pg - Pg.mean(2, keepdim=True)).reshape(P.shape)  # the atoms less their per-function pixel mean
        resp_ac = torch.einsum("nf,rkf->rnk", f, ac)
        spread = (resp_ac - resp_ac.mean(1, keepdim=True)).pow(2).sum()
        return diff.pow(2).sum() / spread.clamp_min(1e-12)

    def auxiliary_loss(self, x: Any) -> torch.Tensor:
        """The term the training loop adds to the cross-entropy: ``equivariance_weight * equivariance_loss``.

        Parameters
        ----------
        x : torch.Tensor or array_like
            The training batch.

        Returns
        -------
        torch.Tensor
            A scalar.
        """
        return self.equivariance_weight * self.equivariance_loss(x)

    def to_network(self, templates: Any = None, name: str | None = None) -> Any:
        """The network with the learned lift as a constant (``FIXED``) and the p4 ties above it.

        Parameters
        ----------
        templates : array_like, optional
        name : str, optional

        Returns
        -------
        Network
            Block ``level0`` is dropped; the leaf weights are fixed.
        """
        net = super().to_network(templates, name)
        with torch.no_grad():
            W0 = self._leaf_weight().double().cpu()
            W0 = (W0.exp() if self.log_space else W0).numpy()
        nodes = tuple(Node(nd.id, nd.kind, nd.children, W0, nd.mode, FIXED) if nd.kind == "leaf" else nd
                      for nd in net.nodes)
        params = {b: v for b, v in net.params.items() if b != "level0"}
        return replace(net, nodes=nodes, params=params)

    @property
    def n_params(self) -> int:
        """Trainable parameters (the unused lift block, frozen, excluded)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


class LearnedBasisReLUNet(LearnedBasisConvAC):
    """The ReLU counterpart of :class:`LearnedBasisConvAC` (ReLU then max/avg pooling).

    Centered as :class:`~tensorexpr.models.P4ReLUNet`.

    Parameters
    ----------
    tree, M, widths, outputs, kernel, n_basis, equivariance_weight, representation, in_features, seed, device
        As for :class:`LearnedBasisConvAC`.
    pooling : {"max", "avg"}, optional

    Raises
    ------
    NetworkError
        On an unknown ``pooling``, or as :class:`LearnedBasisConvAC`.

    References
    ----------
    Diaconu & Worrall, "Learning to Convolve: A Generalized Weight-Tying Approach", ICML 2019.
    """

    log_space = False
    centered = True

    def __init__(self, tree: ModeTree, M: int, widths: Any, outputs: int = 1, kernel: int = 2, pooling: str = "max",
                 n_basis: int | None = None, equivariance_weight: float = 1.0, representation: Any = "one_hot",
                 in_features: int = 1, seed: int | None = 0, device: Any = None):
        if pooling not in ("max", "avg"):
            raise NetworkError(f"Unknown pooling {pooling!r}; expected 'max' or 'avg'.")
        self.pooling = pooling
        super().__init__(tree, M, widths, outputs, kernel, n_basis, equivariance_weight, representation, in_features,
                         seed, device)
