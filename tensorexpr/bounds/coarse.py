r"""Coarse-partition lower bound: an exact rank of the small *core* of the network, proved to transfer.

For a partition ``(I, J)`` call a node *pure* when its receptive field lies inside ``I`` or inside ``J``,
*mixed* otherwise. The mixed nodes form a subtree containing the root (the *core*); the pure children of
core nodes form the *frontier*. For coarse partitions (left/right halves, quadrants) the core is a handful
of nodes however large the grid: at 256x256 ``left_right`` has one mixed node.

Theorem (proved below). Let ``net`` be a product network on a tree. For each frontier node ``c`` let
``rho_c`` be the lower bound on the rank of its output map from :func:`_pure_ranks`, and ``K_c`` a seeded
integer ``rho_c x r_c`` matrix (one per *signature*: frontier nodes with identical parametrized subtrees
share it). Let ``rho`` be the rank over GF(p) of the core tensor, evaluated with the core's weights at a
seeded integer point (ties and fixed weights kept) and with frontier leg ``c`` fed through ``K_c``. Then

.. math::
    \operatorname{rank}_{\text{generic}} [A]_{I,J} \ge \rho .

Proof. Write ``Phi_c`` (``T^{|c|} x r_c``) for the map sending channel ``a`` of a pure node ``c`` to its output
tensor and factor ``Phi_c = U_c B_c W_c`` at a parameter point: ``U_c`` an injective basis of the image of
the node's pre-weight map, ``B_c`` of full row rank ``q_c``, ``W_c`` the node's own weight. Since
``A`` is multilinear in the frontier outputs,

.. math::
    [A]_{I,J} = \Big(\bigotimes_{c \in F_I} U_c\Big) \, [C(K)]_{I,J} \, \Big(\bigotimes_{c \in F_J} U_c\Big)^T,
    \qquad K_c = B_c W_c ,

and the Kronecker products of injective maps are injective, so ``rank [A] = rank [C(K)]``. When the block
of ``W_c`` is used nowhere below ``c``, nowhere in the core and by no frontier node of another signature,
``W_c`` can be chosen (over R) so that ``B_c W_c`` equals any ``q_c x r_c`` matrix, in particular ``K_c``
padded with ``q_c - rho_c`` zero rows (zero rows add nothing to the rank) -- provided ``q_c >= rho_c``.
That ``q_c >= rho_c`` holds at some point is the induction of :func:`_pure_ranks`: a leaf has
``B W = B_F W`` with ``rank B_F = rank F``, so ``rho = min(r_0, rank F)``; a pool node ``t`` computes
``Phi_t = (\otimes_c \Phi_c) Delta W_t`` (``Delta`` the diagonal copy of the shared channel), whose
pre-weight coordinates are the Khatri-Rao product of the children's ``B_c W_c``. Grouping the children by
signature (``m_g`` children of group ``g`` have equal matrices, different groups use disjoint blocks, so
each group's matrix is an arbitrary ``rho_g x r_in`` matrix), column ``a`` is a generic point
``\otimes_g k_{g,a}^{\otimes m_g}`` of a Segre-Veronese variety spanning a space of dimension
``\prod_g \binom{\rho_g + m_g - 1}{m_g}``; generic points of an irreducible non-degenerate variety are
independent up to that dimension, so

.. math::
    \rho_t = \min\Big(r_t,\; r_{in},\; \prod_g \binom{\rho_g + m_g - 1}{m_g}\Big)

(a generic ``W_t`` keeps ``min(r_t, .)``; ``W_t``'s block must not occur below ``t``). Every condition used
is a non-vanishing minor, a Zariski-open set of the (irreducible, affine) parameter space that is non-empty
by the argument above; finitely many intersect, and at such a point with the frontier weights chosen as
described, ``rank [A] = rank [C(K)]``, whose rank over Q is at least its rank ``rho`` over GF(p) (the
core's integer point is an independent choice, since core blocks are disjoint from frontier blocks). The
generic rank of a product network is its maximum rank. QED. Fixed weights, identity weights and blocks
tied through a basis inside the pure subtrees, or tie patterns violating the disjointness conditions, make
the bound decline (:class:`~tensorexpr.core.errors.NotApplicable`): it never guesses.

Cost: one dictionary step per pure node (interning its signature; the subtree ranks are memoized per
signature) plus dense work on the core only: ``r_t x d_I x d_J`` residues per core node, where
``d_I, d_J`` are the products of ``rho_c`` over the frontier below it. Over ``max_entries`` it declines.
"""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np

from tensorexpr.core.errors import NotApplicable
from tensorexpr.core.network import Network
from tensorexpr.core.params import Tied
from tensorexpr.core.partitions import Partition
from tensorexpr.core.validation import check_partition
from tensorexpr.bounds.analysis import Analysis, analysis_of
from tensorexpr.bounds.result import Bound, BoundContext, BoundProvider

