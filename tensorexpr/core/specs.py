"""The grammar of short text specs (CLI flags, TOML files, the API): geometries, windows, widths, partitions.

This module is the one place a spec string is read; :mod:`tensorexpr.build.spec` (``NetworkSpec``) composes
these into a whole network spec. Every entry point (CLI, sweep TOML, ``TrainConfig``, ``te.profile``) calls them,
so the same bad spec gives the same error class and message everywhere.

Geometry specs::

    line:16            line(16, window=2)          line:27:3      line(27, window=3)
    grid:8x8:square    grid(8, 8, (2, 2), square)  grid:8x8:mirror
    grid:9x9:square:3  3x3 windows                 grid:6x6:square:3,2   3x3, then 2x2 (the last repeats)
    grid:8x8:square:2x4  2x4 windows               shallow:8      CP tree over 8 modes
    nested:((0,1),(2,3))
    dilated:8:reversed          dilated 1-D tree, dilations 4,2,1   dilated:8:2,1,4   explicit dilations

Partition specs (:class:`PartitionSpec`): a family name (``odd_even``, ``left_right``, ``random``; on grids
also the standard kinds of :data:`tensorexpr.core.partitions.STANDARD_PARTITIONS`), ``random:SEED``,
``I:0,2,5`` (explicit I), ``mask:0101...`` (one character per mode), or ``all_balanced`` (every balanced split).
A list of specs is separated by ``;`` or by the commas between specs (:func:`split_partition_specs`).
"""

from __future__ import annotations

import ast
from typing import Any, Callable

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from tensorexpr.core.errors import GeometryError, NetworkError, PartitionError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.core.pooling import grid_nested
from tensorexpr.core.partitions import PARTITION_FAMILIES_1D, PARTITION_FAMILIES_2D, Partition, check_modes

__all__ = ["parse_geometry", "check_geometry", "parse_partition", "parse_partitions", "grid_shape", "GEOMETRY_SPECS", "PartitionSpec",
           "split_partition_specs", "parse_widths", "parse_window", "with_window", "format_window"]


def _ints(text: str, what: str) -> list[int]:
    try:
        return [int(x) for x in text.split("x")]
    except ValueError:
        raise GeometryError(f"Bad {what} {text!r}: expected integers like 16 or 8x8.") from None


def _line(args: list[str]) -> ModeTree:
    if not 1 <= len(args) <= 2:
        raise GeometryError(f"line spec takes line:N[:WINDOW], got {len(args)} fields.")
    (n,) = _ints(args[0], "length")
    return ModeTree.line(n, int(args[1]) if len(args) > 1 else 2)


def _grid_args(args: list[str]) -> tuple[int, int, Any, str]:
    """``(h, w, window, geometry)`` of a ``grid:`` spec's fields, for :meth:`ModeTree.grid`."""
    if not 1 <= len(args) <= 3:
        raise GeometryError("grid spec takes grid:HxW[:square|mirror[:WINDOW]], WINDOW like 2, 3,2 or 2x3.")
    hw = _ints(args[0], "grid shape")
    if len(hw) != 2:
        raise GeometryError(f"grid shape must be HxW, got {args[0]!r}.")
    geom = args[1] if len(args) > 1 else "square"
    if len(args) < 3:
        return hw[0], hw[1], (2, 2), geom
    window = parse_window(args[2])
    if len(window) == 1 and isinstance(window[0], int):  # one k: k x k windows at every level
        return hw[0], hw[1], (window[0], window[0]), geom
    return hw[0], hw[1], window, geom


def _grid(args: list[str]) -> ModeTree:
    return ModeTree.grid(*_grid_args(args))


def _shallow(args: list[str]) -> ModeTree:
    if len(args) != 1:
        raise GeometryError("shallow spec takes shallow:N.")
    return ModeTree.shallow(_ints(args[0], "size")[0])


def _nested(args: list[str]) -> ModeTree:
    try:
        return ModeTree.from_nested(ast.literal_eval(":".join(args)))
    except (ValueError, SyntaxError) as exc:
        raise GeometryError(f"nested spec must be a Python literal like ((0,1),(2,3)): {exc}") from None


