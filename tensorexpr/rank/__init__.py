"""Matricization ranks: one entry point, :func:`rank`, over a registry of methods."""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from tensorexpr.evaluate.grid import grid_tensor
from tensorexpr.core.errors import RankError
from tensorexpr.core.network import Network
from tensorexpr.core.partitions import Partition
from tensorexpr.core.denominators import clear_denominators, network_is_rational
from tensorexpr.core.validation import check_partition
from tensorexpr.rank.exact import check_field_prime, exact_rank_of_tensor, rank_mod_p, rank_rational
from tensorexpr.rank.numeric import numeric_rank
from tensorexpr.rank.result import RankResult, RankWarning

__all__ = ["rank", "rank_many", "RankResult", "RankWarning", "RANK_METHODS", "register_rank_method", "rank_mod_p", "rank_rational"]

RankMethod = Callable[..., RankResult]
RANK_METHODS: dict[str, RankMethod] = {}


def register_rank_method(name: str) -> Callable[[RankMethod], RankMethod]:
    """Decorator adding ``fn(x, P, **kwargs) -> RankResult`` to :data:`RANK_METHODS` under ``name``.

    A name registers once: a second registration under it is refused (as :class:`~tensorexpr.bounds.BoundProviders`
    refuses a provider name twice), so a plug-in cannot silently replace ``exact`` and change what a rank means.

    Parameters
    ----------
    name : str
        The ``method=`` name :func:`rank` will accept.

    Returns
    -------
    callable
        The decorator; it returns ``fn`` unchanged.

    Raises
    ------
    RankError
        When ``name`` is not a non-empty string, or is registered already.
    """
    if not isinstance(name, str) or not name:
        raise RankError(f"A rank method name is a non-empty string, got {name!r}. Hint: register_rank_method('mine').")
    if name in RANK_METHODS:
        raise RankError(f"Rank method {name!r} is registered already ({RANK_METHODS[name].__module__}."
                        f"{RANK_METHODS[name].__qualname__}); expected a new name, one of "
                        f"{sorted(RANK_METHODS)} is taken. Hint: register under another name.")

    def deco(fn: RankMethod) -> RankMethod:
        RANK_METHODS[name] = fn
        return fn

    return deco


def _exact_form(x: Any, method: str) -> Any:
    """Bring an exact rational product network to integers before any GF(p) step (ranks unchanged: the grid
    tensor is scaled by a positive integer, :func:`tensorexpr.core.denominators.clear_denominators`)."""
    if isinstance(x, Network) and method != "numeric" and x.integer and x.op.multilinear and network_is_rational(x):
        return clear_denominators(x)
    return x


def _check_partition(x: Any, P: Partition) -> None:
    n = x.n_modes if isinstance(x, Network) else len(getattr(x, "shape", ()))
    check_partition(P, n, "rank", "the network" if isinstance(x, Network) else "the tensor")


@register_rank_method("numeric")
def _numeric(x: Any, P: Partition, tol: float | None = None, rtol: float | None = None, backend: str = "numpy",
             device: Any = None, output: int = 0, memory_budget: int | None = None, **kw: Any) -> RankResult:
    t0 = time.perf_counter()
    A = grid_tensor(x, backend=backend, device=device, output=output, memory_budget=memory_budget) if isinstance(x, Network) else x
    if not hasattr(A, "detach"):
        A = np.asarray(A)
        if A.dtype == object:
            A = A.astype(np.float64)
    res = numeric_rank(A, P, tol=tol, rtol=rtol, **kw)
    return _with_time(res, t0)


