"""How entangled a data set is under a partition of its features (docs/data.md).

A data set ``{(x_n, y_n)}`` with ``N`` features per sample and a feature map ``phi: R -> R^M`` defines the data
tensor (Alexander, Razin, Cohen et al., NeurIPS 2023)

.. math::
    \\mathcal{A} = \\frac{1}{\\|\\cdot\\|_F} \\sum_{n=1}^{n_s} y_n \\,
        \\phi(x_{n,1}) \\otimes \\cdots \\otimes \\phi(x_{n,N}) \\in \\mathbb{R}^{M \\times \\cdots \\times M}.

Its matricization under ``(I, J)`` is ``[A]_{I,J} = U_I \\operatorname{diag}(y) U_J^T`` with
``U_S[:, n] = \\otimes_{i \\in S} \\phi(x_{n,i})``. The ``M^N`` tensor is never formed: the Gram matrix of a side
is a Hadamard product of per-feature Grams,

.. math::
    G_S = U_S^T U_S, \\qquad G_S[n, m] = \\prod_{i \\in S} \\langle \\phi(x_{n,i}), \\phi(x_{m,i}) \\rangle,

and with any factor ``G_S = E_S E_S^T`` the singular values of ``[A]_{I,J}`` are those of the small matrix
``E_I^T \\operatorname{diag}(y) E_J`` (both sides factored), or the square roots of the eigenvalues of
``E_I^T D G_J D E_I`` (one side factored). A side with ``M^{|S|}`` no larger than ``explicit_max`` is factored
explicitly (``E_S = U_S^T``, row-wise Kronecker products); a larger one by a pivoted Cholesky factor of ``G_S``
(``method="exact"``) or by a Nystrom factor on ``landmarks`` random samples (``method="nystrom"``; exact when
``landmarks >= n``, an estimate otherwise). When both sides are too large to write out, the exact method forms
``L^T (P^T D G_J D P) L`` from the pivoted factor ``P^T G_I P = L L^T`` by LAPACK's congruence ``dsygst``
(``n^3`` flops, against ``4 n^2 r`` for the two products).

The entanglement entropy is ``-sum_k p_k log p_k`` with ``p_k = sigma_k^2`` of the normalized tensor; the
effective rank is ``exp(entropy)`` (Roy & Vetterli, 2007).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, Union

import numpy as np

from tensorexpr.core.errors import BudgetError, DataError
from tensorexpr.core.partitions import Partition

__all__ = ["FEATURE_MAPS", "register_feature_map", "DataEntanglement", "data_entanglement", "feature_embedding",
           "DataGrams", "HadamardGram", "Scratch", "SidePair", "PivotedCholesky", "pivoted_cholesky", "psd_factor",
           "DEFAULT_MEMORY_BUDGET", "DEFAULT_RTOL", "NOISE_FLOOR", "check_labels", "resolve_method",
           "spectrum_from_squares"]

FeatureMap = Union[str, Callable[[np.ndarray], np.ndarray]]

#: Squared singular values below this times ``k * sigma_1^2`` (``k`` of them) are rounding noise of the Gram path.
NOISE_FLOOR = 64 * float(np.finfo(np.float64).eps)
#: Default relative tolerance of the reported rank (on singular values; the Gram path resolves ~1e-8).
DEFAULT_RTOL = 1e-6

#: Bytes the Gram matrices of one call may hold (n x n float64 each).
DEFAULT_MEMORY_BUDGET = 4 * 2**30


def _cos_sin(x: np.ndarray) -> np.ndarray:
    return np.stack([np.cos(np.pi * x / 2), np.sin(np.pi * x / 2)], axis=-1)


def _affine(x: np.ndarray) -> np.ndarray:
    return np.stack([np.ones_like(x), x], axis=-1)


#: Built-in feature maps ``phi: R -> R^M``, applied entrywise to features scaled to ``[0, 1]``.
#: ``cos-sin`` is the map of Stoudenmire & Schwab (2016) used by Alexander et al. (2023).
FEATURE_MAPS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"cos-sin": _cos_sin, "affine": _affine}


def register_feature_map(name: str, fn: Callable[[np.ndarray], np.ndarray]) -> None:
    """Add a named feature map to :data:`FEATURE_MAPS`.

    Parameters
    ----------
    name : str
        The registry key; must be new.
    fn : callable
        Maps an array of features of shape ``(n,)`` to ``(n, M)``.

    Raises
    ------
    DataError
        If ``name`` is already registered.
    """
    if name in FEATURE_MAPS:
        raise DataError(f"feature map {name!r} is already registered. Hint: pick another name.")
    FEATURE_MAPS[name] = fn


def feature_embedding(X: Any, feature_map: FeatureMap = "cos-sin") -> np.ndarray:
    """``phi`` applied to every feature: an array of shape ``(n, N, M)`` in float64.

    Parameters
    ----------
    X : array_like, shape (n, N)
        The samples, one row each; finite reals.
    feature_map : str or callable
        A key of :data:`FEATURE_MAPS` or a function mapping ``(n,)`` to ``(n, M)``.

    Returns
    -------
    numpy.ndarray
        ``Phi[n, i, :] = phi(X[n, i])``.

    Raises
    ------
    DataError
        If ``X`` is not a finite 2-D array, the map is unknown, or it returns the wrong shape or non-finite values.
    """
    X = np.asarray(X, dtype=np.float64) if not isinstance(X, np.ndarray) or X.dtype != np.float64 else X
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 2:
        raise DataError(f"X must be a 2-D array (samples x features, at least 2 features), got shape {X.shape}. "
                        f"Hint: flatten images with X.reshape(len(X), -1).")
    if not np.all(np.isfinite(X)):
        raise DataError(f"X holds {int(np.sum(~np.isfinite(X)))} non-finite value(s). Hint: impute or drop them.")
    if isinstance(feature_map, str):
        if feature_map not in FEATURE_MAPS:
            raise DataError(f"feature_map={feature_map!r} is unknown; expected one of {sorted(FEATURE_MAPS)} or a "
                            f"callable (n,) -> (n, M).")
        fn = FEATURE_MAPS[feature_map]
    elif callable(feature_map):
        fn = feature_map
    else:
        raise DataError(f"feature_map must be a name or a callable, got {type(feature_map).__name__}.")
    cols = [np.asarray(fn(X[:, i]), dtype=np.float64) for i in range(X.shape[1])]
    M = cols[0].shape[-1] if cols[0].ndim == 2 else -1
    for i, c in enumerate(cols):
        if c.shape != (X.shape[0], M) or M < 1:
            raise DataError(f"feature_map returned shape {c.shape} for feature {i}; expected ({X.shape[0]}, M) with "
                            f"the same M for every feature.")
    Phi = np.stack(cols, axis=1)
    if not np.all(np.isfinite(Phi)):
        raise DataError("feature_map returned non-finite values. Hint: scale features to [0, 1] first.")
    return Phi


def check_labels(y: Any, n: int) -> np.ndarray:
    """``y`` as float64 of shape ``(n,)``, finite and not all zero, else :class:`DataError`.

    Parameters
    ----------
    y : array_like
        One real label per sample.
    n : int
        Number of samples.

    Returns
    -------
    numpy.ndarray
        ``y`` as float64, shape ``(n,)``.

    Raises
    ------
    DataError
        When ``y`` has another shape, a non-finite entry, or is all zero.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (n,):
        raise DataError(f"y must have shape ({n},) (one real label per sample), got {y.shape}. Hint: for several "
                        f"classes use te.geometry_fit (one-vs-rest) or pass +1/-1 labels of one class.")
    if not np.all(np.isfinite(y)) or not np.any(y):
        raise DataError("y must be finite and not all zero (the data tensor would vanish).")
    return y


