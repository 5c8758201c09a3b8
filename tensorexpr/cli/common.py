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
    p.add_argument("--family", default="convac", choices=["convac", "p4", "attribute"],
                   help="p4: group-equivariant (te.group_convac; widths = filters per orientation, M per pixel); "
                        "attribute: attribute convolutions (te.attribute_convac; widths = attribute sizes)")
    p.add_argument("--kernel", type=int, default=2, help="p4: patch side k (the network's M is k*k*M)")
    p.add_argument("--support", type=int, default=None, help="attribute: kernel support along attributes")
    p.add_argument("--padding", default="periodic", choices=["periodic", "zero"], help="attribute: padding")
    p.add_argument("--keep", type=int, default=3, help="attribute: attributes kept per level")
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
    family = getattr(args, "family", "convac")
    if family == "p4":
        from ..structured import group_convac

        return tree, group_convac(tree, args.M, parse_widths(args.widths), outputs=args.outputs, kernel=args.kernel,
                                  op=args.op, seed=args.seed, integer=integer)
    if family == "attribute":
        from ..structured import attribute_convac

        return tree, attribute_convac(tree, args.M, parse_widths(args.widths), outputs=args.outputs,
                                      support=args.support, padding=args.padding, keep=args.keep, op=args.op,
                                      seed=args.seed, integer=integer)
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
