"""Generic separation ranks of the p4 ConvAC against plain ConvACs (same channels; same free parameters).

Writes ``examples/results/rotation_ranks.{json,md}``. Every number is a ``te.certify`` interval: certified
when a lower bound (an exact instance rank over GF(p) of an integer twin whose blocks are redrawn through
the tying map, or the specialization bound for untied-map nets) meets an upper bound (min-cut / geometry).

    python examples/rotation_ranks.py [--side 4] [--widths 2,2] [--budget 120]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import tensorexpr as te

PARTS = ("left_right", "top_bottom", "checkerboard", "interleaved_rows", "interleaved_cols",
         "mirror_left_right", "mirror_top_bottom")


def plain_params(tree: te.ModeTree, M: int, r: int) -> int:
    return te.convac(tree, M, r, shared=True, seed=0).n_params


def fmt(c: te.Certificate) -> str:
    return str(c.lower) if c.certified else f"[{c.lower}, {c.upper}]"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", type=int, default=4)
    ap.add_argument("--M", type=int, default=1, help="functions per pixel")
    ap.add_argument("--kernel", type=int, default=2)
    ap.add_argument("--widths", default="2,2", help="filters per orientation, one per level")
    ap.add_argument("--budget", type=float, default=120.0, help="seconds per certificate for instance ranks")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "rotation_ranks"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    widths = [int(w) for w in args.widths.split(",")]
    rows, t0 = [], time.time()
    for geom in ("square", "mirror"):
        tree = te.ModeTree.grid(args.side, args.side, geometry=geom)
        p4 = te.group_convac(tree, args.M, widths, kernel=args.kernel, seed=0)
        Mn = p4.M
        chans = [4 * w for w in widths]
        same_ch = te.convac(tree, Mn, chans, shared=True, seed=0)
        r = max(r for r in range(1, 64) if plain_params(tree, Mn, r) <= p4.n_params)
        same_p = te.convac(tree, Mn, r, shared=True, seed=0)
        nets = {"p4": p4, f"plain (channels {chans})": same_ch, f"plain (width {r}, same params)": same_p}
        for kind in PARTS:
            P = te.Partition.grid(args.side, args.side, kind)
            row = {"geometry": geom, "partition": kind}
            for name, net in nets.items():
                c = te.certify(net, P, budget_seconds=args.budget)
                row[name] = {"lower": c.lower, "upper": c.upper, "certified": c.certified, "n_params": net.n_params,
                             "lower_by": c.lower_method, "upper_by": c.upper_method}
                print(f"{geom:6s} {kind:18s} {name:32s} {fmt(c):>14s}  ({c.lower_method}/{c.upper_method}, "
                      f"{time.time() - t0:.0f}s)", flush=True)
            rows.append(row)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"side": args.side, "M_per_pixel": args.M, "kernel": args.kernel, "widths": widths,
            "machine": "x86_64, 2 cores (shared), no GPU", "seconds": round(time.time() - t0, 1)}
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    names = [k for k in rows[0] if k not in ("geometry", "partition")]
    lines = [f"p4 ConvAC vs plain ConvAC, {args.side}x{args.side} positions of {args.kernel}x{args.kernel} patches, "
             f"M={args.M} per pixel (network M={args.kernel ** 2 * args.M}), widths {widths} per orientation.", "",
             "| geometry | partition | " + " | ".join(f"{n} ({rows[0][n]['n_params']} params)" for n in names) + " |",
             "|---|---|" + "---|" * len(names)]
    for row in rows:
        cells = [str(row[n]["lower"]) if row[n]["certified"] else f"[{row[n]['lower']}, {row[n]['upper']}]" for n in names]
        lines.append(f"| {row['geometry']} | {row['partition']} | " + " | ".join(cells) + " |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