def _dilated(args: list[str]) -> ModeTree:
    if not 1 <= len(args) <= 2:
        raise GeometryError("dilated spec takes dilated:N[:contiguous|reversed|D1,D2,...].")
    (n,) = _ints(args[0], "length")
    order: object = args[1] if len(args) > 1 else "contiguous"
    if isinstance(order, str) and "," in order:
        try:
            order = [int(x) for x in order.split(",")]
        except ValueError:
            raise GeometryError(f"Bad dilation list {args[1]!r}: expected integers like 2,1,4.") from None
    return ModeTree.dilated(n, order)


GEOMETRY_SPECS: dict[str, Callable[[list[str]], ModeTree]] = {
    "line": _line,
    "grid": _grid,
    "shallow": _shallow,
    "nested": _nested,
    "dilated": _dilated,
}


def parse_geometry(spec: str) -> ModeTree:
    """Parse a geometry spec (see the module docstring) into a :class:`ModeTree`.

    Parameters
    ----------
    spec : str
        E.g. ``line:16``, ``grid:8x8:square:3,2``, ``shallow:8``, ``nested:((0,1),(2,3))``, ``dilated:8:reversed``.

    Returns
    -------
    ModeTree

    Raises
    ------
    GeometryError
        For an unknown kind, the wrong number of fields, non-integer sizes or windows, or a tree
        :class:`ModeTree` rejects.
    """
    kind, *args = spec.strip().split(":")
    if kind not in GEOMETRY_SPECS:
        raise GeometryError(f"Unknown geometry {kind!r} in {spec!r}; expected one of {sorted(GEOMETRY_SPECS)}.")
    return GEOMETRY_SPECS[kind](args)


def check_geometry(spec: str) -> None:
    """Raise what :func:`parse_geometry` raises on a bad ``spec``, without building a large grid's tree.

    A ``grid:`` spec is checked by :func:`~tensorexpr.core.pooling.grid_nested`, which makes every check that
    :meth:`ModeTree.grid` makes (the tree it would build from valid arguments is valid by construction); other
    kinds are parsed.

    Parameters
    ----------
    spec : str
        A geometry spec.

    Raises
    ------
    GeometryError
        As :func:`parse_geometry`.
    """
    kind, *args = spec.strip().split(":")
    if kind == "grid":
        grid_nested(*_grid_args(args))
    else:
        parse_geometry(spec)


def grid_shape(spec: str) -> tuple[int, int] | None:
    """``(h, w)`` for ``grid:HxW...`` specs, else None.

    Parameters
    ----------
    spec : str
        A geometry spec.

    Returns
    -------
    tuple of (int, int) or None
        The grid height and width, or None for a spec that is not a grid.

    Raises
    ------
    GeometryError
        When the shape field of a grid spec is not integers like ``8x8``.
    """
    kind, *args = spec.strip().split(":")
    if kind == "grid" and args:
        h, w = _ints(args[0], "grid shape")
        return h, w
    return None


def parse_window(text: str) -> list[int | tuple[int, int]]:
    """A pooling window per level, bottom first, the last repeating: ``2`` -> [2]; ``3,2`` -> [3, 2]; ``2x3`` ->
    [(2, 3)].

    Parameters
    ----------
    text : str
        Ints or ``KHxKW`` items separated by commas.

    Returns
    -------
    list of int or (int, int)

    Raises
    ------
    GeometryError
        When an item is not an int or ``KHxKW``, or the list is empty.
    """
    out: list[int | tuple[int, int]] = []
    for item in str(text).split(","):
        item = item.strip()
        try:
            if "x" in item:
                a, b = item.split("x")
                out.append((int(a), int(b)))
            elif item:
                out.append(int(item))
        except ValueError:
            raise GeometryError(f"A window must be ints or KHxKW items separated by commas, got {text!r}. "
                                f"Hint: window 3,2 pools by 3x3 then 2x2 (CLI: --window 3,2).") from None
    if not out:
        raise GeometryError("The window is empty. Hint: window 2 (CLI: --window 2).")
    return out


