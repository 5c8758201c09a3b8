"""``tensorexpr report``: the main job, certified separation ranks of square vs mirror pooling on one grid.

Defaults are the blob-task network of Cohen & Shashua (ICLR 2017): a 32x32 grid, M=2, 16 channels per
layer. The first table is the authors' architecture, a *convolutional* ConvAC (1x1 weights shared over the
image, one tied block per level); the second is the *locally connected* one (every position its own weights),
``--weights`` picks one. Each cell is the certified generic rank (or an honest interval) with the methods that
produced it; nothing dense is formed, so it runs in seconds.
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
    p.add_argument("--weights", choices=["both", "tied", "untied"], default="both",
                   help="tied = convolution (the authors' network, first table); untied = locally connected")
    p.add_argument("--plot", default=None, help="write a side-by-side PNG (square vs mirror) here")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def _cell(c) -> str:  # noqa: ANN001
    from ..bounds.certificate import _fmt as fmt  # exact digits, 2^k, or ~2^x.xx (3^256 is not "2^406")

    return fmt(c.lower) if c.certified else f"[{fmt(c.lower)}, {fmt(c.upper)}]"


_LABEL = {"tied": "convolutional ConvAC (weights shared per level: the authors' architecture)",
          "untied": "locally connected ConvAC (every position its own weights)"}


def run(args: argparse.Namespace) -> int:
    geoms = [f"grid:{args.grid}:square", f"grid:{args.grid}:mirror"]
    grid_shape(geoms[0])
    kinds = ["tied", "untied"] if args.weights == "both" else [args.weights]
    tables = {}
    for kind in kinds:
        nets = [convac(parse_geometry(g), args.M, parse_widths(args.widths), seed=args.seed, shared=kind == "tied")
                for g in geoms]
        tables[kind] = [profile(net, KINDS) for net in nets]
    profs = tables[kinds[0]]
    if args.plot:
        from ..bounds import plot_profiles

        tag = "convolution" if kinds[0] == "tied" else "locally connected"
        plot_profiles(profs, args.plot, titles=[f"square pooling ({tag})", f"mirror pooling ({tag})"])
    if args.json:
        out = {"grid": args.grid, "M": args.M, "widths": args.widths, "weights": kinds[0], "network": _LABEL[kinds[0]],
               "square": profs[0].to_dict(), "mirror": profs[1].to_dict(), "plot": args.plot}
        if len(kinds) == 2:
            out["locally_connected"] = {"network": _LABEL["untied"], "square": tables["untied"][0].to_dict(),
                                        "mirror": tables["untied"][1].to_dict()}
        dump_json(out)
        return 0
    for kind in kinds:
        profs = tables[kind]
        print(f"Certified generic separation ranks, {_LABEL[kind]}, {args.grid} grid, M={args.M}, "
              f"widths={args.widths} (max possible: {_cell_max(profs[0])})")
        rows = []
        for i, part in enumerate(KINDS):
            cs, cm = profs[0].certificates[i], profs[1].certificates[i]
            rows.append([part, _cell(cs), f"{cs.lower_method}={cs.upper_method}" if cs.certified else
                         f"{cs.lower_method}/{cs.upper_method}", _cell(cm),
                         f"{cm.lower_method}={cm.upper_method}" if cm.certified else f"{cm.lower_method}/{cm.upper_method}"])
        print_table(["partition", "square", "how (square)", "mirror", "how (mirror)"], rows)
        print(f"({profs[0].seconds + profs[1].seconds:.1f}s; lower = upper means the rank is certified)\n")
    if args.plot:
        print(f"plot written to {args.plot}")
    return 0


def _cell_max(prof) -> str:  # noqa: ANN001
    return f"2^{max(prof.max_log2):.0f}"
