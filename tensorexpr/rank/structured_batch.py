"""Level-batched structured rank for trees: the compressed cores of equal-shaped nodes computed as one stack.

The structured rank (:mod:`tensorexpr.rank.structured`, docs/design.md "Structured rank") visits the nodes of
a network one at a time. On a tree of ``N`` leaves that is ``~4N/3`` nodes, each compressing a block of a few
rows and columns: at 128x128 about 76,000 tiny eliminations whose cost is numpy's fixed per-call overhead, not
arithmetic. Here the nodes of one height (a *wave*: every child is done) that have the same kind and the same
block shapes are stacked and every step runs once on the stack:

* leaves: ``K[g] = (F W)[:, g]`` as a column (mode in ``I``) or a row (mode in ``J``);
* pool: the channel-wise Kronecker fold ``K = sum_a W[a, g] (x)_c K_c[a]``, the child blocks paired in order;
* linear: ``K[g] = sum_a W[a, g] K_c[a]``;
* after each step the same re-compression as :func:`tensorexpr.rank.structured._compress`, by the stacked
  :func:`~tensorexpr.rank.modp.rref_mod_p_batch`; matrices of one stack may have different ranks, so the
  results are regrouped by shape before the next step.

The sequence of operations per node is exactly the one-node-at-a-time path's (same Kronecker order, same
compression points, same use of the weight on the last block), and the reduced row echelon form over GF(p)
is unique, so every core ``K`` is bit-identical to the unbatched one; the tests check the final ranks against
the unbatched path and against the dense exact rank.

Only pure trees take this path: pool children with disjoint fields, no sum node, no explicit basis needed
(:func:`tensorexpr.rank.facesplit.explicit_sides` empty). The output node and the single-use linear chain
below it are left to the caller, which owns the special cases at the top (Kronecker-factored output, final
dense rank).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable

import numpy as np

from tensorexpr.core.network import Network, Node
from tensorexpr.core.partitions import Partition
from tensorexpr.rank.modp import matmul_mod_p_batch, rref_mod_p_batch

__all__ = ["batchable", "batched_cores"]

#: Largest number of int64 entries of one stacked block (a few temporaries of this size are alive at once).
_STACK_ENTRIES = 2**22


def batchable(net: Network, need_p: set[str], need_q: set[str], dag: bool) -> bool:
    """Whether the level-batched path applies: a tree of leaf / pool / linear nodes needing no explicit basis.

    Parameters
    ----------
    net : Network
    need_p, need_q : set of str
        From :func:`tensorexpr.rank.facesplit.explicit_sides`; both must be empty.
    dag : bool
        Whether some node feeds several parents.

    Returns
    -------
    bool
    """
    return not dag and not need_p and not need_q and all(nd.kind in ("leaf", "pool", "linear") for nd in net.live_nodes)


def _chunks(n: int, per_item: int) -> list[slice]:
    step = max(1, _STACK_ENTRIES // max(per_item, 1))
    return [slice(s, s + step) for s in range(0, n, step)]


def _by_shape(items: list[tuple[np.ndarray, ...]]) -> dict[tuple, list[int]]:
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, it in enumerate(items):
        groups[tuple(x.shape for x in it)].append(i)
    return groups


def _apply(items: list[tuple[np.ndarray, ...]], fn: Callable[..., list[np.ndarray]]) -> list[np.ndarray]:
    """``fn`` on stacks of equal-shaped argument tuples (in memory-bounded chunks); results in input order."""
    out: list[np.ndarray] = [None] * len(items)  # type: ignore[list-item]
    for shapes, idx in _by_shape(items).items():
        per = sum(int(np.prod(s)) for s in shapes)
        for sl in _chunks(len(idx), per):
            part = idx[sl]
            res = fn(*(np.stack([items[i][k] for i in part]) for k in range(len(shapes))))
            for i, r in zip(part, res):
                out[i] = r
    return out


def compress_stack(K: np.ndarray, p: int) -> list[np.ndarray]:
    """:func:`tensorexpr.rank.structured._compress` (no explicit bases) of each core of a ``(B, r, a, b)`` stack.

    Parameters
    ----------
    K : numpy.ndarray
        ``B`` cores of ``r`` channels of ``a x b`` blocks, residues mod ``p``.
    p : int
        A prime below ``2^31``.

    Returns
    -------
    list of numpy.ndarray
        ``B`` compressed cores ``(r, k, k2)``; their shapes may differ.
    """
    B, r, a, b = K.shape
    if r == 0:
        return list(K)
    out: list[np.ndarray] = [None] * B  # type: ignore[list-item]
    R, ranks = rref_mod_p_batch(K.transpose(0, 2, 1, 3).reshape(B, a, r * b), p)  # H = [K[0] | K[1] | ...]
    for k in np.unique(ranks).tolist():
        idx = np.flatnonzero(ranks == k)
        V = R[idx, :k].reshape(idx.size, k, r, b).transpose(0, 2, 1, 3).reshape(idx.size, r * k, b)
        # rowspace_factor(V) = (rref(V^T)^T, ...): the new core is rref(V^T)^T reshaped per channel
        R2, ranks2 = rref_mod_p_batch(V.transpose(0, 2, 1), p)
        for k2 in np.unique(ranks2).tolist():
            idx2 = np.flatnonzero(ranks2 == k2)
            Kn = np.ascontiguousarray(R2[idx2, :k2].transpose(0, 2, 1).reshape(idx2.size, r, k, k2))
            for t, g in zip(idx[idx2].tolist(), Kn):
                out[t] = g
    return out


def _kron_stack(x: np.ndarray, y: np.ndarray, p: int) -> np.ndarray:
    """Channel-wise Kronecker product of stacks: ``out[s, c] = x[s, c] (x) y[s, c]`` mod p."""
    B, r, a1, b1 = x.shape
    _, _, a2, b2 = y.shape
    return ((x[:, :, :, None, :, None] * y[:, :, None, :, None, :]) % p).reshape(B, r, a1 * a2, b1 * b2)


def _weighted_stack(K: np.ndarray, W: np.ndarray, p: int) -> np.ndarray:
    """``out[s, g] = sum_a W[s, a, g] K[s, a]`` mod p."""
    B, r_in, a, b = K.shape
    return matmul_mod_p_batch(W.transpose(0, 2, 1), K.reshape(B, r_in, a * b), p).reshape(B, W.shape[2], a, b)


def batched_cores(net: Network, P: Partition, p: int, Fm: np.ndarray, skip: set[str],
                  check: Callable[[Node, int, int, int], None], progress: Callable[[int], None] | None = None
                  ) -> dict[str, np.ndarray]:
    """Compressed cores ``K`` (channels, a, b) of the live nodes outside ``skip`` that a ``skip`` node uses.

    Parameters
    ----------
    net : Network
        A tree for which :func:`batchable` holds.
    P : Partition
    p : int
        A prime below ``2^31``.
    Fm : numpy.ndarray
        The template matrix reduced mod ``p``.
    skip : set of str
        The nodes the caller handles (the output and the linear chain below it).
    check : callable
        ``check(node, a, b, channels)``, the caller's budget check, called once per stacked block shape.
    progress : callable, optional
        ``progress(k)`` is told when ``k`` more nodes are done.

    Returns
    -------
    dict of str to numpy.ndarray
        Node id -> core, for the children of ``skip`` nodes.

    Raises
    ------
    BudgetError
        From ``check``.
    """
    T = net.n_templates
    uses = {nd.id: 0 for nd in net.live_nodes}
    for nd in net.live_nodes:
        for c in nd.children:
            uses[c] += 1
    height: dict[str, int] = {}
    waves: dict[int, list[Node]] = defaultdict(list)
    for nd in net.live_nodes:
        if nd.id in skip:
            continue
        h = 1 + max((height[c] for c in nd.children), default=-1)
        height[nd.id] = h
        waves[h].append(nd)
    vals: dict[str, np.ndarray] = {}
    I = frozenset(P.I)

    def weight(nd: Node) -> np.ndarray | None:
        return None if nd.weight is None else np.mod(np.asarray(nd.weight, dtype=np.int64), p)

    for h in sorted(waves):
        nodes = waves[h]
        done: list[np.ndarray] = [None] * len(nodes)  # type: ignore[list-item]
        leaves = [i for i, nd in enumerate(nodes) if nd.kind == "leaf"]
        if leaves:
            def leaf_fn(*args: np.ndarray, in_I: bool = True) -> list[np.ndarray]:
                V = np.broadcast_to(Fm, (1,) + Fm.shape) if not args else matmul_mod_p_batch(Fm[None], args[0], p)
                r = V.shape[2]
                K = V.transpose(0, 2, 1).reshape(V.shape[0], r, T, 1) if in_I else V.transpose(0, 2, 1).reshape(V.shape[0], r, 1, T)
                return compress_stack(np.ascontiguousarray(K), p)

            for in_I in (True, False):
                sel = [i for i in leaves if (nodes[i].mode in I) == in_I]
                with_w = [i for i in sel if nodes[i].weight is not None]
                no_w = [i for i in sel if nodes[i].weight is None]
                res = _apply([(weight(nodes[i]),) for i in with_w], lambda W, in_I=in_I: leaf_fn(W, in_I=in_I))
                for i, v in zip(with_w, res):
                    done[i] = v
                if no_w:
                    v = leaf_fn(in_I=in_I)[0]
                    for i in no_w:
                        done[i] = v
        lin = [i for i, nd in enumerate(nodes) if nd.kind == "linear"]
        if lin:
            res = _apply([(vals[nodes[i].children[0]], weight(nodes[i])) for i in lin],
                         lambda K, W: compress_stack(_weighted_stack(K, W, p), p))
            for i, v in zip(lin, res):
                done[i] = v
        pools = [i for i, nd in enumerate(nodes) if nd.kind == "pool"]
        by_arity: dict[tuple[int, bool], list[int]] = defaultdict(list)
        for i in pools:
            by_arity[(len(nodes[i].children), nodes[i].weight is not None)].append(i)
        for (k, has_w), idx in by_arity.items():
            cur = [vals[nodes[i].children[0]] for i in idx]
            Ws = [weight(nodes[i]) for i in idx] if has_w else None
            for step in range(1, k):
                last = step == k - 1
                nxt = [vals[nodes[i].children[step]] for i in idx]
                items: list[tuple[np.ndarray, ...]] = [(c, n) + ((w,) if last and has_w else ()) for c, n, w in
                                                       zip(cur, nxt, Ws if Ws is not None else [None] * len(idx))]

                def fold(x: np.ndarray, y: np.ndarray, W: np.ndarray | None = None, last: bool = last,
                         first: int = idx[0]) -> list[np.ndarray]:
                    r_in = x.shape[1]
                    a, b = x.shape[2] * y.shape[2], x.shape[3] * y.shape[3]
                    if W is not None and W.shape[2] < r_in:
                        # as structured._pool: the weight applied to the last Kronecker block, no compression between
                        check(nodes[first], a, b, W.shape[2] + 1)
                        return list(_weighted_stack(_kron_stack(x, y, p), W, p))
                    check(nodes[first], a, b, r_in)
                    K = _kron_stack(x, y, p)
                    if last and W is None:
                        return list(K)  # the node's own compression follows
                    Kc = compress_stack(K, p)
                    if W is None:
                        return Kc
                    return _apply([(c, W[s]) for s, c in enumerate(Kc)], lambda Kx, Wx: list(_weighted_stack(Kx, Wx, p)))

                cur = _apply(items, fold)
            if k == 1 and has_w:  # a single child: the weight alone, as structured._pool
                cur = _apply([(c, w) for c, w in zip(cur, Ws)], lambda K, W: list(_weighted_stack(K, W, p)))  # type: ignore[arg-type]
            res = _apply([(c,) for c in cur], lambda K: compress_stack(K, p))
            for i, v in zip(idx, res):
                done[i] = v
        for nd, v in zip(nodes, done):
            vals[nd.id] = v
            for c in nd.children:
                uses[c] -= 1
                if uses[c] == 0:
                    del vals[c]
        if progress is not None:
            progress(len(nodes))
    return vals
