"""The mode tree: a rooted tree whose leaves are the input modes (docs/conventions.md).

An internal node is identified by the frozenset of modes below it, and its children are ordered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterator, Sequence

import numpy as np

from tensorexpr.core.errors import GeometryError
from tensorexpr.core.pooling import dilated_nested, grid_nested, line_nested, shallow_nested
from tensorexpr.core.types import Nested

__all__ = ["ModeTree"]


def _parse_nested(obj: Any, out: list[tuple[frozenset, tuple[frozenset, ...]]]) -> frozenset:
    if type(obj) is int:  # the common leaf, without the general checks below
        if obj < 0:
            raise GeometryError(f"Modes must be non-negative integers, got {obj}.")
        return frozenset((obj,))
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, bool):
        if obj < 0:
            raise GeometryError(f"Modes must be non-negative integers, got {obj}.")
        return frozenset({int(obj)})
    if isinstance(obj, (str, bytes)) or not isinstance(obj, Sequence):
        raise GeometryError(f"A nested tree holds ints and sequences only, got {obj!r} ({type(obj).__name__}).")
    if len(obj) == 0:
        raise GeometryError("Empty window in nested tree: every internal node needs at least one child.")
    kids = [_parse_nested(c, out) for c in obj]
    if len(kids) == 1:  # (x,) is x: a window of one adds a level but no structure
        return kids[0]
    node = frozenset().union(*kids)
    if len(node) != sum(map(len, kids)):  # children are disjoint iff their sizes add up
        seen: set[int] = set()
        for k in kids:
            dup = seen & k
            if dup:
                raise GeometryError(f"Mode(s) {sorted(dup)} repeated in the nested tree; each mode is one leaf.")
            seen |= k
    out.append((node, tuple(kids)))
    return node


@dataclass(frozen=True)
class ModeTree:
    """A rooted tree over modes ``0..n-1``; nodes are frozensets of modes, children ordered.

    Build it with :meth:`line`, :meth:`grid`, :meth:`shallow`, :meth:`dilated` or :meth:`from_nested`
    (docs/conventions.md, "Mode trees"). The constructor checks that the leaves are exactly ``0..n-1`` and
    that every internal node is the disjoint union of its children.

    Parameters
    ----------
    root : frozenset
        The set of all modes.
    edges : tuple of (frozenset, tuple of frozenset)
        Every internal node with its ordered children, in post-order (children before parents).
    name : str, optional
        A label for printing; not part of equality.

    Raises
    ------
    GeometryError
        When the leaves are not ``0..n-1``, two children overlap, or a node is not the union of its children.

    Examples
    --------
    >>> t = ModeTree.line(4)
    >>> t.n_modes, t.depth
    (4, 2)
    >>> ModeTree.from_nested(((0, 1), (2, 3))) == t
    True
    """

    root: frozenset
    edges: tuple[tuple[frozenset, tuple[frozenset, ...]], ...]  # internal nodes in post-order
    name: str = field(default="custom", compare=False)

    def __post_init__(self) -> None:
        modes = sorted(self.root)
        if modes != list(range(len(modes))):
            missing = sorted(set(range(max(modes) + 1)) - self.root) if modes else []
            raise GeometryError(
                f"Mode tree leaves must be exactly 0..{len(modes) - 1}; got {modes[:10]}"
                f"{'...' if len(modes) > 10 else ''} (missing {missing[:10]})."
            )
        for node, kids in self.edges:
            if len(node) == sum(map(len, kids)) and node == frozenset().union(*kids):
                continue  # disjoint children whose union is the node (sizes add up and the union matches)
            union: set[int] = set()
            for k in kids:
                if union & k:
                    raise GeometryError(f"Children of node {sorted(node)} overlap on modes {sorted(union & k)}.")
                union |= k
            raise GeometryError(f"Node {sorted(node)} is not the union of its children.")

    # -- constructors ---------------------------------------------------------------------------------
    @classmethod
    def from_nested(cls, nested: Nested, name: str = "nested") -> "ModeTree":
        """Build a tree from nested tuples of ints, e.g. ``((0, 1), (2, 3))``; a bare int is a one-mode tree.

        A one-element window ``(x,)`` is ``x`` itself (it adds no structure).

        Parameters
        ----------
        nested : int or nested sequence of int
            The tree: ints are modes, sequences are internal nodes with their ordered children.
        name : str, optional
            A label for printing.

        Returns
        -------
        ModeTree

        Raises
        ------
        GeometryError
            On a negative mode, a non-int leaf, an empty window, a repeated mode, or leaves that are not ``0..n-1``.

        Examples
        --------
        >>> ModeTree.from_nested(((0, 2), (1, 3))).children(frozenset({0, 1, 2, 3}))
        (frozenset({0, 2}), frozenset({1, 3}))
        """
        edges: list[tuple[frozenset, tuple[frozenset, ...]]] = []
        root = _parse_nested(nested, edges)
        return cls(root=root, edges=tuple(edges), name=name)

    @classmethod
    def line(cls, n: int, window: int = 2) -> "ModeTree":
        """Contiguous 1-D pooling with ``window`` at every level (``n`` a power of ``window``).

        Parameters
        ----------
        n : int
            Number of modes.
        window : int, optional
            Pooling window of every level (default 2).

        Returns
        -------
        ModeTree

        Raises
        ------
        GeometryError
            When ``n`` or ``window`` is not a positive integer, ``window < 2`` with ``n > 1``, or ``window`` does not
            divide the length of some level (see :func:`tensorexpr.core.pooling.line_nested`).

        Examples
        --------
        >>> ModeTree.line(8).to_nested()
        (((0, 1), (2, 3)), ((4, 5), (6, 7)))
        """
        return cls.from_nested(line_nested(n, window), name=f"line:{n}" + (f":w{window}" if window != 2 else ""))

    @classmethod
    def grid(cls, h: int, w: int, window: tuple[int, int] | int = (2, 2), geometry: str = "square") -> "ModeTree":
        """2-D pooling over ``h x w`` with ``geometry`` ``"square"`` (quad tree) or ``"mirror"``.

        Position ``(row, col)`` is mode ``row * w + col`` (docs/conventions.md).

        Parameters
        ----------
        h, w : int
            Grid height and width.
        window : int, (int, int) or list, optional
            ``k``, ``(kh, kw)``, or a list of per-level windows, bottom level first, the last one repeating.
        geometry : {"square", "mirror"}, optional
            Contiguous blocks, or mirror pooling (Cohen & Shashua, ICLR 2017, Sec. 5; 2x2 windows only).

        Returns
        -------
        ModeTree

        Raises
        ------
        GeometryError
            On a bad side or window, an unknown geometry, mirror pooling with a window other than 2x2, or a window
            that does not divide a level (see :func:`tensorexpr.core.pooling.grid_nested`).

        References
        ----------
        Cohen & Shashua, "Inductive Bias of Deep Convolutional Networks through Pooling Geometry", ICLR 2017.

        Examples
        --------
        >>> ModeTree.grid(2, 2).to_nested()
        (0, 1, 2, 3)
        >>> ModeTree.grid(4, 4, geometry="mirror").children(frozenset(range(16)))[0]
        frozenset({0, 3, 12, 15})
        """
        return cls.from_nested(grid_nested(h, w, window, geometry), name=f"grid:{h}x{w}:{geometry}")

    @classmethod
    def shallow(cls, n: int) -> "ModeTree":
        """Depth-1 tree with one global pooling node (the CP decomposition's tree).

        Parameters
        ----------
        n : int
            Number of modes.

        Returns
        -------
        ModeTree

        Raises
        ------
        GeometryError
            When ``n`` is not a positive integer.

        Examples
        --------
        >>> ModeTree.shallow(3).depth
        1
        """
        return cls.from_nested(shallow_nested(n), name=f"shallow:{n}")

    @classmethod
    def dilated(cls, n: int, order: Any = "contiguous") -> "ModeTree":
        """Tree of a dilated 1-D ConvNet (window 2): see :func:`tensorexpr.core.pooling.dilated_nested`.

        ``order="contiguous"`` equals ``line(n)``; ``"reversed"`` pools modes ``n/2`` apart first; ``"swapped"``
        is the ``Tbar`` of Cohen, Tamari & Shashua (ICLR 2018).

        Parameters
        ----------
        n : int
            Number of modes, a power of 2.
        order : str or sequence of int, optional
            ``"contiguous"``, ``"reversed"``, ``"swapped"`` or a permutation of the dilations ``(1, 2, ..., n/2)``.

        Returns
        -------
        ModeTree

        Raises
        ------
        GeometryError
            When ``n`` is not a power of 2 (>= 2) or ``order`` is not one of the above.

        References
        ----------
        Cohen, Tamari & Shashua, "Boosting Dilated Convolutional Networks with Mixed Tensor Decompositions",
        ICLR 2018.

        Examples
        --------
        >>> ModeTree.dilated(8, "contiguous") == ModeTree.line(8)
        True
        """
        tag = order if isinstance(order, str) else ",".join(map(str, order))
        return cls.from_nested(dilated_nested(n, order), name=f"dilated:{n}:{tag}")

    # -- structure ------------------------------------------------------------------------------------
    @cached_property
    def _children(self) -> dict[frozenset, tuple[frozenset, ...]]:
        return dict(self.edges)

    @property
    def n_modes(self) -> int:
        """Number of modes (leaves) ``N``."""
        return len(self.root)

    def children(self, node: frozenset) -> tuple[frozenset, ...]:
        """Ordered children of ``node`` (empty for a leaf).

        Parameters
        ----------
        node : frozenset
            A node of the tree (a leaf or an internal node).

        Returns
        -------
        tuple of frozenset
            The children in order; ``()`` for a leaf or a set that is not an internal node.
        """
        return self._children.get(node, ())

    def is_leaf(self, node: frozenset) -> bool:
        """Whether ``node`` is not an internal node.

        Parameters
        ----------
        node : frozenset
            A set of modes.

        Returns
        -------
        bool
            ``True`` for a leaf, and for any set that is not an internal node of this tree.
        """
        return node not in self._children

    @cached_property
    def leaves(self) -> tuple[frozenset, ...]:
        """The leaves ``frozenset({m})`` in mode order ``0..N-1``."""
        return tuple(frozenset({m}) for m in range(self.n_modes))

    @cached_property
    def nodes(self) -> tuple[frozenset, ...]:
        """All nodes, children before parents (leaves first in mode order, root last)."""
        leaf_set = set(self.leaves)  # built once: rebuilding it per internal node made this O(N^2)
        return self.leaves + tuple(n for n, _ in self.edges if n not in leaf_set)

    @cached_property
    def internal_nodes(self) -> tuple[frozenset, ...]:
        """The internal nodes in post-order (root last)."""
        return tuple(n for n, _ in self.edges)

    @cached_property
    def parent(self) -> dict[frozenset, frozenset]:
        """The parent of every non-root node."""
        return {k: n for n, kids in self.edges for k in kids}

    @cached_property
    def standard_shape(self) -> tuple[str, tuple[int, ...]] | None:
        """The standard geometry this tree is, recognised from its structure (never its name).

        Returns
        -------
        tuple or None
            ``("line", (N,))`` for the window-2 line, ``("grid-square" | "grid-mirror", (h, w))`` for 2x2 grid
            pooling, else ``None``. Computed once per tree (a tree is frozen).
        """
        N = self.n_modes
        # The level-1 window holding mode 0 names the candidates: {0, 1} on the line, {0, 1, w, w+1} under
        # square pooling and {0, w-1, (h-1)w, hw-1} under mirror pooling (rows/columns pair with their mirror
        # images). Each candidate is then confirmed by building that tree and comparing it node for node.
        first = self.parent.get(frozenset({0}))
        if first is None:
            return None
        s = sorted(first)
        if s == [0, 1] and N >= 2 and N & (N - 1) == 0 and self == ModeTree.line(N):
            return "line", (N,)
        from tensorexpr.core.pooling import GRID_GEOMETRIES

        cands: list[tuple[str, int]] = []
        if len(s) == 4:
            cands = [("square", s[2]), ("mirror", s[1] + 1)]
        for g, w in cands:
            if w < 2 or N % w or N // w < 2 or g not in GRID_GEOMETRIES:
                continue
            try:
                cand = ModeTree.grid(N // w, w, 2, g)
            except (GeometryError, ValueError):
                continue
            if cand == self:
                return f"grid-{g}", (N // w, w)
        return None

    @cached_property
    def levels(self) -> dict[frozenset, int]:
        """Height of every node: leaves 0, a node one more than its highest child."""
        lv: dict[frozenset, int] = {leaf: 0 for leaf in self.leaves}
        for node, kids in self.edges:
            lv[node] = 1 + max(lv[k] for k in kids)
        return lv

    @property
    def depth(self) -> int:
        """Level of the root (number of pooling layers)."""
        return self.levels[self.root]

    def nodes_at_level(self, level: int) -> tuple[frozenset, ...]:
        """The nodes of height ``level``, in the order of :attr:`nodes`.

        Parameters
        ----------
        level : int
            A height (leaves are 0).

        Returns
        -------
        tuple of frozenset
            Empty when no node has this height.
        """
        return tuple(n for n in self.nodes if self.levels[n] == level)

    def to_nested(self, node: frozenset | None = None) -> Any:
        """The nested-tuple form of the subtree at ``node`` (inverse of :meth:`from_nested`).

        Parameters
        ----------
        node : frozenset, optional
            The subtree's root; default the tree's root.

        Returns
        -------
        int or tuple
            A mode for a leaf, else the tuple of the children's nested forms.

        Examples
        --------
        >>> ModeTree.line(4).to_nested()
        ((0, 1), (2, 3))
        """
        node = self.root if node is None else node
        if self.is_leaf(node):
            return next(iter(node))
        return tuple(self.to_nested(c) for c in self.children(node))

    def to_networkx(self) -> Any:
        """A ``networkx.DiGraph`` with edges parent -> child and node attributes ``level``, ``modes``.

        Returns
        -------
        networkx.DiGraph
            Nodes are the tree's frozensets; ``modes`` is the sorted tuple of a node's modes.
        """
        import networkx as nx

        g = nx.DiGraph()
        for node in self.nodes:
            g.add_node(node, level=self.levels[node], modes=tuple(sorted(node)))
        for node, kids in self.edges:
            for k in kids:
                g.add_edge(node, k)
        return g

    def __iter__(self) -> Iterator[frozenset]:
        return iter(self.nodes)

    def __repr__(self) -> str:
        widths = sorted({len(self.children(n)) for n in self.internal_nodes})
        return (
            f"ModeTree({self.name}, n_modes={self.n_modes}, depth={self.depth}, "
            f"internal_nodes={len(self.internal_nodes)}, fan_in={widths})"
        )