def format_window(window: Sequence[int | tuple[int, int]]) -> str:
    """The text of a window list, the inverse of :func:`parse_window`.

    Parameters
    ----------
    window : sequence of int or (int, int)
        A window per level, bottom first.

    Returns
    -------
    str
        E.g. ``"3,2"`` or ``"2x3"``.
    """
    return ",".join(f"{w[0]}x{w[1]}" if isinstance(w, tuple) else str(w) for w in window)


def with_window(geometry: str, window: str | None) -> str:
    """``geometry`` with its pooling window replaced by ``window`` (the CLI's ``--window``).

    Parameters
    ----------
    geometry : str
        A geometry spec; a window applies to ``grid:...`` specs, and one int to ``line:N``.
    window : str or None
        A window (:func:`parse_window`); None returns ``geometry`` unchanged.

    Returns
    -------
    str
        The geometry spec with the window field, e.g. ``grid:6x6:square:3,2``.

    Raises
    ------
    GeometryError
        When the geometry takes no window, or the window is malformed.
    """
    if window is None:
        return geometry
    parts = geometry.strip().split(":")
    items = parse_window(window)
    if parts[0] == "grid" and len(parts) >= 2:
        geom = parts[2] if len(parts) > 2 else "square"
        return f"grid:{parts[1]}:{geom}:{format_window(items)}"
    if parts[0] == "line" and len(parts) >= 2 and len(items) == 1 and isinstance(items[0], int):
        return f"line:{parts[1]}:{items[0]}"
    raise GeometryError(f"A window applies to grid geometries (and one int to line:N), got geometry {geometry!r} with "
                        f"window {window!r}. Hint: geometry grid:6x6:square with window 3,2.")


def parse_widths(value: object) -> int | tuple[int, ...]:
    """Channels per level: one positive int, or ``r_0, r_1, ...`` one per level.

    Parameters
    ----------
    value : int, str or sequence of int
        ``16``, ``"16"``, ``"2,4,8"`` or ``[2, 4, 8]``.

    Returns
    -------
    int or tuple of int
        An int for one value, else a tuple.

    Raises
    ------
    NetworkError
        When an entry is not an integer, is below 1, or there is none.
    """
    if isinstance(value, str):
        try:
            vals: list = [int(x) for x in value.split(",") if x.strip()]
        except ValueError:
            raise NetworkError(f"widths must be an int or a comma list of ints, got {value!r}. "
                               f"Hint: widths=2,4,8 (CLI: --widths 2,4,8).") from None
    elif isinstance(value, (list, tuple)):
        vals = list(value)
    else:
        vals = [value]
    if not vals:
        raise NetworkError(f"widths is empty, got {value!r}. Hint: widths=16 or widths=2,4,8.")
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise NetworkError(f"widths must be positive integers (channels per level), got the entry {v!r}. "
                               f"Hint: widths=16 or widths=2,4,8.")
    # "2," (text) and [2] (a list) are one level given as a list; they stay a tuple so text round-trips
    listed = isinstance(value, (list, tuple)) or (isinstance(value, str) and "," in value)
    return tuple(int(v) for v in vals) if listed else int(vals[0])


_EXPLICIT = re.compile(r"^\s*(I|mask):")


def split_partition_specs(text: str) -> list[str]:
    """Split a list of partition specs on commas *between* specs: ``I:0,2,5`` stays one spec, so
    ``odd_even,I:0,2,5,left_right`` is three. A ``;`` always separates.

    Parameters
    ----------
    text : str
        Partition specs.

    Returns
    -------
    list of str
    """
    out: list[str] = []
    for chunk in text.split(";"):
        for item in chunk.split(","):
            item = item.strip()
            if not item:
                continue
            if out and re.fullmatch(r"\d+", item) and _EXPLICIT.match(out[-1]):
                out[-1] += "," + item  # a mode number continues the explicit I:... list before it
            else:
                out.append(item)
    return out


