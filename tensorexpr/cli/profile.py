"""``tensorexpr profile``: certified ranks of one architecture across partitions, as a table or a plot."""

from __future__ import annotations

import argparse

from ..bounds import profile
from .common import add_network_args, build_network, dump_json

DEFAULT_2D = "left_right,top_bottom,checkerboard,interleaved_rows,interleaved_cols,mirror_left_right,mirror_top_bottom"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("profile", help="certified rank profile over partitions (table, JSON or PNG)")
    add_network_args(p, geometry="grid:8x8:square", M=2, widths="4")
    p.add_argument("--partitions", default=None,
                   help=f"comma list of partition specs (default on grids: {DEFAULT_2D}; on lines: odd_even,left_right)")
    p.add_argument("--plot", default=None, help="write a PNG of the profile here")
    p.add_argument("--budget-seconds", type=float, default=None)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    tree, net = build_network(args, integer=False)
    specs = args.partitions or (DEFAULT_2D if args.geometry.startswith("grid:") else "odd_even,left_right")
    prof = profile(net, [s for s in specs.split(",") if s.strip()], budget_seconds=args.budget_seconds,
                   progress=None if not args.no_progress else False)
    if args.plot:
        prof.plot(args.plot)
    if args.json:
        d = prof.to_dict()
        d["plot"] = args.plot
        dump_json(d)
        return 0
    print(prof)
    if args.plot:
        print(f"plot written to {args.plot}")
    return 0
