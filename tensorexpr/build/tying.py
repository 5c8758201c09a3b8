"""Shared machinery of the structured (tied) networks: fixed linear maps from parameter blocks to weights.

A structured layer is a parameter block ``theta`` and a fixed map ``basis`` with
``vec(W) = basis @ theta`` (C order; :class:`tensorexpr.core.params.Tied`). Group convolutions use 0/1
*selection* maps (every weight entry is one parameter); attribute convolutions with summed-out attributes
use non-negative integer maps. One map per tree level, shared by every node of the level (a convolution
over positions), so ``tie_key`` groups the level's nodes (docs/design.md, "Parametrized weights").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

import numpy as np

from tensorexpr.core.errors import NetworkError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.core.network import Network, Node, node_id
from tensorexpr.core.operators import get_operator
from tensorexpr.core.params import Tied, freeze_vector, materialize

__all__ = ["LevelMap", "selection_basis", "tied_tree_network", "draw_block"]


@dataclass(frozen=True, eq=False)
class LevelMap:
    """The fixed map of one tree level: ``vec(W) = basis @ theta`` with ``W`` of shape ``(rows, cols)``.

    Parameters
    ----------
    rows, cols : int
        Weight shape (input channels, output channels).
    basis : array_like, shape (rows * cols, n_free)
        Non-negative integer map (0/1 for a selection); stored as a read-only ``int64`` copy.
    kind : str, optional
        ``"group"``, ``"lift"``, ``"invariant"``, ``"attribute"`` or ``"free"`` (labels for reports).

    Attributes
    ----------
    rows, cols : int
    basis : numpy.ndarray
    kind : str

    Raises
    ------
    NetworkError
        When ``basis`` does not have ``rows * cols`` rows.
    """

    rows: int
    cols: int
    basis: np.ndarray
    kind: str = "free"

    def __post_init__(self) -> None:
        b = np.asarray(self.basis)
        if b.shape[0] != self.rows * self.cols:
            raise NetworkError(f"LevelMap: basis has {b.shape[0]} rows but the weight has {self.rows}x{self.cols} entries.")
        b = np.array(b, dtype=np.int64, copy=True)
        b.setflags(write=False)
        object.__setattr__(self, "basis", b)

    @property
    def n_free(self) -> int:
        """Number of free parameters of the level (columns of ``basis``)."""
        return int(self.basis.shape[1])

    @property
    def is_identity(self) -> bool:
        """Whether ``basis`` is the identity (a plain, untied-structure convolution)."""
        return self.basis.shape[0] == self.basis.shape[1] and bool(np.array_equal(self.basis, np.eye(self.n_free, dtype=np.int64)))

    def weight(self, theta: np.ndarray) -> np.ndarray:
        """``reshape(basis @ theta, (rows, cols))`` (C order).

        Parameters
        ----------
        theta : array_like
            ``n_free`` parameter values.

        Returns
        -------
        numpy.ndarray
            Shape ``(rows, cols)``.

        Raises
        ------
        NetworkError
            When ``theta`` does not have ``n_free`` entries.

        Examples
        --------
        >>> import numpy as np
        >>> LevelMap(1, 2, selection_basis([0, 0], 1)).weight(np.array([5])).tolist()
        [[5, 5]]
        """
        return materialize(Tied("w", self.basis), np.asarray(theta), (self.rows, self.cols))


def selection_basis(index: np.ndarray, n_free: int) -> np.ndarray:
    """The 0/1 map with ``(basis @ theta)[e] = theta[index[e]]`` (each weight entry picks one parameter).

    Parameters
    ----------
    index : array_like of int
        One parameter index per weight entry (flattened in C order).
    n_free : int
        Number of parameters.

    Returns
    -------
    numpy.ndarray
        ``int64``, shape ``(index.size, n_free)``.

    Raises
    ------
    NetworkError
        When an index lies outside ``0..n_free-1``.

    Examples
    --------
    >>> selection_basis([1, 0, 1], 2).tolist()
    [[0, 1], [1, 0], [0, 1]]
    """
    index = np.asarray(index, dtype=np.int64).reshape(-1)
    if index.size and (index.min() < 0 or index.max() >= n_free):
        raise NetworkError(f"selection index spans {index.min()}..{index.max()} but the block has {n_free} parameters.")
    b = np.zeros((index.size, n_free), dtype=np.int64)
    b[np.arange(index.size), index] = 1
    return b


def draw_block(rng: np.random.Generator, n: int, integer: bool, int_range: int) -> np.ndarray:
    """Seeded parameter values: integers in ``[-int_range, int_range]`` or standard normals.

    Parameters
    ----------
    rng : numpy.random.Generator
    n : int
        Number of values.
    integer : bool
        Integers (``int64``) when true, else standard normal floats.
    int_range : int
        Bound of the integers.

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)``.
    """
    if integer:
        return rng.integers(-int_range, int_range + 1, size=n).astype(np.int64)
    return rng.standard_normal(n)


def tied_tree_network(tree: ModeTree, M: int, maps: Mapping[int, LevelMap], blocks: Mapping[int, Any],
                      op: Any = "product", F: Any = None, integer: bool = False, name: str = "tied",
                      meta: Mapping[str, Any] | None = None, prefix: str = "") -> Network:
    """A network on ``tree`` whose level-``l`` nodes all carry ``Tied(f"level{l}", maps[l].basis)``.

    A level whose map is the identity is declared ``Tied(block)`` (a plain convolution); the root level is
    one node, so an identity map there is a free weight (docs/design.md, "Parametrized weights").

    Parameters
    ----------
    tree : ModeTree
    M : int
        Number of representation functions.
    maps : mapping of int to LevelMap
        One map per level (leaves are level 0).
    blocks : mapping of int to array_like
        The parameter values of each level's block (``maps[l].n_free`` entries).
    op : str or Operator, optional
        The pooling operator (default ``"product"``).
    F : array_like, optional
        The template matrix; default the identity.
    integer : bool, optional
        Whether the network is exact-integer.
    name : str, optional
    meta : mapping, optional
        Stored as the network's ``meta``.
    prefix : str, optional
        Prepended to node ids and block names (to combine several networks).

    Returns
    -------
    Network

    Raises
    ------
    NetworkError
        When a level has no map, a block has the wrong size, or the network is invalid.
    KeyError
        When ``blocks`` lacks a level that ``maps`` has.
    """
    params: dict[str, np.ndarray] = {}
    nodes = []
    ids = {n: node_id(n, prefix) for n in tree.nodes}
    for n in tree.nodes:
        lv = tree.levels[n]
        if lv not in maps:
            raise NetworkError(f"tied_tree_network: no map for level {lv} (levels given: {sorted(maps)}).")
        m = maps[lv]
        block = f"{prefix}level{lv}"
        if block not in params:
            theta = freeze_vector(blocks[lv])
            if theta.size != m.n_free:
                raise NetworkError(f"Block {block!r} has {theta.size} parameters but its map needs {m.n_free}.")
            params[block] = theta
        param = Tied(block, None if m.is_identity else m.basis)
        w = m.weight(params[block])
        if tree.is_leaf(n):
            nodes.append(Node(ids[n], "leaf", (), w, mode=next(iter(n)), param=param))
        else:
            nodes.append(Node(ids[n], "pool", tuple(ids[c] for c in tree.children(n)), w, param=param))
    net = Network(tuple(nodes), ids[tree.root], M, get_operator(op), F, integer, tree, params, name)
    return replace(net, meta=dict(meta or {}))