_FAMILIES = tuple(dict.fromkeys([*PARTITION_FAMILIES_1D, *PARTITION_FAMILIES_2D]))


@dataclass(frozen=True)
class PartitionSpec:
    """One partition spec, parsed and checked before the number of modes is known.

    Parameters
    ----------
    kind : {"family", "random", "I", "mask", "all_balanced"}
        What the spec names.
    family : str, optional
        The family name (``kind="family"``).
    modes : tuple of int, optional
        The explicit ``I`` (``kind="I"``), each mode once.
    seed : int, optional
        The seed (``kind="random"``).
    bits : str, optional
        The 0/1 mask (``kind="mask"``).

    Raises
    ------
    PartitionError
        On an unknown family, a malformed or repeated mode list, a mask of other characters than 0/1, or a seed that
        is not an integer.

    Examples
    --------
    >>> str(PartitionSpec.parse("I:0, 2, 5"))
    'I:0,2,5'
    >>> PartitionSpec.parse("odd_even").build(4).rows
    (0, 2)
    """

    kind: str
    family: str | None = None
    modes: tuple[int, ...] | None = None
    seed: int | None = None
    bits: str | None = None

    def __post_init__(self) -> None:
        if self.kind == "family" and self.family not in _FAMILIES:
            raise PartitionError(f"Unknown partition family {self.family!r}; expected one of {list(_FAMILIES)}, "
                                 f"random:SEED, I:0,2,5, mask:0101... or all_balanced.")
        if self.kind == "I":
            check_modes(self.modes or (), "I")
            object.__setattr__(self, "modes", tuple(int(m) for m in self.modes or ()))
        if self.kind == "mask" and (not self.bits or set(self.bits) - {"0", "1"}):
            raise PartitionError(f"A mask partition is one 0/1 character per mode, got {self.bits!r}. "
                                 f"Hint: mask:0101.")
        if self.kind not in ("family", "random", "I", "mask", "all_balanced"):
            raise PartitionError(f"Unknown partition spec kind {self.kind!r}.")

    @classmethod
    def parse(cls, text: str) -> "PartitionSpec":
        """Parse one spec (``odd_even``, ``random:3``, ``I:0,2,5``, ``mask:0101``, ``all_balanced``).

        Parameters
        ----------
        text : str
            The spec.

        Returns
        -------
        PartitionSpec

        Raises
        ------
        PartitionError
            On a malformed spec (see the class).
        """
        if isinstance(text, PartitionSpec):
            return text
        if not isinstance(text, str):
            raise PartitionError(f"A partition spec is a string like odd_even or I:0,2,5, got {text!r}.")
        spec = text.strip()
        if spec == "all_balanced":
            return cls("all_balanced")
        if spec == "random" or spec.startswith("random:"):
            try:
                seed = int(spec.split(":", 1)[1]) if ":" in spec else 0
            except ValueError:
                raise PartitionError(f"Bad random partition {spec!r}: expected random:SEED with an integer seed. "
                                     f"Hint: random:3.") from None
            return cls("random", seed=seed)
        if spec.startswith("I:"):
            if re.search(r"\d\s+\d", spec):
                raise PartitionError(f"Bad explicit partition {spec!r}: modes are separated by commas, not spaces. "
                                     f"Hint: I:{','.join(spec[2:].split())} (CLI: --partition "
                                     f"I:{','.join(spec[2:].split())})")
            try:
                modes = [int(x) for x in spec[2:].split(",") if x.strip()]
            except ValueError:
                raise PartitionError(f"Bad explicit partition {spec!r}: expected I:0,2,5.") from None
            return cls("I", modes=tuple(modes))
        if spec.startswith("mask:"):
            return cls("mask", bits=spec[5:].strip())
        return cls("family", family=spec)

    @classmethod
    def parse_many(cls, specs: str | Iterable[str]) -> tuple["PartitionSpec", ...]:
        """Parse a list of specs: one string split by :func:`split_partition_specs`, or an iterable of them.

        Parameters
        ----------
        specs : str or iterable of str
            One text of specs separated by ``;`` or commas, or several such texts.

        Returns
        -------
        tuple of PartitionSpec
            In the order given.

        Raises
        ------
        PartitionError
            On a malformed spec (see :meth:`parse`).
        """
        texts = [specs] if isinstance(specs, str) else list(specs)
        return tuple(cls.parse(item) for t in texts for item in split_partition_specs(t))

    def __str__(self) -> str:
        if self.kind == "family":
            return str(self.family)
        if self.kind == "random":
            return f"random:{self.seed}"
        if self.kind == "I":
            return "I:" + ",".join(map(str, self.modes or ()))
        if self.kind == "mask":
            return f"mask:{self.bits}"
        return "all_balanced"

    def build(self, n_modes: int, shape: tuple[int, int] | None = None) -> Partition:
        """The partition of ``n_modes`` modes (``shape=(h, w)`` enables the 2-D families).

        Parameters
        ----------
        n_modes : int
            Number of modes.
        shape : tuple of (int, int), optional
            The grid.

        Returns
        -------
        Partition

        Raises
        ------
        PartitionError
            When the spec does not fit ``n_modes`` (a mode out of range, a mask of another length, a 2-D family off
            a grid), or names many partitions (``all_balanced``: use :meth:`expand`).
        """
        if self.kind == "random":
            return Partition.random(n_modes, self.seed)
        if self.kind == "I":
            return Partition(self.modes or (), n_modes, name=str(self))
        if self.kind == "mask":
            if len(self.bits or "") != n_modes:
                raise PartitionError(f"mask needs {n_modes} characters of 0/1, got {self.bits!r}.")
            return Partition.from_mask([b == "1" for b in self.bits or ""], name="mask")
        if self.kind == "all_balanced":
            raise PartitionError("all_balanced names every balanced partition, not one. Hint: "
                                 "PartitionSpec.expand or parse_partitions give the list.")
        return Partition.family(str(self.family), n_modes, shape=shape)

    def expand(self, n_modes: int, shape: tuple[int, int] | None = None) -> list[Partition]:
        """The partitions the spec names: ``all_balanced`` gives every balanced split, the others one.

        Parameters
        ----------
        n_modes : int
            Number of modes.
        shape : tuple of (int, int), optional
            The grid, for the 2-D families.

        Returns
        -------
        list of Partition
            Every balanced partition for ``all_balanced``, else the one of :meth:`build`.

        Raises
        ------
        PartitionError
            When the spec does not fit ``n_modes`` or ``shape`` (see :meth:`build`).
        """
        if self.kind == "all_balanced":
            return list(Partition.all_balanced(n_modes))
        return [self.build(n_modes, shape)]


