"""Accuracy against parameter count: attribute-convolution vs plain ConvACs and ReLU nets (blobs or digits).

Writes ``examples/results/attribute_accuracy.{json,md,png}`` for the blob ``symmetry`` task and
``attribute_accuracy_digits.{json,md,png}`` for ``--task digits`` (the 8x8 digits, the task's default config:
binarized one-hot pixels, lr 0.01, 20 epochs). Small by design (2-core CPU): 8x8 grids, square pooling, a
few widths, a few seeds. On digits the plain nets run both unshared (the task default) and shared
(convolutions, like the attribute nets, which are always shared).

    python examples/attribute_accuracy.py [--seeds 0,1] [--epochs 5] [--task symmetry|digits] [--lr 0.05]
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
    ap.add_argument("--epochs", type=int, default=None, help="default: 5 (blobs), the task default (digits: 20)")
    ap.add_argument("--lr", type=float, default=None, help="default: the task default")
    ap.add_argument("--task", default="symmetry")
    ap.add_argument("--geometry", default="grid:8x8:square")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    digits = args.task == "digits"
    stem = "attribute_accuracy" + ("" if args.task == "symmetry" else f"_{args.task}")
    args.out = args.out or str(Path(__file__).parent / "results" / stem)
    epochs = args.epochs if args.epochs is not None else (None if digits else 5)
    # (label, model kind, shared or None for the task default, widths)
    if digits:
        grid = [("convac (unshared)", "convac", False, [2, 4, 8]), ("relu (unshared)", "relu", False, [2, 4, 8]),
                ("convac (shared)", "convac", True, [2, 4, 8, 16]), ("relu (shared)", "relu", True, [2, 4, 8, 16]),
                ("attribute", "attribute", True, [2, 3, 4]), ("attribute-relu", "attribute-relu", True, [2, 3, 4])]
    else:
        grid = [("convac", "convac", None, [2, 4, 8]), ("relu", "relu", None, [2, 4, 8]),
                ("attribute", "attribute", None, [2, 3]), ("attribute-relu", "attribute-relu", None, [2, 3])]
    runs, t0 = [], time.time()
    for seed in [int(s) for s in args.seeds.split(",")]:
        for label, kind, shared, ws in grid:
            for w in ws:
                extra = {} if shared is None else {"shared": shared}
                # blobs on 8x8 grids: the generated ("centred") recipe; the authors' data are 32x32 only
                sizes = {} if digits else {"n_train": 1000, "n_test": 400, "blob_recipe": "centred"}
                cfg = TrainConfig(model=kind, geometry=args.geometry, task=args.task, widths=w, epochs=epochs,
                                  lr=args.lr, seed=seed, progress=False, device="cpu", **sizes, **extra)
                r = train(cfg)
                runs.append({"kind": label, "widths": w, "seed": seed, "n_params": r.n_params, "test_acc": r.test_acc})
                print(f"{label:18s} w={w} seed={seed} params={r.n_params:5d} acc={r.test_acc:.3f} "
                      f"({time.time() - t0:.0f}s)", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cfg0 = TrainConfig(model="convac", geometry=args.geometry, task=args.task, epochs=epochs, lr=args.lr,
                       **({} if digits else {"blob_recipe": "centred"}))
    meta = {"task": args.task, "geometry": args.geometry, "epochs": cfg0.epochs, "lr": cfg0.lr, "n_train": None if digits else 1000, "n_test": None if digits else 400,
            "machine": "x86_64, 2 cores (shared), no GPU", "seconds": round(time.time() - t0, 1)}
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "runs": runs}, indent=1))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    lines = [f"{args.task} on {args.geometry}, {meta['epochs']} epochs, lr {meta['lr']}, "
             f"seeds {args.seeds}; {meta['machine']}; {meta['seconds']} s.", "",
             "| model | widths | params | test acc (mean ± std) |", "|---|---|---|---|"]
    for i, (kind, _, _, ws) in enumerate(grid):
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
    if digits:
        ax.axhline(0.1, color="gray", ls=":", lw=1, label="chance")
    ax.set_title(f"{args.task}, {args.geometry}, seeds {args.seeds} ({meta['machine']})", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=110)
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
