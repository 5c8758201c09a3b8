"""Partitions ``(I, J)`` of the modes and the standard families (docs/conventions.md, "Partitions")."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np

from tensorexpr.core.errors import PartitionError

__all__ = ["Partition", "PARTITION_FAMILIES_1D", "PARTITION_FAMILIES_2D", "STANDARD_PARTITIONS", "LINE_PARTITIONS",
           "standard_partitions", "check_modes"]


def check_modes(values: Iterable[Any], what: str) -> frozenset:
    """The modes of ``values`` as a frozenset; a repeated mode is an error (a typo, not a set to dedupe).

    Parameters
    ----------
    values : iterable of int
        Mode numbers.
    what : str
        What they are (``"I"``), for the message.

    Returns
    -------
    frozenset of int

    Raises
    ------
    PartitionError
        When ``values`` is not an iterable of integers or lists a mode twice.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise PartitionError(f"{what} must be an iterable of integer modes, got {values!r}.")
    out: set[int] = set()
    repeated: list[int] = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise PartitionError(f"{what} must hold integer modes, got {v!r}.")
        if int(v) in out:
            repeated.append(int(v))
        out.add(int(v))
    if repeated:
        raise PartitionError(
            f"{what} lists modes {sorted(set(repeated))[:10]} more than once; a partition names each mode once. "
            f"Hint: check the index list for a typo (e.g. [0, 2, 2] meant [0, 2, 4])."
        )
    return frozenset(out)


def _single_child_free(nested: Any) -> tuple:
    """The children of a nested tree's root, past one-element windows (which :class:`ModeTree` drops too)."""
    while isinstance(nested, tuple) and len(nested) == 1:
        nested = nested[0]
    return nested if isinstance(nested, tuple) else ()


def _flat_modes(nested: Any) -> list[int]:
    """The modes of a nested-tuple subtree, without recursion (a 512x512 subtree is 87,000 tuples)."""
    out: list[int] = []
    stack = [nested]
    while stack:
        x = stack.pop()
        if isinstance(x, tuple):
            stack.extend(x)
        else:
            out.append(int(x))
    return out


