r"""Restriction lower bound: the exact rank of a small sub-matrix of one integer instance.

For networks far beyond a dense tensor (a traced 32x32 CNN: ``2^512 x 2^512``) the instance-rank providers
refuse, and the tree-only lower bounds (coarse, flow, specialization) step aside on DAGs and sums. This bound
fixes every mode outside two small sets ``S_I \subset I``, ``S_J \subset J`` to seeded templates, evaluates
the seeded integer instance (:func:`~tensorexpr.bounds.instance.integer_twin`, ties and fixed weights kept,
denominators cleared) on the ``T^{|S_I|} x T^{|S_J|}`` remaining images over GF(p), and takes the rank.

Theorem. ``rank_p(R) <= rank_Q(R) <= rank [A_inst]_{I,J} <= rank_generic``: ``R`` is a sub-matrix of the
instance's matricization (fixing the other modes selects rows and columns), reduction mod ``p`` of an integer
matrix cannot raise its rank, and an instance's rank is at most the generic one (lower semicontinuity; for
ReLU operators the certificate's upper end is the maximum rank, which the same argument bounds). So the value
is a certified lower bound; it is at most ``min(T^{|S_I|}, T^{|S_J|})`` by construction.

``S_I`` and ``S_J`` are read from the network's own graph: the modes of the smallest nodes that read both
sides first (where the two sides meet), so that the sub-matrix sees the interaction the network has. Only
the nodes that read a free mode are evaluated per image; the rest once. Cost: ``T^{|S_I| + |S_J|}`` images
through those nodes.
"""

from __future__ import annotations

import math

import numpy as np

from tensorexpr.core.denominators import clear_denominators
from tensorexpr.core.errors import NetworkError, NotApplicable
from tensorexpr.core.network import Network
from tensorexpr.core.partitions import Partition
from tensorexpr.core.validation import check_output, check_partition
from tensorexpr.bounds.analysis import Analysis, analysis_of
from tensorexpr.bounds.instance import DENSE_EXACT_MAX_ENTRIES, integer_twin
from tensorexpr.bounds.result import Bound, BoundContext, BoundProvider
from tensorexpr.rank.modp import matmul_mod_p, rref_mod_p

__all__ = ["restriction_bound", "RESTRICTION", "MAX_RESTRICTED_IMAGES"]

#: Images evaluated per restriction by default (``T^{|S_I|} * T^{|S_J|}``).
MAX_RESTRICTED_IMAGES = 4096
_PRIME = 33554393  # below 2^25: a product of two residues plus thousands of terms stays exact in int64


def _free_modes(net: Network, P: Partition, kI: int, kJ: int) -> tuple[list[int], list[int]]:
    """Modes of the smallest mixed nodes first, ``kI`` of ``I`` and ``kJ`` of ``J``."""
    I, J = frozenset(P.I), frozenset(P.J)
    rf = net.modes
    mixed = sorted((nd for nd in net.live_nodes if rf[nd.id] & I and rf[nd.id] & J), key=lambda nd: len(rf[nd.id]))
    SI: list[int] = []
    SJ: list[int] = []
    for nd in mixed:
        for m in sorted(rf[nd.id]):
            if m in I and len(SI) < kI and m not in SI:
                SI.append(m)
            elif m in J and len(SJ) < kJ and m not in SJ:
                SJ.append(m)
        if len(SI) == kI and len(SJ) == kJ:
            break
    return sorted(SI), sorted(SJ)


def _residues(a: np.ndarray, p: int) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype.kind in "iu":
        return np.mod(arr.astype(np.int64), p)
    return np.mod(arr.astype(object), p).astype(np.int64)  # Python ints (or integral floats) of any size


def _evaluate(net: Network, idx: dict[int, np.ndarray], output: int, p: int) -> np.ndarray:
    """The instance's output over GF(p) on a batch of images: ``idx[m]`` the template index of mode ``m``, one
    per image, or of shape (1,) where the mode is fixed. Nodes that read no free mode stay at batch 1."""
    F = _residues(net.F, p)
    val: dict[str, np.ndarray] = {}
    for nd in net.live_nodes:
        W = None if nd.weight is None else _residues(nd.weight, p)
        if nd.kind == "leaf":
            x = F[idx[int(nd.mode)]]  # type: ignore[arg-type]
        elif nd.kind == "sum":
            x = val[nd.children[0]]
            for c in nd.children[1:]:
                x = np.mod(x + val[c], p)
        else:
            x = val[nd.children[0]]
            for c in nd.children[1:]:  # product pooling of the children's shared channel
                x = np.mod(x * val[c], p)
        if W is not None and nd.kind != "sum":
            x = matmul_mod_p(x, W, p)
        val[nd.id] = x
    return val[net.output][:, output]


