"""Weight parametrizations: every node weight is free, fixed or tied (docs/design.md, "Parametrized weights").

A network's weights are values of an explicit parametrization. Each weighted node carries one of

* :class:`Tied` ``(block, basis)``: the weight is ``reshape(basis @ theta[block], shape)`` for the parameter
  vector ``theta[block]`` of the network (``basis=None`` is the identity map, ``weight = theta.reshape(shape)``).
  A block used by exactly one node through the identity map is a *free* weight; a block used by several
  nodes, or through a non-identity fixed map (a channel permutation, a circulant or Toeplitz structure), is
  *tied*.
* :data:`FIXED`: a constant (a 0/1 selection or swap, a given matrix). No bound may treat it as free.

A node with ``weight=None`` is a fixed identity (its channels pass through unchanged).

Nothing is inferred from object identity or writability: two nodes are tied exactly when their
parametrizations name the same block. Bounds, integer twins and certificates read this structure
(:meth:`tensorexpr.core.network.Network.weight_kind`, :meth:`~tensorexpr.core.network.Network.tie_key`,
:meth:`~tensorexpr.core.network.Network.with_params`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from tensorexpr.core.errors import NetworkError

__all__ = ["Tied", "Fixed", "FIXED", "WEIGHT_KINDS", "ParamSpec", "materialize", "freeze_vector", "digest"]

#: The kinds a node weight can have (see :meth:`tensorexpr.core.network.Network.weight_kind`).
WEIGHT_KINDS = ("free", "tied", "fixed", "identity")


def _as_numeric(a: Any, what: str) -> np.ndarray:
    if hasattr(a, "detach"):  # torch tensor
        a = a.detach().cpu().numpy()
    arr = np.array(a, copy=True)
    if arr.dtype.kind not in "iufO":
        raise NetworkError(f"{what} must be numeric, got dtype {arr.dtype}.")
    return arr


def is_immutable(a: np.ndarray) -> bool:
    """Whether ``a`` and every array it views are read-only (a read-only view of a writable buffer is not frozen).

    Parameters
    ----------
    a : numpy.ndarray
        The array to test.

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros(3); v = a.view(); v.setflags(write=False)
    >>> is_immutable(v)
    False
    """
    while isinstance(a, np.ndarray):
        if a.flags.writeable:
            return False
        a = a.base
    return True


def freeze_vector(v: Any, what: str = "A parameter block") -> np.ndarray:
    """A read-only 1-D copy of ``v`` (a parameter block's values).

    An already read-only 1-D numeric array (with a read-only base) is kept as it is: the library freezes what it
    builds, and a second copy per node made building O(N) slow. A torch tensor is detached and copied.

    Parameters
    ----------
    v : array_like
        Numeric values (integer, float, complex or object dtype, e.g. Fractions); any shape, flattened in C order.
    what : str, optional
        How an error names ``v``.

    Returns
    -------
    numpy.ndarray
        Read-only, 1-D.

    Raises
    ------
    NetworkError
        When ``v`` is not numeric (e.g. a string or boolean dtype).

    Examples
    --------
    >>> freeze_vector([[1, 2], [3, 4]]).tolist()
    [1, 2, 3, 4]
    """
    if isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype.kind in "iufO" and is_immutable(v):
        return v
    own = _as_numeric(v, what)  # a fresh copy: freezing it (and the 1-D view) freezes the whole buffer
    own.setflags(write=False)
    arr = own.reshape(-1)
    arr.setflags(write=False)
    return arr


def digest(a: np.ndarray) -> str:
    """A short content hash of an array (dtype, shape and values), for tie keys of constants.

    Parameters
    ----------
    a : numpy.ndarray
        Any array; object arrays are hashed through ``repr(a.tolist())``.

    Returns
    -------
    str
        24 hex digits (blake2b, 12 bytes).
    """
    h = hashlib.blake2b(digest_size=12)
    h.update(str(a.dtype).encode())
    h.update(str(a.shape).encode())
    if a.dtype.kind == "O":
        h.update(repr(a.tolist()).encode())
    else:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@dataclass(frozen=True, eq=False)
class Tied:
    """The weight is ``reshape(basis @ theta[block], shape)`` (C order); ``basis=None`` is the identity map.

    Parameters
    ----------
    block : str
        Name of the parameter block in :attr:`tensorexpr.core.network.Network.params`.
    basis : array (rows * cols, block size), optional
        A fixed linear map from the block's parameters to the flattened weight: a permutation, a
        block-circulant (group convolution) or Toeplitz (attribute convolution) structure.

    Raises
    ------
    NetworkError
        When ``block`` is not a non-empty string, or ``basis`` is not a 2-D numeric matrix.

    Examples
    --------
    >>> Tied("level1").key
    ('tied', 'level1', None)
    """

    block: str
    basis: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.block, str) or not self.block:
            raise NetworkError(f"A Tied parametrization needs a non-empty block name, got {self.block!r}.")
        if self.basis is not None:
            b = _as_numeric(self.basis, f"The basis of block {self.block!r}")
            if b.ndim != 2:
                raise NetworkError(
                    f"The basis of block {self.block!r} must be a 2-D matrix (weight entries, block size), got "
                    f"shape {b.shape}."
                )
            b.setflags(write=False)
            object.__setattr__(self, "basis", b)

    @property
    def key(self) -> tuple:
        """Equal keys give equal weights for every parameter value: ``('tied', block, digest(basis) or None)``."""
        return ("tied", self.block, None if self.basis is None else digest(self.basis))

    def __repr__(self) -> str:
        return f"Tied({self.block!r}{'' if self.basis is None else f', basis{self.basis.shape}'})"


@dataclass(frozen=True)
class Fixed:
    """A constant weight: no bound treats it as a free parameter, and integer twins keep it.

    Use the one instance :data:`FIXED`; all instances compare equal.
    """

    def __repr__(self) -> str:
        return "FIXED"


#: The one marker of a constant weight.
FIXED = Fixed()

#: What a node's ``param`` may be (``None`` at construction means "its own free block").
ParamSpec = Tied | Fixed | None


def materialize(param: Tied, theta: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    r"""The weight matrix that ``param`` gives for the block values ``theta``.

    .. math:: W = \operatorname{reshape}(B \, \theta, \text{shape})

    with ``B`` the identity when ``basis`` is ``None``.

    Parameters
    ----------
    param : Tied
        The parametrization of the node.
    theta : numpy.ndarray
        The 1-D values of block ``param.block``; object dtype (exact numbers) is kept exact.
    shape : tuple of (int, int)
        The weight's shape.

    Returns
    -------
    numpy.ndarray
        Of shape ``shape``.

    Raises
    ------
    NetworkError
        When ``theta`` has the wrong size for the identity map, or the basis shape is not
        ``(rows * cols, theta.size)``.

    Examples
    --------
    >>> import numpy as np
    >>> materialize(Tied("b"), np.arange(4.0), (2, 2)).tolist()
    [[0.0, 1.0], [2.0, 3.0]]
    """
    size = shape[0] * shape[1]
    if param.basis is None:
        if theta.size != size:
            raise NetworkError(
                f"Block {param.block!r} has {theta.size} parameters but a weight of shape {shape} needs {size} "
                f"through the identity map. Hint: give a basis of shape ({size}, {theta.size}) or resize the block."
            )
        return theta.reshape(shape)
    b = param.basis
    if b.shape != (size, theta.size):
        raise NetworkError(
            f"Block {param.block!r}: basis has shape {b.shape} but a weight of shape {shape} from {theta.size} "
            f"parameters needs ({size}, {theta.size})."
        )
    if b.dtype.kind == "O" or theta.dtype.kind == "O":
        out = np.array([sum(b[i, k] * theta[k] for k in range(theta.size)) for i in range(size)], dtype=object)
    else:
        out = b @ theta
    return out.reshape(shape)


def check_params(params: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Validated, read-only parameter blocks.

    Parameters
    ----------
    params : Mapping
        Block name -> values; names are converted with ``str``.

    Returns
    -------
    dict of str to numpy.ndarray
        Read-only 1-D arrays (see :func:`freeze_vector`).

    Raises
    ------
    NetworkError
        When ``params`` is not a mapping or a block is not numeric.
    """
    if not isinstance(params, Mapping):
        raise NetworkError(f"params must be a mapping {{block name: values}}, got {type(params).__name__}.")
    return {str(k): freeze_vector(v, f"Parameter block {k!r}") for k, v in params.items()}
