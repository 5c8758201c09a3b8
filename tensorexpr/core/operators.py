"""The registry of pooling operators ``g`` of generalized tensor decompositions.

Cohen & Shashua, "Convolutional Rectifier Networks as Generalized Tensor Decompositions", ICML 2016:
replacing the outer product by :math:`(A \\otimes_g B)_{ij} = g(A_i, B_j)` with
:math:`g(a, b) = P(\\sigma(a), \\sigma(b))` covers ReLU ConvNets. Operators here are n-ary (a node may
pool more than two children) and work on numpy arrays, torch tensors and Python scalars alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import reduce
from typing import Any, Callable, Sequence

from tensorexpr.core.backends import is_torch_tensor, torch_module
from tensorexpr.core.errors import NetworkError

__all__ = ["Operator", "OPERATORS", "get_operator", "register_operator"]


def _relu(x: Any) -> Any:
    if hasattr(x, "clamp"):  # torch
        return x.clamp(min=0)
    import numpy as np

    if isinstance(x, np.ndarray) or np.isscalar(x):
        return np.maximum(x, 0) if isinstance(x, np.ndarray) else max(x, 0)
    return max(x, 0)


def _maximum(a: Any, b: Any) -> Any:
    if is_torch_tensor(a) or is_torch_tensor(b):
        torch = torch_module("a torch tensor")
        return torch.maximum(torch.as_tensor(a), torch.as_tensor(b))
    import numpy as np

    return np.maximum(a, b)


def _product(args: Sequence[Any]) -> Any:
    return reduce(lambda a, b: a * b, args)


def _relu_max(args: Sequence[Any]) -> Any:
    return _relu(reduce(_maximum, args))


def _relu_sum(args: Sequence[Any]) -> Any:
    return reduce(lambda a, b: a + b, (_relu(a) for a in args))


def _relu_avg(args: Sequence[Any]) -> Any:
    total = _relu_sum(args)
    if getattr(total, "dtype", None) == object or isinstance(total, (int, Fraction)):
        return total * Fraction(1, len(args))  # stay exact on Python ints
    return total / len(args)


@dataclass(frozen=True)
class Operator:
    """A pooling operator: ``combine(list of broadcastable arrays) -> array``.

    ``multilinear`` marks the product, whose networks are tensor networks (einsum, min-cut, structured
    rank). ``activation``/``pooling`` name the ReLU-net layers the operator stands for.
    """

    name: str
    combine: Callable[[Sequence[Any]], Any]
    multilinear: bool
    activation: str
    pooling: str
    description: str

    def __call__(self, args: Sequence[Any]) -> Any:
        return self.combine(args)


OPERATORS: dict[str, Operator] = {}


def register_operator(op: Operator) -> Operator:
    """Add an operator to the registry; every operator-parametrized test then covers it.

    Parameters
    ----------
    op : Operator
        The operator, under a new name.

    Returns
    -------
    Operator
        ``op`` itself.

    Raises
    ------
    NetworkError
        When an operator of that name is already registered.
    """
    if op.name in OPERATORS:
        raise NetworkError(f"Operator {op.name!r} is already registered.")
    OPERATORS[op.name] = op
    return op


register_operator(Operator("product", _product, True, "linear", "product", "ConvAC: g(a,b) = a*b"))
register_operator(Operator("relu-max", _relu_max, False, "relu", "max", "ReLU + max pooling: g(a,b) = max(a,b,0)"))
register_operator(Operator("relu-sum", _relu_sum, False, "relu", "sum", "ReLU + sum pooling: g(a,b) = relu(a)+relu(b)"))
register_operator(Operator("relu-avg", _relu_avg, False, "relu", "avg", "ReLU + avg pooling: g(a,b) = (relu(a)+relu(b))/2"))


def get_operator(op: str | Operator) -> Operator:
    """The operator named ``op`` in :data:`OPERATORS` (an :class:`Operator` is returned as is).

    Parameters
    ----------
    op : str or Operator
        A registered name (``product``, ``relu-max``, ``relu-sum``, ``relu-avg``, ...) or an operator.

    Returns
    -------
    Operator

    Raises
    ------
    NetworkError
        When ``op`` is a name that is not registered.
    """
    if isinstance(op, Operator):
        return op
    if op not in OPERATORS:
        raise NetworkError(f"Unknown operator {op!r}; expected one of {sorted(OPERATORS)}.")
    return OPERATORS[op]
