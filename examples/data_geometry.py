"""Which layout fits a locally connected network: data entanglement and accuracy on original, permuted and
rearranged digits (Alexander, De La Vega, Razin & Cohen, NeurIPS 2023), at CPU scale.

For scikit-learn's 8x8 digits we build three layouts of the same pixels: (a) the original image, (b) the pixels
under one fixed random permutation, (c) the permuted pixels rearranged by ``tensorexpr.data.rearrange`` for the
square quad tree. For each layout we measure the data's entanglement under the quad tree's canonical partitions
(``geometry_fit``, one-vs-rest over the ten classes) and train a *locally connected* (unshared) ConvAC and ReLU
net on the square quad tree over several seeds. The claim under test: lower entanglement, higher accuracy; the
rearrangement recovers much of what the permutation lost. A second part asks the data side alone whether it
picks mirror pooling for the symmetry blobs and square pooling for the closedness blobs.

Run: ``python examples/data_geometry.py`` (about 10 minutes on 2 cores; ``--quick`` for a smoke run). Writes
``examples/results/data_geometry.{json,md,png}``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from tensorexpr.data import geometry_fit, rearrange

RESULTS = Path(__file__).resolve().parent / "results"


def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images.reshape(len(d.images), -1) / 16.0, d.target


def layouts(X: np.ndarray, y: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Feature orders: position m of each layout holds original pixel order[m]."""
    perm = np.random.default_rng(seed).permutation(X.shape[1])
    re = rearrange(X[:, perm], y, "grid:8x8:square", seed=seed)
    return {"original": np.arange(X.shape[1]), "permuted": perm, "rearranged": perm[re]}


def accuracy(X: np.ndarray, y: np.ndarray, model: str, seed: int, epochs: int) -> float:
    from tensorexpr.experiments import TrainConfig, train

    rng = np.random.default_rng(1000 + seed)
    idx = rng.permutation(len(X))
    te_idx, tr_idx = idx[:297], idx[297:]
    imgs = X.reshape(len(X), 8, 8).astype(np.float32)
    data = (imgs[tr_idx], y[tr_idx], imgs[te_idx], y[te_idx])
    cfg = TrainConfig(model=model, geometry="grid:8x8:square", task="user", widths=16, representation="gaussian",
                      shared=False, epochs=epochs, seed=seed, progress=False, device="cpu")
    return float(train(cfg, data=data).final["test_acc"])


def blob_side(n: int, landmarks: int) -> list[dict]:
    from tensorexpr.experiments.data import blobs

    rows = []
    for task in ("closedness", "symmetry"):
        ds = blobs(task, n_train=n, n_test=10, progress=False)
        X = ds.X_train.numpy().reshape(n, -1).astype(np.float64)
        y = ds.y_train.numpy()
        for geo in ("square", "mirror"):
            f = geometry_fit(X, y, f"grid:32x32:{geo}", method="nystrom", landmarks=landmarks)
            rows.append({"task": task, "geometry": geo, "total": f.total, "worst": f.worst, "n": n,
                         "landmarks": landmarks})
    return rows


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--blob-n", type=int, default=1500)
    ap.add_argument("--landmarks", type=int, default=700)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=str(RESULTS), help="directory for the .json, .md and .png results")
    args = ap.parse_args(argv)
    if args.quick:
        args.seeds, args.epochs, args.blob_n, args.landmarks = 1, 1, 200, 100
    t0 = time.time()
    X, y = digits()
    rows = []
    for seed in range(args.seeds):
        for name, order in layouts(X, y, seed).items():
            Xl = X[:, order]
            fit = geometry_fit(Xl, y, "grid:8x8:square")
            row = {"seed": seed, "layout": name, "entropy_mean": fit.total, "entropy_worst": fit.worst}
            for model in ("convac", "relu"):
                row[f"acc_{model}"] = accuracy(Xl, y, model, seed, args.epochs)
            rows.append(row)
            print(row, flush=True)
    blob = blob_side(args.blob_n, args.landmarks)
    for r in blob:
        print(r, flush=True)
    summary = {}
    for name in ("original", "permuted", "rearranged"):
        sel = [r for r in rows if r["layout"] == name]
        summary[name] = {k: (statistics.mean(r[k] for r in sel), statistics.pstdev(r[k] for r in sel))
                         for k in ("entropy_mean", "acc_convac", "acc_relu")}
    ent = [r["entropy_mean"] for r in rows]
    corr = {m: float(np.corrcoef(ent, [r[f"acc_{m}"] for r in rows])[0, 1]) for m in ("convac", "relu")
            if len(rows) > 2 and np.std(ent) > 0 and np.std([r[f"acc_{m}"] for r in rows]) > 0}  # else undefined
    out = {"rows": rows, "summary": summary, "correlation_entropy_accuracy": corr, "blobs": blob,
           "settings": vars(args), "seconds": time.time() - t0}
    results = Path(args.out)
    results.mkdir(parents=True, exist_ok=True)
    stem = "data_geometry_quick" if args.quick else "data_geometry"
    (results / f"{stem}.json").write_text(json.dumps(out, indent=1))
    lines = ["| layout | mean entropy (square tree) | ConvAC test acc | ReLU test acc |", "|---|---|---|---|"]
    for name, s in summary.items():
        lines.append(f"| {name} | {s['entropy_mean'][0]:.3f} ± {s['entropy_mean'][1]:.3f} | "
                     f"{s['acc_convac'][0]:.3f} ± {s['acc_convac'][1]:.3f} | {s['acc_relu'][0]:.3f} ± "
                     f"{s['acc_relu'][1]:.3f} |")
    lines += ["", f"Correlation of entropy and accuracy over the {len(rows)} runs: "
              + ", ".join(f"{m} {c:+.2f}" for m, c in corr.items()), "",
              "| blob task | geometry | mean entropy | worst |", "|---|---|---|---|"]
    lines += [f"| {r['task']} | {r['geometry']} | {r['total']:.3f} | {r['worst']:.3f} |" for r in blob]
    (results / f"{stem}.md").write_text("\n".join(lines) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.6))
    for name, mk in (("original", "o"), ("permuted", "x"), ("rearranged", "s")):
        sel = [r for r in rows if r["layout"] == name]
        for m, c in (("convac", "C0"), ("relu", "C1")):
            ax.scatter([r["entropy_mean"] for r in sel], [r[f"acc_{m}"] for r in sel], marker=mk, color=c,
                       label=f"{name}, {m}")
    ax.set_xlabel("mean entanglement entropy under the square quad tree")
    ax.set_ylabel("test accuracy (locally connected, 8x8 digits)")
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(results / f"{stem}.png", dpi=130)
    print((results / f"{stem}.md").read_text())
    return out


if __name__ == "__main__":
    main()
