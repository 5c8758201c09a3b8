"""Short text specs for geometries and partitions (CLI and config files), parsed into canonical objects.

Geometry specs::

    line:16            line(16, window=2)          line:27:3      line(27, window=3)
    grid:8x8:square    grid(8, 8, (2, 2), square)  grid:8x8:mirror
    grid:9x9:square:3  3x3 windows                 shallow:8      CP tree over 8 modes
    nested:((0,1),(2,3))
    dilated:8:reversed          dilated 1-D tree, dilations 4,2,1   dilated:8:2,1,4   explicit dilations

Partition specs: a family name (``odd_even``, ``left_right``; on grids also ``top_bottom``,
``checkerboard``, ``interleaved_rows``, ``interleaved_cols``), ``random:SEED``, ``I:0,2,5`` (explicit I), or
``mask:0101...`` (one character per mode).
"""

from __future__ import annotations

import ast
from typing import Callable

from tensorexpr.core.errors import GeometryError, PartitionError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.core.partitions import Partition

__all__ = ["parse_geometry", "parse_partition", "grid_shape", "GEOMETRY_SPECS"]


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


def _grid(args: list[str]) -> ModeTree:
    if not 1 <= len(args) <= 3:
        raise GeometryError("grid spec takes grid:HxW[:square|mirror[:K]].")
    hw = _ints(args[0], "grid shape")
    if len(hw) != 2:
        raise GeometryError(f"grid shape must be HxW, got {args[0]!r}.")
    geom = args[1] if len(args) > 1 else "square"
    k = int(args[2]) if len(args) > 2 else 2
    return ModeTree.grid(hw[0], hw[1], (k, k), geom)


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
    """Parse a geometry spec (see the module docstring) into a :class:`ModeTree`."""
    kind, *args = spec.strip().split(":")
    if kind not in GEOMETRY_SPECS:
        raise GeometryError(f"Unknown geometry {kind!r} in {spec!r}; expected one of {sorted(GEOMETRY_SPECS)}.")
    return GEOMETRY_SPECS[kind](args)


def grid_shape(spec: str) -> tuple[int, int] | None:
    """``(h, w)`` for ``grid:HxW...`` specs, else None."""
    kind, *args = spec.strip().split(":")
    if kind == "grid" and args:
        h, w = _ints(args[0], "grid shape")
        return h, w
    return None


def parse_partition(spec: str, n_modes: int, shape: tuple[int, int] | None = None) -> Partition:
    """Parse a partition spec for ``n_modes`` modes (``shape`` enables the 2-D families)."""
    spec = spec.strip()
    if spec.startswith("random"):
        seed = int(spec.split(":")[1]) if ":" in spec else 0
        return Partition.random(n_modes, seed)
    if spec.startswith("I:"):
        try:
            modes = [int(x) for x in spec[2:].split(",") if x]
        except ValueError:
            raise PartitionError(f"Bad explicit partition {spec!r}: expected I:0,2,5.") from None
        return Partition(modes, n_modes, name=spec)
    if spec.startswith("mask:"):
        bits = spec[5:]
        if len(bits) != n_modes or set(bits) - {"0", "1"}:
            raise PartitionError(f"mask needs {n_modes} characters of 0/1, got {bits!r}.")
        return Partition.from_mask([b == "1" for b in bits], name="mask")
    return Partition.family(spec, n_modes, shape=shape)
