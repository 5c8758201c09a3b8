"""Rotation experiment on digits at 32x32 (Diaconu & Worrall's qualitative claim, scaled to a 2-core CPU).

Train p4, learned-basis and plain (untied patch) ConvACs and their ReLU counterparts, all with the same
geometry (default 4x4 positions of 8x8 patches, square pooling, a linear representation with M=4 per pixel,
16 channels per level), on
upright digits and on randomly rotated digits; test on upright, 90-degree-rotated and arbitrarily rotated
digits; measure rotation sensitivity (:func:`tensorexpr.models.rotation_sensitivity`) and parameter counts.
Writes ``examples/results/rotation_digits.{json,md,png}``.

    python examples/rotation_digits.py [--seeds 0,1] [--epochs 6] [--kernel 8] [--lr 0.003] [--lr-convac 0.05]

Learning rates (Adam): ReLU nets 0.003; ConvACs 0.05, because their log-space weights must spread by about
``log(fan-in)`` (here ``log 256``) before a positive mixture of 256 patch features becomes selective.
At lr 0.01 the ReLU patch nets died (constant output) for some seeds even with centering.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from tensorexpr.experiments import TrainConfig, digits32, evaluate, train
from tensorexpr.models import rotation_sensitivity

KINDS = ("p4", "learned", "patch", "p4-relu", "learned-relu", "patch-relu")
LABEL = {"p4": "p4 ConvAC", "learned": "learned-basis ConvAC", "patch": "plain ConvAC", "p4-relu": "p4 ReLU",
         "learned-relu": "learned-basis ReLU", "patch-relu": "plain ReLU"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--widths", type=int, default=4, help="filters per orientation (plain: 4x as many channels)")
    ap.add_argument("--n-train", type=int, default=1500)
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--kernel", type=int, default=8, help="patch side (positions: (32/kernel)^2)")
    ap.add_argument("--representation", default="linear")
    ap.add_argument("--lr", type=float, default=0.003, help="Adam lr of the ReLU nets")
    ap.add_argument("--lr-convac", type=float, default=0.05, help="Adam lr of the ConvACs (log-space weights)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "rotation_digits"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    kinds = args.kinds.split(",")
    runs, t0 = [], time.time()
    for seed in seeds:
        tests = {r: digits32(n_test=297, seed=seed, rotate_test=r, n_train=1) for r in ("none", "90", "random")}
        for train_rot in ("none", "random"):
            for kind in kinds:
                S = 32 // args.kernel
                cfg = TrainConfig(model=kind, geometry=f"grid:{S}x{S}:square", task="digits32", kernel=args.kernel,
                                  widths=args.widths, representation=args.representation, epochs=args.epochs,
                                  batch_size=64, seed=seed,
                                  lr=args.lr if kind.endswith("relu") else args.lr_convac, n_train=args.n_train, n_test=297, rotate_train=train_rot,
                                  progress=False, device="cpu")
                res = train(cfg)
                acc = {r: evaluate(res.model, d.X_test, d.y_test)[1] for r, d in tests.items()}
                sens = rotation_sensitivity(res.model, tests["none"].X_test[:200], angles=(90, 45, 30))
                run = {"kind": kind, "seed": seed, "train_rotation": train_rot, "n_params": res.n_params,
                       "train_acc": res.final["train_acc"], "test_acc": acc, "sensitivity": sens}
                runs.append(run)
                print(f"seed={seed} train={train_rot:6s} {kind:13s} params={res.n_params:6d} "
                      f"acc up/90/rand={acc['none']:.3f}/{acc['90']:.3f}/{acc['random']:.3f} "
                      f"S_out 90/45={sens['90']['output']:.3g}/{sens['45']['output']:.3g} "
                      f"S_feat0 90/45={sens['90']['stage0']:.3g}/{sens['45']['stage0']:.3g} ({time.time() - t0:.0f}s)",
                      flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"seeds": seeds, "epochs": args.epochs, "widths": args.widths, "n_train": args.n_train, "n_test": 297,
            "geometry": f"grid:{32 // args.kernel}x{32 // args.kernel}:square, {args.kernel}x{args.kernel} patches, "
                        f"{args.representation} representation M=4", "lr_relu": args.lr, "lr_convac": args.lr_convac, "machine": "x86_64, 2 cores (shared), no GPU",
            "seconds": round(time.time() - t0, 1)}
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "runs": runs}, indent=1))
    summarize(runs, kinds, out, meta)


def _mean_std(vals):
    return float(np.mean(vals)), float(np.std(vals))


def summarize(runs, kinds, out: Path, meta) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = [f"Digits 32x32, {meta['n_train']} train / 297 test, {meta['epochs']} epochs, seeds {meta['seeds']} "
             f"(mean ± std); {meta['machine']}.", "",
             "| train rot. | model | params | acc upright | acc 90° | acc random | S_out 90° | S_out 45° | S_feat 90° | S_feat 45° |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    for ti, train_rot in enumerate(("none", "random")):
        for ki, kind in enumerate(kinds):
            rs = [r for r in runs if r["kind"] == kind and r["train_rotation"] == train_rot]
            if not rs:
                continue
            acc = {t: _mean_std([r["test_acc"][t] for r in rs]) for t in ("none", "90", "random")}
            so = {a: _mean_std([r["sensitivity"][a]["output"] for r in rs]) for a in ("90", "45")}
            sf = {a: _mean_std([r["sensitivity"][a]["stage0"] for r in rs]) for a in ("90", "45")}
            lines.append(f"| {train_rot} | {LABEL[kind]} | {rs[0]['n_params']} | " + " | ".join(
                f"{acc[t][0]:.3f} ± {acc[t][1]:.3f}" for t in ("none", "90", "random")) + " | " + " | ".join(
                f"{d[a][0]:.3g}" for d in (so, sf) for a in ("90", "45")) + " |")
            for j, t in enumerate(("none", "90", "random")):
                axes[ti].bar(ki + 0.27 * j - 0.27, acc[t][0], 0.27, yerr=acc[t][1], color=f"C{j}",
                             label={"none": "upright", "90": "90° rotated", "random": "randomly rotated"}[t] if ki == 0 else None)
            if train_rot == "none":
                axes[2].bar(ki - 0.2, so["90"][0] + 1e-8, 0.4, color="C3", label="90°" if ki == 0 else None)
                axes[2].bar(ki + 0.2, so["45"][0] + 1e-8, 0.4, color="C4", label="45°" if ki == 0 else None)
        axes[ti].set_title(f"trained on {'upright' if train_rot == 'none' else 'randomly rotated'} digits")
        axes[ti].set_xticks(range(len(kinds)), [LABEL[k].replace(' ', '\n', 1) for k in kinds], fontsize=8)
        axes[ti].set_ylabel("test accuracy")
        axes[ti].set_ylim(0, 1)
        axes[ti].legend(fontsize=8)
    axes[2].set_yscale("log")
    axes[2].set_title("output rotation sensitivity (trained upright)")
    axes[2].set_xticks(range(len(kinds)), [LABEL[k].replace(' ', '\n', 1) for k in kinds], fontsize=8)
    axes[2].legend(fontsize=8)
    fig.suptitle(f"Rotations on digits 32x32 ({meta['machine']}; seeds {meta['seeds']}, {meta['epochs']} epochs)")
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=110)
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
