"""A small min-cut upper bound on ``rank [A]_{I,J}`` for product networks (Levine et al., ICLR 2018).

A test oracle: an independent implementation written apart from ``te.mincut_bound``. It reads the tensor network from :func:`tensorexpr.einsum_network`: operands are vertices,
letters are (hyper-)edges of dimension ``dim``.

* ``hyperedges="lawler"``: a letter shared by k operands is a copy hyper-edge; Lawler's reduction turns it
  into two nodes ``e1 -> e2`` with capacity ``log dim`` and uncapacitated arcs ``v -> e1``, ``e2 -> v``.
* ``hyperedges="star"``: a letter is a star whose spokes each cost ``log dim`` (a copy tensor with bond
  ``dim`` on every leg): still a valid upper bound, but looser.

Open legs (the modes) go to the source (modes in ``I``) or the sink (``J``). The bound is the exact product
of the dimensions of the cut letters (or spokes).
"""

from __future__ import annotations

import math
from collections import defaultdict

import networkx as nx

import tensorexpr as te
from tensorexpr.evaluate.grid import einsum_network

__all__ = ["local_mincut_bound"]


def local_mincut_bound(net: te.Network, P: te.Partition, hyperedges: str = "lawler") -> int:
    """Product of the bond dimensions of a minimum cut separating ``I``'s legs from ``J``'s.

    Capacities are ``log dim``, so the cut of least capacity is the one of least product (see the module
    docstring for the two hyper-edge models).

    Parameters
    ----------
    net : Network
        A product network (read through :func:`tensorexpr.einsum_network`).
    P : Partition
    hyperedges : {"lawler", "star"}, optional
        Lawler's reduction of a copy hyper-edge (tight), or a star of spokes (looser, still valid).

    Returns
    -------
    int
        An upper bound on ``rank [A]_{I,J}``; 1 when no path joins the two sides.

    Raises
    ------
    TensorExprError
        On an unknown ``hyperedges``.

    References
    ----------
    Levine, Yakira, Cohen & Shashua, "Deep Learning and Quantum Entanglement: Fundamental Connections with
    Implications to Network Design", ICLR 2018.

    Examples
    --------
    >>> import tensorexpr as te
    >>> net = te.convac(te.ModeTree.line(4), M=3, widths=2, seed=0)
    >>> local_mincut_bound(net, te.Partition.odd_even(4))
    4
    """
    if hyperedges not in ("lawler", "star"):
        raise te.TensorExprError(f"hyperedges must be 'lawler' or 'star', got {hyperedges!r}.")
    eq, ops = einsum_network(net)
    lhs, out = eq.split("->")
    terms = lhs.split(",")
    dims: dict[str, int] = {}
    users: dict[str, list[int]] = defaultdict(list)
    for i, (t, op) in enumerate(zip(terms, ops)):
        for ch, d in zip(t, op.shape):
            dims[ch] = int(d)
            users[ch].append(i)
    side = {ch: ("s" if m in P.I else "t") for m, ch in enumerate(out)}
    g = nx.DiGraph()
    INF = float("inf")
    g.add_node("s")
    g.add_node("t")
    for ch, us in users.items():
        if dims[ch] == 1:
            continue  # a size-1 letter carries nothing
        cap = math.log(dims[ch])
        if hyperedges == "lawler":
            e1, e2 = ("e1", ch), ("e2", ch)
            g.add_edge(e1, e2, capacity=cap, letter=ch)
            for v in us:
                g.add_edge(("v", v), e1, capacity=INF)
                g.add_edge(e2, ("v", v), capacity=INF)
            if ch in side:
                if side[ch] == "s":
                    g.add_edge("s", e1, capacity=INF)
                else:
                    g.add_edge(e2, "t", capacity=INF)
        else:
            c = ("c", ch)
            spokes = [("v", v) for v in us]
            if ch in side:
                spokes.append(side[ch])
            for k, v in enumerate(spokes):
                # one spoke = one leg of the copy tensor: a node pair so the spoke is cut at cost log dim
                a, b = ("sa", ch, k), ("sb", ch, k)
                g.add_edge(a, b, capacity=cap, letter=ch)
                g.add_edge(b, a, capacity=cap, letter=ch)
                g.add_edge(v, a, capacity=INF)
                g.add_edge(a, v, capacity=INF)
                g.add_edge(b, c, capacity=INF)
                g.add_edge(c, b, capacity=INF)
    if not nx.has_path(g, "s", "t"):
        return 1
    _, (S, T) = nx.minimum_cut(g, "s", "t")
    bound = 1
    for u, v, data in g.edges(data=True):
        if u in S and v in T and "letter" in data:
            bound *= dims[data["letter"]]
    return bound
