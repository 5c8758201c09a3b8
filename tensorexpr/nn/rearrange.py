"""``Rearrange``: a fixed pixel permutation, so that a standard CNN pools in any pooling geometry
(docs/cnn_hybrid.md, "Overlapping CNNs on any pooling geometry").

A stack of ``k x k`` poolings over contiguous windows realizes one pooling geometry, the square one (Cohen &
Shashua, ICLR 2017). Any other geometry with the same shape of tree (mirror, interleaved, a geometry fitted to
data) is the square one after a permutation of the pixels: put :class:`Rearrange` first and the windows of
every level hold the modes of that geometry's nodes. With ``1 x 1`` convolutions the traced network is the tree
ConvAC of the geometry; with ``k x k`` convolutions the receptive fields overlap *in the rearranged image*.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from tensorexpr.core.errors import GeometryError, NetworkError
from tensorexpr.core.modetree import ModeTree

__all__ = ["Rearrange"]


def _shape_key(tree: ModeTree, node: frozenset, memo: dict[frozenset, Any]) -> Any:
    """The unordered shape of the subtree at ``node`` (``()`` for a leaf), canonical up to child order."""
    if node not in memo:
        kids = () if tree.is_leaf(node) else tree.children(node)
        memo[node] = tuple(sorted((_shape_key(tree, c, memo) for c in kids), key=repr))
    return memo[node]


class Rearrange(nn.Module):
    """Permute the pixels: ``y[b, c, p] = x[b, c, perm[p]]``, pixels ``p = i * W + j`` in C order.

    Parameters
    ----------
    perm : sequence of int
        A permutation of ``range(H * W)``: output pixel ``p`` reads input pixel ``perm[p]``.
    shape : (int, int)
        The image ``(H, W)``.

    Raises
    ------
    NetworkError
        ``perm`` is not a permutation of ``range(H * W)``, or ``shape`` is not two positive ints.

    Examples
    --------
    >>> import torch
    >>> r = Rearrange([3, 2, 1, 0], (2, 2))
    >>> r(torch.arange(4.0).reshape(1, 1, 2, 2)).flatten().tolist()
    [3.0, 2.0, 1.0, 0.0]
    """

    def __init__(self, perm: Sequence[int], shape: tuple[int, int]) -> None:
        super().__init__()
        if (not isinstance(shape, (tuple, list)) or len(shape) != 2
                or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1 for s in shape)):
            raise NetworkError(f"Rearrange shape must be (H, W) with positive ints, got {shape!r}.")
        H, W = int(shape[0]), int(shape[1])
        p = np.asarray(perm)
        if p.ndim != 1 or p.size != H * W or not np.issubdtype(p.dtype, np.integer) or \
                not np.array_equal(np.sort(p), np.arange(H * W)):
            raise NetworkError(f"Rearrange perm must be a permutation of range({H * W}) (the pixels of {H}x{W}), "
                               f"got {list(p.flat)[:12]}{'...' if p.size > 12 else ''} (length {p.size}). "
                               f"Hint: Rearrange.from_tree builds it from a pooling geometry.")
        self.shape = (H, W)
        self.register_buffer("perm", torch.as_tensor(p.astype(np.int64)))

    @classmethod
    def from_tree(cls, tree: ModeTree, H: int, W: int, window: int | tuple[int, int] = 2) -> "Rearrange":
        """The permutation under which ``window`` poolings of contiguous blocks pool ``tree``'s nodes.

        The square tree :meth:`ModeTree.grid` ``(H, W, window)`` over output pixels is matched to ``tree``
        top-down, children paired by the shape of their subtrees; the matched leaves give ``perm``. After the
        permutation, the contiguous windows of every level hold exactly the modes of one node of ``tree``.

        Parameters
        ----------
        tree : ModeTree
            The pooling geometry, over the ``H * W`` pixels (mode ``i * W + j``).
        H, W : int
            The image.
        window : int or (int, int), default 2
            The pooling window of the CNN that follows (every level).

        Returns
        -------
        Rearrange

        Raises
        ------
        GeometryError
            ``tree`` has another number of modes, or a shape that no stack of ``window`` poolings has (for
            example a binary tree under 2x2 poolings).

        References
        ----------
        Cohen & Shashua, "Inductive Bias of Deep Convolutional Networks through Pooling Geometry", ICLR 2017.

        Examples
        --------
        >>> r = Rearrange.from_tree(ModeTree.grid(4, 4, geometry="mirror"), 4, 4)
        >>> sorted(r.perm[[0, 1, 4, 5]].tolist())  # the first 2x2 window: a position and its three mirror images
        [0, 3, 12, 15]
        """
        square = ModeTree.grid(H, W, window)
        if tree.n_modes != square.n_modes:
            raise GeometryError(f"Rearrange.from_tree: the geometry has {tree.n_modes} modes, the {H}x{W} image "
                                f"{H * W} pixels. Hint: build the tree over the same image.")
        ms: dict[frozenset, Any] = {}
        mt: dict[frozenset, Any] = {}
        if _shape_key(square, square.root, ms) != _shape_key(tree, tree.root, mt):
            raise GeometryError(f"Rearrange.from_tree: geometry {tree.name!r} is not shaped like a stack of "
                                f"{window} poolings on {H}x{W} (another number of children at some level). "
                                f"Hint: pick the pooling window the tree was built with, or build the network "
                                f"with te.convac(tree, ...) instead.")
        perm = np.empty(H * W, dtype=np.int64)
        stack = [(square.root, tree.root)]
        while stack:
            s, t = stack.pop()
            if square.is_leaf(s):
                perm[next(iter(s))] = next(iter(t))
                continue
            sk = sorted(square.children(s), key=lambda c: repr(ms[c]))
            tk = sorted(tree.children(t), key=lambda c: repr(mt[c]))
            stack.extend(zip(sk, tk))
        return cls(perm.tolist(), (H, W))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The permuted image.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, C, H, W)``.

        Returns
        -------
        torch.Tensor
            ``(B, C, H, W)`` with pixel ``p`` taken from pixel ``perm[p]`` of ``x``.

        Raises
        ------
        NetworkError
            ``x`` is not ``(B, C, H, W)`` with this module's ``(H, W)``.
        """
        if x.dim() != 4 or tuple(x.shape[-2:]) != self.shape:
            raise NetworkError(f"Rearrange{self.shape} expects (B, C, {self.shape[0]}, {self.shape[1]}), "
                               f"got {tuple(x.shape)}.")
        B, C = x.shape[:2]
        return x.reshape(B, C, -1)[:, :, self.perm].reshape(B, C, *self.shape)

    def extra_repr(self) -> str:
        """The module's settings in its ``repr``.

        Returns
        -------
        str
            The image shape.
        """
        return f"shape={self.shape}"
