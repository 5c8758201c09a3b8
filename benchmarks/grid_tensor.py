"""Grid tensor: tensorexpr's cached single einsum vs the per-level einsum loop a user writes by hand.

Run: .venv/bin/python benchmarks/grid_tensor.py [--repeats 3]
Prints both times (best of repeats, warm cache) and the ratio hand / ours (>= 1 means we are no slower).
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

import tensorexpr as te


def hand_written(net: te.Network) -> np.ndarray:
    """What a user writes: level by level, each node = einsum of its children's tensors and its weight."""
    tree = net.tree
    vals: dict[frozenset, np.ndarray] = {}  # node -> (T^|node|, r) matrix, rows in the node's mode order
    for node in tree.nodes:
        nd = net.node(te.network.node_id(node))
        if tree.is_leaf(node):
            vals[node] = net.F @ nd.weight
            continue
        kids = tree.children(node)
        acc = vals[kids[0]]
        for k in kids[1:]:
            acc = np.einsum("ia,ja->ija", acc, vals[k]).reshape(-1, acc.shape[1])
        vals[node] = acc @ nd.weight
        for k in kids:
            del vals[k]
    out = vals[tree.root][:, 0]
    # the loop's row order follows the tree's leaf order; line trees are in mode order already
    return out.reshape((net.n_templates,) * net.n_modes)


def best_of(fn, repeats: int) -> tuple[float, object]:
    best, res = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = fn()
        best = min(best, time.perf_counter() - t0)
    return best, res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(f"machine: {platform.machine()} {platform.processor() or ''}, numpy {np.__version__}, cores available: "
          f"{len(__import__('os').sched_getaffinity(0))}")
    rows = []
    for N, M, r in [(16, 3, 3), (8, 8, 8)]:
        net = te.convac(te.ModeTree.line(N), M=M, widths=r, seed=0)
        net.grid_tensor()  # build and cache the contraction expression
        t_ours, a = best_of(lambda: net.grid_tensor(), args.repeats)
        t_torch, b = best_of(lambda: net.grid_tensor(backend="torch", device="cpu"), args.repeats)
        t_hand, c = best_of(lambda: hand_written(net), args.repeats)
        scale = np.abs(c).max()
        assert np.allclose(a, c, atol=1e-9 * scale) and np.allclose(b.numpy(), c, atol=1e-9 * scale)
        rows.append((N, M, r, t_hand, t_ours, t_torch))
    print(f"{'HT net':>16} {'hand loop s':>12} {'te numpy s':>11} {'te torch s':>11} {'ratio numpy':>12} {'ratio torch':>12}")
    for N, M, r, th, to, tt in rows:
        print(f"{f'N={N} M={M} r={r}':>16} {th:12.4f} {to:11.4f} {tt:11.4f} {th / to:12.2f} {th / tt:12.2f}")


if __name__ == "__main__":
    main()
