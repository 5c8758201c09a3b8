"""Arguments and output helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
from typing import Any, Sequence

from ..errors import NetworkError
from ..modetree import ModeTree
from ..network import Network, convac
from ..operators import OPERATORS
from ..partitions import Partition
from ..specs import grid_shape, parse_geometry, parse_partition
from ..tables import format_table

__all__ = ["add_network_args", "build_network", "partitions_from_args", "print_table", "dump_json", "format_table"]


def add_network_args(p: argparse.ArgumentParser, geometry: str = "line:8", M: int = 3, widths: str = "2") -> None:
    p.add_argument("--geometry", default=geometry, help="line:N | grid:HxW:square|mirror | shallow:N | nested:(...)")
    p.add_argument("--M", type=int, default=M, help="representation functions per position")
    p.add_argument("--widths", default=widths, help="channels: one int, or r_0,r_1,... one per level")
    p.add_argument("--outputs", type=int, default=1)
    p.add_argument("--op", default="product", choices=sorted(OPERATORS))
    p.add_argument("--shared", action="store_true", help="tie weights per level (convolution)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def parse_widths(text: str) -> int | list[int]:
    try:
        vals = [int(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise NetworkError(f"--widths must be an int or a comma list of ints, got {text!r}.") from None
    if not vals:
        raise NetworkError("--widths is empty.")
    return vals[0] if len(vals) == 1 else vals


def build_network(args: argparse.Namespace, integer: bool = True) -> tuple[ModeTree, Network]:
    tree = parse_geometry(args.geometry)
    net = convac(tree, args.M, parse_widths(args.widths), outputs=args.outputs, shared=args.shared,
                 op=args.op, seed=args.seed, integer=integer)
    return tree, net


def partitions_from_args(specs: Sequence[str], geometry: str, n_modes: int) -> list[Partition]:
    shape = grid_shape(geometry)
    out: list[Partition] = []
    for s in specs:
        for item in s.split(","):
            if item.strip():
                out.append(parse_partition(item, n_modes, shape))
    return out


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    print(format_table(headers, rows))


def dump_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))