@dataclass(frozen=True)
class DataEntanglement:
    """The singular spectrum of the normalized data tensor under one partition.

    Attributes
    ----------
    partition : str
        The partition's name.
    singular_values : numpy.ndarray
        Descending, normalized so that their squares sum to 1.
    entropy : float
        ``-sum p_k log p_k``, ``p_k = sigma_k^2`` (natural log).
    effective_rank : float
        ``exp(entropy)``.
    rank : int
        The number of singular values above ``rtol`` (relative to the largest).
    method : str
        ``exact`` or ``nystrom`` (an estimate unless every sample is a landmark).
    n_samples, seconds
        Samples used and wall time.
    """

    partition: str
    singular_values: np.ndarray = field(repr=False)
    entropy: float
    effective_rank: float
    rank: int
    method: str
    n_samples: int
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (singular values as a list of floats).

        Returns
        -------
        dict
            ``partition``, ``entropy``, ``effective_rank``, ``rank``, ``method``, ``n_samples``, ``seconds`` and
            ``singular_values``.
        """
        return {"partition": self.partition, "entropy": self.entropy, "effective_rank": self.effective_rank,
                "rank": self.rank, "method": self.method, "n_samples": self.n_samples, "seconds": self.seconds,
                "singular_values": [float(s) for s in self.singular_values]}

    def __repr__(self) -> str:
        return (f"DataEntanglement({self.partition}: entropy={self.entropy:.4f}, effective rank="
                f"{self.effective_rank:.2f}, rank={self.rank}, {self.method}, n={self.n_samples}, {self.seconds:.3g}s)")


def spectrum_from_squares(sq: np.ndarray, name: str, method: str, n: int, rtol: float, t0: float) -> DataEntanglement:
    """A :class:`DataEntanglement` from squared singular values (any order).

    The Gram path computes ``sigma^2`` with an absolute error of a few ``eps * sigma_1^2``, so singular values
    below about ``sqrt(eps) sigma_1 ~ 1e-8 sigma_1`` are not resolved: squares under ``NOISE_FLOOR * sigma_1^2``
    are set to 0, and ``rtol`` should stay above ``1e-7``.

    Parameters
    ----------
    sq : numpy.ndarray
        Squared singular values of the (unnormalized) data tensor's matricization.
    name : str
        The partition's name.
    method : str
        ``exact`` or ``nystrom``, recorded.
    n : int
        Number of samples, recorded.
    rtol : float
        Relative threshold of the reported rank.
    t0 : float
        ``time.perf_counter()`` at the start, for ``seconds``.

    Returns
    -------
    DataEntanglement
        The spectrum normalized so that the squares sum to 1, its entropy, effective rank and rank.

    Raises
    ------
    DataError
        When every square is 0 after the noise floor (the data tensor vanishes).
    """
    sq = np.sort(np.clip(np.asarray(sq, dtype=np.float64), 0.0, None))[::-1]
    if sq.size:
        sq[sq < NOISE_FLOOR * max(sq.size, 1) * sq[0]] = 0.0
    total = float(sq.sum())
    if total <= 0:
        raise DataError(f"The data tensor vanishes under {name} (sum of labels times features is 0).")
    p = sq / total
    s = np.sqrt(p)
    nz = p[p > 0]
    entropy = float(-(nz * np.log(nz)).sum())
    rank = int(np.sum(s > rtol * s[0]))
    return DataEntanglement(name, s, entropy, math.exp(entropy), rank, method, n, time.perf_counter() - t0)


class Scratch:
    """Reusable float64 buffers of one call, handed out and given back explicitly (not a cache: one object per
    call, owned by its caller).

    A fresh ``n x n`` array is memory first touched (about 55 ms per 26 MB on a machine with transparent huge
    pages and ``defrag = madvise``), and the allocator does not reliably hand a freed one back: with the
    buffers recycled, a run of same-sized temporaries touches fresh memory only up to its peak (docs/data.md).
    """

    def __init__(self) -> None:
        self._spare: dict[tuple[int, ...], list[np.ndarray]] = {}

    def take(self, shape: tuple[int, ...]) -> np.ndarray:
        """A C-ordered float64 array of ``shape``, contents undefined.

        Parameters
        ----------
        shape : tuple of int

        Returns
        -------
        numpy.ndarray
        """
        free = self._spare.get(tuple(shape))
        return free.pop() if free else np.empty(shape)

    def give(self, *arrays: np.ndarray | None) -> None:
        """Give buffers back (or views of them, such as a transpose); the caller must hold no other use of them.

        Parameters
        ----------
        *arrays : numpy.ndarray or None
            None entries are skipped.
        """
        for a in arrays:
            if a is None:
                continue
            while isinstance(a.base, np.ndarray):
                a = a.base
            if a.flags.c_contiguous and a.flags.writeable and a.dtype == np.float64:
                free = self._spare.setdefault(a.shape, [])
                if not any(b is a for b in free):
                    free.append(a)


@dataclass(frozen=True)
class PivotedCholesky:
    """``P^T G P = L L^T`` for a PSD ``G`` (LAPACK ``dpstrf``), stopped at the numerical rank ``r``.

    Attributes
    ----------
    L : numpy.ndarray
        ``(n, n)``, Fortran order, lower triangular; columns ``r`` onwards are zero.
    perm : numpy.ndarray
        ``(n,)`` 0-based: ``P`` sends row ``k`` to row ``perm[k]`` (``G[perm][:, perm] = L L^T``).
    rank : int
        The numerical rank ``r``.
    """

    L: np.ndarray
    perm: np.ndarray
    rank: int

    @property
    def rows(self) -> np.ndarray:
        """``E`` of shape ``(n, r)`` with ``E E^T = G``."""
        E = np.zeros((self.L.shape[0], self.rank))
        E[self.perm] = self.L[:, :self.rank]
        return E


def pivoted_cholesky(G: np.ndarray, scratch: Scratch | None = None) -> PivotedCholesky | None:
    """The pivoted Cholesky factor of a PSD ``G`` (about a quarter of an eigendecomposition's cost), or None when
    LAPACK refuses it.

    Parameters
    ----------
    G : numpy.ndarray
        A symmetric positive semi-definite ``(n, n)`` float64 matrix (left unchanged).
    scratch : Scratch, optional
        Where the factor's buffer comes from (give ``L`` back when done with it).

    Returns
    -------
    PivotedCholesky or None
    """
    from scipy.linalg.lapack import dpstrf

    n = G.shape[0]
    tol = n * np.finfo(float).eps * max(float(np.max(np.diag(G))), 0.0)
    if scratch is not None:
        buf = scratch.take((n, n))
        np.copyto(buf, G)
        # buf.T is G (symmetric) in Fortran order: LAPACK factors it in place
        L, piv, r, info = dpstrf(buf.T, lower=1, tol=tol, overwrite_a=1)
    else:
        L, piv, r, info = dpstrf(G.T, lower=1, tol=tol)
    if info < 0:
        if scratch is not None:
            scratch.give(L)
        return None
    for j in range(1, min(int(r), n)):  # dpstrf leaves G above the diagonal; a column is contiguous in F order
        L[:j, j] = 0.0
    L[:, r:] = 0.0  # past the rank: the unfactored remainder
    return PivotedCholesky(L, piv - 1, int(r))


def psd_factor(G: np.ndarray) -> np.ndarray:
    """``E`` with ``E E^T = G`` for a PSD ``G``: pivoted Cholesky stopped at the numerical rank, an
    eigendecomposition if LAPACK refuses.

    Parameters
    ----------
    G : numpy.ndarray
        A symmetric positive semi-definite ``(n, n)`` float64 matrix.

    Returns
    -------
    numpy.ndarray
        ``E`` of shape ``(n, r)``, ``r`` the numerical rank.
    """
    c = pivoted_cholesky(G)
    if c is not None:
        return c.rows
    w, V = np.linalg.eigh(G)
    keep = w > max(w[-1], 0.0) * G.shape[0] * np.finfo(float).eps
    return V[:, keep] * np.sqrt(w[keep])


class DataGrams:
    """Per-sample Gram matrices of a data set, shared by every partition of one call (not a cache: one object
    per call, owned by its caller).

    Parameters
    ----------
    Phi : numpy.ndarray, shape (n, N, M)
        The embedded features (:func:`feature_embedding`).
    method : {"exact", "nystrom"}
        How a side too large to write out is factored.
    landmarks : int
        Nystrom landmarks (``method="nystrom"``).
    explicit_max : int
        The largest ``M^{|S|}`` written out as explicit Kronecker rows.
    seed : int
        Seed of the landmark draw.
    memory_budget : int
        Bytes of Gram matrices one side may hold.
    """

    def __init__(self, Phi: np.ndarray, method: str = "exact", landmarks: int = 1000,
                 explicit_max: int = 256, seed: int = 0, memory_budget: int = DEFAULT_MEMORY_BUDGET):
        if method not in ("exact", "nystrom"):
            raise DataError(f"method={method!r} is unknown; expected 'exact' or 'nystrom'.")
        if isinstance(landmarks, bool) or not isinstance(landmarks, (int, np.integer)) or landmarks < 1:
            raise DataError(f"landmarks must be an integer >= 1 (Nystrom samples), got {landmarks!r}. "
                            f"Hint: landmarks=500 (CLI: --landmarks 500).")
        self.Phi = Phi
        self.n, self.N, self.M = Phi.shape
        self.method, self.explicit_max = method, int(explicit_max)
        if method == "nystrom" and landmarks < self.n:
            rng = np.random.default_rng(seed)
            self.cols = np.sort(rng.choice(self.n, size=int(landmarks), replace=False))
        else:
            self.cols = None
        self.scratch = Scratch()
        k = self.n if self.cols is None else len(self.cols)
        need = 8 * self.n * k * 2
        if need > memory_budget:
            from tensorexpr.evaluate.grid import format_bytes

            raise BudgetError(f"data entanglement of {self.n} samples needs about {format_bytes(need)} of Gram "
                              f"matrices, over the budget of {format_bytes(memory_budget)}. Hint: "
                              f"method='nystrom' with landmarks=1000, or memory_budget=.")

    def gram(self, modes: Iterable[int]) -> np.ndarray:
        """``G_S[:, cols]`` (all columns for the exact method): the Hadamard product of per-feature Grams.

        Parameters
        ----------
        modes : iterable of int
            The feature positions ``S``.

        Returns
        -------
        numpy.ndarray
            ``(n, n)``, or ``(n, landmarks)`` for Nystrom: ``prod_{i in S} (Phi_i Phi_i^T)`` entrywise (all ones for an
            empty ``S``).
        """
        P = self.Phi if self.cols is None else self.Phi[self.cols]
        out = None
        for i in modes:
            g = self.Phi[:, i, :] @ P[:, i, :].T
            out = g if out is None else np.multiply(out, g, out=out)
        return np.ones((self.n, self.n if self.cols is None else len(self.cols))) if out is None else out

    def explicit(self, modes: Iterable[int]) -> np.ndarray:
        """``U_S^T`` of shape ``(n, M^{|S|})``: row-wise Kronecker products of the features in ``S``.

        Parameters
        ----------
        modes : iterable of int
            The feature positions ``S``, in Kronecker order.

        Returns
        -------
        numpy.ndarray
            ``(n, M^{|S|})``.
        """
        out = np.ones((self.n, 1))
        for i in modes:
            out = (out[:, :, None] * self.Phi[:, i, None, :]).reshape(self.n, -1)
        return out

    def factor(self, modes: tuple[int, ...], gram: np.ndarray | None = None) -> np.ndarray:
        """Some ``E_S`` with ``E_S E_S^T = G_S`` (exactly, or its Nystrom estimate).

        Parameters
        ----------
        modes : tuple of int
            The feature positions ``S``.
        gram : numpy.ndarray, optional
            ``G_S`` when already computed.

        Returns
        -------
        numpy.ndarray
            ``(n, k)``: the explicit rows when ``M^{|S|} <= explicit_max``, else a pivoted-Cholesky factor of ``G_S``
            (exact method) or the Nystrom factor ``G_S[:, L] V diag(w)^{-1/2}`` over the landmarks ``L``, with
        ``G_S[L, L] = V diag(w) V^T`` (eigenvalues near 0 dropped).
        """
        if self.M ** len(modes) <= self.explicit_max:
            return self.explicit(modes)
        G = self.gram(modes) if gram is None else gram
        if self.cols is None:
            return psd_factor(G)
        W = G[self.cols]  # landmarks x landmarks
        w, V = np.linalg.eigh(W)
        keep = w > max(w[-1], 0.0) * len(self.cols) * np.finfo(float).eps
        return G @ (V[:, keep] / np.sqrt(w[keep]))

    def squared_singular_values(self, I: tuple[int, ...], J: tuple[int, ...], y: np.ndarray,
                                grams: Mapping[str, np.ndarray | None] | None = None) -> np.ndarray:
        """Squared singular values of ``U_I diag(y) U_J^T`` (unnormalized).

        ``grams`` may carry precomputed ``G_I`` / ``G_J`` (keys ``"I"``, ``"J"``) to skip the Hadamard products.

        Parameters
        ----------
        I, J : tuple of int
            The two sides of the partition.
        y : numpy.ndarray
            ``(n,)`` labels.
        grams : mapping, optional
            Precomputed ``G_I`` / ``G_J``.

        Returns
        -------
        numpy.ndarray
            The squared singular values, in no particular order.
        """
        return self.side_pair(I, J, grams).squared(y)

    def side_pair(self, I: tuple[int, ...], J: tuple[int, ...],
                  grams: Mapping[str, np.ndarray | HadamardGram | None] | None = None) -> "SidePair":
        """The label-free half of the work for ``(I, J)``: one side's factor and the other side's factor or
        Gram, reusable for several label vectors.

        Parameters
        ----------
        I, J : tuple of int
            The two sides of the partition.
        grams : mapping, optional
            Precomputed ``G_I`` / ``G_J`` (keys ``"I"``, ``"J"``), arrays or :class:`HadamardGram`.

        Returns
        -------
        SidePair
            The smaller side's factor, and the larger side's factor (when it is small enough to write out, or with
            Nystrom) or its Gram.
        """
        given = grams or {}

        def dense(key: str) -> np.ndarray | None:
            g = given.get(key)
            return g.dense() if isinstance(g, HadamardGram) else g

        small, big = (I, J) if len(I) <= len(J) else (J, I)
        kb = "J" if big is J else "I"
        ks = "I" if kb == "J" else "J"
        if self.M ** len(big) <= self.explicit_max or self.cols is not None:
            return SidePair(self.factor(small, dense(ks)), self.factor(big, dense(kb)), None)
        if self.M ** len(small) > self.explicit_max:  # both sides n x n: the congruence with LAPACK dsygst
            c = pivoted_cholesky(self.gram(small) if given.get(ks) is None else dense(ks), self.scratch)
            Gb = self.gram(big) if given.get(kb) is None else dense(kb)
            if c is not None:
                return SidePair(None, None, Gb, c, self.scratch)
            return SidePair(self.factor(small, dense(ks)), None, Gb)
        # a small side's rows times the large side's Gram: a HadamardGram is applied block by block
        return SidePair(self.factor(small, dense(ks)), None, self.gram(big) if given.get(kb) is None else given[kb])


def _congruence_eigvals(G: np.ndarray, c: PivotedCholesky, y: np.ndarray, scratch: Scratch | None) -> np.ndarray:
    """Eigenvalues of ``L^T (P^T D G D P) L`` restricted to its leading ``r x r`` block (the rest is zero),
    with one ``n x n`` array besides ``G`` and ``L`` (a fresh array is memory first touched: docs/data.md).

    Parameters
    ----------
    G : numpy.ndarray
        The symmetric ``(n, n)`` Gram of the large side (left unchanged).
    c : PivotedCholesky
        The small side's factor.
    y : numpy.ndarray
        ``(n,)`` labels.
    scratch : Scratch or None
        Where the working array comes from, and goes back to.

    Returns
    -------
    numpy.ndarray
        The ``r`` eigenvalues.
    """
    from scipy.linalg.lapack import dsyevd, dsygst

    n, r, p = len(y), c.rank, c.perm
    if r == 0:  # a side whose Gram vanishes: the data tensor does too
        return np.zeros(0)
    yp = y[p]
    A = np.take(G, p, axis=0, out=None if scratch is None else scratch.take((n, n)))
    A *= yp[:, None]
    for i in range(0, n, 64):  # columns permuted in row blocks: no second n x n array
        A[i:i + 64] = A[i:i + 64, p] * yp
    # itype=2 overwrites the lower triangle with L^T A L: n^3 flops against 4 n^2 r for two matrix products.
    # A is symmetric, so A.T hands LAPACK the same matrix in Fortran order without a copy.
    C, info = dsygst(A.T, c.L, itype=2, lower=1, overwrite_a=1)
    if info != 0:
        raise DataError(f"LAPACK dsygst failed (info={info}) on a Gram congruence of size {n}.")
    flat = C.reshape(-1, order="F")
    for j in range(1, r if r < n else 0):  # the leading r x r block moved to the front (Fortran order), in place
        flat[j * r:(j + 1) * r] = flat[j * n:j * n + r]
    w, _, info = dsyevd(flat[:r * r].reshape((r, r), order="F"), compute_v=0, lower=1, overwrite_a=1)
    if scratch is not None:
        scratch.give(A)
    if info != 0:
        raise DataError(f"LAPACK dsyevd failed (info={info}) on a Gram congruence of size {r}.")
    return w


@dataclass(frozen=True)
class HadamardGram:
    """``G = G_1 o ... o G_j o (E_1 E_1^T) o ... o (E_k E_k^T)`` kept as its factors: dense Grams ``G_i`` and
    explicit rows ``E_i``, applied to thin matrices one row block at a time and never formed whole.

    Every fresh ``n x n`` array is memory first touched, and a formed product is two passes over it per factor;
    a row block of ``G`` (about 1 MB) stays in cache while it is built and used (docs/data.md).

    Attributes
    ----------
    grams : tuple of numpy.ndarray
        Dense factors, ``(n, n)`` each (exact method: every sample is a column); never written to.
    rows : tuple of numpy.ndarray
        Explicit factors, ``(n, m_k)`` each.
    """

    grams: tuple[np.ndarray, ...]
    rows: tuple[np.ndarray, ...] = ()

    def __post_init__(self) -> None:
        if not self.grams and not self.rows:
            raise DataError("HadamardGram needs at least one factor (a Gram or explicit rows); got none.")
        n = {a.shape[0] for a in self.grams + self.rows} | {a.shape[1] for a in self.grams}
        if len(n) != 1:
            raise DataError(f"HadamardGram factors disagree on the number of samples: {sorted(n)}.")

    @property
    def n(self) -> int:
        """The number of samples."""
        return (self.grams + self.rows)[0].shape[0]

    @property
    def block_rows(self) -> int:
        """Rows per block: about 1 MB of ``G``."""
        return max(16, 2**17 // max(self.n, 1))

    def block(self, i0: int, i1: int) -> np.ndarray:
        """Rows ``i0:i1`` of ``G``, a fresh array.

        Parameters
        ----------
        i0, i1 : int
            The row range.

        Returns
        -------
        numpy.ndarray
            ``(i1 - i0, n)``.
        """
        if self.grams:
            out = self.grams[0][i0:i1] * self.grams[1][i0:i1] if len(self.grams) > 1 else self.grams[0][i0:i1].copy()
            for g in self.grams[2:]:
                out *= g[i0:i1]
            rest = self.rows
        else:
            out, rest = self.rows[0][i0:i1] @ self.rows[0].T, self.rows[1:]
        for E in rest:
            out *= E[i0:i1] @ E.T
        return out

    def row_blocks(self) -> Iterator[tuple[slice, np.ndarray]]:
        """``(rows, G[rows])`` for consecutive blocks of :attr:`block_rows` rows.

        Yields
        ------
        rows : slice
        block : numpy.ndarray
            A fresh ``(len(rows), n)`` array.
        """
        b = self.block_rows
        for i in range(0, self.n, b):
            yield slice(i, i + b), self.block(i, i + b)

    def __matmul__(self, X: np.ndarray) -> np.ndarray:
        """``G @ X`` for an ``(n, m)`` matrix ``X``.

        Parameters
        ----------
        X : numpy.ndarray
            ``(n, m)``.

        Returns
        -------
        numpy.ndarray
            ``(n, m)``.
        """
        out = np.empty((self.n,) + X.shape[1:])
        for rows, blk in self.row_blocks():
            out[rows] = blk @ X
        return out

    def multiply_into(self, out: np.ndarray) -> np.ndarray:
        """``out *= G`` in place, block by block.

        Parameters
        ----------
        out : numpy.ndarray
            ``(n, n)``.

        Returns
        -------
        numpy.ndarray
            ``out``.
        """
        for rows, blk in self.row_blocks():
            out[rows] *= blk
        return out

    def dense(self, out: np.ndarray | None = None) -> np.ndarray:
        """``G`` as one ``(n, n)`` array.

        Parameters
        ----------
        out : numpy.ndarray, optional
            Where to write it (no factor may share its memory).

        Returns
        -------
        numpy.ndarray
        """
        out = np.empty((self.n, self.n)) if out is None else out
        for rows, blk in self.row_blocks():
            out[rows] = blk
        return out


@dataclass(frozen=True)
class SidePair:
    """The label-free half of one partition's work: the squared singular values for labels ``y`` (``D =
    diag(y)``) are those of ``E_small^T D E_big``, or the eigenvalues of ``E_small^T D G_big D E_small``, or,
    with the small side's pivoted Cholesky factor ``P^T G_small P = L L^T``, the eigenvalues of
    ``L^T (P^T D G_big D P) L`` (the same matrix: ``E_small = P L``)."""

    small: np.ndarray | None
    big_factor: np.ndarray | None
    big_gram: np.ndarray | HadamardGram | None
    small_cholesky: PivotedCholesky | None = None
    scratch: Scratch | None = None

    def squared_all(self, ys: Sequence[np.ndarray]) -> list[np.ndarray]:
        """:meth:`squared` for several label vectors; a :class:`HadamardGram` is applied once to all of them.

        Parameters
        ----------
        ys : sequence of numpy.ndarray
            ``(n,)`` label vectors.

        Returns
        -------
        list of numpy.ndarray
            The squared singular values for each, in order.
        """
        if (not isinstance(self.big_gram, HadamardGram) or self.small_cholesky is not None or len(ys) < 2
                or self.small.shape[1] == 0):
            return [self.squared(y) for y in ys]
        k = max(self.small.shape[1], 1)
        per = max(1, 2048 // k)  # labels per pass: D E stays at most n x 2048
        out: list[np.ndarray] = []
        for j in range(0, len(ys), per):
            DE = np.concatenate([y[:, None] * self.small for y in ys[j:j + per]], axis=1)
            H = self.big_gram @ DE
            out += [np.linalg.eigvalsh(DE[:, i * k:(i + 1) * k].T @ H[:, i * k:(i + 1) * k])
                    for i in range(DE.shape[1] // k)]
        return out

    def release(self) -> None:
        """Give the factor's buffer back to the scratch it came from (the pair is unusable afterwards)."""
        if self.scratch is not None and self.small_cholesky is not None:
            self.scratch.give(self.small_cholesky.L)

    def squared(self, y: np.ndarray) -> np.ndarray:
        """Squared singular values for the labels ``y``.

        Parameters
        ----------
        y : numpy.ndarray
            ``(n,)`` labels (the diagonal of ``D``).

        Returns
        -------
        numpy.ndarray
            The squared singular values (unnormalized, in no particular order).
        """
        c = self.small_cholesky
        if c is not None:
            return _congruence_eigvals(self.big_gram, c, y, self.scratch)
        DE = y[:, None] * self.small
        if self.big_factor is not None:
            return np.linalg.svd(DE.T @ self.big_factor, compute_uv=False) ** 2
        return np.linalg.eigvalsh(DE.T @ (self.big_gram @ DE))  # G @ DE first: a transposed left operand is slow


