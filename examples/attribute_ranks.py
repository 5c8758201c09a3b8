"""Is there a theoretical limitation? Generic ranks of attribute-convolution ConvACs against unconstrained
ConvACs with the same widths and with the same number of free parameters (Jacobsen et al., 2017).

Writes ``examples/results/attribute_ranks.{json,md}``. Geometries: square and mirror 4x4 grids (the 7
standard partitions) and a 1-D line of 16 (odd/even, left/right, random). ``M = 2`` so every grid tensor
has ``2^16`` entries and the exact instance ranks close the certificates. ``rank / param`` is the
certified rank (or the interval's lower end) per free parameter; ``eff`` counts the free parameters that
reach the weights (the rank of each tying map: summing out an attribute with periodic padding and full
support makes some kernel entries act only through their sums).

    python examples/attribute_ranks.py [--widths 2] [--support none|1|2] [--padding periodic|zero]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import tensorexpr as te
from tensorexpr.build.attribute import attribute_maps

GRID_PARTS = ("left_right", "top_bottom", "checkerboard", "interleaved_rows", "interleaved_cols",
              "mirror_left_right", "mirror_top_bottom")


def effective_params(maps) -> int:
    return int(sum(np.linalg.matrix_rank(m.basis.astype(float)) for m in maps.values()))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--M", type=int, default=2)
    ap.add_argument("--widths", type=int, default=2, help="attribute size per level")
    ap.add_argument("--supports", default="none,1", help="comma list: none (whole axis) or ints")
    ap.add_argument("--padding", default="periodic")
    ap.add_argument("--budget", type=float, default=60.0)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "attribute_ranks"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    cases = [(te.ModeTree.grid(4, 4, geometry="square"), [te.Partition.grid(4, 4, k) for k in GRID_PARTS]),
             (te.ModeTree.grid(4, 4, geometry="mirror"), [te.Partition.grid(4, 4, k) for k in GRID_PARTS]),
             (te.ModeTree.line(16), [te.Partition.odd_even(16), te.Partition.left_right(16), te.Partition.random(16, 0)])]
    rows, t0 = [], time.time()
    for sup_s in args.supports.split(","):
        support = None if sup_s == "none" else int(sup_s)
        for tree, parts in cases:
            att = te.attribute_convac(tree, args.M, args.widths, support=support, padding=args.padding, seed=0)
            maps, _ = attribute_maps(tree, args.M, args.widths, 1, support, args.padding, 3)
            chans = [maps[l].cols for l in range(tree.depth)]
            same_w = te.convac(tree, args.M, chans, shared=True, seed=0)
            r = max([r for r in range(1, 64) if te.convac(tree, args.M, r, shared=True, seed=0).n_params <= att.n_params]
                    or [1])
            same_p = te.convac(tree, args.M, r, shared=True, seed=0)
            nets = {"attribute": att, "plain same widths": same_w, f"plain width {r}": same_p}
            eff = effective_params(maps)
            for P in parts:
                row = {"geometry": tree.name, "support": sup_s, "partition": P.name, "channels": chans,
                       "attribute_effective_params": eff}
                for name, net in nets.items():
                    c = te.certify(net, P, budget_seconds=args.budget)
                    row[name] = {"lower": c.lower, "upper": c.upper, "certified": c.certified,
                                 "n_params": net.n_params, "by": f"{c.lower_method}/{c.upper_method}"}
                print(f"support={sup_s:4s} {tree.name:18s} {P.name:18s} " + "  ".join(
                    f"{n}={row[n]['lower'] if row[n]['certified'] else (row[n]['lower'], row[n]['upper'])}"
                    f"[{row[n]['n_params']}p]" for n in nets) + f"  ({time.time() - t0:.0f}s)", flush=True)
                rows.append(row)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"M": args.M, "widths": args.widths, "padding": args.padding, "keep": 3,
            "machine": "x86_64, 2 cores (shared), no GPU", "seconds": round(time.time() - t0, 1)}
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))

    def cell(d):
        v = str(d["lower"]) if d["certified"] else f"[{d['lower']}, {d['upper']}]"
        return f"{v} ({d['lower'] / d['n_params']:.2f}/p)"

    lines = [f"Attribute-convolution ConvAC vs plain shared ConvAC; M={args.M}, attribute size {args.widths} per "
             f"level, keep 3, padding {args.padding}. Cells: certified generic rank (or [lower, upper]) and "
             f"rank per free parameter.", "",
             "| geometry | support | partition | channels | attribute (params, eff) | plain same widths (params) | "
             "plain same params (width, params) |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        names = [k for k in row if isinstance(row[k], dict)]
        a, w, p = (row[n] for n in names)
        lines.append(f"| {row['geometry']} | {row['support']} | {row['partition']} | {row['channels']} | "
                     f"{cell(a)} ({a['n_params']}, {row['attribute_effective_params']}) | {cell(w)} ({w['n_params']}) | "
                     f"{cell(p)} ({names[2].split()[-1]}, {p['n_params']}) |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
