"""Training-step time: log-space ConvAC vs ReLU ConvNet, same geometry, widths and batch, side by side.

Target: ConvAC step <= 1.5x the ReLU step. Run: ``python benchmarks/training.py [--threads 1] [--steps 20]``.
Runs on CPU, and on CUDA too when torch sees a GPU.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

import tensorexpr as te


def step_time(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, warmup: int = 3) -> float:
    """Median seconds of one Adam step (forward, cross-entropy, backward, update)."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for i in range(warmup + steps):
        if x.is_cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if x.is_cuda:
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--geometry", default="grid:32x32:square")
    ap.add_argument("--widths", type=int, default=16)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from tensorexpr.specs import parse_geometry

    tree = parse_geometry(args.geometry)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"machine: {platform.machine()} {os.cpu_count()} cpus, torch {torch.__version__}, threads "
          f"{torch.get_num_threads()}, load avg {os.getloadavg()[0]:.2f}")
    print(f"geometry {args.geometry} (N={tree.n_modes}, depth {tree.depth}), widths {args.widths}, batch {args.batch}, "
          f"one_hot M=2, 2 outputs, shared weights, float32")
    print(f"{'device':8s} {'model':14s} {'params':>7s} {'step ms':>9s} {'ratio vs relu-max':>18s}")
    for dev in devices:
        g = torch.Generator().manual_seed(0)
        x = torch.randint(0, 2, (args.batch, tree.n_modes), generator=g).to(dev)
        y = torch.randint(0, 2, (args.batch,), generator=g).to(dev)
        models = {
            "relu-max": te.models.ReLUNet(tree, 2, args.widths, outputs=2, pooling="max", device=dev),
            "relu-avg": te.models.ReLUNet(tree, 2, args.widths, outputs=2, pooling="avg", device=dev),
            "convac": te.models.ConvAC(tree, 2, args.widths, outputs=2, device=dev),
        }
        res = {k: step_time(m, x, y, args.steps) for k, m in models.items()}
        for k, m in models.items():
            print(f"{dev:8s} {k:14s} {m.n_params:7d} {res[k] * 1e3:9.2f} {res[k] / res['relu-max']:18.2f}")
        print(f"{dev:8s} ConvAC / ReLU(max) step ratio = {res['convac'] / res['relu-max']:.2f}  (target <= 1.5); "
              f"ConvAC / ReLU(avg) = {res['convac'] / res['relu-avg']:.2f}")


if __name__ == "__main__":
    main()
