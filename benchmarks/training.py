"""One Adam training step: our models against the plain PyTorch networks a user would write by hand.

Batch 64, 32x32 one-hot images (M = 2), widths 16, shared weights, 2 outputs, float32, on 1 and 2 threads:

* ConvAC vs a plain log-space ConvAC: per layer a 1x1 ``conv2d`` of ``exp`` of the max-shifted input with
  ``exp`` of the offsets, ``log`` and shift back (a MEX), then 2x2 sum pooling (``avg_pool2d * 4``);
* ReLU net (max / avg pooling, with biases) vs ``nn.Conv2d(1x1) + ReLU + MaxPool2d / AvgPool2d``.

Mirror pooling is the same network with a fixed permutation of rows and columns (``mirror_source``, the
authors' ``QUAD2`` Caffe layer) before each pooling, written by the user as fancy indexing.
Target: our step <= 1.1x the plain step on square and mirror pooling, on 1 and 2 threads.
Steps of the compared models are interleaved, so a shared machine's load hits them alike.
Run: ``python benchmarks/training.py [--steps 30] [--threads 1 2] [--general]`` (CPU; CUDA too when present).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch
from torch import nn
from torch.nn import functional as F

import tensorexpr as te
from tensorexpr.core.pooling import mirror_source


class PlainConvAC(nn.Module):
    """The hand-written log-space ConvAC (NCHW, ``conv2d`` MEX layers, sum pooling of logs)."""

    def __init__(self, size: int, M: int, width: int, outputs: int, mirror: bool, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        depth = size.bit_length() - 1
        dims = [M] + [width] * depth + [outputs]
        self.offsets = nn.ParameterList([nn.Parameter(torch.rand(o, i, 1, 1, generator=g) * 2 - 1)
                                         for i, o in zip(dims[:-1], dims[1:])])
        self.M, self.mirror = M, mirror
        self.perms = [torch.as_tensor(mirror_source(size >> k)) for k in range(depth)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.conv2d(F.one_hot(x, self.M).permute(0, 3, 1, 2).float(), self.offsets[0])  # log(onehot @ e^O)
        for k, O in enumerate(self.offsets[1:]):
            if self.mirror:
                p = self.perms[k]
                h = h[:, :, p][:, :, :, p]
            h = F.avg_pool2d(h, 2) * 4  # product pooling = sum of logs
            m = h.detach().amax(1, keepdim=True)
            h = torch.log(F.conv2d(torch.exp(h - m), torch.exp(O))) + m
        return h.flatten(1)


class PlainReLU(nn.Module):
    """``Conv2d(1x1) + ReLU + [permutation] + MaxPool2d / AvgPool2d`` per level, a ``Conv2d(1x1)`` head."""

    def __init__(self, size: int, M: int, width: int, outputs: int, mirror: bool, pooling: str):
        super().__init__()
        depth = size.bit_length() - 1
        dims = [M] + [width] * depth + [outputs]
        self.convs = nn.ModuleList([nn.Conv2d(i, o, 1) for i, o in zip(dims[:-1], dims[1:])])
        self.pool = nn.MaxPool2d(2) if pooling == "max" else nn.AvgPool2d(2)
        self.M, self.mirror = M, mirror
        self.perms = [torch.as_tensor(mirror_source(size >> k)) for k in range(depth)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.one_hot(x, self.M).permute(0, 3, 1, 2).float()
        for k, conv in enumerate(self.convs[:-1]):
            h = torch.relu(conv(h))
            if self.mirror:
                p = self.perms[k]
                h = h[:, :, p][:, :, :, p]
            h = self.pool(h)
        return self.convs[-1](h).flatten(1)


def _stepper(model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> float:
        if x.is_cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if x.is_cuda:
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    return step


def paired_step_times(models: list[nn.Module], x: torch.Tensor, y: torch.Tensor, steps: int,
                      warmup: int = 5) -> list[float]:
    """Median seconds of one Adam step of each model, the models' steps interleaved so that a shared
    machine's load hits all of them alike."""
    steppers = [_stepper(m, x, y) for m in models]
    times: list[list[float]] = [[] for _ in models]
    for i in range(warmup + steps):
        for k, st in enumerate(steppers):
            t = st()
            if i >= warmup:
                times[k].append(t)
    return [statistics.median(t) for t in times]


def pairs(size: int, width: int, geometry: str, dev: str) -> dict[str, tuple[nn.Module, nn.Module]]:
    tree = te.ModeTree.grid(size, size, geometry=geometry)
    mirror = geometry == "mirror"
    return {
        "convac": (te.models.ConvAC(tree, 2, width, outputs=2, device=dev),
                   PlainConvAC(size, 2, width, 2, mirror).to(dev)),
        "relu-max": (te.models.ReLUNet(tree, 2, width, outputs=2, pooling="max", bias=True, init="xavier", device=dev),
                     PlainReLU(size, 2, width, 2, mirror, "max").to(dev)),
        "relu-avg": (te.models.ReLUNet(tree, 2, width, outputs=2, pooling="avg", bias=True, init="xavier", device=dev),
                     PlainReLU(size, 2, width, 2, mirror, "avg").to(dev)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--widths", type=int, default=16)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--general", action="store_true", help="also time our general (index-gather) path")
    args = ap.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, torch {torch.__version__}, "
          f"load avg {os.getloadavg()[0]:.2f}")
    print(f"{args.size}x{args.size} one-hot M=2, widths {args.widths}, batch {args.batch}, shared weights, float32; "
          f"median of {args.steps} Adam steps")
    print(f"{'device':6s} {'thr':>3s} {'geometry':8s} {'model':9s} {'ours ms':>8s} {'plain ms':>9s} {'ratio':>6s}"
          + (f" {'general ms':>10s}" if args.general else ""))
    worst = 0.0
    for dev in devices:
        for threads in args.threads if dev == "cpu" else [torch.get_num_threads()]:
            torch.set_num_threads(threads)
            g = torch.Generator().manual_seed(0)
            x = torch.randint(0, 2, (args.batch, args.size, args.size), generator=g).to(dev)
            y = torch.randint(0, 2, (args.batch,), generator=g).to(dev)
            for geometry in ("square", "mirror"):
                for name, (ours, plain) in pairs(args.size, args.widths, geometry, dev).items():
                    nets = [ours, plain]
                    if args.general:
                        general = type(ours)(ours.tree, ours.M, ours.widths_spec, outputs=2, device=dev, fast=False,
                                             **({"pooling": ours.pooling, "bias": True, "init": "xavier"}
                                                if isinstance(ours, te.models.ReLUNet) else {}))
                        nets.append(general)
                    ts = paired_step_times(nets, x, y, args.steps)
                    t_ours, t_plain = ts[0], ts[1]
                    extra = f" {ts[2] * 1e3:10.2f}" if args.general else ""
                    worst = max(worst, t_ours / t_plain)
                    print(f"{dev:6s} {threads:3d} {geometry:8s} {name:9s} {t_ours * 1e3:8.2f} {t_plain * 1e3:9.2f} "
                          f"{t_ours / t_plain:6.2f}{extra}")
    print(f"worst ratio ours / plain = {worst:.2f} (target <= 1.1)")


if __name__ == "__main__":
    main()
