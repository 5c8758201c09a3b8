"""Measure the seeds' stability claims on S_J (kymatio, J=2, L=8) and on trained models, on digits32.

Writes ``examples/results/scattering_stability.{json,md,png}``. With ``--runs DIR`` (the checkpoints of
``examples/scattering_small_data.py``) the trained models at ``--n`` training images are measured too.
Everything is a measurement (see :mod:`tensorexpr.experiments.scattering_stability` for the norms)::

    python examples/scattering_stability.py [--runs /tmp/scattering_runs] [--n 1000] [--images 48]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from tensorexpr.experiments import TrainConfig, digits32
from tensorexpr.experiments.train import make_dataset, make_model
from tensorexpr.models.scattering import ScatteringTransform, parse_scattering, rotate_coefficients
from tensorexpr.experiments import scattering_stability as st

RESULTS = Path(__file__).resolve().parent / "results"
SHIFTS = [0, 0.5, 1, 1.5, 2, 3, 4, 6, 8]
MODEL_RUNS = {"ConvAC (pixels)": "ConvAC", "ReLU (pixels)": "ReLU", "scat+ConvAC": "scat_ConvAC",
              "scat+ReLU": "scat_ReLU", "scat+linear": "scat_linear"}


def load_model(run: Path):
    cfg = TrainConfig.from_dict({**json.loads((run / "metrics.json").read_text())["config"], "device": "cpu"})
    model = make_model(cfg, make_dataset(cfg))
    model.load_state_dict(torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)["model"])
    return model.eval()


def rotation_checks(x: torch.Tensor) -> dict:
    """Quarter turns: exact covariance about a lattice point; the error of rotating about the image centre."""
    T = ScatteringTransform(parse_scattering("scattering:J=2,L=8"), cache_size=0)
    S = T(x)
    z = torch.zeros_like(x)
    z[..., 6:27, 6:27] = x[..., 6:27, 6:27]  # zero border: reflect padding = zero padding
    Sz = T(z)
    out = {}
    for k in (1, 2, 3):
        gz = torch.rot90(torch.nn.functional.pad(z, (0, 1, 0, 1)), k, dims=(-2, -1))[..., :32, :32]
        gS = rotate_coefficients(torch.nn.functional.pad(Sz, (0, 1, 0, 1)), k, 8, 2)[..., :8, :8]
        out[f"lattice_k{k}"] = st.rotation_error(T(gz)[..., 1:8, 1:8], gS[..., 1:8, 1:8])
        out[f"centre_k{k}"] = st.rotation_error(T(torch.rot90(x, k, dims=(-2, -1))), rotate_coefficients(S, k, 8, 2))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", default=None)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--images", type=int, default=48)
    a = ap.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    d = digits32(n_test=297, seed=0, n_train=a.images)
    x = d.X_test[: a.images]
    y = d.X_test[a.images: 2 * a.images]  # data pairs: other test digits
    g = torch.Generator().manual_seed(0)
    amps = np.linspace(0.25, 3.0, len(x))
    tau = torch.cat([st.smooth_displacement(1, 32, float(A), smoothness=6.0, seed=i) for i, A in enumerate(amps)])
    maps = {"S_J (J=2)": st.scattering_map("scattering:J=2,L=8"), "S_J (J=3)": st.scattering_map("scattering:J=3,L=8"),
            "pixels (identity)": lambda z: z.double()}
    if a.runs:
        for name, stem in MODEL_RUNS.items():
            run = Path(a.runs) / f"{stem}_n{a.n}_s0"
            if (run / "checkpoint.pt").exists():
                maps[name] = st.model_map(load_model(run))
    reports, raw = {}, {}
    noise_pairs = (torch.rand(len(x), 1, 32, 32, generator=g), torch.rand(len(x), 1, 32, 32, generator=g))
    for name, phi in maps.items():
        rep, arr = st.measure_stability(name, phi, x, y, tau, SHIFTS)
        rnd = st.nonexpansive_ratios(phi, *noise_pairs)
        small = st.nonexpansive_ratios(phi, x, x + 0.01 * torch.randn(x.shape, generator=g))
        rep = type(rep)(**{**rep.__dict__, "extra": {"nonexpansive_random_max": float(rnd["ratio"].max()),
                                                       "nonexpansive_small_max": float(small["ratio"].max()),
                                                       "relative_random_max": float(rnd["relative"].max())}})
        reports[name], raw[name] = rep, arr
        print(rep, flush=True)
    rot = rotation_checks(x)
    print(rot)
    payload = {"images": a.images, "shifts": SHIFTS, "reports": {k: v.to_dict() for k, v in reports.items()},
               "rotation_scattering": rot}
    (RESULTS / "scattering_stability.json").write_text(json.dumps(payload, indent=1))

    lines = ["| map | max ‖Φx−Φy‖/‖x−y‖ (data / noise / small) | max relative Lipschitz | max C = ‖ΦL_τx−Φx‖/(‖∇τ‖‖x‖) | "
             "mean ‖ΦL_τx−Φx‖/‖Φx‖ (pixels: ‖L_τx−x‖/‖x‖) | shift 1px / 4px | rot90 ‖Φ(gx)−Φx‖/‖Φx‖ |",
             "|---|---|---|---|---|---|---|"]
    for name, r in reports.items():
        e = r.extra
        lines.append(f"| {name} | {r.nonexpansive_max:.3g} / {e['nonexpansive_random_max']:.3g} / {e['nonexpansive_small_max']:.3g} | "
                     f"{max(r.nonexpansive_relative_max, e['relative_random_max']):.3g} | {r.deformation_C_max:.3g} | "
                     f"{r.deformation_relative_mean:.3g} ({r.pixel_relative_mean:.3g}) | "
                     f"{r.translation[SHIFTS.index(1)]:.3g} / {r.translation[SHIFTS.index(4)]:.3g} | {r.rotation90_relative:.3g} |")
    rot_md = "\n".join(f"- {k}: {v:.3g}" for k, v in rot.items())
    (RESULTS / "scattering_stability.md").write_text(
        f"Measured on {a.images} digits32 test images (x86_64, 2 shared cores, no GPU).\n\n" + "\n".join(lines)
        + "\n\nS_J quarter-turn covariance, max relative error ‖S(g.x) − g.Sx‖/‖Sx‖ (lattice: rotation about a "
        "point of the 2^J sampling lattice, zero border, interior 7x7 grid; centre: np.rot90 about the image centre, "
        "full 8x8 grid):\n\n" + rot_md + "\n")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    for name, arr in raw.items():
        de = arr["deformation"]
        ax[0].scatter(de["grad"], de["relative"], s=10, label=name)
        ax[1].plot(SHIFTS, arr["translation"], "o-", label=name)
        ax[2].hist(arr["nonexpansive"]["relative"], bins=20, alpha=0.5, label=name)
    ax[0].set_xlabel(r"$\|\nabla\tau\|_\infty$"), ax[0].set_ylabel(r"$\|\Phi L_\tau x - \Phi x\| / \|\Phi x\|$")
    ax[0].set_title("smooth random deformations")
    ax[1].set_xlabel("horizontal shift |a| (pixels)"), ax[1].set_ylabel(r"$\|\Phi L_a x - \Phi x\| / \|\Phi x\|$")
    ax[1].set_title(r"local translation invariance ($2^J$ = 4 for J=2)")
    ax[2].set_xlabel(r"$(\|\Phi x-\Phi y\|/\|\Phi x\|)\,/\,(\|x-y\|/\|x\|)$"), ax[2].set_title("relative Lipschitz ratio, digit pairs")
    for a_ in ax:
        a_.grid(alpha=0.3)
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / "scattering_stability.png", dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
