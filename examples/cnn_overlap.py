"""Overlapping receptive fields: accuracy and separation rank against the kernel size (Sharir & Shashua, ICLR
2018; issue 18; docs/cnn_hybrid.md, "Overlapping CNNs on any pooling geometry").

Models (``tensorexpr.models.standard_cnn``): ``log2(side)`` levels of (``k x k`` conv keeping the map size; a
2x2 product pool for the ConvAC, ReLU + 2x2 max pool for the ReLU CNN), then a linear head. ``k = 1`` is the
non-overlapping tree network of the square geometry; ``k = 2, 3, 5`` overlap (an even ``k`` is padded by
``nn.ZeroPad2d``, ``(k - 1) // 2`` before and ``k // 2`` after).

1. **Ranks at 4x4** (``N = 16``, templates ``{0, 1}``, so each matricization is ``256 x 256``): the exact rank
   (over Q, FLINT) of the traced network (``te.from_torch(..., integer=True)``) at random integer weights in
   ``{-2..2}``, the largest over the seeds (each one a lower bound on the generic rank), under the seven
   standard partitions, for widths 1, 2, 4. Full rank is 256, the matrix size. (Numeric SVD ranks of these
   product networks are ambiguous: the singular values have no gap, and ``te.rank`` warns.)
2. **Certified intervals at 8x8** (``N = 64``, width 8): ``te.certify`` on the traced ConvAC, per partition (for
   the ReLU CNN no provider goes past the matrix shape ``2^32``, so it is left out).
3. **Accuracy** on scikit-learn digits (8x8 in [0, 1]; 497 test images fixed per seed, 1300 for training), width 16,
   Adam (lr 3e-3, gradient norm clipped at 1, 60 epochs), plus ``k = 1`` at the width whose parameter count
   matches ``k = 3``'s, and ``k = 1`` on a learned Gaussian representation of ``M = 16`` functions per pixel
   (on raw pixels a 1x1 convolution sees one number per position, so its features are affine in the pixel).

Writes ``examples/results/cnn_overlap.{json,md,png}``. Usage::

    python examples/cnn_overlap.py [--seeds 0,1,2] [--epochs 60] [--quick] [--out DIR] [--no-progress]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

import tensorexpr as te
from tensorexpr.core.backends import progress_bar
from tensorexpr.core.partitions import standard_partitions
from tensorexpr.models import hybrid_cnn as hc
from tensorexpr.models.standard_cnn import overlapping_convac, relu_cnn
from tensorexpr.testing.torch_modules import integer_weights

RESULTS = Path(__file__).resolve().parent / "results"
BUILDERS = {"convac": overlapping_convac, "relu": relu_cnn}
TEMPLATES = torch.tensor([[0.0], [1.0]], dtype=torch.float64)


def matched_width(k_ref: int, width: int, side: int = 8) -> int:
    """The ``k = 1`` width whose parameter count is closest to the ``k_ref`` network's at ``width``."""
    target = hc.n_params(overlapping_convac(side, 10, width=width, kernel_size=k_ref))
    return min(range(1, 257), key=lambda w: abs(hc.n_params(overlapping_convac(side, 10, width=w, kernel_size=1))
                                                - target))


def ranks_4x4(kernels: list[int], widths: list[int], seeds: list[int], bar) -> list[dict]:
    rows = []
    parts = standard_partitions(4, 4)
    for kind, build in BUILDERS.items():
        for k in kernels:
            for w in widths:
                best = {P.name: 0 for P in parts}
                for s in seeds:
                    net = te.from_torch(integer_weights(build(4, 1, width=w, kernel_size=k), s), (1, 4, 4),
                                        TEMPLATES, integer=True)
                    for P in parts:
                        best[P.name] = max(best[P.name], te.rank(net, P, method="exact").rank)
                    bar.update(1)
                rows.append({"kind": kind, "k": k, "width": w, "ranks": best})
    return rows


