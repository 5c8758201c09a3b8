"""The matricization ``[A]_{I,J}``: the one place the axis-ordering convention lives (docs/conventions.md)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tensorexpr.core.errors import PartitionError
from tensorexpr.core.partitions import Partition

__all__ = ["matricize"]


def matricize(A: Any, P: Partition) -> Any:
    r"""Permute the axes of ``A`` to ``(sorted(I), sorted(J))`` and reshape to ``(prod |I| dims, prod |J| dims)``.

    Works for numpy arrays (any dtype, including object) and torch tensors (docs/conventions.md, "Partitions
    and matricization").

    .. math:: [A]_{I,J}[\overline{d_I}, \overline{d_J}] = A[d_1, \dots, d_N]

    with row and column multi-indices in C order over the sorted modes.

    Parameters
    ----------
    A : array_like or torch.Tensor
        A tensor with one axis per mode.
    P : Partition
        The partition; ``P.n_modes`` must equal ``A.ndim``.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        The 2-D matricization, of the type of ``A`` (a list becomes a numpy array).

    Raises
    ------
    PartitionError
        When ``P`` is not a :class:`Partition` or has another number of modes than ``A`` has axes.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.arange(16).reshape(2, 2, 2, 2)
    >>> matricize(A, Partition.odd_even(4)).shape
    (4, 4)
    >>> matricize(np.arange(4).reshape(2, 2), Partition([1], 2)).tolist()
    [[0, 2], [1, 3]]
    """
    if not isinstance(P, Partition):
        raise PartitionError(f"matricize needs a te.Partition, got {type(P).__name__}. Hint: te.Partition(I, n_modes).")
    if not hasattr(A, "shape"):
        A = np.asarray(A)
    shape = tuple(A.shape)
    if len(shape) != P.n_modes:
        raise PartitionError(
            f"Tensor has {len(shape)} modes (shape {shape}) but the partition is over {P.n_modes} modes. "
            f"Hint: pick output= on multi-output networks so the grid tensor has one axis per mode."
        )
    rows, cols = P.rows, P.cols
    perm = rows + cols
    nr = math.prod(shape[i] for i in rows)
    nc = math.prod(shape[i] for i in cols)
    if hasattr(A, "permute"):  # torch
        return A.permute(*perm).reshape(nr, nc)
    return A.transpose(perm).reshape(nr, nc)
