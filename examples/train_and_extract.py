"""Train a small ConvAC, extract it to a te.Network, and measure the trained network's ranks.

Run: ``python examples/train_and_extract.py`` (a few seconds on a CPU).
"""

from __future__ import annotations

import torch

import tensorexpr as te
from tensorexpr.experiments import TrainConfig, train


def main() -> dict:
    torch.set_num_threads(1)
    cfg = TrainConfig(model="convac", geometry="line:16", task="teacher", widths=4, epochs=5, n_train=1000,
                      n_test=500, batch_size=32, lr=0.03, progress=False, device="cpu")
    res = train(cfg)
    print(res)
    net = res.model.double().to_network()  # positive weights: exp of the trained MEX offsets; F = I (one-hot)
    print(net)
    out = {}
    for P in (te.Partition.odd_even(16), te.Partition.left_right(16)):
        r = te.rank(net, P, method="numeric", output=0, gap_warn=0)
        cert = te.certify(net, P)  # the extracted architecture (tree, tied widths, trained F): generic rank
        print(f"{P.name:10s} trained weights: numeric rank {r.rank} (gap s_r/s_r+1 = {r.gap:.3g}); "
              f"architecture: {cert.summary()}")
        out[P.name] = (r, cert)
    return out


if __name__ == "__main__":
    main()