def data_entanglement(X: Any, y: Any, partition: Partition, feature_map: FeatureMap = "cos-sin",
                      method: str = "auto", landmarks: int = 1000, rtol: float = DEFAULT_RTOL, seed: int = 0,
                      memory_budget: int = DEFAULT_MEMORY_BUDGET) -> DataEntanglement:
    """The entanglement of a data set under one partition of its features.

    .. math::
        [\\mathcal{A}]_{I,J} = U_I \\operatorname{diag}(y) U_J^T / \\|\\cdot\\|_F,
        \\qquad S = -\\sum_k \\sigma_k^2 \\log \\sigma_k^2

    computed through per-side Gram matrices (Hadamard products of per-feature Grams), never the ``M^N`` tensor.

    Parameters
    ----------
    X : array_like, shape (n, N)
        Samples; feature ``i`` is mode ``i`` (docs/conventions.md). Scale features to ``[0, 1]`` for ``cos-sin``.
    y : array_like, shape (n,)
        Real labels (``+1 / -1`` for a binary task).
    partition : Partition
        ``(I, J)`` over the ``N`` features.
    feature_map : str or callable
        See :func:`feature_embedding`.
    method : {"auto", "exact", "nystrom"}
        ``auto`` is ``exact`` up to 4,000 samples and ``nystrom`` above.
    landmarks : int
        Nystrom landmarks.
    rtol : float
        Relative tolerance of the reported ``rank`` (singular values resolve to about ``1e-8 sigma_1``).
    seed : int
        Seed of the landmark draw.
    memory_budget : int
        Bytes the Gram matrices may hold; a larger call raises :class:`BudgetError` before allocating.

    Returns
    -------
    DataEntanglement

    Raises
    ------
    DataError
        Bad ``X``, ``y`` or feature map.
    PartitionError
        ``partition`` does not cover the ``N`` features.
    BudgetError
        The Gram matrices would exceed ``memory_budget``.

    References
    ----------
    Y. Alexander, N. De La Vega, N. Razin, N. Cohen, "What Makes Data Suitable for a Locally Connected Neural
    Network? A Necessary and Sufficient Condition Based on Quantum Entanglement", NeurIPS 2023.

    Examples
    --------
    >>> import numpy as np, tensorexpr as te
    >>> from tensorexpr.data import data_entanglement
    >>> X = np.random.default_rng(0).random((50, 4)); y = np.sign(X[:, 0] - 0.5)
    >>> r = data_entanglement(X, y, te.Partition([0, 1], 4))
    >>> bool(np.isclose((r.singular_values ** 2).sum(), 1.0)), r.rank <= 4
    (True, True)
    """
    from tensorexpr.core.validation import check_partition

    t0 = time.perf_counter()
    Phi = feature_embedding(X, feature_map)
    yv = check_labels(y, Phi.shape[0])
    check_partition(partition, Phi.shape[1], "te.data_entanglement", "the data set")
    grams = DataGrams(Phi, resolve_method(method, Phi.shape[0]), landmarks, seed=seed, memory_budget=memory_budget)
    sq = grams.squared_singular_values(partition.rows, partition.cols, yv)
    return spectrum_from_squares(sq, partition.name, grams.method, grams.n, rtol, t0)


def resolve_method(method: str, n: int) -> str:
    """``auto`` -> ``exact`` up to 4,000 samples, ``nystrom`` above; anything else must be one of the two.

    Parameters
    ----------
    method : str
        ``auto``, ``exact`` or ``nystrom``.
    n : int
        Number of samples.

    Returns
    -------
    str
        ``exact`` or ``nystrom``.

    Raises
    ------
    DataError
        For any other method.
    """
    if method == "auto":
        return "exact" if n <= 4000 else "nystrom"
    if method not in ("exact", "nystrom"):
        raise DataError(f"method={method!r} is unknown; expected 'auto', 'exact' or 'nystrom'.")
    return method
