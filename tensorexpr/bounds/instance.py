"""The integer instance of an architecture that the instance-rank bounds compute exactly.

An instance's rank is at most the generic rank (rank is lower semicontinuous in the weights), and a rank over
GF(p) at most the rank over Q, so the exact rank of one seeded integer instance with the same graph, shapes and
tying is a certified lower bound on the generic rank (docs/design.md, "Bounds").
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Any

import numpy as np

from tensorexpr.core.errors import NetworkError
from tensorexpr.core.network import Network
from tensorexpr.core.rational import exact_matrix, integer_entries

__all__ = ["integer_twin", "DENSE_EXACT_MAX_ENTRIES"]

#: The dense exact fallback is used only up to this many matricization entries.
DENSE_EXACT_MAX_ENTRIES = 4_000_000


def _exact_or_refuse(a: Any, what: str, net: Network) -> np.ndarray:
    """Integers as int64, exact fractions kept (cleared before any GF(p) step); non-integral floats refused."""
    arr = np.asarray(a)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64) if arr.dtype.kind == "u" else arr
    if arr.dtype.kind == "f":
        try:
            return integer_entries(arr, what)
        except NetworkError:
            raise NetworkError(
                f"{net.name}: {what} has non-integral float entries, so no integer instance has the same "
                f"architecture. Hint: pass integers or fractions.Fraction entries (exact over Q), or use upper "
                f"bounds only."
            ) from None
    ex = exact_matrix(arr, what)
    if any(isinstance(x, float) for x in arr.ravel()) and any(isinstance(x, Fraction) for x in ex.ravel()):
        raise NetworkError(f"{net.name}: {what} holds non-integral floats; use fractions.Fraction for exact values.")
    return ex if any(isinstance(x, Fraction) for x in ex.ravel()) else integer_entries(ex, what)


def integer_twin(net: Network, seed: int = 0, int_range: int = 10**6) -> Network:
    """The same architecture with seeded integer parameters in ``[-int_range, int_range]``: every parameter
    block is redrawn (tied weights stay tied, never redrawn copy by copy); fixed weights, identities, tie
    bases and ``F`` are kept exactly.

    The blocks are always redrawn, even for an integer ``net``: small ranges hit rank-deficient points
    too often (with ``[-9, 9]``, 4 of 300 random small trees fell one short of the min-cut; with ``10^6``,
    0 of 1000), and the certificate is about the architecture, not the given weights.
    Exact :class:`~fractions.Fraction` entries in ``F``, fixed weights or bases are kept (rank methods clear
    denominators before any GF(p) step: :func:`tensorexpr.core.denominators.clear_denominators`). Raises
    :class:`NetworkError` when one of those holds non-integral floats (an integer instance would then be a
    different architecture).

    Parameters
    ----------
    net : Network
    seed : int
    int_range : int
        Blocks are drawn from ``[-int_range, int_range]``.

    Returns
    -------
    Network
        ``integer=True``, the same graph, shapes, ties and constants.
    """
    F = _exact_or_refuse(net.F, "the template matrix F", net)
    rng = np.random.default_rng(seed)
    nodes = []
    seen: dict[Any, tuple[Any, np.ndarray]] = {}  # one conversion per distinct array (a traced conv's basis repeats)

    def exact(a: Any, what: str) -> np.ndarray:
        arr = np.asarray(a)
        key = id(a) if arr.dtype == object else (arr.dtype.str, arr.shape, arr.tobytes())
        if key not in seen:
            seen[key] = (a, _exact_or_refuse(a, what, net))
        return seen[key][1]

    for nd in net.nodes:
        if nd.weight is not None and net.weight_kind(nd.id) == "fixed":
            nd = replace(nd, weight=exact(nd.weight, f"the fixed weight of node {nd.id!r}"))
        elif nd.param is not None and getattr(nd.param, "basis", None) is not None:
            basis = exact(nd.param.basis, f"the tie basis of block {nd.param.block!r}")
            nd = replace(nd, param=type(nd.param)(nd.param.block, basis))
        nodes.append(nd)
    blocks = {b: rng.integers(-int_range, int_range + 1, size=v.size).astype(np.int64)
              for b, v in sorted(net.params.items())}
    base = replace(net, nodes=tuple(nodes), integer=False)
    # with_params recomputes every tied weight from its (integer) block; then the exactness checks run
    twin = base.with_params(blocks, F=F, integer=False, name=f"{net.name}[int seed={seed}]")
    return replace(twin, integer=True)