def certified_8x8(kernels: list[int], width: int, bar) -> list[dict]:
    rows = []
    for kind, build in (("convac", overlapping_convac),):  # no provider bounds a ReLU DAG past the matrix shape
        for k in kernels:
            torch.manual_seed(0)
            net = te.from_torch(build(8, 1, width=width, kernel_size=k).double(), (1, 8, 8), TEMPLATES)
            for P in standard_partitions(8, 8):
                t0 = time.perf_counter()
                c = te.certify(net, P)
                rows.append({"kind": kind, "k": k, "width": width, "partition": P.name, "lower": int(c.lower),
                             "upper": int(c.upper), "log2_upper": math.log2(c.upper), "seconds": time.perf_counter() - t0,
                             "lower_by": c.lower_method, "upper_by": c.upper_method})
            bar.update(1)
    return rows


def digits(seed: int) -> tuple[torch.Tensor, ...]:
    from sklearn.datasets import load_digits

    d = load_digits()
    X, y = hc.upsample_digits(d.images, 8), torch.as_tensor(d.target)
    perm = torch.as_tensor(np.random.default_rng(seed).permutation(len(y)))
    return X[perm[497:]], y[perm[497:]], X[perm[:497]], y[perm[:497]]


def accuracies(models: list[tuple[str, int, int, int | None]], seeds: list[int], epochs: int, bar) -> list[dict]:
    rows = []
    for s in seeds:
        Xtr, ytr, Xte, yte = digits(s)
        for kind, k, w, M in models:
            m = BUILDERS[kind](8, 10, width=w, kernel_size=k, M=M)
            hc.fit(m, Xtr, ytr, epochs=epochs, clip=1.0, seed=s, progress=False)
            rows.append({"kind": kind, "k": k, "width": w, "M": M, "seed": s, "params": hc.n_params(m),
                         "test_accuracy": hc.accuracy(m, Xte, yte)})
            bar.update(1)
    return rows


def summarize(acc: list[dict]) -> list[dict]:
    out = []
    def key_of(r: dict) -> tuple:
        return r["kind"], r["k"], r["width"], r["M"] or 0

    for key in sorted({key_of(r) for r in acc}):
        xs = [r["test_accuracy"] for r in acc if key_of(r) == key]
        p = next(r["params"] for r in acc if key_of(r) == key)
        out.append({"kind": key[0], "k": key[1], "width": key[2], "M": key[3] or None, "params": p,
                    "mean": float(np.mean(xs)),
                    "std": float(np.std(xs)), "n": len(xs)})
    return out


def write_md(res: dict, path: Path) -> None:
    parts = list(res["ranks_4x4"][0]["ranks"])
    lines = ["# Overlap: accuracy and separation rank vs kernel size", "",
             f"Seeds {res['seeds']}, {res['epochs']} epochs; {res['seconds']:.0f} s on {res['machine']}.", "",
             "## Test accuracy on digits (8x8)", "",
             "| network | k | width | representation | parameters | accuracy (mean +- std) |", "|---|---|---|---|---|---|"]
    for r in res["accuracy"]:
        rep = f"Gaussian, M = {r['M']}" if r["M"] else "pixel"
        lines.append(f"| {r['kind']} | {r['k']} | {r['width']} | {rep} | {r['params']} | "
                     f"{r['mean']:.3f} +- {r['std']:.3f} |")
    lines += ["", "## Exact rank at 4x4 (templates {0, 1}, integer weights; max over seeds; full rank is 256)", "",
              "| network | k | width | " + " | ".join(parts) + " |", "|---|---|---|" + "---|" * len(parts)]
    for r in res["ranks_4x4"]:
        lines.append(f"| {r['kind']} | {r['k']} | {r['width']} | " + " | ".join(str(r["ranks"][p]) for p in parts) + " |")
    lines += ["", f"## Certified interval at 8x8 (width {res['certified_width']})", "",
              "| network | k | partition | lower | upper | seconds |", "|---|---|---|---|---|---|"]
    for r in res["certified_8x8"]:
        up = f"2^{r['log2_upper']:.0f}" if r["upper"] > 10**6 else str(r["upper"])
        lines.append(f"| {r['kind']} | {r['k']} | {r['partition']} | {r['lower']} | {up} | {r['seconds']:.2f} |")
    path.write_text("\n".join(lines) + "\n")


