"""``tensorexpr report``: the main job, certified separation ranks of square vs mirror pooling on one grid.

Defaults are the blob-task network of Cohen & Shashua (ICLR 2017): a 32x32 grid, M=2, 16 channels per
layer. Each cell is the certified generic rank (or an honest interval) with the methods that produced it;
nothing dense is formed, so it runs in seconds.
"""

from __future__ import annotations

import argparse

from ..bounds import profile
from ..bounds.profile import _log2
from ..network import convac
from ..specs import grid_shape, parse_geometry
from .common import dump_json, parse_widths, print_table

KINDS = ["left_right", "top_bottom", "checkerboard", "interleaved_rows", "interleaved_cols", "mirror_left_right", "mirror_top_bottom"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="certified rank table for square vs mirror pooling (the main job)")
    p.add_argument("--grid", default="32x32", help="HxW of the input grid")
    p.add_argument("--M", type=int, default=2)
    p.add_argument("--widths", default="16")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", default=None, help="write a side-by-side PNG (square vs mirror) here")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def _cell(c) -> str:  # noqa: ANN001
    fmt = (lambda v: str(v) if v < 10**6 else f"2^{_log2(v):.0f}")
    return fmt(c.lower) if c.certified else f"[{fmt(c.lower)}, {fmt(c.upper)}]"


def run(args: argparse.Namespace) -> int:
    geoms = [f"grid:{args.grid}:square", f"grid:{args.grid}:mirror"]
    grid_shape(geoms[0])
    nets = [convac(parse_geometry(g), args.M, parse_widths(args.widths), seed=args.seed) for g in geoms]
    profs = [profile(net, KINDS) for net in nets]
    if args.plot:
        from ..bounds import plot_profiles

        plot_profiles(profs, args.plot, titles=["square pooling", "mirror pooling"])
    if args.json:
        dump_json({"grid": args.grid, "M": args.M, "widths": args.widths,
                   "square": profs[0].to_dict(), "mirror": profs[1].to_dict(), "plot": args.plot})
        return 0
    print(f"Certified generic separation ranks, ConvAC on a {args.grid} grid, M={args.M}, widths={args.widths} "
          f"(max possible: {_cell_max(profs[0])})")
    rows = []
    for i, kind in enumerate(KINDS):
        cs, cm = profs[0].certificates[i], profs[1].certificates[i]
        rows.append([kind, _cell(cs), f"{cs.lower_method}={cs.upper_method}" if cs.certified else
                     f"{cs.lower_method}/{cs.upper_method}", _cell(cm),
                     f"{cm.lower_method}={cm.upper_method}" if cm.certified else f"{cm.lower_method}/{cm.upper_method}"])
    print_table(["partition", "square", "how (square)", "mirror", "how (mirror)"], rows)
    print(f"({profs[0].seconds + profs[1].seconds:.1f}s; lower = upper means the rank is certified)")
    if args.plot:
        print(f"plot written to {args.plot}")
    return 0


def _cell_max(prof) -> str:  # noqa: ANN001
    return f"2^{max(prof.max_log2):.0f}"
