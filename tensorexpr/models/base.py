"""The shared skeleton of the tree models: compile the tree, own the per-stage weights, run the stages."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from tensorexpr.core.errors import NetworkError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.models.gridpath import GridPlan, grid_plan, permute_positions
from tensorexpr.models.representations import make_representation
from tensorexpr.models.layers import Representation, Stage, compile_tree, default_device, gather_children, n_parameters, positions

__all__ = ["TreeModel"]


class TreeModel(nn.Module):
    """A network on a mode tree: representation -> leaf 1x1 conv -> (pool children -> 1x1 conv) per level.

    Subclasses define the arithmetic: :meth:`_leaf`, :meth:`_pool` and :meth:`_conv`, plus
    ``_pad_value`` (the padding for nodes with fewer children than their stage's fan-in), and
    :meth:`_window` for the fast path. The root's conv gives the ``outputs`` channels; no activation
    follows it. ``bias=True`` adds a learned bias after every conv (per stage, or per node when unshared).

    Trees that :func:`~tensorexpr.models.gridpath.grid_plan` recognizes (``2^k x 2^k`` grids pooled 2x2
    after a fixed permutation per level: square, mirror) run the reshape fast path; every other tree
    runs the general index-gather path. ``fast=False`` forces the general path (tests compare the two).

    Parameters
    ----------
    tree : ModeTree
        The pooling geometry.
    M : int
        Representation functions per position.
    widths : int, sequence or dict
        As in :func:`tensorexpr.convac` (``r_0 .. r_{L-1}``).
    outputs : int, optional
        Output channels ``Y``.
    representation : str or Representation, optional
        ``"one_hot"``, ``"gaussian"``, ``"linear"`` or a scattering spec.
    shared : bool, optional
        Convolution (weights tied per level) or locally connected layers.
    in_features : int, optional
        Raw features per position (channels ``C``).
    seed : int, optional
        Seed of the weight initialization (``None`` is 0).
    device : str or torch.device, optional
        Default CUDA when available, else CPU.
    bias : bool, optional
        A learned bias after every conv.
    fast : bool, optional
        Allow the grid fast path.

    Raises
    ------
    NetworkError
        When ``M`` is not a positive integer, or ``widths`` / ``outputs`` do not fit the tree.
    """

    _pad_value: float = 0.0

    #: ``"convac"`` / ``"relunet"`` on the models :func:`~tensorexpr.models.from_model` can read; None here.
    extraction: str | None = None

    def __init__(
        self,
        tree: ModeTree,
        M: int,
        widths: Any,
        outputs: int = 1,
        representation: str | Representation = "one_hot",
        shared: bool = True,
        in_features: int = 1,
        seed: int | None = 0,
        device: str | torch.device | None = None,
        bias: bool = False,
        fast: bool = True,
    ):
        super().__init__()
        if isinstance(M, bool) or not isinstance(M, (int, np.integer)) or M < 1:
            raise NetworkError(f"M (number of representation functions) must be an integer >= 1, got {M!r}.")
        self.tree = tree
        self.M = int(M)
        self.widths_spec = widths
        self.outputs = int(outputs) if isinstance(outputs, (int, np.integer)) else outputs
        self.shared = bool(shared)
        self.seed = seed
        self.stages, self.node_widths = compile_tree(tree, self.M, widths, outputs)
        self.representation = make_representation(representation, self.M, in_features, seed)
        gen = torch.Generator().manual_seed(0 if seed is None else int(seed))
        self.weights = nn.ParameterList()
        for i, st in enumerate(self.stages):
            shape = (st.r_in, st.r_out) if self.shared else (len(st.nodes), st.r_in, st.r_out)
            self.weights.append(nn.Parameter(self._init_weight(shape, st, gen)))
            self.register_buffer(f"_index{i}", torch.as_tensor(st.index), persistent=False)
            self.register_buffer(f"_counts{i}", torch.as_tensor(st.counts), persistent=False)
        self.bias = bool(bias)
        self.biases = nn.ParameterList(
            [nn.Parameter(torch.zeros(st.r_out if self.shared else (len(st.nodes), st.r_out))) for st in self.stages]
            if self.bias else [])
        self.plan: GridPlan | None = grid_plan(tree, self.stages) if fast else None
        if self.plan is not None:
            for k, perm in enumerate(self.plan.perms):
                if perm is not None:
                    self.register_buffer(f"_perm{k}", torch.as_tensor(perm), persistent=False)
                    self.register_buffer(f"_inv{k}", torch.as_tensor(np.argsort(perm)), persistent=False)
            for k, rows in enumerate(self.plan.rows):
                self.register_buffer(f"_rows{k}", torch.as_tensor(rows), persistent=False)
        self.to(default_device() if device is None else torch.device(device))

    # -- subclass hooks ---------------------------------------------------------------------------------
    def _init_weight(self, shape: tuple[int, ...], st: Stage, gen: torch.Generator) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def _leaf(self, x: torch.Tensor, st: Stage, W: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def _pool(self, kids: torch.Tensor, st: Stage, counts: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def _conv(self, x: torch.Tensor, W: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def _window(self, x: torch.Tensor, h: int) -> torch.Tensor:  # pragma: no cover
        """Pool the 2x2 windows of row-major ``(B, h*h, r)`` positions to ``(B, h*h/4, r)`` (the fast path)."""
        raise NotImplementedError

    # -- public -------------------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        """The device of the weights."""
        return self.weights[0].device

    @property
    def n_params(self) -> int:
        """Trainable parameters (representation included)."""
        return n_parameters(self)

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the weights."""
        return self.weights[0].dtype

    def node_weight(self, stage: int, row: int) -> torch.Tensor:
        """The ``(r_in, r_out)`` weight of node ``row`` of stage ``stage`` (tied across the stage when shared).

        Parameters
        ----------
        stage : int
            Index into :attr:`stages` (leaves first).
        row : int
            The node's row within the stage (ignored when shared).

        Returns
        -------
        torch.Tensor
            The parameter itself (log-space offsets for a :class:`ConvAC`).
        """
        W = self.weights[stage]
        return W if self.shared else W[row]

    def forward(self, x: Any) -> torch.Tensor:
        """``(B, outputs)`` scores for a batch of images ``(B, H, W)`` / ``(B, C, H, W)`` or sequences ``(B, N, C)``.

        Parameters
        ----------
        x : torch.Tensor or array_like
            Symbols (``one_hot``) or features, one position per mode (``(row, col)`` is mode ``row * W + col``).

        Returns
        -------
        torch.Tensor
            ``(B, outputs)``: ``log h`` for a :class:`ConvAC`, logits for a :class:`ReLUNet`.

        Raises
        ------
        ModelInputError
            When ``x`` does not fit the tree or the representation.
        """
        pos = positions(x, self.tree, self.representation, self.device, self.dtype)
        if self.plan is not None:
            return self._fast_forward(pos)
        return self._stage_outputs(pos)[-1][:, 0, :]

    def stage_outputs(self, x: Any) -> list[torch.Tensor]:
        """Every stage's output ``(B, n_nodes, r_out)`` (general path; for inspection and data-dependent init).

        Parameters
        ----------
        x : torch.Tensor or array_like
            As for :meth:`forward`.

        Returns
        -------
        list of torch.Tensor
            One per stage, leaves first; biases included.

        Raises
        ------
        ModelInputError
            When ``x`` does not fit the tree or the representation.
        """
        return self._stage_outputs(positions(x, self.tree, self.representation, self.device, self.dtype))

    def _stage_outputs(self, pos: torch.Tensor) -> list[torch.Tensor]:
        outs: list[torch.Tensor] = []
        for i, st in enumerate(self.stages):
            W = self.weights[i]
            if st.is_leaf:
                idx = getattr(self, f"_index{i}")[:, 0]
                xs = pos[:, idx]
                out = self._leaf(xs, st, W)
            else:
                kids = gather_children(outs, st, self._pad_value, getattr(self, f"_index{i}"))
                pooled = self._pool(kids, st, getattr(self, f"_counts{i}"))
                out = self._conv(pooled, W)
            outs.append(out + self.biases[i] if self.bias else out)
        return outs

    def _stage_param(self, p: torch.Tensor, k: int) -> torch.Tensor:
        """A stage's weight or bias laid out in the fast path's row-major grid order."""
        return p if self.shared else p[getattr(self, f"_rows{k}")]

    def _fast_forward(self, pos: torch.Tensor) -> torch.Tensor:
        """The grid fast path (see :mod:`tensorexpr.models.gridpath`); positions are already row-major."""
        plan = self.plan
        W = self._stage_param(self.weights[0], 0)
        if self.representation.discrete:  # one_hot @ W == W[x] exactly, and its backward is one matmul
            oh = nn.functional.one_hot(pos[..., 0], self.M).to(W.dtype)
            x = oh @ W if W.dim() == 2 else torch.einsum("bnm,nmr->bnr", oh, W)
        else:
            x = self._leaf(pos, self.stages[0], W)
        if self.bias:
            x = x + self._stage_param(self.biases[0], 0)
        h = plan.side
        for k in range(1, len(self.stages)):
            if plan.perms[k - 1] is not None:
                x = permute_positions(x, getattr(self, f"_perm{k - 1}"), getattr(self, f"_inv{k - 1}"))
            x = self._window(x, h)
            h //= 2
            x = self._conv(x, self._stage_param(self.weights[k], k))
            if self.bias:
                x = x + self._stage_param(self.biases[k], k)
        return x[:, 0, :]

    #: The grid tensor is multilinear in the weights and ``to_network()`` is exact (ConvAC); the spectrum's exact
    #: path reads this flag (docs/design.md, "Models").
    multilinear: bool = False

    def forward_entries(self, templates: Any = None, output: int = 0, batch: int = 4096) -> Any:
        """The sampled-entry evaluator of :func:`tensorexpr.spectrum` (``evaluator="forward"``).

        See :func:`tensorexpr.models.extract.forward_entries`.

        Parameters
        ----------
        templates : array_like, optional
        output : int, optional
        batch : int, optional

        Returns
        -------
        callable
            ``evaluate(X) -> (h, log_scale, error_bound)``.

        Raises
        ------
        NetworkError
            For a model that is not a :class:`ConvAC`, or bad templates.
        """
        from tensorexpr.models.extract import forward_entries

        return forward_entries(self, templates, output, batch)

    def to_network(self, templates: Any = None, name: str | None = None) -> Any:
        """The trained model as a :class:`tensorexpr.Network` (see :func:`tensorexpr.models.from_model`).

        Parameters
        ----------
        templates : array_like, optional
        name : str, optional

        Returns
        -------
        Network

        Raises
        ------
        NetworkError
            For a model with biases, or bad templates.
        """
        from tensorexpr.models.extract import from_model

        return from_model(self, templates=templates, name=name)

    def extra_repr(self) -> str:
        """The summary line ``torch`` prints inside the module's repr.

        Returns
        -------
        str
        """
        return (f"tree={self.tree.name}, N={self.tree.n_modes}, M={self.M}, widths={self.widths_spec}, "
                f"outputs={self.outputs}, shared={self.shared}, stages={len(self.stages)}, params={self.n_params}"
                + (", bias=True" if self.bias else "") + (f", fast path ({'/'.join(sorted(set(self.plan.geometries)))})" if self.plan else ""))
