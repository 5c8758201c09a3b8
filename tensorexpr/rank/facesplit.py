"""Face-splitting (row-wise Khatri-Rao) products of explicit bases, for overlapping networks.

Used by :mod:`tensorexpr.rank.structured` at a product-pooling node whose children share input modes (a
DAG from :func:`tensorexpr.build.overlapping`, a copy hyper-edge in the tensor network). With
``phi_x[a] = P_x K_x[a] Q_x^T`` and ``phi_y[a] = P_y K_y[a] Q_y^T`` over receptive fields that may overlap,
their entrywise product on the union of modes is

.. math::
    \\phi_x[a] \\odot \\phi_y[a] = (P_x \\bullet P_y) \\, (K_x[a] \\otimes K_y[a]) \\, (Q_x \\bullet Q_y)^{\\top},

where ``(P_x . P_y)[u, (i, k)] = P_x[u|_{I_x}, i] * P_y[u|_{I_y}, k]`` for every assignment ``u`` of the
union of the row modes: a Kronecker product on the modes only one side has, and a "diagonal" (equal values)
on the shared ones. The result need not have full column rank, so :func:`reduce_basis` re-factors it over
GF(p) (``B = B[:, pivots] @ C``) and :func:`kron_core` folds ``C`` into the core, contracting it with the
two factors in turn so that the Kronecker product of the cores is never formed.
"""

from __future__ import annotations

import string
from typing import Callable

import numpy as np

from tensorexpr.core.errors import BudgetError
from tensorexpr.core.network import Network
from tensorexpr.core.partitions import Partition
from tensorexpr.rank.modp import NUMPY_RANK_MAX_SIDE, colspace_factor, matmul_mod_p, rref_mod_p

__all__ = ["face_split", "fmatmul", "tall_colspace", "chunked_rowspace", "reduce_basis", "kron_core", "overlap_step", "explicit_sides", "overlap"]

_LETTERS = string.ascii_letters


def face_split(X: np.ndarray, mx: tuple[int, ...], Y: np.ndarray, my: tuple[int, ...], T: int,
               p: int) -> tuple[np.ndarray, tuple[int, ...]]:
    r"""Face-splitting product of two explicit bases over (possibly overlapping) mode tuples.

    ``X`` has ``T^len(mx)`` rows (C order over the modes ``mx``, ``T`` values each) and ``a`` columns; ``Y``
    likewise over ``my`` with ``b`` columns.

    .. math:: Z[u, (i, k)] = X[u|_{m_x}, i] \, Y[u|_{m_y}, k] \bmod p

    Parameters
    ----------
    X, Y : numpy.ndarray
        The two bases (integer entries, reduced mod ``p``).
    mx, my : tuple of int
        The modes of the rows of ``X`` and ``Y``.
    T : int
        Values per mode (the number of templates).
    p : int
        A prime below ``2^31``.

    Returns
    -------
    Z : numpy.ndarray
        Shape ``(T^len(modes), a * b)``, column ``i * b + k`` (the order of ``np.kron``).
    modes : tuple of int
        The sorted union of ``mx`` and ``my``.

    Raises
    ------
    BudgetError
        When the union has more modes than one einsum can index (50).

    Examples
    --------
    >>> import numpy as np
    >>> Z, m = face_split(np.eye(2, dtype=np.int64), (0,), np.eye(2, dtype=np.int64), (0,), 2, 7)
    >>> Z.tolist(), m
    ([[1, 0, 0, 0], [0, 0, 0, 1]], (0,))
    """
    modes = tuple(sorted(set(mx) | set(my)))
    if len(modes) + 2 > len(_LETTERS):
        raise BudgetError(f"face-splitting product over {len(modes)} modes: more than one einsum can index "
                          f"({len(_LETTERS) - 2}). Hint: te.mincut_bound / te.certify.")
    let = {m: _LETTERS[i] for i, m in enumerate(modes)}
    ca, cb = _LETTERS[len(modes)], _LETTERS[len(modes) + 1]
    sx = "".join(let[m] for m in mx) + ca
    sy = "".join(let[m] for m in my) + cb
    so = "".join(let[m] for m in modes) + ca + cb
    Xr = np.mod(X, p).reshape((T,) * len(mx) + (X.shape[1],))
    Yr = np.mod(Y, p).reshape((T,) * len(my) + (Y.shape[1],))
    # a pure product of two residues < 2^62: exact in int64, reduced right after
    Z = np.einsum(f"{sx},{sy}->{so}", Xr, Yr) % p
    return np.ascontiguousarray(Z.reshape(T ** len(modes), X.shape[1] * Y.shape[1])), modes