@dataclass(frozen=True)
class Partition:
    """A partition ``(I, J)`` of modes ``0..n_modes-1``; ``J`` defaults to the complement of ``I``.

    The matricization ``[A]_{I,J}`` puts ``sorted(I)`` on the rows and ``sorted(J)`` on the columns
    (docs/conventions.md, "Partitions and matricization").

    Parameters
    ----------
    I : iterable of int
        The row modes; a repeated mode is an error.
    n_modes : int
        Number of modes ``N``.
    J : iterable of int, optional
        The column modes; default the complement of ``I``.
    name : str, optional
        A label (the family name); not part of equality.

    Raises
    ------
    PartitionError
        When ``n_modes`` is not a positive integer, ``I`` or ``J`` is not an iterable of integer modes, lists a
        mode twice, holds a mode outside ``0..n_modes-1``, when ``I`` and ``J`` overlap, do not cover every mode,
        or one of them is empty (docs/conventions.md: both sides are non-empty; docs/errors.md).

    Examples
    --------
    >>> p = Partition.odd_even(4)
    >>> sorted(p.I), sorted(p.J)
    ([0, 2], [1, 3])
    >>> Partition([0, 3], 4).cols
    (1, 2)
    """

    I: frozenset
    n_modes: int
    J: frozenset | None = None
    name: str = field(default="custom", compare=False)

    def __init__(self, I: Iterable[int], n_modes: int, J: Iterable[int] | None = None, name: str = "custom"):
        if isinstance(n_modes, bool) or not isinstance(n_modes, (int, np.integer)) or n_modes < 1:
            raise PartitionError(f"n_modes must be a positive integer, got {n_modes!r}.")
        n = int(n_modes)
        i_set = check_modes(I, "I")
        j_set = frozenset(range(n)) - i_set if J is None else check_modes(J, "J")
        bad = sorted(m for m in i_set | j_set if m < 0 or m >= n)
        if bad:
            raise PartitionError(f"Partition modes {bad[:10]} lie outside 0..{n - 1} (n_modes={n}).")
        both = sorted(i_set & j_set)
        if both:
            raise PartitionError(f"I and J overlap on modes {both[:10]}; a partition needs disjoint sets.")
        missing = sorted(frozenset(range(n)) - i_set - j_set)
        if missing:
            raise PartitionError(
                f"Partition covers {len(i_set | j_set)} of modes 0..{n - 1}; missing {missing[:10]}. "
                f"Hint: pass J=None to use the complement of I."
            )
        if not i_set or not j_set:
            # an empty side makes [A]_{I,J} a vector: its rank is 1 for every nonzero network, which says nothing
            # about expressiveness and would read as a "certified" separation rank (docs/conventions.md)
            side = "I" if not i_set else "J"
            raise PartitionError(
                f"Partition side {side} is empty (I={sorted(i_set)[:10]}, J={sorted(j_set)[:10]}, n_modes={n}); a "
                f"partition needs two non-empty sides. Hint: put at least one of modes 0..{n - 1} on each side"
                + (" (one mode cannot be split: use n_modes >= 2)." if n == 1 else ".")
            )
        object.__setattr__(self, "I", i_set)
        object.__setattr__(self, "J", j_set)
        object.__setattr__(self, "n_modes", n)
        object.__setattr__(self, "name", name)

    # -- helpers ------------------------------------------------------------------------------------------
    @property
    def rows(self) -> tuple[int, ...]:
        """``sorted(I)``: the row modes of the matricization."""
        return tuple(sorted(self.I))

    @property
    def cols(self) -> tuple[int, ...]:
        """``sorted(J)``: the column modes of the matricization."""
        return tuple(sorted(self.J))

    @property
    def balanced(self) -> bool:
        """Whether ``||I| - |J|| <= 1``."""
        return abs(len(self.I) - len(self.J)) <= 1

    def side(self, node: frozenset) -> tuple[int, int]:
        """``(|I n node|, |J n node|)``.

        Parameters
        ----------
        node : frozenset
            A set of modes (a mode-tree node).

        Returns
        -------
        tuple of (int, int)
        """
        return len(self.I & node), len(self.J & node)

    def is_pure(self, node: frozenset) -> bool:
        """Whether ``node`` lies inside ``I`` or inside ``J``.

        Parameters
        ----------
        node : frozenset
            A set of modes (a mode-tree node).

        Returns
        -------
        bool
            ``True`` when ``node`` meets at most one of ``I`` and ``J``.
        """
        return not (self.I & node) or not (self.J & node)

    def swapped(self) -> "Partition":
        """The partition ``(J, I)``, named ``swap(<name>)``.

        Returns
        -------
        Partition
        """
        return Partition(self.J, self.n_modes, self.I, name=f"swap({self.name})")

    def mask(self, shape: tuple[int, ...] | None = None) -> np.ndarray:
        """Boolean mask, True on ``I``; reshaped to ``shape`` (e.g. ``(h, w)``) when given.

        Parameters
        ----------
        shape : tuple of int, optional
            A shape with ``n_modes`` entries; mode ``row * w + col`` is entry ``(row, col)`` (C order).

        Returns
        -------
        numpy.ndarray of bool

        Raises
        ------
        ValueError
            From numpy, when ``shape`` does not have ``n_modes`` entries.
        """
        m = np.zeros(self.n_modes, dtype=bool)
        m[list(self.I)] = True
        return m.reshape(shape) if shape is not None else m

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict ``{"name", "n_modes", "I", "J"}`` with sorted mode lists.

        Returns
        -------
        dict
        """
        return {"name": self.name, "n_modes": self.n_modes, "I": list(self.rows), "J": list(self.cols)}

    def __repr__(self) -> str:
        def fmt(s: tuple[int, ...]) -> str:
            return str(list(s)) if len(s) <= 8 else f"[{', '.join(map(str, s[:6]))}, ... ({len(s)} modes)]"

        return f"Partition({self.name}, I={fmt(self.rows)}, J={fmt(self.cols)})"

    # -- families ------------------------------------------------------------------------------------------
    @classmethod
    def odd_even(cls, n: int) -> "Partition":
        """``I`` = even modes, ``J`` = odd modes (the depth-efficiency witness).

        Parameters
        ----------
        n : int
            Number of modes.

        Returns
        -------
        Partition

        Raises
        ------
        PartitionError
            When ``n`` is not a positive integer.

        References
        ----------
        Cohen, Sharir & Shashua, "On the Expressive Power of Deep Learning: A Tensor Analysis", COLT 2016, Thm. 1.

        Examples
        --------
        >>> Partition.odd_even(6).rows
        (0, 2, 4)
        """
        return cls(range(0, n, 2), n, name="odd_even")

    @classmethod
    def left_right(cls, n: int) -> "Partition":
        """``I`` = first half of a line (``n // 2`` modes), ``J`` = second half.

        Parameters
        ----------
        n : int
            Number of modes.

        Returns
        -------
        Partition

        Raises
        ------
        PartitionError
            When ``n`` is not a positive integer.

        Examples
        --------
        >>> Partition.left_right(4).rows
        (0, 1)
        """
        return cls(range(n // 2), n, name="left_right")

    @classmethod
    def from_mask(cls, mask: Any, name: str = "mask") -> "Partition":
        """``I`` = positions where ``mask`` is true (flattened in C order, matching mode ``row*W+col``).

        Parameters
        ----------
        mask : array_like of bool or 0/1
            One entry per mode, any shape.
        name : str, optional
            A label.

        Returns
        -------
        Partition

        Raises
        ------
        PartitionError
            When ``mask`` holds values other than booleans or 0/1.

        Examples
        --------
        >>> Partition.from_mask([[1, 0], [0, 1]]).rows
        (0, 3)
        """
        m = np.asarray(mask)
        if m.dtype != bool:
            if not np.isin(m, (0, 1)).all():
                raise PartitionError(f"A partition mask must be boolean or 0/1, got values {np.unique(m)[:5]}.")
            m = m.astype(bool)
        flat = m.ravel()
        return cls(np.flatnonzero(flat).tolist(), flat.size, name=name)

    @classmethod
    def random(cls, n: int, seed: int | None = None, balanced: bool = True) -> "Partition":
        """A seeded random partition; balanced (``|I| = n//2``) by default.

        Parameters
        ----------
        n : int
            Number of modes.
        seed : int, optional
            Seed of ``numpy.random.default_rng``; ``None`` draws a fresh one.
        balanced : bool, optional
            ``|I| = n // 2`` when true, else ``|I|`` uniform in ``1..n-1``.

        Returns
        -------
        Partition

        Raises
        ------
        PartitionError
            When ``n`` is not an integer ``>= 2`` (one mode has no two non-empty sides).
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
            raise PartitionError(f"Partition.random needs n >= 2 modes (two non-empty sides), got {n!r}. "
                                 f"Hint: Partition.random(8, seed=0).")
        rng = np.random.default_rng(seed)
        size = n // 2 if balanced else int(rng.integers(1, n))
        return cls(rng.choice(n, size=size, replace=False).tolist(), n, name=f"random(seed={seed})")

    @classmethod
    def grid(cls, h: int, w: int, kind: str) -> "Partition":
        """A 2-D family on an ``h x w`` grid (mode ``row*w+col``).

        ``left_right``, ``top_bottom``, ``checkerboard``, ``interleaved_rows``, ``interleaved_cols``, and
        ``mirror_left_right`` / ``mirror_top_bottom``, the halves that are coarse for mirror pooling (each root
        child of the mirror tree on one side).

        Parameters
        ----------
        h, w : int
            Grid height and width.
        kind : str
            A key of :data:`PARTITION_FAMILIES_2D`.

        Returns
        -------
        Partition
            Named ``kind``.

        Raises
        ------
        PartitionError
            On an unknown ``kind``, a non-positive side, or (mirror halves) a grid that mirror pooling cannot tile or
            whose last pooling window is not 2x2.

        References
        ----------
        Cohen & Shashua, "Inductive Bias of Deep Convolutional Networks through Pooling Geometry", ICLR 2017.

        Examples
        --------
        >>> Partition.grid(2, 4, "checkerboard").rows
        (0, 2, 5, 7)
        """
        if kind not in PARTITION_FAMILIES_2D:
            raise PartitionError(f"Unknown 2-D partition {kind!r}; expected one of {sorted(PARTITION_FAMILIES_2D)}.")
        if h < 1 or w < 1:
            raise PartitionError(f"Grid sides must be positive, got {h}x{w}.")
        if kind in _TREE_HALVES:
            return cls._tree_halves(h, w, kind)
        r, c = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
        return cls.from_mask(PARTITION_FAMILIES_2D[kind](r, c, h, w), name=kind)

    @classmethod
    def _tree_halves(cls, h: int, w: int, kind: str) -> "Partition":
        """Left/right or top/bottom halves *as mirror pooling sees them*: the union of the mirror tree's root
        children in the left column (or top row) of its final 2x2 pooling window."""
        from tensorexpr.core.errors import GeometryError
        from tensorexpr.core.pooling import grid_nested

        try:  # the nested tuples, not a ModeTree: only the root's children are needed
            root = grid_nested(h, w, geometry="mirror")
        except GeometryError as exc:
            raise PartitionError(f"{kind} needs a grid that mirror pooling can tile: {exc}") from None
        kids = _single_child_free(root)
        if len(kids) != 4:
            raise PartitionError(f"{kind} needs a square-ish grid whose last pooling window is 2x2, got {h}x{w}.")
        pick = (0, 2) if kind == "mirror_left_right" else (0, 1)
        return cls([m for i in pick for m in _flat_modes(kids[i])], h * w, name=kind)

    @classmethod
    def all_balanced(cls, n: int, max_n: int = 16) -> Iterator["Partition"]:
        """Every balanced partition with mode 0 in ``I`` (each unordered split once); ``n <= max_n``.

        Parameters
        ----------
        n : int
            Number of modes (>= 2); ``|I| = n // 2``.
        max_n : int, optional
            Refuse larger ``n`` (the count grows like ``2^n``).

        Yields
        ------
        Partition
            Named ``balanced``.

        Raises
        ------
        PartitionError
            When ``n`` is not an integer >= 2 or exceeds ``max_n`` (raised on the first ``next``).

        Examples
        --------
        >>> [p.rows for p in Partition.all_balanced(4)]
        [(0, 1), (0, 2), (0, 3)]
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
            raise PartitionError(f"all_balanced needs n >= 2 modes, got {n!r}.")
        if n > max_n:
            raise PartitionError(
                f"Enumerating balanced partitions of {n} modes gives ~2^{n} items; limit is max_n={max_n}. "
                f"Hint: use Partition.random for sampling."
            )
        for rest in itertools.combinations(range(1, n), n // 2 - 1):
            yield cls((0,) + rest, n, name="balanced")

    @classmethod
    def family(cls, name: str, n_modes: int, shape: tuple[int, int] | None = None, seed: int | None = None) -> "Partition":
        """Look up a family by name: 1-D names always, 2-D names when ``shape=(h, w)`` is given.

        A name in both tables (``left_right``) is the 2-D family when ``shape`` is given.

        Parameters
        ----------
        name : str
            A key of :data:`PARTITION_FAMILIES_1D` or (with ``shape``) :data:`PARTITION_FAMILIES_2D`.
        n_modes : int
            Number of modes (used by the 1-D families).
        shape : tuple of (int, int), optional
            The grid ``(h, w)``.
        seed : int, optional
            Seed of the ``random`` family.

        Returns
        -------
        Partition

        Raises
        ------
        PartitionError
            On an unknown name, or from the family itself.

        Examples
        --------
        >>> Partition.family("left_right", 4, shape=(2, 2)).rows
        (0, 2)
        """
        if shape is not None and name in PARTITION_FAMILIES_2D:
            return cls.grid(shape[0], shape[1], name)
        if name in PARTITION_FAMILIES_1D:
            return PARTITION_FAMILIES_1D[name](n_modes, seed)
        known = sorted(PARTITION_FAMILIES_1D) + (sorted(PARTITION_FAMILIES_2D) if shape else [])
        hint = "" if shape else " (2-D families need a grid geometry)"
        raise PartitionError(f"Unknown partition family {name!r}; expected one of {known}{hint}.")


PARTITION_FAMILIES_1D: dict[str, Callable[[int, int | None], Partition]] = {
    "odd_even": lambda n, seed: Partition.odd_even(n),
    "left_right": lambda n, seed: Partition.left_right(n),
    "random": lambda n, seed: Partition.random(n, seed),
}

_TREE_HALVES = ("mirror_left_right", "mirror_top_bottom")

PARTITION_FAMILIES_2D: dict[str, Callable[[Any, Any, int, int], Any] | None] = {
    "left_right": lambda r, c, h, w: c < w // 2,
    "top_bottom": lambda r, c, h, w: r < h // 2,
    "checkerboard": lambda r, c, h, w: (r + c) % 2 == 0,
    "interleaved_rows": lambda r, c, h, w: r % 2 == 0,
    "interleaved_cols": lambda r, c, h, w: c % 2 == 0,
    # coarse for mirror pooling (pure on each root child of the mirror tree); see Partition._tree_halves
    "mirror_left_right": None,
    "mirror_top_bottom": None,
}


def _standard(kind: str) -> Callable[[int, int], Partition]:
    def make(h: int, w: int) -> Partition:
        return Partition.grid(h, w, kind)

    make.__name__ = make.__qualname__ = kind
    make.__doc__ = f"The standard ``{kind}`` partition of an ``h x w`` grid (:meth:`Partition.grid`)."
    return make


#: The standard partitions of a grid, ``name -> constructor(h, w)``, in the order reports and profiles print them.
#: Every list of "the standard kinds" (CLI defaults, theory claims, docs tables) reads this one.
STANDARD_PARTITIONS: Mapping[str, Callable[[int, int], Partition]] = MappingProxyType(
    {kind: _standard(kind) for kind in PARTITION_FAMILIES_2D})

#: The standard partitions of a line, ``name -> constructor(n)``: the defaults off a grid.
LINE_PARTITIONS: Mapping[str, Callable[[int], Partition]] = MappingProxyType(
    {"odd_even": Partition.odd_even, "left_right": Partition.left_right})


def standard_partitions(h: int, w: int) -> list[Partition]:
    """The standard partitions (:data:`STANDARD_PARTITIONS`, in order) that exist on an ``h x w`` grid.

    The mirror halves need a grid that mirror pooling tiles with a final 2x2 window; the others always exist.

    Parameters
    ----------
    h, w : int
        Grid height and width.

    Returns
    -------
    list of Partition
        Named by their kind.

    Examples
    --------
    >>> [P.name for P in standard_partitions(6, 6)][:3]
    ['left_right', 'top_bottom', 'checkerboard']
    """
    out = []
    for make in STANDARD_PARTITIONS.values():
        try:
            out.append(make(h, w))
        except PartitionError:
            continue
    return out
