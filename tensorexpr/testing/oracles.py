"""Brute-force rank oracles, independent of the library's rank and bound code paths.

* :func:`fraction_rank`: Gaussian elimination over Q with :class:`fractions.Fraction` (no flint, no GF(p)).
* :func:`brute_matricization`: the matrix ``[A]_{I,J}`` entry by entry from the network's output at each
  template tuple (:func:`tensorexpr.testing.reference.random_network_output`), no einsum, no matricize.
* :func:`brute_generic_rank`: the largest rank over Q over several random integer draws of the free
  parameters (a lower bound on the generic rank that, over enough draws, equals it with high probability).
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any, Sequence

import numpy as np

from tensorexpr.core.network import Network
from tensorexpr.core.partitions import Partition
from tensorexpr.testing.reference import random_network_output

__all__ = ["fraction_rank", "brute_matricization", "brute_generic_rank"]


def _q(x: Any) -> Fraction:
    """An exact Python Fraction (numpy integers would overflow inside Fraction arithmetic)."""
    if isinstance(x, Fraction):
        return Fraction(int(x.numerator), int(x.denominator))
    if isinstance(x, (int, np.integer, bool, np.bool_)):
        return Fraction(int(x))
    return Fraction(float(x))


def fraction_rank(rows: Sequence[Sequence[Any]]) -> int:
    """Rank over Q of a matrix of ints / Fractions (floats taken at their exact value).

    Gaussian elimination with :class:`fractions.Fraction`; no flint, no GF(p).

    Parameters
    ----------
    rows : sequence of sequence
        The matrix, row by row.

    Returns
    -------
    int

    Examples
    --------
    >>> fraction_rank([[1, 2], [2, 4]]), fraction_rank([[1, 0], [0, 0.5]])
    (1, 2)
    """
    m = [[_q(x) for x in row] for row in rows]
    rank, ncols = 0, len(m[0]) if m else 0
    for c in range(ncols):
        piv = next((r for r in range(rank, len(m)) if m[r][c] != 0), None)
        if piv is None:
            continue
        m[rank], m[piv] = m[piv], m[rank]
        p = m[rank]
        for r in range(len(m)):
            if r != rank and m[r][c] != 0:
                f = m[r][c] / p[c]
                m[r] = [a - f * b for a, b in zip(m[r], p)]
        rank += 1
    return rank


def brute_matricization(net: Network, P: Partition, output: int = 0, max_entries: int = 20_000) -> list[list[Any]]:
    """``[A]_{I,J}`` with rows over the ``I`` template tuples and columns over ``J``'s, one entry at a time.

    Parameters
    ----------
    net : Network
    P : Partition
    output : int, optional
    max_entries : int, optional
        Refuse larger matrices.

    Returns
    -------
    list of list
        Python scalars (ints or Fractions for exact networks).

    Raises
    ------
    ValueError
        When the matrix has more than ``max_entries`` entries.
    """
    T = net.n_templates
    rows_i, cols_j = sorted(P.I), sorted(P.J)
    if T ** len(rows_i) * T ** len(cols_j) > max_entries:
        raise ValueError(f"brute_matricization is for tiny networks: {T}^{net.n_modes} entries is too many.")
    out = []
    for a in itertools.product(range(T), repeat=len(rows_i)):
        row = []
        for b in itertools.product(range(T), repeat=len(cols_j)):
            t = [0] * net.n_modes
            for m, v in zip(rows_i, a):
                t[m] = v
            for m, v in zip(cols_j, b):
                t[m] = v
            row.append(random_network_output(net, tuple(t), output))
        out.append(row)
    return out


def brute_generic_rank(net: Network, P: Partition, output: int = 0, draws: int = 3, seed: int = 0,
                       int_range: int = 1000) -> int:
    """The largest exact rank over Q of ``[A]_{I,J}`` over ``draws`` random integer values of the parameter blocks.

    Fixed weights, identities and ``F`` are kept. A lower bound on the generic rank, and equal to it unless every
    draw hit the rank-deficient algebraic set.

    Parameters
    ----------
    net : Network
    P : Partition
    output : int, optional
    draws : int, optional
    seed : int, optional
    int_range : int, optional
        Block values are drawn in ``[-int_range, int_range]``.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        From :func:`brute_matricization` on a large network.

    Examples
    --------
    >>> import tensorexpr as te
    >>> net = te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0, integer=True)
    >>> brute_generic_rank(net, te.Partition.odd_even(4), draws=1)
    4
    """
    rng = np.random.default_rng(seed)
    best = 0
    for _ in range(draws):
        blocks = {b: rng.integers(-int_range, int_range + 1, size=v.size).astype(np.int64)
                  for b, v in net.params.items()}
        inst = net.with_params(blocks, integer=False) if blocks else net
        best = max(best, fraction_rank(brute_matricization(inst, P, output)))
    return best