def fmatmul(A: np.ndarray, B: np.ndarray, p: int) -> np.ndarray:
    """``A @ B mod p`` for residues in ``[0, p)``, exactly, on float64 BLAS when ``p < 2^26``.

    ``B = B_1 2^13 + B_0`` with ``B_0 < 2^13``: every product is below ``2^39`` and the sums of at most
    ``2^53 / (p 2^13)`` of them (a chunk of the inner dimension) stay below ``2^53``, so every partial sum,
    in whatever order BLAS adds, is an exact float64 integer. Larger primes go to
    :func:`~tensorexpr.rank.modp.matmul_mod_p`.

    Parameters
    ----------
    A, B : numpy.ndarray
        2-D ``int64`` matrices of residues in ``[0, p)`` (the float path does not reduce them first).
    p : int
        A modulus below ``2^31``.

    Returns
    -------
    numpy.ndarray
        ``int64``, entries in ``[0, p)``.

    Examples
    --------
    >>> import numpy as np
    >>> fmatmul(np.array([[3, 4]]), np.array([[5], [6]]), 7).tolist()
    [[4]]
    """
    if p >= 2**26 or A.shape[1] == 0:
        return matmul_mod_p(A, B, p)
    Af = A.astype(np.float64)
    B0 = (B & 8191).astype(np.float64)
    B1 = (B >> 13).astype(np.float64)
    step = max(1, 2**53 // (p * 8192))
    out = np.zeros((A.shape[0], B.shape[1]), dtype=np.float64)
    for s in range(0, A.shape[1], step):
        lo = np.fmod(Af[:, s : s + step] @ B0[s : s + step], p)
        hi = np.fmod(Af[:, s : s + step] @ B1[s : s + step], p)
        out = np.fmod(out + np.fmod(hi * 8192.0, p) + lo, p)
    return out.astype(np.int64)


def tall_colspace(X: np.ndarray, p: int, chunk: int = NUMPY_RANK_MAX_SIDE) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~tensorexpr.rank.modp.colspace_factor` for tall matrices, ``X = X[:, pivots] @ R``.

    ``R`` is the reduced row echelon form of the row space, built from chunks of rows: each chunk is reduced
    against the current ``R`` by one BLAS product (:func:`fmatmul`), and its residual rows go through a small
    numpy elimination (chunks of at most 96 rows). Costs ``O(m n rank)`` BLAS flops and never moves the
    ``m x n`` entries through python-flint's lists; the result is the same as ``colspace_factor`` (the rref
    of a row space is unique). Used for tall bases and, on DAG networks, for the re-compressions.

    Parameters
    ----------
    X : numpy.ndarray
        A 2-D integer matrix.
    p : int
        A prime below ``2^31``.
    chunk : int, optional
        Rows per chunk.

    Returns
    -------
    U : numpy.ndarray
        ``X[:, pivots] mod p``.
    R : numpy.ndarray
        The nonzero rows of the rref of ``X``.
    """
    X = np.mod(np.asarray(X, dtype=np.int64), p)
    m, n = X.shape
    R = np.zeros((0, n), dtype=np.int64)
    piv: list[int] = []
    for s in range(0, m, chunk):
        Y = X[s : s + chunk]
        if piv:
            Y = np.mod(Y - fmatmul(Y[:, piv], R, p), p)
        Y = Y[np.any(Y != 0, axis=1)]
        if not len(Y):
            continue
        R2, piv2 = rref_mod_p(Y, p)
        if piv:
            R = np.mod(R - fmatmul(R[:, piv2], R2, p), p)
        R = np.vstack([R, R2])
        piv = piv + list(piv2)
        order = np.argsort(piv)
        R, piv = R[order], [piv[i] for i in order]
        if len(piv) == n:
            break
    return X[:, piv], R


def chunked_rowspace(X: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~tensorexpr.rank.modp.rowspace_factor` by :func:`tall_colspace` on the transpose.

    Parameters
    ----------
    X : numpy.ndarray
        A 2-D integer matrix (wide).
    p : int
        A prime below ``2^31``.

    Returns
    -------
    C : numpy.ndarray
        Shape ``(m, rank)``.
    V : numpy.ndarray
        ``X[pivots, :] mod p``, shape ``(rank, n)``.
    """
    U, C = tall_colspace(np.ascontiguousarray(X.T), p)
    return C.T, U.T


def reduce_basis(B: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``B = U C`` over GF(p) with ``U = B[:, pivots]`` of full column rank; ``C`` is None when ``U = B``.

    Parameters
    ----------
    B : numpy.ndarray
        A 2-D integer basis; tall ones (more than twice as many rows as columns) go through :func:`tall_colspace`.
    p : int
        A prime below ``2^31``.

    Returns
    -------
    U : numpy.ndarray
    C : numpy.ndarray or None
        ``None`` when ``B`` already has full column rank.
    """
    U, C = tall_colspace(B, p) if B.shape[0] > 2 * B.shape[1] else colspace_factor(B, p)
    return U, (None if U.shape[1] == B.shape[1] else C)


def _left(C: np.ndarray, X: np.ndarray, Y: np.ndarray, p: int) -> np.ndarray:
    """``C (X[g] (x) Y[g])`` for every channel ``g`` without forming the Kronecker product.

    ``C`` is ``(k, a1 a2)``, ``X`` ``(r, a1, b1)``, ``Y`` ``(r, a2, b2)``; returns ``(r, k, b1 b2)``.
    Cost ``k a1 b2 (a2 + b1)`` per channel instead of ``k a1 a2 b1 b2``.
    """
    r, a1, b1 = X.shape
    _, a2, b2 = Y.shape
    k = C.shape[0]
    Cr = C.reshape(k * a1, a2)
    out = np.empty((r, k, b1 * b2), dtype=np.int64)
    for g in range(r):
        T1 = fmatmul(Cr, Y[g], p).reshape(k, a1, b2).transpose(0, 2, 1).reshape(k * b2, a1)
        T2 = fmatmul(T1, X[g], p).reshape(k, b2, b1).transpose(0, 2, 1)
        out[g] = T2.reshape(k, b1 * b2)
    return out


def kron_core(X: np.ndarray, Y: np.ndarray, CP: np.ndarray | None, CQ: np.ndarray | None, p: int) -> np.ndarray:
    """``CP (X[g] (x) Y[g]) CQ^T`` for every channel ``g``, ``None`` standing for the identity.

    The Kronecker product of the cores is formed only when both factors are ``None``.

    Parameters
    ----------
    X : numpy.ndarray
        Shape ``(r, a1, b1)``, residues mod ``p``.
    Y : numpy.ndarray
        Shape ``(r, a2, b2)``.
    CP : numpy.ndarray or None
        Shape ``(kp, a1 a2)``.
    CQ : numpy.ndarray or None
        Shape ``(kq, b1 b2)``.
    p : int
        A prime below ``2^31``.

    Returns
    -------
    numpy.ndarray
        Shape ``(r, kp, kq)`` (``kp = a1 a2`` without ``CP``, ``kq = b1 b2`` without ``CQ``).
    """
    if CP is not None:
        K = _left(CP, X, Y, p)
        if CQ is not None:
            r, kp, n = K.shape
            K = fmatmul(K.reshape(r * kp, n), CQ.T, p).reshape(r, kp, CQ.shape[0])
        return K
    if CQ is not None:  # (X (x) Y) CQ^T = (CQ (X^T (x) Y^T))^T
        return np.ascontiguousarray(_left(CQ, X.transpose(0, 2, 1), Y.transpose(0, 2, 1), p).transpose(0, 2, 1))
    r, a1, b1 = X.shape
    _, a2, b2 = Y.shape
    return ((X[:, :, None, :, None] * Y[:, None, :, None, :]) % p).reshape(r, a1 * a2, b1 * b2)


def _absorbed_core(x: tuple, y: tuple, absorb: tuple[bool, bool], factors: list, T: int, p: int) -> np.ndarray:
    """Core of the product when a side is *absorbed*: its basis becomes the identity on the union of its
    modes (sorted, C order) and the core holds ``face_split(P_x K_x[g], P_y K_y[g])`` on that side, because
    ``(P_x . P_y)(K_x (x) K_y) = (P_x K_x) . (P_y K_y)``. The other side is a Kronecker product of the
    cores, times its factor when it was reduced."""
    Kx, Px, Qx, rx, cx = x
    Ky, Py, Qy, ry, cy = y
    modes_r = sorted(set(rx) | set(ry)) if absorb[0] else []
    modes_c = sorted(set(cx) | set(cy)) if absorb[1] else []
    if len(modes_r) + len(modes_c) + 4 > len(_LETTERS):
        raise BudgetError(f"absorbed block over {len(modes_r) + len(modes_c)} modes: more than one einsum can "
                          f"index. Hint: te.mincut_bound / te.certify.")
    let: dict = {}
    for key in [("r", m) for m in modes_r] + [("c", m) for m in modes_c] + ["i", "k", "j", "l"]:
        let[key] = _LETTERS[len(let)]
    sxr = "".join(let[("r", m)] for m in rx) if absorb[0] else let["i"]
    syr = "".join(let[("r", m)] for m in ry) if absorb[0] else let["k"]
    sxc = "".join(let[("c", m)] for m in cx) if absorb[1] else let["j"]
    syc = "".join(let[("c", m)] for m in cy) if absorb[1] else let["l"]
    so_r = "".join(let[("r", m)] for m in modes_r) if absorb[0] else let["i"] + let["k"]
    so_c = "".join(let[("c", m)] for m in modes_c) if absorb[1] else let["j"] + let["l"]
    out = []
    for g in range(Kx.shape[0]):
        Ax, Ay = Kx[g], Ky[g]
        if absorb[0]:
            Ax, Ay = fmatmul(Px, Ax, p), fmatmul(Py, Ay, p)
        if absorb[1]:
            Ax, Ay = fmatmul(Ax, Qx.T, p), fmatmul(Ay, Qy.T, p)
        Axr = Ax.reshape(_axes(Ax.shape[0], len(rx), absorb[0], T) + _axes(Ax.shape[1], len(cx), absorb[1], T))
        Ayr = Ay.reshape(_axes(Ay.shape[0], len(ry), absorb[0], T) + _axes(Ay.shape[1], len(cy), absorb[1], T))
        Z = np.einsum(f"{sxr}{sxc},{syr}{syc}->{so_r}{so_c}", Axr, Ayr) % p
        rows = int(np.prod(Z.shape[: len(so_r)]))
        Z = Z.reshape(rows, -1)
        if factors[0] is not None:
            Z = fmatmul(factors[0], Z, p)
        if factors[1] is not None:
            Z = fmatmul(Z, factors[1].T, p)
        out.append(Z)
    return np.ascontiguousarray(np.stack(out))


def _axes(size: int, n_modes: int, absorbed: bool, T: int) -> list[int]:
    """Axis sizes of one side of a block: one axis (basis coordinates), or one ``T`` axis per mode."""
    return [T] * n_modes if absorbed else [size]


def overlap_step(x: tuple, y: tuple, want: tuple[bool, bool], T: int, p: int,
                 check_basis: Callable[[int, int], None]) -> tuple:
    """Product of two compressed values ``(K, P, Q, rmodes, cmodes)`` whose fields share modes.

    Per side: a face-splitting product (shared modes) or a Kronecker product (disjoint, when the basis is
    wanted) of the bases, re-factored to full column rank, the factors applied to the core by
    :func:`kron_core`. A shared side whose face-splitting product would have at least as many columns as
    rows (``T^|union|``) is absorbed instead: its basis is the identity and no elimination runs.

    Parameters
    ----------
    x, y : tuple
        ``(K, P, Q, rmodes, cmodes)``: cores ``(r, a, b)``, row and column bases (or ``None``) and their modes.
    want : tuple of (bool, bool)
        Whether the row and the column basis of the product are needed explicitly.
    T : int
        Values per mode.
    p : int
        A prime below ``2^31``.
    check_basis : callable
        ``check_basis(rows, cols)``, the caller's budget check, called before each basis or block is formed.

    Returns
    -------
    tuple
        The product in the same form (``P``/``Q`` None when not wanted).

    Raises
    ------
    RuntimeError
        When a side shares modes but a basis is missing (an internal error of the caller).
    BudgetError
        From :func:`face_split` or ``check_basis``.
    """
    Kx, Px, Qx, rx, cx = x
    Ky, Py, Qy, ry, cy = y
    bases: list[np.ndarray | None] = []
    factors: list[np.ndarray | None] = []
    modes: list[tuple[int, ...]] = []
    absorb = []
    for Bx, By, mx, my, w in ((Px, Py, rx, ry, want[0]), (Qx, Qy, cx, cy, want[1])):
        shared = set(mx) & set(my)
        if shared and (Bx is None or By is None):
            raise RuntimeError(f"internal error: shared modes {sorted(shared)} without explicit bases.")
        union = tuple(sorted(set(mx) | set(my)))
        if shared and Bx.shape[1] * By.shape[1] >= T ** len(union):
            absorb.append(True)
            factors.append(None)
            modes.append(union)
            if w:
                check_basis(T ** len(union), T ** len(union))
                bases.append(np.eye(T ** len(union), dtype=np.int64))
            else:
                bases.append(None)
            continue
        absorb.append(False)
        if not w and not shared or Bx is None or By is None:
            bases.append(None)
            factors.append(None)
            modes.append(mx + my)
            continue
        if not shared:
            check_basis(Bx.shape[0] * By.shape[0], Bx.shape[1] * By.shape[1])
            bases.append(np.mod(np.kron(Bx, By), p))
            factors.append(None)
            modes.append(mx + my)
            continue
        check_basis(T ** len(union), Bx.shape[1] * By.shape[1])
        B, m = face_split(Bx, mx, By, my, T, p)
        U, C = reduce_basis(B, p)
        bases.append(U if w else None)
        factors.append(C)
        modes.append(m)
    if any(absorb):
        rows = T ** len(modes[0]) if absorb[0] else Kx.shape[1] * Ky.shape[1]
        cols = T ** len(modes[1]) if absorb[1] else Kx.shape[2] * Ky.shape[2]
        check_basis(rows, cols)  # one channel's block before the factors
        K = _absorbed_core(x, y, (absorb[0], absorb[1]), factors, T, p)
    else:
        K = kron_core(Kx, Ky, factors[0], factors[1], p)
    return K, bases[0], bases[1], modes[0], modes[1]


def overlap(modes: list[frozenset], side: frozenset) -> bool:
    """True when two of the receptive fields share a mode of ``side``.

    Parameters
    ----------
    modes : list of frozenset
        The receptive fields.
    side : frozenset
        ``I`` or ``J``.

    Returns
    -------
    bool

    Examples
    --------
    >>> fields = [frozenset({0, 1}), frozenset({1, 2})]
    >>> overlap(fields, frozenset({1})), overlap(fields, frozenset({0, 2}))
    (True, False)
    """
    seen: set[int] = set()
    for m in modes:
        s = m & side
        if seen & s:
            return True
        seen |= s
    return False


def explicit_sides(net: Network, P: Partition) -> tuple[set[str], set[str]]:
    """Nodes whose row (``P``) / column (``Q``) basis must be kept explicitly.

    The children of a sum node need both; the children of a pool node that share a row (column) mode need
    their row (column) basis for the face-splitting product; and an explicit basis needs its children's.

    Parameters
    ----------
    net : Network
    P : Partition

    Returns
    -------
    need_p, need_q : set of str
        Node ids.
    """
    I, J = frozenset(P.I), frozenset(P.J)
    need_p: set[str] = set()
    need_q: set[str] = set()
    for nd in reversed(net.live_nodes):
        kids = list(nd.children)
        if nd.kind == "sum":
            need_p.update(kids)
            need_q.update(kids)
        elif nd.kind == "pool" and len(kids) > 1:
            fields = [net.modes[c] for c in kids]
            if overlap(fields, I):
                need_p.update(kids)
            if overlap(fields, J):
                need_q.update(kids)
        if nd.id in need_p:
            need_p.update(kids)
        if nd.id in need_q:
            need_q.update(kids)
    return need_p, need_q
