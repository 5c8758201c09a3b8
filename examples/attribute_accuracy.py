"""Accuracy against parameter count: attribute-convolution vs plain ConvACs and ReLU nets on a blob task.

Writes ``examples/results/attribute_accuracy.{json,md,png}``. Small by design (2-core CPU): blob
``symmetry`` task on 8x8 grids, square pooling, a few widths, a few seeds.

    python examples/attribute_accuracy.py [--seeds 0,1] [--epochs 5] [--task symmetry]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from tensorexpr.experiments import TrainConfig, train


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--task", default="symmetry")
    ap.add_argument("--geometry", default="grid:8x8:square")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "attribute_accuracy"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    grid = {"convac": [2, 4, 8], "relu": [2, 4, 8], "attribute": [2, 3], "attribute-relu": [2, 3]}
    runs, t0 = [], time.time()
    for seed in [int(s) for s in args.seeds.split(",")]:
        for kind, ws in grid.items():
            for w in ws:
                cfg = TrainConfig(model=kind, geometry=args.geometry, task=args.task, widths=w, epochs=args.epochs,
                                  n_train=1000, n_test=400, seed=seed, progress=False, device="cpu")
                r = train(cfg)
                runs.append({"kind": kind, "widths": w, "seed": seed, "n_params": r.n_params, "test_acc": r.test_acc})
                print(f"{kind:15s} w={w} seed={seed} params={r.n_params:5d} acc={r.test_acc:.3f} ({time.time() - t0:.0f}s)",
                      flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"task": args.task, "geometry": args.geometry, "epochs": args.epochs, "n_train": 1000, "n_test": 400,
            "machine": "x86_64, 2 cores (shared), no GPU", "seconds": round(time.time() - t0, 1)}
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "runs": runs}, indent=1))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    lines = [f"{args.task} on {args.geometry}, {args.epochs} epochs, seeds {args.seeds}; {meta['machine']}.", "",
             "| model | widths | params | test acc (mean ± std) |", "|---|---|---|---|"]
    for i, (kind, ws) in enumerate(grid.items()):
        xs, ys, es = [], [], []
        for w in ws:
            rs = [r for r in runs if r["kind"] == kind and r["widths"] == w]
            acc = [r["test_acc"] for r in rs]
            xs.append(rs[0]["n_params"])
            ys.append(float(np.mean(acc)))
            es.append(float(np.std(acc)))
            lines.append(f"| {kind} | {w} | {rs[0]['n_params']} | {ys[-1]:.3f} ± {es[-1]:.3f} |")
        ax.errorbar(xs, ys, yerr=es, marker="o", label=kind, color=f"C{i}", capsize=3)
    ax.set_xscale("log")
    ax.set_xlabel("trainable parameters")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"{args.task}, {args.geometry} ({meta['machine']})", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=110)
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
