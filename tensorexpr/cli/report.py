"""``tensorexpr report``: the main job, a rank table of square vs mirror pooling on one grid."""

from __future__ import annotations

import argparse

from ..network import convac
from ..partitions import Partition
from ..rank import rank
from ..specs import grid_shape, parse_geometry
from .common import dump_json, parse_widths, print_table

KINDS = ["left_right", "top_bottom", "checkerboard", "interleaved_rows", "interleaved_cols"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="rank table for square vs mirror pooling (the main job)")
    p.add_argument("--grid", default="4x4", help="HxW of the input grid")
    p.add_argument("--M", type=int, default=2)
    p.add_argument("--widths", default="2")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rows, payload = [], []
    geoms = [f"grid:{args.grid}:square", f"grid:{args.grid}:mirror"]
    nets = [convac(parse_geometry(g), args.M, parse_widths(args.widths), seed=args.seed, integer=True) for g in geoms]
    h, w = grid_shape(geoms[0])  # type: ignore[misc]
    for kind in KINDS:
        P = Partition.grid(h, w, kind)
        res = [rank(net, P, method="exact") for net in nets]
        rows.append([kind, *[r.rank for r in res], res[0].max_rank, res[0].field])
        payload.append({"partition": kind, **{g: r.to_dict() for g, r in zip(geoms, res)}})
    if args.json:
        dump_json(payload)
        return 0
    print(f"Exact matricization ranks, ConvAC on a {args.grid} grid, M={args.M}, widths={args.widths}, seed={args.seed}")
    print_table(["partition", "square", "mirror", "max", "field"], rows)
    return 0
