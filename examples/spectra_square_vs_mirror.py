"""What trained networks use: singular spectra of trained square vs mirror ConvACs on the 7 grid partitions.

Cohen & Shashua (ICLR 2017) predict that square (contiguous) pooling supports correlations between neighbours
(interleaved partitions: checkerboard, interleaved rows/cols, mirror halves) and mirror pooling between mirror
images (left/right, top/bottom halves). Their *architectures'* ranks say what is possible; the *trained*
weights' spectra say what training used. For each geometry and blob task we train a small ConvAC with
``te.experiments.train`` and take ``te.spectrum`` of the trained model on each partition:

* exact singular values where the min-cut bond ``D`` is small (the coarse halves of each tree: ``D = r_{L-1}``),
  with the numeric rank at ``rtol`` and the entanglement entropy ``S`` of the normalized spectrum;
* elsewhere certified lower bounds ``sigma_k(sub) <= sigma_k(A)`` from a sampled ``rows x cols`` sub-matrix
  (reported as ``>= k``).

Scaled down to a few minutes on 2 CPU cores (about 4 with the defaults): 16x16 blobs (the paper: 32x32), 1000/300 images,
widths 8, 3 epochs. ``--size 32 --widths 16 --epochs 15 --n-train 20000`` is the paper's scale.

Run: ``python examples/spectra_square_vs_mirror.py --out spectra_out`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import tensorexpr as te
from tensorexpr.experiments import TrainConfig, train
from tensorexpr.plot import plot_spectra

PARTITIONS = ("left_right", "top_bottom", "mirror_left_right", "mirror_top_bottom", "checkerboard",
              "interleaved_rows", "interleaved_cols")


def main(size: int = 16, widths: int = 8, epochs: int = 3, n_train: int = 1000, n_test: int = 300,
         tasks: tuple[str, ...] = ("closedness", "symmetry"), rows: int = 128, cols: int = 128, rtol: float = 1e-6,
         out: str | Path | None = None, seed: int = 0) -> dict:
    results: dict = {}
    for task in tasks:
        for geo in ("square", "mirror"):
            # the authors' blob recipe is defined on 32x32 images; other sizes use the centred generator
            cfg = TrainConfig(model="convac", geometry=f"grid:{size}x{size}:{geo}", task=task, widths=widths,
                              epochs=epochs, n_train=n_train, n_test=n_test, seed=seed, progress=False, device="cpu",
                              blob_recipe="iclr2017" if size == 32 else "centred")
            r = train(cfg)
            spectra = {}
            for name in PARTITIONS:
                P = te.Partition.grid(size, size, name)
                spectra[name] = te.spectrum(r.model, P, rtol=rtol, rows=rows, cols=cols, seed=seed)
            results[(task, geo)] = {"test_acc": r.test_acc, "spectra": spectra}
    if out is not None:
        _write(results, Path(out), size, widths, epochs, n_train, n_test, rtol, rows, cols)
    return results


def _cell(sp: te.Spectrum) -> str:
    if sp.kind == "exact":
        return f"{sp.rank} (S={sp.entropy:.2g})"
    return f">= {sp.rank}"


def _write(results: dict, out: Path, size: int, widths: int, epochs: int, n_train: int, n_test: int, rtol: float,
           rows: int, cols: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    head = "| task | pooling | test acc | " + " | ".join(PARTITIONS) + " |"
    lines = [f"Numeric rank of [A]_{{I,J}} at rtol {rtol:g} of trained ConvACs ({size}x{size} blobs, widths {widths}, "
             f"{epochs} epochs, {n_train}/{n_test} images, seed 0). Exact (with entanglement entropy S, nats) where "
             f"the min-cut D <= 4096; `>= k`: certified lower bound from a {rows}x{cols} sampled sub-matrix.", "",
             head, "|" + "---|" * (3 + len(PARTITIONS))]
    for (task, geo), v in results.items():
        lines.append(f"| {task} | {geo} | {v['test_acc']:.3f} | " + " | ".join(_cell(v["spectra"][p]) for p in PARTITIONS) + " |")
    (out / "spectra.md").write_text("\n".join(lines) + "\n")
    (out / "spectra.json").write_text(json.dumps(
        [{"task": t, "pooling": g, "test_acc": v["test_acc"], "spectra": {p: s.to_dict() for p, s in v["spectra"].items()}}
         for (t, g), v in results.items()], indent=1, default=str))
    tasks = sorted({t for t, _ in results})
    fig, axes = plt.subplots(len(tasks), 2, figsize=(11, 3.8 * len(tasks)), squeeze=False)
    for i, task in enumerate(tasks):
        for j, geo in enumerate(("square", "mirror")):
            v = results[(task, geo)]
            plot_spectra([v["spectra"][p] for p in PARTITIONS], labels=[
                f"{p} ({'exact' if v['spectra'][p].kind == 'exact' else '>= lower bd'})" for p in PARTITIONS],
                ax=axes[i][j], title=f"{task}, {geo} pooling (test acc {v['test_acc']:.2f})")
    fig.tight_layout()
    fig.savefig(out / "spectra.png", dpi=100)
    plt.close(fig)
    print("\n".join(lines))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="spectra_out")
    ap.add_argument("--size", type=int, default=16)
    ap.add_argument("--widths", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--n-train", type=int, default=1000)
    ap.add_argument("--n-test", type=int, default=300)
    ap.add_argument("--rows", type=int, default=128)
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--quick", action="store_true", help="8x8, 1 epoch, 200 images (smoke run)")
    a = ap.parse_args()
    if a.quick:
        main(8, 4, 1, 200, 100, rows=32, cols=32, rtol=a.rtol, out=a.out)
    else:
        main(a.size, a.widths, a.epochs, a.n_train, a.n_test, rows=a.rows, cols=a.rows, rtol=a.rtol, out=a.out)
