"""Hand-made networks for tests and benchmarks: an overlapping (DAG) network built node by node."""

from __future__ import annotations

import numpy as np

from tensorexpr.core.network import Network, Node


def overlap_net(n: int, M: int, r0: int, r1: int, seed: int, window: int = 2, integer: bool = True,
                int_range: int = 10**6) -> Network:
    """Stride-1 windows of ``window`` leaves (each leaf feeds several windows), then one global pool.

    Parameters
    ----------
    n : int
        Number of modes.
    M : int
        Representation functions.
    r0 : int
        Leaf width.
    r1 : int
        Window width.
    seed : int
        Seed of the weights.
    window : int, optional
        Leaves per window.
    integer : bool, optional
        Integer weights in ``[-int_range, int_range]`` (default), else standard normals.
    int_range : int, optional

    Returns
    -------
    Network
        A DAG with ``n - window + 1`` window nodes and one output.

    Raises
    ------
    NetworkError
        When the network is invalid (e.g. ``window > n``).

    Examples
    --------
    >>> overlap_net(4, 2, 2, 2, seed=0).n_modes
    4
    """
    rng = np.random.default_rng(seed)

    def draw(shape: tuple[int, int]) -> np.ndarray:
        if integer:
            return rng.integers(-int_range, int_range + 1, size=shape).astype(np.int64)
        return rng.standard_normal(shape)

    nodes = [Node(f"x{m}", "leaf", (), draw((M, r0)), mode=m) for m in range(n)]
    mids = []
    for i in range(n - window + 1):
        nodes.append(Node(f"w{i}", "pool", tuple(f"x{j}" for j in range(i, i + window)), draw((r0, r1))))
        mids.append(f"w{i}")
    nodes.append(Node("root", "pool", tuple(mids), draw((r1, 1))))
    return Network(tuple(nodes), "root", M, integer=integer, name=f"overlap({n}, w={window})")