def restriction_bound(net: Network, P: Partition, output: int = 0, seed: int = 0,
                      max_images: int = MAX_RESTRICTED_IMAGES, analysis: Analysis | None = None) -> Bound:
    """Lower bound on the generic rank: the GF(p) rank of a sub-matrix of a seeded integer instance.

    Parameters
    ----------
    net : Network
        A product network with integer or rational templates ``F`` (any graph: trees, DAGs, sums, ties).
    P : Partition
    output : int
        The output channel.
    seed : int
        Seed of the integer instance and of the templates of the fixed modes.
    max_images : int
        Most images evaluated: ``|S_I|`` and ``|S_J|`` are the largest with ``T^{|S_I| + |S_J|} <= max_images``.
    analysis : Analysis, optional
        The network's analysis plan (the integer instance is derived once per seed).

    Returns
    -------
    Bound
        ``side="lower"``, ``method="restriction"``; ``details`` names the free modes and the fixed templates.

    Raises
    ------
    NotApplicable
        For a non-product operator (no exact evaluation over GF(p)).
    NetworkError
        When ``F`` or a fixed weight holds non-integral floats (no integer instance has this architecture), or
        for ``max_images < 4``.
    PartitionError
        For a partition of another number of modes.
    """
    check_partition(P, net.n_modes, "the restriction bound", net.name)
    check_output(output, net.outputs)
    if not net.op.multilinear:
        raise NotApplicable(f"restriction bound: {net.name} uses the {net.op.name!r} operator, which GF(p) cannot "
                            f"evaluate.")
    if isinstance(max_images, bool) or not isinstance(max_images, int) or max_images < 4:
        raise NetworkError(f"restriction_bound: max_images must be an int >= 4, got {max_images!r}.")
    T = net.n_templates
    k = max(1, int(math.floor(math.log(max_images, T) / 2 + 1e-9)))
    kI, kJ = min(k, len(P.I)), min(k, len(P.J))
    SI, SJ = _free_modes(net, P, kI, kJ)
    an = analysis_of(net, analysis)
    twin = an.derived(("integer-twin-cleared", seed), lambda: clear_denominators(integer_twin(net, seed)))
    rng = np.random.default_rng(seed)
    fixed = {m: int(rng.integers(T)) for m in range(net.n_modes) if m not in SI and m not in SJ}
    rows, cols = T ** len(SI), T ** len(SJ)
    grid = np.indices((T,) * (len(SI) + len(SJ))).reshape(len(SI) + len(SJ), -1)  # C order: I modes vary slowest
    idx = {m: np.array([t]) for m, t in fixed.items()}
    for pos, m in enumerate(SI + SJ):
        idx[m] = grid[pos]
    R = _evaluate(twin, idx, output, _PRIME)
    R = np.broadcast_to(R, (rows * cols,)).reshape(rows, cols)
    _, pivots = rref_mod_p(np.array(R), _PRIME)
    return Bound(len(pivots), "lower", "restriction", P.name,
                 ("an integer instance with the same parametrization (blocks redrawn, constants kept)",
                  "a sub-matrix: the other modes fixed to templates"),
                 {"free_I": SI, "free_J": SJ, "shape": [rows, cols], "prime": _PRIME, "twin_seed": seed})


def _restriction(net: Network, P: Partition, ctx: BoundContext) -> Bound:
    check_partition(P, net.n_modes, "the restriction bound", net.name)
    T = net.n_templates
    if T ** len(P.I) * T ** len(P.J) <= DENSE_EXACT_MAX_ENTRIES:
        raise NotApplicable("restriction bound: the whole matricization is small enough for the exact instance rank.")
    return restriction_bound(net, P, ctx.output, ctx.seed, analysis=ctx.analysis)


#: The restriction provider: lower bounds for networks beyond the dense and the tree-only lower bounds.
RESTRICTION = BoundProvider("restriction", "lower", _restriction, needs=("product",), expensive=True)
