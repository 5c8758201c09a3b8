"""Train a small ConvAC, extract it to a te.Network, and measure the trained network's ranks.

Run: ``python examples/train_and_extract.py`` (a few seconds on a CPU).
"""

from __future__ import annotations

import torch

import tensorexpr as te
from tensorexpr.experiments import TrainConfig, train


def main() -> None:
    torch.set_num_threads(1)
    cfg = TrainConfig(model="convac", geometry="line:16", task="teacher", widths=4, epochs=5, n_train=1000,
                      n_test=500, batch_size=32, lr=0.03, progress=False, device="cpu")
    res = train(cfg)
    print(res)
    net = res.model.double().to_network()  # positive weights: exp of the trained MEX offsets; F = I (one-hot)
    print(net)
    for P in (te.Partition.odd_even(16), te.Partition.left_right(16)):
        r = te.rank(net, P, method="numeric", output=0)
        print(f"{P.name:10s} numeric rank of the trained network: {r.rank} (of at most {r.max_rank})")
    # the architecture's generic rank, certified lower bound from a seeded integer network of the same shape
    arch = te.convac(te.ModeTree.line(16), 2, 4, outputs=2, seed=0, integer=True)
    for P in (te.Partition.odd_even(16), te.Partition.left_right(16)):
        print(f"{P.name:10s} exact rank of an integer network, same architecture: {te.rank(arch, P, method='exact').rank}")


if __name__ == "__main__":
    main()
