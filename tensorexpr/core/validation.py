"""Checks shared by every public entry point that takes a network (or tree), a partition and an output."""

from __future__ import annotations

from typing import Any

import numpy as np

from tensorexpr.core.errors import NetworkError, PartitionError, TensorExprError
from tensorexpr.core.partitions import Partition

__all__ = ["check_partition", "check_output"]


def check_partition(P: Any, n_modes: int, who: str, what: str = "the network",
                    error: Any = None) -> Partition:
    """``P`` is a :class:`Partition` over exactly ``n_modes`` modes, else :class:`PartitionError` with a hint.

    One mistake, one error class: every entry point (rank, rank_many, certify, each bound, profile) raises
    :class:`PartitionError` for a partition that does not fit.

    Parameters
    ----------
    P : Partition
        The partition to check.
    n_modes : int
        The number of modes of the network or tree.
    who : str
        The entry point, named in the error.
    what : str, optional
        How the error names the object the partition must fit.
    error : optional
        Accepted for backward compatibility and ignored.

    Returns
    -------
    Partition
        ``P`` itself.

    Raises
    ------
    PartitionError
        When ``P`` is not a :class:`Partition` or has another number of modes.
    """
    if not isinstance(P, Partition):
        raise PartitionError(f"{who} needs a te.Partition, got {type(P).__name__}. Hint: te.Partition.odd_even(n).")
    if P.n_modes != n_modes:
        missing = sorted(set(range(n_modes)) - set(range(P.n_modes)))
        raise PartitionError(
            f"Partition covers modes 0..{P.n_modes - 1} but {what} has modes 0..{n_modes - 1}"
            + (f"; missing {missing[:10]}" if missing else "")
            + f". Hint: build the partition with n_modes={n_modes}."
        )
    return P


def check_output(output: Any, outputs: int, error: type[TensorExprError] = NetworkError) -> int:
    """``output`` indexes one of ``outputs`` channels.

    Parameters
    ----------
    output : int
        The output channel.
    outputs : int
        The number of output channels.
    error : type, optional
        The error class to raise (default :class:`NetworkError`).

    Returns
    -------
    int

    Raises
    ------
    NetworkError
        (or ``error``) when ``output`` is not an integer in ``0..outputs-1``.
    """
    if isinstance(output, bool) or not isinstance(output, (int, np.integer)) or not 0 <= output < outputs:
        raise error(f"output={output!r} is out of range for a network with {outputs} outputs (0..{outputs - 1}).")
    return int(output)