@register_rank_method("exact")
def _exact(x: Any, P: Partition, field: str = "auto", prime: int | None = None, output: int = 0,
           memory_budget: int | None = None) -> RankResult:
    from tensorexpr.evaluate.grid import DEFAULT_PRIME, grid_tensor_mod
    from tensorexpr.rank.exact import RATIONAL_MAX_ENTRIES

    t0 = time.perf_counter()
    if not isinstance(x, Network):
        return _with_time(exact_rank_of_tensor(x, P, field=field, prime=prime), t0)
    if field not in ("auto", "prime", "rational"):
        raise RankError(f"Unknown field {field!r}; expected 'auto', 'prime' or 'rational'.")
    if prime is not None:
        check_field_prime(prime, max_bits=31)  # the mod-p grid evaluation multiplies residues in int64
    if not x.integer:
        raise RankError(
            f"method='exact' needs an integer network; {x.name} has float weights. "
            f"Hint: te.convac(..., integer=True, seed=...), or method='numeric'."
        )
    rows = x.n_templates ** len(P.I)
    cols = x.n_templates ** len(P.J)
    use_q = field == "rational" or (field == "auto" and rows * cols <= RATIONAL_MAX_ENTRIES)
    if use_q or not x.op.multilinear:
        A = grid_tensor(x, backend="exact", output=output, memory_budget=memory_budget)
        return _with_time(exact_rank_of_tensor(A, P, field="rational" if use_q else "prime", prime=prime), t0)
    p = prime or DEFAULT_PRIME
    A = grid_tensor_mod(x, p, output=output, memory_budget=memory_budget)
    res = exact_rank_of_tensor(A, P, field="prime", prime=p)
    return _with_time(res, t0)


def _with_time(res: RankResult, t0: float) -> RankResult:
    from dataclasses import replace

    return replace(res, seconds=time.perf_counter() - t0)


def rank(x: Any, P: Partition, method: str = "numeric", **kwargs: Any) -> RankResult:
    """Rank of the matricization ``[A]_{I,J}`` of a network's grid tensor (or of a given tensor).

    For any network and any templates, ``rank [A]_{I,J} <= sep(h; I, J)``; for a ConvAC whose representation
    functions are linearly independent and whose templates make ``F`` invertible, the rank equals the
    separation rank. A singular ``F`` can only lower it (docs/conventions.md, "Separation rank"). An exact
    rational product network is first brought to integers
    (:func:`~tensorexpr.core.denominators.clear_denominators`, ranks unchanged) unless ``method="numeric"``.

    Parameters
    ----------
    x : Network or array_like
        A network (its grid tensor is evaluated) or a tensor with one axis per mode.
    P : Partition
        Over ``x``'s modes.
    method : str, optional
        ``"numeric"`` (float64 SVD, ``tol=``/``rtol=``, ``backend=``, ``device=``), ``"exact"`` (integer
        networks or tensors: GF(p) or Q, ``field=``, ``prime=``), ``"structured"`` (never forms the dense
        tensor), or any method added with :func:`register_rank_method`.
    **kwargs
        Passed to the method (``output=``, ``memory_budget=`` for networks, ...).

    Returns
    -------
    RankResult
        ``field`` and ``certifies`` say what the number proves (a GF(p) or Q rank of an integer instance is a
        lower bound on the generic rank; a float SVD rank is numeric evidence only).

    Raises
    ------
    RankError
        On an unknown method, an ``x`` that is neither a network nor a tensor, an option the method does not
        take, ``method="exact"`` on a float network or tensor, an unknown ``field`` or a bad ``prime``.
    PartitionError
        When ``P`` is not a partition over ``x``'s modes.
    BudgetError
        When a dense exact matricization is over the size limit, or the grid tensor over ``memory_budget``.

    References
    ----------
    Cohen & Shashua, "Inductive Bias of Deep Convolutional Networks through Pooling Geometry", ICLR 2017.

    Examples
    --------
    >>> import tensorexpr as te
    >>> from tensorexpr.rank import rank
    >>> net = te.convac(te.ModeTree.line(8), M=3, widths=2, seed=0, integer=True)
    >>> rank(net, te.Partition.odd_even(8), method="exact").rank
    16
    """
    if method not in RANK_METHODS:
        raise RankError(f"Unknown rank method {method!r}; expected one of {sorted(RANK_METHODS)}.")
    if not isinstance(x, Network) and not hasattr(x, "shape"):
        if x is None or isinstance(x, (str, bytes, dict)):
            raise RankError(f"rank needs a te.Network or a tensor with one axis per mode, got {type(x).__name__}.")
        x = np.asarray(x)
    _check_partition(x, P)
    x = _exact_form(x, method)
    try:
        return RANK_METHODS[method](x, P, **kwargs)
    except TypeError as exc:
        if "unexpected keyword" in str(exc):
            raise RankError(f"method={method!r} does not take that option: {exc}.") from None
        raise