def plot(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(15, 4.2))
    for kind, mk in (("convac", "o"), ("relu", "s")):
        rows = [r for r in res["accuracy"] if r["kind"] == kind and r["width"] == res["width"] and not r["M"]]
        ax[0].errorbar([r["k"] for r in rows], [r["mean"] for r in rows], [r["std"] for r in rows], marker=mk,
                       capsize=3, label=f"{kind}, width {res['width']}")
        m = [r for r in res["accuracy"] if r["kind"] == kind and r["k"] == 1 and r["width"] != res["width"]]
        if m:
            ax[0].errorbar([1.1], [m[0]["mean"]], [m[0]["std"]], marker=mk, ls="none", mfc="none", capsize=3,
                           label=f"{kind}, k=1 at matched params (width {m[0]['width']})")
        g = [r for r in res["accuracy"] if r["kind"] == kind and r["M"]]
        if g:
            ax[0].errorbar([0.9], [g[0]["mean"]], [g[0]["std"]], marker="*", ls="none", capsize=3,
                           label=f"{kind}, k=1 on a learned Gaussian representation (M = {g[0]['M']})")
    ax[0].set(xlabel="kernel size k", ylabel="test accuracy", title="digits 8x8: accuracy vs receptive field",
              xticks=res["kernels"])
    ax[0].legend(fontsize=7)
    wmax = max(r["width"] for r in res["ranks_4x4"])
    for kind, ls in (("convac", "-"), ("relu", "--")):
        for p in ("left_right", "checkerboard"):
            rows = [r for r in res["ranks_4x4"] if r["kind"] == kind and r["width"] == wmax]
            ax[1].plot([r["k"] for r in rows], [math.log2(max(r["ranks"][p], 1)) for r in rows], ls, marker="o",
                       label=f"{kind}, {p}")
    ax[1].axhline(8, color="grey", lw=0.8, ls=":", label="full rank 256")
    ax[1].set(xlabel="kernel size k", ylabel="log2 rank", title=f"exact rank at 4x4, width {wmax} (integer weights)",
              xticks=res["kernels"])
    ax[1].legend(fontsize=7)
    for kind, c in (("convac", "C0"),):
        rows = [r for r in res["certified_8x8"] if r["kind"] == kind and r["partition"] == "left_right"]
        ks = [r["k"] for r in rows]
        ax[2].fill_between(ks, [math.log2(max(r["lower"], 1)) for r in rows], [r["log2_upper"] for r in rows],
                           color=c, alpha=0.25, label=f"{kind}: certified interval")
        ax[2].plot(ks, [math.log2(max(r["lower"], 1)) for r in rows], color=c, marker="o")
        ax[2].plot(ks, [r["log2_upper"] for r in rows], color=c, marker="^")
    ax[2].set(xlabel="kernel size k", ylabel="log2 separation rank",
              title=f"certified, 8x8 left_right (width {res['certified_width']})", xticks=res["kernels"])
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--quick", action="store_true", help="one seed, 2 epochs, kernels 1 and 3 (a smoke run)")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    seeds = [int(s) for s in a.seeds.split(",")]
    kernels, widths, width, epochs = [1, 2, 3, 5], [1, 2, 4], 16, a.epochs
    if a.quick:
        seeds, kernels, widths, width, epochs = seeds[:1], [1, 3], [2], 4, 2
    models = [(kind, k, width, None) for kind in BUILDERS for k in kernels]
    models += [(kind, 1, matched_width(3, width), None) for kind in BUILDERS]
    models += [(kind, 1, width, width) for kind in BUILDERS]  # per-pixel features first: M = width functions
    t0 = time.perf_counter()
    total = 2 * len(kernels) * len(widths) * len(seeds) + len(kernels) + len(models) * len(seeds)
    with progress_bar(total, "cnn_overlap", not a.no_progress) as bar:
        r4 = ranks_4x4(kernels, widths, seeds, bar)
        c8 = certified_8x8(kernels, 8, bar)
        acc = accuracies(models, seeds, epochs, bar)
    import os
    import platform

    res = {"seeds": seeds, "epochs": epochs, "kernels": kernels, "width": width, "certified_width": 8,
           "ranks_4x4": r4, "certified_8x8": c8, "accuracy": summarize(acc), "runs": acc,
           "seconds": time.perf_counter() - t0, "machine": f"{platform.machine()}, {os.cpu_count()} cores"}
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "cnn_overlap.json").write_text(json.dumps(res, indent=1))
    write_md(res, out / "cnn_overlap.md")
    plot(res, out / "cnn_overlap.png")
    print((out / "cnn_overlap.md").read_text())
    return res


if __name__ == "__main__":
    main()