def parse_partition(spec: str, n_modes: int, shape: tuple[int, int] | None = None) -> Partition:
    """Parse one partition spec for ``n_modes`` modes (``shape`` enables the 2-D families).

    Parameters
    ----------
    spec : str
        A partition spec (:class:`PartitionSpec`).
    n_modes : int
        Number of modes.
    shape : tuple of (int, int), optional
        The grid.

    Returns
    -------
    Partition

    Raises
    ------
    PartitionError
        On a malformed spec or one that does not fit ``n_modes``.
    """
    return PartitionSpec.parse(spec).build(n_modes, shape)


def parse_partitions(specs: str | Iterable[str], n_modes: int,
                     shape: tuple[int, int] | None = None) -> list[Partition]:
    """Every partition a list of specs names (``all_balanced`` expands), in order.

    Parameters
    ----------
    specs : str or iterable of str
        Specs separated as :func:`split_partition_specs` does, or several such strings.
    n_modes : int
        Number of modes.
    shape : tuple of (int, int), optional
        The grid.

    Returns
    -------
    list of Partition

    Raises
    ------
    PartitionError
        On a malformed spec or one that does not fit ``n_modes``.
    """
    return [P for ps in PartitionSpec.parse_many(specs) for P in ps.expand(n_modes, shape)]
