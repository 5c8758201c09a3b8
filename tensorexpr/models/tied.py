"""Tree models whose 1x1 convolutions are tied through fixed maps (group and attribute convolutions).

Each level ``l`` owns a free block ``theta_l`` and a fixed map ``B_l`` from
:class:`tensorexpr.build.tying.LevelMap`: the weight is ``W_l = reshape(B_l exp(theta_l))`` for the
log-space ConvAC (positive weights, as in :mod:`tensorexpr.models.convac`) and ``reshape(B_l theta_l)`` for
the ReLU net. The same maps build the calculator networks, so ``to_network()`` is the tied
:class:`~tensorexpr.Network` with ``Tied(block, basis)`` parametrizations (docs/design.md, "Parametrized
weights"). Positions are non-overlapping ``k x k`` patches; every pixel of a patch goes through the
per-pixel representation layer, and the patch features are ordered ``(pixel, function)``.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Mapping

import numpy as np
import torch
from torch import nn

from tensorexpr.core.errors import NetworkError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.build.tying import LevelMap, tied_tree_network
from tensorexpr.models.convac import log_mex
from tensorexpr.models.representations import make_representation
from tensorexpr.models.layers import ModelInputError, positions, Representation, compile_tree, default_device, gather_children, n_parameters

__all__ = ["TiedTreeModel", "patchify"]


def patchify(x: Any, side: int, kernel: int, rep: Representation) -> torch.Tensor:
    """``(B, N, k*k, C)`` patches of images ``(B, H, W)`` (symbols) or ``(B, C, H, W)`` with ``H = W = side * k``.

    Patch ``n = row * side + col``; the pixels of a patch in row-major order.

    Parameters
    ----------
    x : torch.Tensor or array_like
    side : int
        Patches per side.
    kernel : int
        Patch side ``k``.
    rep : Representation
        Checked: channel count, and integer symbols in ``0..M-1`` for one-hot.

    Returns
    -------
    torch.Tensor

    Raises
    ------
    ModelInputError
        When the shape does not fit, the channel count differs from ``rep.in_features``, or one-hot inputs are not
        integer symbols in range.
    """
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x))
    if x.dim() == 3:
        x = x.unsqueeze(1)
    H = side * kernel
    if x.dim() != 4 or tuple(x.shape[2:]) != (H, H):
        raise ModelInputError(f"Input of shape {tuple(x.shape)} does not fit {side}x{side} patches of {kernel}x{kernel}; "
                              f"expected (B, {H}, {H}) or (B, C, {H}, {H}).")
    if x.shape[1] != rep.in_features:
        raise ModelInputError(f"Input has {x.shape[1]} channels but the {rep.name!r} representation expects "
                              f"in_features={rep.in_features}.")
    if rep.discrete:
        if x.dtype.is_floating_point and not torch.equal(x, x.round()):
            raise ModelInputError("one_hot inputs must be integer symbols, got non-integer floats.")
        x = x.long()
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= rep.M):
            raise ModelInputError(f"one_hot inputs must lie in 0..{rep.M - 1}, got {int(x.min())}..{int(x.max())}.")
    B, C = x.shape[:2]
    x = x.reshape(B, C, side, kernel, side, kernel).permute(0, 2, 4, 3, 5, 1)
    return x.reshape(B, side * side, kernel * kernel, C)


class TiedTreeModel(nn.Module):
    """Shared skeleton: patches -> per-pixel representation -> tied leaf map -> (pool -> tied 1x1 conv) per level.

    Subclasses pass one :class:`LevelMap` per level and set the arithmetic flag ``log_space``.

    Parameters
    ----------
    tree : ModeTree
        Over the patch positions (a square grid unless ``kernel == 1``).
    M : int
        Representation functions per pixel.
    maps : mapping of int to LevelMap
        The fixed map of every level ``0..depth``.
    outputs : int
    kernel : int
        Patch side.
    representation : str or Representation
    in_features : int
    seed : int or None
    device : str, torch.device or None

    Raises
    ------
    NetworkError
        When ``tree`` is not a :class:`ModeTree`, a patch model's tree is not over a square grid, or the maps and
        widths do not fit the tree.
    """

    log_space: bool = True
    pooling: str = "product"
    #: ReLU models only: background-centered features (``f(x) - f(0)``) and zero-mean initial filters. Without
    #: them the pre-activations of patch models are dominated by an input-independent constant (see
    #: :meth:`_center`), whole filters die in a few Adam steps and the net outputs a constant.
    centered: bool = False

    def __init__(self, tree: ModeTree, M: int, maps: Mapping[int, LevelMap], outputs: int, kernel: int,
                 representation: Any, in_features: int, seed: int | None, device: Any):
        super().__init__()
        if not isinstance(tree, ModeTree):
            raise NetworkError(f"Models are built from a te.ModeTree, got {type(tree).__name__}.")
        side = math.isqrt(tree.n_modes)
        if kernel != 1 and side * side != tree.n_modes:
            raise NetworkError(f"Patch models (kernel={kernel}) need a square grid tree, got {tree.n_modes} modes.")
        self.tree, self.M, self.kernel, self.side, self.outputs, self.seed = tree, int(M), int(kernel), side, int(outputs), seed
        self.maps = dict(maps)
        L = tree.depth
        widths = [self.maps[l].cols for l in range(L)]
        self.stages, self.node_widths = compile_tree(tree, self.M_net, widths, outputs)
        self.representation = make_representation(representation, self.M, in_features, seed)
        gen = torch.Generator().manual_seed(0 if seed is None else int(seed))
        self.thetas = nn.ParameterList()
        for l in range(L + 1):
            m = self.maps[l]
            self.thetas.append(nn.Parameter(self._init_theta(m, gen)))
            b = torch.tensor(np.array(m.basis), dtype=torch.get_default_dtype())
            sel = bool((m.basis.sum(1) <= 1).all() and m.basis.max() <= 1)
            self.register_buffer(f"_basis{l}", b, persistent=False)
            self.register_buffer(f"_sel{l}", torch.tensor(np.asarray(m.basis).argmax(1)), persistent=False)
            self.register_buffer(f"_hit{l}", torch.tensor(np.asarray(m.basis).sum(1) > 0), persistent=False)
            setattr(self, f"_is_sel{l}", sel)
        for i, st in enumerate(self.stages):
            self.register_buffer(f"_index{i}", torch.as_tensor(st.index), persistent=False)
            self.register_buffer(f"_counts{i}", torch.as_tensor(st.counts), persistent=False)
        self.to(default_device() if device is None else torch.device(device))

    @property
    def M_net(self) -> int:
        """Representation functions per position (``k^2 M``): the network's ``M``."""
        return self.kernel * self.kernel * self.M

    def _init_theta(self, m: LevelMap, gen: torch.Generator) -> torch.Tensor:
        if self.log_space:
            return torch.rand(m.n_free, generator=gen) * 2 - 1
        fan = max(1, int(m.basis.sum() // max(1, m.cols)))
        # a parameter used c times in one output column (the invariant root: c = 4) adds c-fold correlated
        # terms; He-normal needs the variance divided by c to keep the output scale
        c = max(1, int(np.asarray(m.basis).reshape(m.rows, m.cols, -1).sum(0).max()))
        theta = torch.randn(m.n_free, generator=gen) * math.sqrt(2.0 / (fan * c))
        return self._center(m, theta) if self.centered else theta

    def _center(self, m: LevelMap, theta: torch.Tensor) -> torch.Tensor:
        """Project ``theta`` so that every filter of ``W = reshape(B theta)`` sums to zero over its inputs.

        Why: the inputs of a ReLU patch model are far from zero-mean (the group conv sees post-ReLU values
        >= 0; the lift sums ``k^2`` pixels of one representation function). A He-initialized filter then
        answers mostly with ``sum(filter) * mean``, a constant of one sign -- identical for the four
        orientations of a p4 filter, since rotating a filter keeps its sum -- and Adam's sign-like first
        steps move that constant by about ``lr * fan_in``: whole filters die within a few steps and the
        network collapses to a constant output. Zero-sum filters remove the constant; at the lift (patch
        features ordered ``(pixel, function)``) the sum is taken per representation function over the
        pixels. The projection stays inside the tied space (least squares on ``theta``), so ties hold.
        """
        rows, cols = m.rows, m.cols
        G = self.M if (m is self.maps[0] and self.kernel > 1) else 1
        if rows // G < 2:
            return theta
        C = np.zeros((cols * G, rows * cols))
        for g in range(G):
            r = np.arange(g, rows, G)
            for c in range(cols):
                C[c * G + g, r * cols + c] = 1.0
        A = C @ np.asarray(m.basis, dtype=np.float64)
        th = theta.double().numpy()
        th = th - np.linalg.pinv(A) @ (A @ th)
        return torch.as_tensor(th, dtype=theta.dtype)

    @property
    def device(self) -> torch.device:
        """The device of the parameters."""
        return self.thetas[0].device

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the parameters."""
        return self.thetas[0].dtype

    @property
    def n_params(self) -> int:
        """Trainable parameters (representation included)."""
        return n_parameters(self)

    def level_weight(self, l: int) -> torch.Tensor:
        """The ``(rows, cols)`` weight of level ``l``: ``log W`` for the ConvAC (offsets), ``W`` for the ReLU net.

        Parameters
        ----------
        l : int
            The level (0 is the leaf lift).

        Returns
        -------
        torch.Tensor
            Entries no parameter reaches are ``-inf`` (log space) or 0.
        """
        m, theta = self.maps[l], self.thetas[l]
        if getattr(self, f"_is_sel{l}"):
            w = theta[getattr(self, f"_sel{l}")]
            hit = getattr(self, f"_hit{l}")
            if not bool(hit.all()):
                w = torch.where(hit, w, torch.full_like(w, -math.inf if self.log_space else 0.0))
        elif self.log_space:  # log(B exp(theta)), stably
            logB = torch.log(getattr(self, f"_basis{l}"))
            w = torch.logsumexp(logB + theta.unsqueeze(0), dim=1)
        else:
            w = getattr(self, f"_basis{l}") @ theta
        return w.reshape(m.rows, m.cols)

    def features(self, x: Any) -> torch.Tensor:
        """``(B, N, k^2 M)`` patch features: ``log f`` (ConvAC) or ``f`` (ReLU net), ordered ``(pixel, function)``.

        Parameters
        ----------
        x : torch.Tensor or array_like
            Images (patch models) or inputs as for :func:`tensorexpr.models.layers.positions` (``kernel == 1``).

        Returns
        -------
        torch.Tensor

        Raises
        ------
        ModelInputError
            When ``x`` does not fit the model.
        """
        if self.kernel == 1:  # one position per pixel / sequence element, any tree
            p = positions(x, self.tree, self.representation, self.device, self.dtype).unsqueeze(2)
        else:
            p = patchify(x, self.side, self.kernel, self.representation).to(self.device)
        if not self.representation.discrete:
            p = p.to(self.dtype)
        f = self.representation.log_forward(p) if self.log_space else self._represent(p)
        return f.reshape(f.shape[0], f.shape[1], -1)

    def _represent(self, p: torch.Tensor) -> torch.Tensor:
        """ReLU-model pixel features; ``f(x) - f(0)`` when :attr:`centered` (an empty patch lifts to 0)."""
        f = self.representation(p)
        if self.centered and not self.representation.discrete:
            f = f - self.representation(torch.zeros_like(p.reshape(-1, p.shape[-1])[:1]))
        return f

    def _leaf_weight(self) -> torch.Tensor:
        return self.level_weight(0)

    def _conv(self, x: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
        return log_mex(x, W) if self.log_space else x @ W

    def _pool(self, kids: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        if self.log_space:
            return kids.sum(2)
        r = torch.relu(kids)
        if self.pooling == "max":
            return r.amax(2)
        return r.sum(2) / counts.to(r.dtype).unsqueeze(-1)

    def hidden(self, x: Any) -> list[torch.Tensor]:
        """The output of every stage, ``(B, nodes, channels)`` (feature maps for sensitivity measurements).

        Parameters
        ----------
        x : torch.Tensor or array_like

        Returns
        -------
        list of torch.Tensor
            Leaves first, the root last.

        Raises
        ------
        ModelInputError
            When ``x`` does not fit the model.
        """
        feats = self.features(x)
        outs: list[torch.Tensor] = []
        for i, st in enumerate(self.stages):
            W = self._leaf_weight() if st.is_leaf else self.level_weight(st.level)
            if st.is_leaf:
                outs.append(self._conv(feats[:, getattr(self, f"_index{i}")[:, 0]], W))
            else:
                kids = gather_children(outs, st, 0.0, getattr(self, f"_index{i}"))
                outs.append(self._conv(self._pool(kids, getattr(self, f"_counts{i}")), W))
        return outs

    def forward(self, x: Any) -> torch.Tensor:
        """``(B, outputs)``: ``log h(x)`` for the ConvAC, logits for the ReLU net.

        Parameters
        ----------
        x : torch.Tensor or array_like

        Returns
        -------
        torch.Tensor

        Raises
        ------
        ModelInputError
            When ``x`` does not fit the model.
        """
        return self.hidden(x)[-1][:, 0, :]

    # -- extraction ------------------------------------------------------------------------------------------
    def default_templates(self) -> torch.Tensor:
        """Every patch of symbols (one_hot, ``M^(k^2)`` of them) or the learned means placed on every pixel.

        Returns
        -------
        torch.Tensor
            ``(T, k*k, C)``.

        Raises
        ------
        NetworkError
            When there are more than 4096 symbol patches, or the representation has no natural templates.
        """
        rep = self.representation
        n = self.kernel * self.kernel
        if rep.discrete:
            if self.M ** n > 4096:
                raise NetworkError(f"{self.M}^{n} symbol patches is too many templates; pass templates=.")
            return torch.tensor(list(itertools.product(range(self.M), repeat=n))).reshape(-1, n, 1)
        mu = rep.default_templates()  # (M, C)
        return mu.unsqueeze(1).expand(-1, n, -1).clone()

    def template_matrix(self, templates: Any = None) -> np.ndarray:
        """``F (T, k^2 M)`` of templates ``(T, k*k, C)`` (patches).

        Parameters
        ----------
        templates : array_like, optional
            Default :meth:`default_templates`.

        Returns
        -------
        numpy.ndarray
            ``int64`` for one-hot, else ``float64`` (``f``, centred for centred ReLU models).

        Raises
        ------
        NetworkError
            When ``templates`` does not have shape ``(T, k*k, C)``.
        """
        t = self.default_templates() if templates is None else torch.as_tensor(np.asarray(templates))
        if t.dim() != 3 or t.shape[1] != self.kernel ** 2:
            raise NetworkError(f"templates must have shape (T, {self.kernel ** 2}, C), got {tuple(t.shape)}.")
        with torch.no_grad():
            if self.representation.discrete:
                return np.eye(self.M, dtype=np.int64)[t[..., 0].long().numpy()].reshape(t.shape[0], -1)
            tt = t.to(device=self.device, dtype=self.dtype)
            f = self.representation.log_forward(tt).exp() if self.log_space else self._represent(tt)
            return f.reshape(t.shape[0], -1).double().cpu().numpy()

    def network_blocks(self) -> dict[int, np.ndarray]:
        """The parameter block of every level as the network sees it: ``exp(theta)`` (ConvAC) or ``theta``.

        Returns
        -------
        dict of int to numpy.ndarray
            ``float64``.
        """
        with torch.no_grad():
            out = {}
            for l, th in enumerate(self.thetas):
                v = th.detach().double().cpu()
                out[l] = (torch.exp(v) if self.log_space else v).numpy()
            return out

    #: The grid tensor is multilinear in the weights and ``to_network()`` is exact (ConvAC); the spectrum's exact
    #: path reads this flag (docs/design.md, "Models").
    multilinear: bool = False

    def forward_entries(self, templates: Any = None, output: int = 0, batch: int = 4096) -> Any:
        """The sampled-entry evaluator of :func:`tensorexpr.spectrum` (``evaluator="forward"``).

        Delegates to :func:`tensorexpr.models.extract.forward_entries`, which accepts only
        :class:`~tensorexpr.models.ConvAC` models, so for every tied model this raises.

        Parameters
        ----------
        templates : array_like, optional
        output : int, optional
        batch : int, optional

        Returns
        -------
        callable

        Raises
        ------
        NetworkError
            Always for a tied model (it is not a ``ConvAC``); use ``evaluator="network"``.
        """
        from tensorexpr.models.extract import forward_entries

        return forward_entries(self, templates, output, batch)

    def to_network(self, templates: Any = None, name: str | None = None) -> Any:
        """The tied :class:`~tensorexpr.Network` of the model.

        Its grid tensor at ``[d_1..d_N]`` is ``exp(model(x))`` (ConvAC) or ``model(x)`` (ReLU) on the image whose
        position ``m`` holds template patch ``d_m``.

        Parameters
        ----------
        templates : array_like, optional
            ``(T, k*k, C)`` patches; default :meth:`default_templates`.
        name : str, optional

        Returns
        -------
        Network
            Float, ``Tied(block, basis)`` weights per level.

        Raises
        ------
        NetworkError
            On malformed templates.
        """
        op = "product" if self.log_space else f"relu-{self.pooling}"
        return tied_tree_network(self.tree, self.M_net, self.maps, self.network_blocks(), op,
                                 self.template_matrix(templates), False,
                                 name=name or f"{type(self).__name__}({self.tree.name})",
                                 meta={"model": type(self).__name__, "kernel": self.kernel})

    def template_images(self, templates: Any = None) -> torch.Tensor:
        """All ``T^N`` images built from template patches, in grid-tensor C order (tiny trees only).

        Parameters
        ----------
        templates : array_like, optional
            ``(T, k*k, C)`` patches; default :meth:`default_templates`.

        Returns
        -------
        torch.Tensor
            ``(T^N, C, S k, S k)`` images, or ``(T^N, N, C)`` sequences for a non-grid tree with ``kernel == 1``.

        Raises
        ------
        NetworkError
            When ``T^N > 2^20``.
        """
        t = self.default_templates() if templates is None else torch.as_tensor(np.asarray(templates))
        T, N, k, S = t.shape[0], self.tree.n_modes, self.kernel, self.side
        if T ** N > 2 ** 20:
            raise NetworkError(f"template_images builds T^N = {T}^{N} images; limit is 2^20.")
        idx = torch.cartesian_prod(*[torch.arange(T)] * N)
        P = t[idx]  # (T^N, N, k*k, C)
        C = P.shape[-1]
        if k == 1 and S * S != N:
            return P[:, :, 0, :]  # sequences (T^N, N, C)
        img = P.reshape(-1, S, S, k, k, C).permute(0, 5, 1, 3, 2, 4).reshape(-1, C, S * k, S * k)
        return img

    def extra_repr(self) -> str:
        """The summary line ``torch`` prints inside the module's repr.

        Returns
        -------
        str
        """
        return (f"tree={self.tree.name}, M={self.M}, kernel={self.kernel}, outputs={self.outputs}, "
                f"channels={[self.maps[l].cols for l in range(self.tree.depth)]}, params={self.n_params}")
