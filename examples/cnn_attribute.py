"""Attribute-axis convolutions inside a deep CNN vs a plain CNN at (nearly) equal parameter counts (issue 18;
docs/cnn_hybrid.md).

scikit-learn digits (8x8, scaled to [0, 1]); 497 test images fixed per seed, ``n_train`` from the rest. Models
(``tensorexpr.models.hybrid_cnn``):

* ``attribute(F)``: 3x3 conv to ``L = 8`` channels (one feature per attribute position), ReLU, then 2 x
  (``AttributeConv2d``: 3x3 in space, 3 along the attribute axis, weights tied across the ``L`` positions; ReLU;
  2x2 max pool), Linear;
* ``plain(w)``: 3x3 conv to 8 channels, ReLU, 2 x (3x3 conv to ``w``, ReLU, 2x2 max pool), Linear, with ``w``
  the width whose parameter count is closest to ``attribute(F)``'s (both counts are printed and tabulated).

Adam (lr 3e-3, weight decay 1e-4, gradient norm clipped at 1), about 600 steps at batch 32. Each trained seed-0 model is also traced with
``te.from_torch``: the traced network's parameter blocks hold exactly the module's parameters (the ties are kept),
and its entries equal the module on 256 random binary template images. Writes
``examples/results/cnn_attribute.{json,md,png}``. Usage::

    python examples/cnn_attribute.py [--features 4,8] [--sizes 300,1300] [--seeds 0,1,2] [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import tensorexpr as te
from tensorexpr.core.backends import progress_bar
from tensorexpr.models import hybrid_cnn as hc

RESULTS = Path(__file__).resolve().parent / "results"
SIDE, N_TEST, L = 8, 497, 8


def matched_width(features: int) -> int:
    """The plain width whose parameter count is closest to ``attribute_cnn(features)``'s."""
    target = hc.n_params(hc.attribute_cnn(SIDE, 10, features, L))
    return min(range(1, 129), key=lambda w: abs(hc.n_params(hc.plain_cnn(SIDE, 10, w)) - target))