__all__ = ["coarse_bound", "CORE_MAX_ENTRIES"]

#: Largest core representation (residues) formed before the bound declines.
CORE_MAX_ENTRIES = 1 << 22
_INT_RANGE = 10**6


def _exact_rank(W: np.ndarray) -> int:
    """Exact rank over Q of an integer, float (exact dyadic) or object matrix."""
    import flint

    W = np.asarray(W)
    if W.dtype.kind in "iu":
        return int(flint.fmpz_mat(W.shape[0], W.shape[1], [int(x) for x in W.ravel()]).rank())
    vals = [Fraction(x) if not isinstance(x, Fraction) else x for x in W.ravel().tolist()]
    return int(flint.fmpq_mat(W.shape[0], W.shape[1], [flint.fmpq(v.numerator, v.denominator) for v in vals]).rank())


def _to_mod_p(W: np.ndarray, p: int) -> np.ndarray:
    """Exact residues of an integer or rational (float = dyadic) matrix; denominators must be units mod p."""
    W = np.asarray(W)
    if W.dtype.kind in "iu":
        return np.mod(W.astype(np.int64), p)
    flat = []
    for x in W.ravel().tolist():
        f = Fraction(x)
        if f.denominator % p == 0:
            raise NotApplicable(f"coarse bound: weight entry {x} has a denominator divisible by the prime {p}.")
        flat.append(f.numerator * pow(f.denominator, -1, p) % p)
    return np.array(flat, dtype=np.int64).reshape(W.shape)


def _pure_ranks(net: Network, pure_roots: list[str], f_rank: int, core_blocks: set[str], analysis: Analysis
                ) -> tuple[dict[str, int], dict[str, int]]:
    """Signature id and rank lower bound ``rho`` of every node under ``pure_roots`` (see the module proof).

    The per-subtree quantities do not depend on the partition, so they come from :func:`_subtree_table`,
    built once per analysis; only the conditions linking the frontier to the core are checked here.

    Raises NotApplicable when a weight in the pure subtrees is fixed, an identity, tied through a basis, or
    tied in a pattern the proof does not cover.
    """
    sig, rho_of, blocks_of, err = analysis.derived(("coarse.subtrees", f_rank), lambda: _subtree_table(net, f_rank))
    for c in pure_roots:
        if err[c] is not None:
            raise NotApplicable(err[c])
    owner: dict[str, int] = {}  # tied block -> the frontier signature using it (linear, not pairwise)
    for g in {sig[c] for c in pure_roots}:
        for b in blocks_of[g]:
            if b in core_blocks:
                raise NotApplicable("coarse bound: a tied block is used both in the core and below the frontier.")
            if owner.setdefault(b, g) != g:
                raise NotApplicable("coarse bound: frontier nodes with different subtrees share tied blocks.")
    return sig, {nid: rho_of[sig[nid]] for nid in pure_roots}


def _subtree_table(net: Network, f_rank: int) -> tuple[dict[str, int], dict[int, int], dict[int, frozenset],
                                                        dict[str, str | None]]:
    """For every live node, as the root of a pure subtree: its signature id, ``rho`` per signature, the tied
    blocks used in the subtree, and why the proof does not cover the subtree (None when it does).

    Signatures intern ``(kind, tie key, shape, child signatures)``; a free block gives a signature of its own.
    """
    from math import comb

    intern: dict[tuple, int] = {}
    sig: dict[str, int] = {}
    rho_of: dict[int, int] = {}
    blocks_of: dict[int, frozenset] = {}
    err: dict[str, str | None] = {}
    users = net.block_users
    empty: frozenset = frozenset()
    for nd in net.live_nodes:
        nid = nd.id
        kids_err = next((err[c] for c in nd.children if err[c] is not None), None)
        if kids_err is not None:
            sig[nid], err[nid] = -1, kids_err
            continue
        prm = nd.param
        if nd.weight is None or not isinstance(prm, Tied) or prm.basis is not None:
            kind = net.weight_kind(nid)
            sig[nid], err[nid] = -1, (f"coarse bound: node {nid!r} has a {kind} weight"
                                      f"{' through a basis' if kind == 'tied' else ''}; the proof needs a free choice.")
            continue
        block = prm.block
        free = len(users.get(block, ())) <= 1
        kids = tuple(sig[c] for c in nd.children)
        why: str | None = None
        key: tuple = ("free", nid)
        if free:  # a block of its own: a signature of its own, no tie bookkeeping (the common, untied case)
            below = empty
            for k in kids:
                if blocks_of[k]:
                    below = below | blocks_of[k]
            s_id = None
        else:
            key = (nd.kind, prm.key, nd.weight.shape, kids)
            s_id = intern.get(key)  # only keys that passed are interned: a failing twin fails again
            if s_id is None:
                below = frozenset().union(*(blocks_of[k] for k in set(kids))) if kids else empty
                if block in below:
                    why = f"coarse bound: the block {block!r} of node {nid!r} is also used below it."
        if s_id is None and why is None:
            if nd.kind == "leaf":
                rho = min(nd.weight.shape[1], f_rank)
            else:
                groups: dict[int, int] = {}
                for k in kids:
                    groups[k] = groups.get(k, 0) + 1
                gl = [g for g in groups if blocks_of[g]]
                for i in range(len(gl)):
                    for j in range(i + 1, len(gl)):
                        if why is None and blocks_of[gl[i]] & blocks_of[gl[j]]:
                            why = (f"coarse bound: children of {nid!r} with different subtrees share "
                                   f"tied blocks {sorted(blocks_of[gl[i]] & blocks_of[gl[j]])[:3]}.")
                span = 1
                for g, m in groups.items():
                    span *= comb(rho_of[g] + m - 1, m) if m > 1 else rho_of[g]
                rho = min(nd.weight.shape[1], nd.weight.shape[0], span)
            if why is None:
                s_id = intern[key] = len(intern)
                rho_of[s_id] = rho
                blocks_of[s_id] = below if free else below | {block}
        if why is not None:
            sig[nid], err[nid] = -1, why
            continue
        sig[nid], err[nid] = s_id, None  # type: ignore[assignment]
    return sig, rho_of, blocks_of, err