@register_rank_method("structured")
def _structured(x: Any, P: Partition, prime: int | None = None, output: int = 0, **kw: Any) -> RankResult:
    from tensorexpr.rank.structured import structured_rank

    return structured_rank(x, P, prime=prime, output=output, **kw)


def rank_many(x: Any, partitions: Any, method: str = "numeric", output: int = 0, **kwargs: Any) -> list[RankResult]:
    """:func:`rank` over several partitions, evaluating a network's dense grid tensor once.

    ``numeric`` evaluates the float grid tensor once; ``exact`` evaluates the exact integer tensor once when it
    is small (ranks over Q or GF(p) per partition, as ``field=`` says), else the tensor mod p once (ranks over
    GF(p)). Other methods (``structured``), and tensors given directly, run :func:`rank` per partition.

    Parameters
    ----------
    x : Network or array_like
        As for :func:`rank`.
    partitions : iterable of Partition
        All are checked before any work.
    method : str, optional
        As for :func:`rank`.
    output : int, optional
        The output channel of a network.
    **kwargs
        As for :func:`rank`.

    Returns
    -------
    list of RankResult
        In the order of ``partitions``.

    Raises
    ------
    RankError, PartitionError, BudgetError
        As :func:`rank`; ``RankError`` also for a ``prime`` that is not a prime below ``2^31``.

    Examples
    --------
    >>> import tensorexpr as te
    >>> net = te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0, integer=True)
    >>> [r.rank for r in rank_many(net, te.Partition.all_balanced(4), method="exact")]
    [2, 4, 4]
    """
    from tensorexpr.evaluate.grid import DEFAULT_PRIME, grid_tensor_mod
    from tensorexpr.rank.exact import RATIONAL_MAX_ENTRIES

    parts = list(partitions)
    for P in parts:
        _check_partition(x, P)
    x = _exact_form(x, method)
    if not isinstance(x, Network) or method not in ("numeric", "exact"):
        return [rank(x, P, method, output=output, **kwargs) if isinstance(x, Network) else rank(x, P, method, **kwargs)
                for P in parts]
    budget = kwargs.pop("memory_budget", None)
    if method == "numeric":
        A = grid_tensor(x, backend=kwargs.pop("backend", "numpy"), device=kwargs.pop("device", None), output=output,
                          memory_budget=budget)
        return [rank(A, P, "numeric", **kwargs) for P in parts]
    if not x.integer:
        return [rank(x, P, "exact", output=output, **kwargs) for P in parts]  # raises the clear error
    field = kwargs.pop("field", "auto")
    prime = check_field_prime(kwargs.pop("prime", None) or DEFAULT_PRIME, max_bits=31)
    if x.n_templates ** x.n_modes <= RATIONAL_MAX_ENTRIES or not x.op.multilinear or field == "rational":
        A = grid_tensor(x, backend="exact", output=output, memory_budget=budget)
        return [rank(A, P, "exact", field=field, prime=prime, **kwargs) for P in parts]
    A = grid_tensor_mod(x, prime, output=output, memory_budget=budget)
    return [rank(A, P, "exact", field="prime", prime=prime, **kwargs) for P in parts]