def data(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    d = load_digits()
    X, y = hc.upsample_digits(d.images, SIDE), torch.as_tensor(d.target)
    perm = torch.as_tensor(np.random.default_rng(seed).permutation(len(y)))
    return X[perm[N_TEST:]], y[perm[N_TEST:]], X[perm[:N_TEST]], y[perm[:N_TEST]]


def trace_check(m: torch.nn.Module) -> dict:
    """Trace the trained model on binary templates: parameter blocks vs the module's, entries vs the module."""
    from tensorexpr.spectra.sampled import network_entries

    m = m.double()
    T = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    net = te.from_torch(m, (1, SIDE, SIDE), T)
    X = np.random.default_rng(0).integers(0, 2, size=(256, SIDE * SIDE))
    with torch.no_grad():
        y = m(T[torch.as_tensor(X)].reshape(-1, 1, SIDE, SIDE)).numpy()
    err = 0.0
    for o in range(10):
        v, lg, _ = network_entries(net, X, output=o)
        err = max(err, float(np.max(np.abs(v * np.exp(lg) - y[:, o]) / (1 + np.abs(y[:, o])))))
    return {"traced_params": int(sum(p.size for p in net.params.values())), "module_params": hc.n_params(m),
            "blocks": len(net.params), "max_rel_err_vs_module": err}


def run(features: list[int], sizes: list[int], seeds: list[int], progress: bool) -> tuple[list[dict], dict]:
    rows, traced = [], {}
    pairs = [(f"attribute(F={f})", lambda f=f: hc.attribute_cnn(SIDE, 10, f, L)) for f in features]
    pairs += [(f"plain(w={matched_width(f)})", lambda f=f: hc.plain_cnn(SIDE, 10, matched_width(f))) for f in features]
    steps = 600
    with progress_bar(len(pairs) * len(sizes) * len(seeds), "cnn_attribute", progress) as bar:
        for seed in seeds:
            Xa, ya, Xte, yte = data(seed)
            for n in sizes:
                Xtr, ytr = Xa[:n], ya[:n]
                epochs = max(10, int(round(steps / max(1, len(Xtr) // 32))))
                for name, make in pairs:
                    t0 = time.perf_counter()
                    torch.manual_seed(seed)
                    m = hc.fit(make(), Xtr, ytr, epochs, seed=seed)
                    rows.append({"model": name, "n_train": len(Xtr), "seed": seed, "epochs": epochs,
                                 "test_acc": hc.accuracy(m, Xte, yte), "train_acc": hc.accuracy(m, Xtr, ytr),
                                 "n_params": hc.n_params(m), "seconds": time.perf_counter() - t0})
                    r = rows[-1]
                    print(f"{name:16s} params={r['n_params']:5d} n={r['n_train']:5d} seed={seed} "
                          f"test={r['test_acc']:.3f} train={r['train_acc']:.3f} ({r['seconds']:.1f}s)", flush=True)
                    if seed == seeds[0] and n == max(sizes):
                        traced[name] = trace_check(m)
                        print(f"  traced: {traced[name]}", flush=True)
                    bar.update(1)
    return rows, traced


def summarize(rows: list[dict], traced: dict, out: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["model"] for r in rows))
    sizes = sorted({r["n_train"] for r in rows})
    params = {nm: next(r["n_params"] for r in rows if r["model"] == nm) for nm in names}
    lines = ["| model | params | " + " | ".join(f"n={n}" for n in sizes) + " |", "|---|---|" + "---|" * len(sizes)]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for k, nm in enumerate(names):
        ms, ss, cells = [], [], []
        for n in sizes:
            a = [r["test_acc"] for r in rows if r["model"] == nm and r["n_train"] == n]
            ms.append(100 * np.mean(a)), ss.append(100 * np.std(a))
            cells.append(f"{ms[-1]:.1f} ± {ss[-1]:.1f} ({len(a)})")
        lines.append(f"| {nm} | {params[nm]} | " + " | ".join(cells) + " |")
        ax.errorbar(np.array(sizes) * (1 + 0.02 * k), ms, yerr=ss, marker="o", capsize=3,
                    color=f"C{k % max(1, len(names) // 2)}",  # one colour per parameter budget
                    ls="-" if nm.startswith("attribute") else "--", label=f"{nm}: {params[nm]} params")
    ax.set_xscale("log"), ax.set_xlabel("training images"), ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"digits 8x8, {N_TEST} test images (mean ± std over seeds)", fontsize=10)
    ax.legend(fontsize=8), ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "cnn_attribute.png", dpi=110)
    plt.close(fig)
    md = ("Test accuracy (%) on scikit-learn digits (8x8), attribute CNN vs plain CNN at matched parameter counts, "
          "mean ± std (seeds); `examples/cnn_attribute.py`\n\n" + "\n".join(lines) + "\n")
    if traced:
        md += ("\nTraced (seed 0, largest n), binary templates, 64 modes:\n\n| model | traced parameters | module "
               "parameters | blocks | max rel. error vs module (256 images) |\n|---|---|---|---|---|\n")
        md += "".join(f"| {k} | {v['traced_params']} | {v['module_params']} | {v['blocks']} | "
                      f"{v['max_rel_err_vs_module']:.1e} |\n" for k, v in traced.items())
    (out / "cnn_attribute.md").write_text(md)
    (out / "cnn_attribute.json").write_text(json.dumps({"rows": rows, "traced": traced}, indent=1))
    print(md)
    return md


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", default="4,8")
    ap.add_argument("--sizes", default="300,1300")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--quick", action="store_true", help="features 4, n=100, one seed (a smoke test)")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--summarize-only", action="store_true", help="redraw the table and figure from the JSON")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    feats = [4] if a.quick else [int(s) for s in a.features.split(",")]
    sizes = [100] if a.quick else [int(s) for s in a.sizes.split(",")]
    seeds = [0] if a.quick else [int(s) for s in a.seeds.split(",")]
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.summarize_only:
        saved = json.loads((out / "cnn_attribute.json").read_text())
        rows, traced = saved["rows"], saved["traced"]
    else:
        rows, traced = run(feats, sizes, seeds, not a.no_progress)
    summarize(rows, traced, out)
    return {"rows": rows, "traced": traced}


if __name__ == "__main__":
    main()