def _core_weights(net: Network, core: list[str], p: int, seed: int) -> dict[str, np.ndarray]:
    """Residues of the core weights at one seeded integer point that keeps every tie and fixed weight."""
    rng = np.random.default_rng(seed)
    blocks: dict[str, np.ndarray] = {}
    out: dict[str, np.ndarray] = {}
    for nid in core:
        nd = net.node(nid)
        if nd.weight is None:
            continue
        if not isinstance(nd.param, Tied):  # fixed: its own value
            out[nid] = _to_mod_p(nd.weight, p)
            continue
        b = nd.param.block
        if b not in blocks:
            blocks[b] = rng.integers(-_INT_RANGE, _INT_RANGE + 1, size=net.params[b].size).astype(np.int64)
        theta = blocks[b]
        if nd.param.basis is None:
            out[nid] = np.mod(theta.reshape(nd.weight.shape), p)
        else:
            B = _to_mod_p(np.asarray(nd.param.basis), p)
            from tensorexpr.rank.modp import matmul_mod_p

            out[nid] = matmul_mod_p(B, np.mod(theta, p)[:, None], p).reshape(nd.weight.shape)
    return out


def coarse_bound(net: Network, P: Partition, output: int = 0, prime: int | None = None, seed: int = 0,
                 max_entries: int = CORE_MAX_ENTRIES, analysis: Analysis | None = None) -> Bound:
    """Lower bound on the generic rank of ``[A]_{I,J}`` from the core of mixed nodes (see the module proof).

    Raises :class:`~tensorexpr.core.errors.NotApplicable` for non-product or non-tree networks, when a frontier
    map cannot be injective, or when the core would exceed ``max_entries`` residues.

    Parameters
    ----------
    net : Network
        A product network on a tree.
    P : Partition
        The partition ``(I, J)``.
    output : int, optional
        The output channel.
    prime : int, optional
        The modulus of the core's rank; :data:`~tensorexpr.evaluate.grid.DEFAULT_PRIME` by default.
    seed : int, optional
        Seed of the frontier matrices ``K_c`` and the core's integer weights.
    max_entries : int, optional
        Largest number of residues the core tensor may hold.
    analysis : Analysis, optional
        The network's analysis plan, reused across partitions.

    Returns
    -------
    Bound
        A lower bound, ``method="coarse"``; ``details`` has the core and frontier sizes and the prime.

    Raises
    ------
    PartitionError
        When ``P`` is not a partition of the network's modes.
    NotApplicable
        For a non-product or non-tree network, a partition with no mixed node, or a core over ``max_entries``.

    Examples
    --------
    >>> import tensorexpr as te
    >>> net = te.convac(te.ModeTree.grid(8, 8), M=2, widths=4, seed=0)
    >>> te.bounds.coarse.coarse_bound(net, te.Partition.grid(8, 8, "left_right")).value
    4
    """
    check_partition(P, net.n_modes, "coarse_bound", net.name)
    from tensorexpr.evaluate.grid import DEFAULT_PRIME
    from tensorexpr.rank.modp import dense_rank_mod_p, matmul_mod_p

    t0 = time.perf_counter()
    p = DEFAULT_PRIME if prime is None else int(prime)
    if not net.op.multilinear:
        raise NotApplicable(f"coarse bound needs a product network; {net.name} uses {net.op.name!r}.")
    if not net.is_tree:
        raise NotApplicable(f"coarse bound needs a tree network (no reuse, no sum nodes); {net.name} is not one.")
    I = P.I
    n_in: dict[str, int] = {}  # modes of I below each node, and receptive-field sizes, bottom-up in O(N)
    size: dict[str, int] = {}
    for nd in net.live_nodes:
        if nd.kind == "leaf":
            n_in[nd.id], size[nd.id] = int(nd.mode in I), 1
        else:
            n_in[nd.id] = sum(n_in[c] for c in nd.children)
            size[nd.id] = sum(size[c] for c in nd.children)

    def side(nid: str) -> str | None:
        k = n_in[nid]
        return "J" if k == 0 else "I" if k == size[nid] else None

    core = [nd.id for nd in net.live_nodes if side(nd.id) is None]
    if not core:
        raise NotApplicable("coarse bound: the partition leaves one side empty.")
    core_set = set(core)
    frontier = [c for nid in core for c in net.node(nid).children if c not in core_set]
    from tensorexpr.core.rational import rank_over_Q

    F = np.asarray(net.F)
    f_rank = rank_over_Q(F) if F.dtype.kind in "iuO" else _exact_rank(F)
    core_blocks = {net.node(n).param.block for n in core if isinstance(net.node(n).param, Tied)}
    frontier_set = list(dict.fromkeys(frontier))
    sig, rho = _pure_ranks(net, frontier_set, f_rank, core_blocks, analysis_of(net, analysis))
    widths = net.widths
    # size check before any allocation (and before drawing the frontier matrices)
    dims: dict[str, tuple[int, int]] = {}
    for nid in core:
        dI = dJ = 1
        for c in net.node(nid).children:
            if c in core_set:
                a, b = dims[c]
            else:
                a, b = (rho[c], 1) if side(c) == "I" else (1, rho[c])
            dI, dJ = dI * a, dJ * b
        dims[nid] = (dI, dJ)
        if max(widths[nid], net.node(nid).weight.shape[0] if net.node(nid).weight is not None else 1) * dI * dJ > max_entries:
            raise NotApplicable(f"coarse bound: the core tensor at node {nid[:40]!r} needs {widths[nid]} x {dI} x {dJ} "
                                f"residues, over max_entries={max_entries:,}.")
    rng = np.random.default_rng(seed + 1)
    K: dict[int, np.ndarray] = {}
    for c in frontier_set:
        if sig[c] not in K:
            K[sig[c]] = rng.integers(-_INT_RANGE, _INT_RANGE + 1, size=(rho[c], widths[c])).astype(np.int64) % p
    W = _core_weights(net, core, p, seed)
    rep: dict[str, np.ndarray] = {}
    for nid in core:
        nd = net.node(nid)
        Z = None
        for c in nd.children:
            if c in core_set:
                X = rep.pop(c)
            else:
                Kc = K[sig[c]]  # rho_c x r_c
                X = np.ascontiguousarray(Kc.T).reshape((Kc.shape[1], Kc.shape[0], 1) if side(c) == "I"
                                                       else (Kc.shape[1], 1, Kc.shape[0]))
            if Z is None:
                Z = X
            else:
                a, i1, j1 = Z.shape
                _, i2, j2 = X.shape
                Z = np.mod(Z[:, :, None, :, None] * X[:, None, :, None, :], p).reshape(a, i1 * i2, j1 * j2)
        assert Z is not None
        if nd.kind == "sum":  # pragma: no cover - excluded by is_tree
            raise NotApplicable("coarse bound: sum nodes are not supported.")
        if nid in W:
            a, i, j = Z.shape
            Z = matmul_mod_p(W[nid].T, Z.reshape(a, i * j), p).reshape(-1, i, j)
        rep[nid] = Z
    top = rep[net.output][output]
    value = dense_rank_mod_p(top, p)
    return Bound(value, "lower", "coarse", P.name, ("product", "tree"),
                 {"core_nodes": len(core), "frontier": len(frontier_set), "signatures": len(set(sig.values())),
                  "core_shape": list(top.shape), "prime": p, "seconds": round(time.perf_counter() - t0, 4)})


def _provider(net: Network, P: Partition, ctx: BoundContext) -> Bound:
    return coarse_bound(net, P, ctx.output, seed=ctx.seed, analysis=ctx.analysis)


COARSE = BoundProvider("coarse", "lower", _provider, needs=("product", "tree"))
