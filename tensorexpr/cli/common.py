"""Arguments and output helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import re
from typing import Any, Sequence

from tensorexpr.core.errors import GeometryError, NetworkError, PartitionError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.core.network import Network
from tensorexpr.build.convac import convac
from tensorexpr.core.numbers import format_count
from tensorexpr.core.operators import OPERATORS
from tensorexpr.core.partitions import Partition
from tensorexpr.core.specs import grid_shape, parse_geometry, parse_partition
from tensorexpr.core.tables import format_table

__all__ = ["add_network_args", "build_network", "partitions_from_args", "print_table", "dump_json", "format_table",
           "format_count", "split_partition_specs", "parse_window", "NETWORK_KINDS"]

NETWORK_KINDS = ("convac", "overlapping", "mixed")


def add_network_args(p: argparse.ArgumentParser, geometry: str = "line:8", M: int = 3, widths: str = "2") -> None:
    p.add_argument("--geometry", default=geometry, help="line:N | grid:HxW:square|mirror | shallow:N | nested:(...) "
                                                         "| dilated:N:reversed")
    p.add_argument("--window", default=None,
                   help="pooling window per level, bottom first, the last repeating: 2 | 3,2 (a 6x6 grid) | "
                        "2,2,2,3 (24x24); grids only, overrides the window in --geometry")
    p.add_argument("--M", type=int, default=M, help="representation functions per position")
    p.add_argument("--widths", default=widths, help="channels: one int, or r_0,r_1,... one per level")
    p.add_argument("--outputs", type=int, default=1, help="output channels of the root")
    p.add_argument("--op", default="product", choices=sorted(OPERATORS), help="pooling operator")
    p.add_argument("--shared", action="store_true", help="tie weights per level (convolution)")
    p.add_argument("--network", default="convac", choices=NETWORK_KINDS,
                   help="convac: a tree network on --geometry; overlapping: GC layers given by --layers on a line:N "
                        "or grid:HxW input; mixed: two trees (--geometry and --mix-with) joined at --mix-nodes")
    p.add_argument("--layers", default="3,1,2;2,2,2;3,1,2",
                   help="overlapping layers 'window,stride,width;...' (with --network overlapping)")
    p.add_argument("--mix-with", default=None, help="second geometry of a mixed network (with --network mixed)")
    p.add_argument("--mix-nodes", default="none",
                   help="mixture nodes of a mixed network: 'none' (the plain sum), mode sets like '0,1;2,3', or "
                        "'leaves' (sum convention only)")
    p.add_argument("--mix-convention", default="swap", choices=["swap", "sum"],
                   help="mixed networks: the paper's channel swap at mixture nodes (eq. 4; --M discretizers, "
                        "--widths r), or this project's earlier summation")
    p.add_argument("--family", default="convac", choices=["convac", "p4", "attribute"],
                   help="p4: group-equivariant (te.group_convac; widths = filters per orientation, M per pixel); "
                        "attribute: attribute convolutions (te.attribute_convac; widths = attribute sizes)")
    p.add_argument("--kernel", type=int, default=2, help="p4: patch side k (the network's M is k*k*M)")
    p.add_argument("--support", type=int, default=None, help="attribute: kernel support along attributes")
    p.add_argument("--padding", default="periodic", choices=["periodic", "zero"], help="attribute: padding")
    p.add_argument("--keep", type=int, default=3, help="attribute: attributes kept per level")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    p.add_argument("--json", action="store_true", help="print JSON (exact integers) instead of a table")


def parse_widths(text: str) -> int | list[int]:
    try:
        vals = [int(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise NetworkError(f"--widths must be an int or a comma list of ints, got {text!r}. Hint: --widths 2,4,8.") from None
    if not vals:
        raise NetworkError("--widths is empty. Hint: --widths 16 or --widths 2,4,8.")
    return vals[0] if len(vals) == 1 else vals


def parse_window(text: str) -> list[int | tuple[int, int]]:
    """``2`` -> [2]; ``3,2`` -> [3, 2]; ``2x3`` -> [(2, 3)]."""
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
            raise GeometryError(f"--window must be ints or KHxKW items separated by commas, got {text!r}. "
                                f"Hint: --window 3,2 pools by 3x3 then 2x2.") from None
    if not out:
        raise GeometryError("--window is empty. Hint: --window 2.")
    return out


def parse_tree(geometry: str, window: str | None) -> ModeTree:
    if window is None:
        return parse_geometry(geometry)
    parts = geometry.strip().split(":")
    shape = grid_shape(geometry)
    if shape is None:
        if parts[0] == "line" and len(parse_window(window)) == 1 and isinstance(parse_window(window)[0], int):
            return ModeTree.line(int(parts[1]), int(parse_window(window)[0]))  # type: ignore[arg-type]
        raise GeometryError(f"--window applies to grid geometries (and one int to line:N), got --geometry {geometry!r}. "
                            f"Hint: --geometry grid:6x6:square --window 3,2.")
    geom = parts[2] if len(parts) > 2 else "square"
    return ModeTree.grid(shape[0], shape[1], parse_window(window), geom)  # type: ignore[arg-type]


def _parse_layers(text: str) -> list[tuple[int, int, int]]:
    try:
        layers = [tuple(int(x) for x in item.split(",")) for item in text.split(";") if item.strip()]
    except ValueError:
        layers = []
    if not layers or any(len(t) != 3 for t in layers):
        raise NetworkError(f"--layers must be 'window,stride,width;...', got {text!r}. Hint: --layers '2,1,2;2,2,2'.")
    return layers  # type: ignore[return-value]


def build_network(args: argparse.Namespace, integer: bool = True) -> tuple[ModeTree | None, Network]:
    kind = getattr(args, "network", "convac")
    if kind == "overlapping":
        from tensorexpr.build.overlapping import overlapping

        shape = grid_shape(args.geometry)
        parts = args.geometry.split(":")
        if shape is None and parts[0] != "line":
            raise NetworkError(f"--network overlapping needs --geometry line:N or grid:HxW, got {args.geometry!r}.")
        size: Any = shape if shape is not None else int(parts[1])
        net = overlapping(size, _parse_layers(args.layers), args.M, outputs=args.outputs, seed=args.seed,
                          integer=integer, shared=args.shared)
        return None, net
    tree = parse_tree(args.geometry, getattr(args, "window", None))
    if kind == "mixed":
        from tensorexpr.build.mixed import mixed

        if not args.mix_with:
            raise NetworkError("--network mixed needs --mix-with GEOMETRY (the second tree). "
                               "Hint: --geometry dilated:8:contiguous --mix-with dilated:8:reversed.")
        tree_b = parse_geometry(args.mix_with)
        if args.mix_nodes == "none":
            nodes = []
        elif args.mix_nodes == "leaves":
            nodes = [[m] for m in range(tree.n_modes)]
        else:
            try:
                nodes = [[int(x) for x in item.split(",")] for item in args.mix_nodes.split(";") if item.strip()]
            except ValueError:
                raise NetworkError(f"--mix-nodes must be 'leaves' or mode sets like '0,1;2,3', got "
                                   f"{args.mix_nodes!r}.") from None
        net = mixed(tree, tree_b, nodes, args.M, parse_widths(args.widths), outputs=args.outputs, seed=args.seed,
                    integer=integer, convention=args.mix_convention)
        return tree, net
    family = getattr(args, "family", "convac")
    if family == "p4":
        from tensorexpr.build import group_convac

        return tree, group_convac(tree, args.M, parse_widths(args.widths), outputs=args.outputs, kernel=args.kernel,
                                  op=args.op, seed=args.seed, integer=integer)
    if family == "attribute":
        from tensorexpr.build import attribute_convac

        return tree, attribute_convac(tree, args.M, parse_widths(args.widths), outputs=args.outputs,
                                      support=args.support, padding=args.padding, keep=args.keep, op=args.op,
                                      seed=args.seed, integer=integer)
    net = convac(tree, args.M, parse_widths(args.widths), outputs=args.outputs, shared=args.shared,
                 op=args.op, seed=args.seed, integer=integer)
    return tree, net


_EXPLICIT = re.compile(r"^\s*(I|mask):")


def split_partition_specs(text: str) -> list[str]:
    """Split a ``--partition`` value on commas *between* specs: ``I:0,2,5`` stays one spec, so
    ``odd_even,I:0,2,5,left_right`` is three. A ``;`` always separates."""
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


#: The standard 2-D partitions, in the order the report prints them.
KINDS = ["left_right", "top_bottom", "checkerboard", "interleaved_rows", "interleaved_cols", "mirror_left_right",
         "mirror_top_bottom"]


def tileable_kinds(h: int, w: int) -> list[str]:
    """The standard partitions that exist on an ``h x w`` grid (the mirror halves need a 2x2-tileable grid)."""
    from tensorexpr.core.errors import TensorExprError

    out = []
    for k in KINDS:
        try:
            Partition.grid(h, w, k)
        except TensorExprError:
            continue
        out.append(k)
    return out


def partitions_from_args(specs: Sequence[str], geometry: str, n_modes: int) -> list[Partition]:
    shape = grid_shape(geometry)
    out: list[Partition] = []
    for s in specs:
        for item in split_partition_specs(s):
            if item == "all_balanced":
                out.extend(Partition.all_balanced(n_modes))
                continue
            if item.startswith("I:") and re.search(r"\d\s+\d", item):
                raise PartitionError(f"Bad explicit partition {item!r}: modes are separated by commas, not spaces. "
                                     f"Hint: --partition I:{','.join(item[2:].split())}")
            out.append(parse_partition(item, n_modes, shape))
    return out


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    print(format_table(headers, rows))


def dump_json(obj: Any) -> None:
    """Print ``obj`` as JSON, every integer of ``2^53`` or more as an exact
    :func:`~tensorexpr.core.numbers.encode_count` dict (``str`` of a rank like ``2^32768`` would raise)."""
    from tensorexpr.core.numbers import encode_counts

    print(json.dumps(encode_counts(obj), indent=2, default=str))
