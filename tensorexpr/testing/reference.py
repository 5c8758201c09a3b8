"""Test oracles: seeded generators and a slow, obviously correct entry-by-entry evaluator."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from tensorexpr.core.modetree import ModeTree
from tensorexpr.core.network import Network

__all__ = ["reference_grid_tensor", "random_tree", "random_network_output"]


def random_network_output(net: Network, templates: tuple[int, ...], output: int = 0) -> Any:
    """The network's output when position ``m`` holds template ``templates[m]``, one scalar at a time.

    Python scalars throughout: exact ints stay ints, and ``relu-avg`` divides into Fractions.

    Parameters
    ----------
    net : Network
    templates : tuple of int
        One template index per mode.
    output : int, optional

    Returns
    -------
    scalar
        An int, Fraction or float.
    """
    vals: dict[str, list[Any]] = {}
    F = net.F.tolist()  # Python scalars: exact ints stay ints, and relu-avg divides into Fractions
    W = {nd.id: nd.weight.tolist() for nd in net.live_nodes if nd.weight is not None}
    for nd in net.live_nodes:
        if nd.kind == "leaf":
            f = [F[templates[nd.mode]][mu] for mu in range(net.M)]
            if nd.weight is None:
                vals[nd.id] = f
            else:
                r = nd.weight.shape[1]
                vals[nd.id] = [sum(f[mu] * W[nd.id][mu][g] for mu in range(net.M)) for g in range(r)]
            continue
        kids = [vals[c] for c in nd.children]
        width = len(kids[0])
        if nd.kind == "sum":
            pooled = [sum(k[a] for k in kids) for a in range(width)]
        elif nd.kind == "linear":
            pooled = kids[0]
        else:
            pooled = [net.op([k[a] for k in kids]) for a in range(width)]
        if nd.weight is None:
            vals[nd.id] = pooled
        else:
            vals[nd.id] = [sum(pooled[a] * W[nd.id][a][g] for a in range(width)) for g in range(nd.weight.shape[1])]
    return vals[net.output][output]


def reference_grid_tensor(net: Network, output: int = 0) -> np.ndarray:
    """Grid tensor by evaluating every entry separately (exponential; tiny networks only).

    Parameters
    ----------
    net : Network
    output : int, optional

    Returns
    -------
    numpy.ndarray
        Shape ``(T,) * N``; object dtype for integer networks, else ``float64``.

    Raises
    ------
    ValueError
        When ``T^N > 100000``.

    Examples
    --------
    >>> import tensorexpr as te
    >>> net = te.convac(te.ModeTree.line(2), M=2, widths=1, seed=0, integer=True)
    >>> reference_grid_tensor(net).shape
    (2, 2)
    """
    T, N = net.n_templates, net.n_modes
    if T**N > 100_000:
        raise ValueError(f"reference_grid_tensor is for tiny networks; T^N = {T}^{N} entries is too many.")
    out = np.empty((T,) * N, dtype=object)
    for idx in itertools.product(range(T), repeat=N):
        out[idx] = random_network_output(net, idx, output)
    return out if net.integer else out.astype(np.float64)


def random_tree(n: int, rng: np.random.Generator, max_fan: int = 3) -> ModeTree:
    """A random mode tree over ``n`` modes: random leaf order, random groupings of up to ``max_fan`` children.

    Each level groups consecutive nodes in runs of ``1..max_fan`` (a run of one passes up unchanged); a level
    that groups nothing pools its first two nodes.

    Parameters
    ----------
    n : int
    rng : numpy.random.Generator
    max_fan : int, optional

    Returns
    -------
    ModeTree
        Named ``random(<n>)``.
    """
    level: list[Any] = [int(m) for m in rng.permutation(n)]
    while len(level) > 1:
        nxt: list[Any] = []
        i = 0
        while i < len(level):
            k = int(rng.integers(1, max_fan + 1))
            grp = level[i : i + k]
            nxt.append(grp[0] if len(grp) == 1 else tuple(grp))
            i += k
        if len(nxt) == len(level):  # guarantee progress
            nxt = [tuple(level[:2])] + level[2:]
        level = nxt
    return ModeTree.from_nested(level[0], name=f"random({n})")
