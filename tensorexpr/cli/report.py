"""``tensorexpr report``: the main job, certified separation ranks of square vs mirror pooling on one grid.

Defaults are the blob-task network of Cohen & Shashua (ICLR 2017): a 32x32 grid, M=2, 16 channels per
layer. Each cell is the certified generic rank (or an honest interval) with the methods that produced it;
nothing dense is formed, so it runs in seconds.
"""

from __future__ import annotations

import argparse

from ..bounds import profile
from ..network import convac
from ..specs import grid_shape
from .common import dump_json, format_count, parse_tree, parse_widths, parse_window, print_table

KINDS = ["left_right", "top_bottom", "checkerboard", "interleaved_rows", "interleaved_cols", "mirror_left_right", "mirror_top_bottom"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="certified rank table for square vs mirror pooling (the main job)")
    p.add_argument("--grid", default="32x32", help="HxW of the input grid")
    p.add_argument("--window", default=None, help="square pooling window per level, bottom first, the last "
                                                  "repeating (3,2 for 6x6); mirror pooling needs 2")
    p.add_argument("--M", type=int, default=2, help="representation functions per position")
    p.add_argument("--widths", default="16", help="channels: one int, or r_0,r_1,... one per level")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    p.add_argument("--plot", default=None, help="write a side-by-side PNG (square vs mirror) here")
    p.add_argument("--json", action="store_true", help="print JSON (exact integers) instead of a table")
    p.set_defaults(func=run)


def _tileable_kinds(h: int, w: int) -> list[str]:
    """The standard partitions that exist on an ``h x w`` grid (the mirror halves need a 2x2-tileable grid)."""
    from ..errors import TensorExprError
    from ..partitions import Partition

    out = []
    for k in KINDS:
        try:
            Partition.grid(h, w, k)
        except TensorExprError:
            continue
        out.append(k)
    return out


def _cell(c) -> str:  # noqa: ANN001
    return format_count(c.lower) if c.certified else f"[{format_count(c.lower)}, {format_count(c.upper)}]"


def run(args: argparse.Namespace) -> int:
    geoms = [f"grid:{args.grid}:square", f"grid:{args.grid}:mirror"]
    grid_shape(geoms[0])
    trees = [parse_tree(geoms[0], args.window)]
    if args.window is None or all(w in (2, (2, 2)) for w in parse_window(args.window)):
        trees.append(parse_tree(geoms[1], None))
    nets = [convac(t, args.M, parse_widths(args.widths), seed=args.seed) for t in trees]
    kinds = _tileable_kinds(*grid_shape(geoms[0]))  # type: ignore[misc]
    profs = [profile(net, kinds) for net in nets]
    if args.plot:
        from ..bounds import plot_profiles

        plot_profiles(profs, args.plot, titles=[f"{g} pooling, M={args.M}, widths={args.widths}"
                                                for g in ("square", "mirror")[: len(profs)]])
    if args.json:
        dump_json({"grid": args.grid, "M": args.M, "widths": args.widths,
                   "square": profs[0].to_dict(), "mirror": profs[1].to_dict() if len(profs) > 1 else None,
                   "plot": args.plot})
        return 0
    print(f"Certified generic separation ranks, ConvAC on a {args.grid} grid, M={args.M}, widths={args.widths} "
          f"(max possible: {_cell_max(profs[0], nets[0])})")
    rows = []
    how = (lambda c: f"{c.lower_method}={c.upper_method}" if c.certified else f"{c.lower_method}/{c.upper_method}")
    for i, kind in enumerate(kinds):
        row = [kind]
        for prof in profs:
            row += [_cell(prof.certificates[i]), how(prof.certificates[i])]
        rows.append(row)
    heads = ["partition", "square", "how (square)", "mirror", "how (mirror)"][: 1 + 2 * len(profs)]
    print_table(heads, rows)
    print(f"({sum(p.seconds for p in profs):.1f}s; lower = upper means the rank is certified)")
    if args.plot:
        print(f"plot written to {args.plot}")
    return 0


def _cell_max(prof, net) -> str:  # noqa: ANN001
    """The largest possible rank over the table's partitions, ``max min(T^|I|, T^|J|)``, formatted exactly."""
    T = net.n_templates
    return format_count(max(T ** min(len(P.I), len(P.J)) for P in prof.partitions))
