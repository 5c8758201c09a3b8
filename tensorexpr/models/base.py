"""The shared skeleton of the tree models: compile the tree, own the per-stage weights, run the stages."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import NetworkError
from ..modetree import ModeTree
from .layers import Representation, Stage, compile_tree, default_device, gather_children, make_representation, n_parameters, positions

__all__ = ["TreeModel"]


class TreeModel(nn.Module):
    """A network on a mode tree: representation -> leaf 1x1 conv -> (pool children -> 1x1 conv) per level.

    Subclasses define the arithmetic: :meth:`_leaf`, :meth:`_pool` and :meth:`_conv`, plus
    ``_pad_value`` (the padding for nodes with fewer children than their stage's fan-in). The root's conv
    gives the ``outputs`` channels; no activation follows it.
    """

    _pad_value: float = 0.0

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

    # -- public -------------------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.weights[0].device

    @property
    def n_params(self) -> int:
        """Trainable parameters (representation included)."""
        return n_parameters(self)

    @property
    def dtype(self) -> torch.dtype:
        return self.weights[0].dtype

    def node_weight(self, stage: int, row: int) -> torch.Tensor:
        """The ``(r_in, r_out)`` weight of node ``row`` of stage ``stage`` (tied across the stage when shared)."""
        W = self.weights[stage]
        return W if self.shared else W[row]

    def forward(self, x: Any) -> torch.Tensor:
        """``(B, outputs)`` scores for a batch of images ``(B, H, W)`` / ``(B, C, H, W)`` or sequences ``(B, N, C)``."""
        pos = positions(x, self.tree, self.representation, self.device, self.dtype)
        outs: list[torch.Tensor] = []
        for i, st in enumerate(self.stages):
            W = self.weights[i]
            if st.is_leaf:
                idx = getattr(self, f"_index{i}")[:, 0]
                xs = pos[:, idx]
                outs.append(self._leaf(xs, st, W))
            else:
                kids = gather_children(outs, st, self._pad_value, getattr(self, f"_index{i}"))
                pooled = self._pool(kids, st, getattr(self, f"_counts{i}"))
                outs.append(self._conv(pooled, W))
        return outs[-1][:, 0, :]

    def to_network(self, templates: Any = None, name: str | None = None) -> Any:
        """The trained model as a :class:`tensorexpr.Network` (see :func:`tensorexpr.models.from_model`)."""
        from .extract import from_model

        return from_model(self, templates=templates, name=name)

    def extra_repr(self) -> str:
        return (f"tree={self.tree.name}, N={self.tree.n_modes}, M={self.M}, widths={self.widths_spec}, "
                f"outputs={self.outputs}, shared={self.shared}, stages={len(self.stages)}, params={self.n_params}")
