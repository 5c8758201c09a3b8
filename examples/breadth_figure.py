"""The figure of Cohen & Shashua (ICLR 2017): test accuracy against breadth, square vs mirror pooling.

Both blob tasks (closedness, symmetry) on the authors' data (``te.experiments.blobs``: their recipe, draw
for draw, 20,000 / 4,000 images read in order), the ConvAC and the ReLU nets with max and average pooling,
each with the authors' settings (``TrainConfig.preset("iclr2017-convac" | "iclr2017-relu")``: Adam,
batch 64, lr x0.1 at 80%, shared weights). The paper: breadths 8..128, 15,000 iterations. This script runs
any part of that grid; the defaults are what fits a few minutes of a shared 2-core CPU, so they are
*scaled down* (iterations, breadths, seeds, test images): say so wherever you show the result. The full
run is a sweep (``tensorexpr sweep``) over the same presets.

Writes ``breadth_figure.png`` (2 tasks x 3 models, accuracy against breadth, mean +- std over seeds,
square vs mirror), ``results.md`` and ``results.json`` to ``--out``.

Run: ``python examples/breadth_figure.py --out breadth_out [--iterations 15000 --breadths 8,16,32,64,128
--seeds 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from tensorexpr.experiments import TrainConfig, train

TASKS = ("closedness", "symmetry")
MODELS = {"convac": ("iclr2017-convac", {}), "relu-max": ("iclr2017-relu", {"pooling": "max"}),
          "relu-avg": ("iclr2017-relu", {"pooling": "avg"})}
GEOMETRIES = ("square", "mirror")


def run(args: argparse.Namespace) -> dict:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    breadths = [int(b) for b in args.breadths.split(",")]
    models = args.models.split(",")
    rows = []
    t_start = time.perf_counter()
    for task in TASKS:
        for model in models:
            preset, extra = MODELS[model]
            for b in breadths:
                for geo in GEOMETRIES:
                    for seed in range(args.seeds):
                        cfg = TrainConfig.preset(preset, **extra, task=task, geometry=f"grid:32x32:{geo}", widths=b,
                                                 iterations=args.iterations, eval_every=args.iterations, seed=seed,
                                                 n_test=args.n_test, progress=not args.no_progress, device="cpu")
                        t0 = time.perf_counter()
                        r = train(cfg)
                        rows.append({"task": task, "model": model, "breadth": b, "geometry": geo, "seed": seed,
                                     "test_acc": r.test_acc, "train_acc": r.final["train_acc"],
                                     "seconds": time.perf_counter() - t0, "nonfinite": r.nonfinite})
                        (out / "results.partial.json").write_text(json.dumps(rows, indent=1))  # survives a kill
                        print(f"[{time.perf_counter() - t_start:6.0f}s] {task:10s} {model:8s} breadth {b:3d} {geo:6s} "
                              f"seed {seed}: test {r.test_acc:.4f} train {r.final['train_acc']:.4f}", flush=True)
    summary = []
    for task in TASKS:
        for model in models:
            for b in breadths:
                for geo in GEOMETRIES:
                    accs = [x["test_acc"] for x in rows if (x["task"], x["model"], x["breadth"], x["geometry"])
                            == (task, model, b, geo)]
                    summary.append({"task": task, "model": model, "breadth": b, "geometry": geo,
                                    "mean": statistics.mean(accs), "std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                                    "accs": accs})
    report = {"settings": vars(args), "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
              f"{'CUDA' if torch.cuda.is_available() else 'no GPU'}, torch threads {torch.get_num_threads()}",
              "rows": rows, "summary": summary, "seconds": time.perf_counter() - t_start}
    (out / "results.json").write_text(json.dumps(report, indent=2))
    text = table(report, breadths, models)
    (out / "results.md").write_text(text)
    plot(summary, breadths, models, out / "breadth_figure.png", args)
    print(text)
    return report


def table(report: dict, breadths: list[int], models: list[str]) -> str:
    s = report["settings"]
    lines = [f"Accuracy vs breadth on the authors' blob data ({s['iterations']} iterations of batch 64, "
             f"{s['seeds']} seeds, test on the first {s['n_test'] or 4000} test images; {report['machine']}; "
             f"{report['seconds']:.0f} s)", "",
             "| task | model | breadth | square | mirror | winner (paper) |", "|---|---|---|---|---|---|"]
    claim = {"closedness": "square", "symmetry": "mirror"}
    for task in TASKS:
        for model in models:
            for b in breadths:
                c = {x["geometry"]: x for x in report["summary"] if (x["task"], x["model"], x["breadth"]) == (task, model, b)}
                sq, mi = c["square"], c["mirror"]
                win = "square" if sq["mean"] > mi["mean"] else "mirror" if mi["mean"] > sq["mean"] else "tie"
                lines.append(f"| {task} | {model} | {b} | {sq['mean']:.3f} +- {sq['std']:.3f} | "
                             f"{mi['mean']:.3f} +- {mi['std']:.3f} | {win} ({claim[task]}) |")
    return "\n".join(lines) + "\n"


def plot(summary: list[dict], breadths: list[int], models: list[str], path: Path, args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(TASKS), len(models), figsize=(3.6 * len(models), 3.2 * len(TASKS)), squeeze=False)
    for i, task in enumerate(TASKS):
        for j, model in enumerate(models):
            ax = axes[i, j]
            for geo, style in zip(GEOMETRIES, ("o-", "s--")):
                pts = [next(x for x in summary if (x["task"], x["model"], x["breadth"], x["geometry"])
                            == (task, model, b, geo)) for b in breadths]
                ax.errorbar(breadths, [p["mean"] for p in pts], yerr=[p["std"] for p in pts], fmt=style, capsize=3,
                            label=geo)
            ax.set_xscale("log", base=2)
            ax.set_xticks(breadths, [str(b) for b in breadths])
            ax.set_title(f"{task} - {model}", fontsize=10)
            ax.axhline(0.5, color="gray", lw=0.5)
            if j == 0:
                ax.set_ylabel("test accuracy")
            if i == len(TASKS) - 1:
                ax.set_xlabel("breadth (channels)")
    axes[0, 0].legend(title="pooling", fontsize=8)
    fig.suptitle(f"Authors' blob data, {args.iterations} iterations, {args.seeds} seeds (scaled down; paper: 15,000)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="breadth_out")
    ap.add_argument("--iterations", type=int, default=300, help="per run (the paper: 15000)")
    ap.add_argument("--breadths", default="8,16", help="comma list (the paper: 8..128)")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--models", default="convac,relu-max,relu-avg")
    ap.add_argument("--n-test", type=int, default=2000, help="first test images evaluated (the paper: all 4000)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-progress", action="store_true")
    return run(ap.parse_args(argv))


if __name__ == "__main__":
    main()
