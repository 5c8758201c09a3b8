"""Which pooling geometry fits a data set: its entanglement under every canonical partition of a mode tree, a
ranking of geometries, and a feature rearrangement that lowers it (docs/data.md).

A locally connected network on a mode tree can fit a data distribution iff the data tensor has low entanglement
under the tree's *canonical partitions* ``(t, complement of t)``, one per node ``t`` (Alexander, Razin, Cohen et
al., NeurIPS 2023). :func:`geometry_fit` measures them all, sharing one Gram matrix per subtree and per
complement (each computed once by Hadamard products, bottom-up for subtrees and top-down for complements).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from tensorexpr.core.errors import DataError, GeometryError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.core.specs import parse_geometry
from tensorexpr.data.entanglement import (DEFAULT_MEMORY_BUDGET, DEFAULT_RTOL, DataEntanglement, DataGrams, FeatureMap,
                                          HadamardGram, check_labels, feature_embedding, resolve_method,
                                          spectrum_from_squares)

__all__ = ["GeometryFit", "geometry_fit", "node_grams", "rank_geometries", "rearrange", "STANDARD_GEOMETRIES", "canonical_nodes"]


def canonical_nodes(tree: ModeTree) -> tuple[frozenset, ...]:
    """The nodes whose canonical partitions a fit measures: every internal node but the root, and one of two
    complementary nodes only (a root with two children gives the same partition twice).

    Parameters
    ----------
    tree : ModeTree
        The pooling geometry.

    Returns
    -------
    tuple of frozenset
        The nodes, by level then smallest mode.
    """
    seen: set[frozenset] = set()
    out = []
    for t in sorted(tree.internal_nodes, key=lambda s: (tree.levels[s], min(s))):
        if t == tree.root:
            continue
        comp = tree.root - t
        if t in seen or comp in seen:
            continue
        seen.add(t)
        out.append(t)
    return tuple(out)


@dataclass(frozen=True)
class GeometryFit:
    """The entanglement of a data set under the canonical partitions of one mode tree.

    Attributes
    ----------
    geometry : str
        The tree's name.
    per_node : Mapping[frozenset, float]
        Node -> entanglement entropy of ``(node, complement)`` (averaged over classes for several classes).
    spectra : Mapping[frozenset, tuple[DataEntanglement, ...]]
        Node -> its spectra, one per class (one for real labels).
    total : float
        The mean entropy over :func:`canonical_nodes` (lower fits better).
    worst : float
        The largest entropy over them.
    """

    geometry: str
    per_node: Mapping[frozenset, float] = field(repr=False)
    spectra: Mapping[frozenset, tuple[DataEntanglement, ...]] = field(repr=False)
    total: float
    worst: float
    n_samples: int
    method: str
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields; nodes are sorted lists of modes.

        Returns
        -------
        dict
            ``geometry``, ``total``, ``worst``, ``n_samples``, ``method``, ``seconds`` and ``per_node`` (modes and entropy
            per node).
        """
        return {"geometry": self.geometry, "total": self.total, "worst": self.worst, "n_samples": self.n_samples,
                "method": self.method, "seconds": self.seconds,
                "per_node": [{"modes": sorted(t), "entropy": e} for t, e in self.per_node.items()]}

    def __repr__(self) -> str:
        return (f"GeometryFit({self.geometry}: mean entropy {self.total:.4f}, worst {self.worst:.4f} over "
                f"{len(self.per_node)} canonical partitions, n={self.n_samples}, {self.method}, {self.seconds:.3g}s)")


def _as_tree(tree: ModeTree | str, n_features: int) -> ModeTree:
    t = parse_geometry(tree) if isinstance(tree, str) else tree
    if not isinstance(t, ModeTree):
        raise GeometryError(f"tree must be a te.ModeTree or a geometry spec string, got {type(tree).__name__}.")
    if t.n_modes != n_features:
        raise GeometryError(f"The tree {t.name} has {t.n_modes} modes but the data has {n_features} features. "
                            f"Hint: a grid:HxW geometry needs H*W features.")
    return t


def _label_sets(y: Any, n: int) -> list[np.ndarray]:
    """Real labels as they are; integer labels of more than two classes one-vs-rest (+1 / -1)."""
    arr = np.asarray(y)
    if arr.shape == (n,) and np.issubdtype(arr.dtype, np.integer):
        classes = np.unique(arr)
        if len(classes) > 2:
            return [np.where(arr == c, 1.0, -1.0) for c in classes]
        if len(classes) == 2:
            return [np.where(arr == classes[1], 1.0, -1.0)]
    return [check_labels(y, n)]


def node_grams(grams: DataGrams, tree: ModeTree, nodes: Sequence[frozenset]
               ) -> Iterator[tuple[frozenset, np.ndarray | None, np.ndarray | HadamardGram | None]]:
    """``(t, G_t, G_{root - t})`` for every internal ``t`` in ``nodes``, depth-first.

    Subtree Grams are built once, bottom-up; complement Grams top-down, ``G_{root - c} = G_{root - t} o
    prod_{s != c} G_s`` over the siblings ``s`` of ``c``, each kept only while its subtree is visited. Every
    fresh ``n x n`` array is memory first touched (on a machine with transparent huge pages and ``defrag =
    madvise``, about 55 ms per 26 MB array at ``n = 1797``), so few are made: only the complements of the current
    path are held; a subtree with ``M^{|t|} <= explicit_max`` is kept as its explicit rows (``n x M^{|t|}``), and
    with the exact method the complement of such a subtree is a :class:`HadamardGram` (its factors, applied row
    block by row block; see docs/data.md).

    Parameters
    ----------
    grams : DataGrams
        The data set's Grams.
    tree : ModeTree
        The pooling geometry.
    nodes : sequence of frozenset
        Internal nodes (not the root) whose pair of Grams is wanted.

    Yields
    ------
    node : frozenset
        A node of ``nodes``.
    sub : numpy.ndarray or None
        ``G_node``; None when ``M^{|node|} <= grams.explicit_max`` (the side is written out as explicit rows).
    comp : numpy.ndarray, HadamardGram or None
        ``G_{root - node}`` (None for a complement with no modes; a HadamardGram for a small node, exact method).

    The yielded arrays are buffers of ``grams.scratch``, reused once the generator resumes: use them (and give
    back any SidePair built on them) before asking for the next node.
    """
    exact = grams.cols is None
    small = grams.explicit_max
    pool = grams.scratch
    sub: dict[frozenset, np.ndarray] = {}
    rows: dict[frozenset, np.ndarray] = {}  # small subtrees: explicit rows (n x M^|t|)
    # Arrays made here come from the call's Scratch and go back to it once nothing uses them; an array is made
    # (and given back) by exactly one owner: a sub entry, a kid Gram of one visit, or one complement.

    def value(node: frozenset) -> np.ndarray | HadamardGram:
        """``G_node``: a dense array (not ours to give back), or its explicit rows as a HadamardGram (exact
        method)."""
        E = rows.get(node)
        if E is None and tree.is_leaf(node) and grams.M ** len(node) <= small:
            E = grams.explicit(sorted(node))
        if E is None:
            return sub[node] if node in sub else grams.gram(sorted(node))
        if exact:
            return HadamardGram((), (E,))
        return E @ E[grams.cols].T

    def product(values: list[np.ndarray | HadamardGram], lazy: bool) -> tuple[np.ndarray | HadamardGram | None, bool]:
        """The Hadamard product of ``values`` (inputs intact), and whether it is a new Scratch array. A lone dense
        input is returned as is; ``lazy`` keeps the product as a HadamardGram of the inputs' factors."""
        mats = [g for v in values for g in (v.grams if isinstance(v, HadamardGram) else (v,))]
        factors = tuple(E for v in values if isinstance(v, HadamardGram) for E in v.rows)
        if lazy and (mats or factors):
            return HadamardGram(tuple(mats), factors), False
        if not mats and not factors:
            return None, False
        if len(mats) < 2:
            if not factors:
                return mats[0], False
            hg = HadamardGram(tuple(mats), factors)
            if not mats and len(factors) == 1:
                return np.matmul(factors[0], factors[0].T, out=pool.take((hg.n, hg.n))), True
            return hg.dense(pool.take((hg.n, hg.n))), True
        out = np.multiply(mats[0], mats[1], out=pool.take(mats[0].shape))
        for g in mats[2:]:
            out *= g
        return (HadamardGram((), factors).multiply_into(out) if factors else out), True

    def dense_value(node: frozenset) -> tuple[np.ndarray, bool]:
        """``G_node`` as a dense array, and whether it is a new Scratch array."""
        g, new = product([value(node)], lazy=False)
        assert isinstance(g, np.ndarray)
        return g, new

    for t in sorted(tree.internal_nodes, key=lambda s: tree.levels[s]):
        if t == tree.root:  # the root's Gram is no partition's side
            continue
        if grams.M ** len(t) <= small:
            rows[t] = grams.explicit(sorted(t))
        else:
            g, new = product([value(c) for c in tree.children(t)], lazy=False)
            assert new, "a ModeTree node has two or more children, so its Gram is a new array"
            sub[t] = g  # nothing writes into a sub
    want = set(nodes)

    def visit(t: frozenset, ct: np.ndarray | HadamardGram | None
              ) -> Iterator[tuple[frozenset, np.ndarray | None, np.ndarray | HadamardGram | None]]:
        kids = tree.children(t)
        # every child's Gram is a factor of each sibling's complement: formed once, dense
        kg = {s: dense_value(s) for s in kids if any(c is not s and not tree.is_leaf(c) for c in kids)}
        for c in kids:
            if tree.is_leaf(c):
                continue
            # a small node's complement is used only times its rows and by its (small) descendants
            g, new = product(([] if ct is None else [ct]) + [kg[s][0] for s in kids if s is not c],
                             lazy=exact and c in rows)
            if c in want:
                yield c, sub.get(c), g  # None for a small side: side_pair writes its rows out itself
            yield from visit(c, g)
            if new:
                pool.give(g)
            del g
        for c in kids:  # every use of the children's Grams is behind us
            if c in kg and kg[c][1]:
                pool.give(kg[c][0])
            if c in sub:
                pool.give(sub.pop(c))
            rows.pop(c, None)

    yield from visit(tree.root, None)


def geometry_fit(X: Any, y: Any, tree: ModeTree | str, feature_map: FeatureMap = "cos-sin", method: str = "auto",
                 landmarks: int = 1000, rtol: float = DEFAULT_RTOL, seed: int = 0,
                 memory_budget: int = DEFAULT_MEMORY_BUDGET) -> GeometryFit:
    """The data set's entanglement under every canonical partition of ``tree``.

    Parameters
    ----------
    X : array_like, shape (n, N)
        Samples; feature ``i`` is mode ``i`` (docs/conventions.md: pixel ``(r, c)`` of an ``H x W`` image is mode
        ``r * W + c``).
    y : array_like, shape (n,)
        Real labels, or integer class labels (several classes are measured one-vs-rest and averaged).
    tree : ModeTree or str
        The geometry, or a spec such as ``"grid:8x8:square"`` (see :mod:`tensorexpr.core.specs`).
    feature_map, method, landmarks, rtol, seed, memory_budget
        As in :func:`tensorexpr.data.data_entanglement`.

    Returns
    -------
    GeometryFit

    Raises
    ------
    DataError, GeometryError, BudgetError
        Bad data, a tree that does not match the features, or Gram matrices over budget. The budget covers one
        Gram matrix per internal node, and per level of the current path the children's Grams and a
        complement.

    References
    ----------
    Alexander, De La Vega, Razin & Cohen, NeurIPS 2023 (canonical partitions; entanglement as the criterion).

    Examples
    --------
    >>> import numpy as np, tensorexpr as te
    >>> from tensorexpr.data import geometry_fit
    >>> X = np.random.default_rng(0).random((40, 8)); y = np.sign(X[:, 0] - X[:, 1])
    >>> fit = geometry_fit(X, y, "line:8")
    >>> len(fit.per_node), fit.total >= 0
    (5, True)
    """
    t0 = time.perf_counter()
    Phi = feature_embedding(X, feature_map)
    n, N, _ = Phi.shape
    t = _as_tree(tree, N)
    nodes = canonical_nodes(t)
    labels = _label_sets(y, n)
    m = resolve_method(method, n)
    k = n if m == "exact" else min(n, landmarks)
    fan = max(len(t.children(s)) for s in t.internal_nodes)
    need = 8 * n * k * (len(t.internal_nodes) + (fan + 1) * t.depth + 2)  # subtrees, and per level kids + complement
    if need > memory_budget:
        from tensorexpr.core.errors import BudgetError

        from tensorexpr.evaluate.grid import format_bytes

        raise BudgetError(f"geometry_fit on {n} samples and {t.name} needs about {format_bytes(need)} of Gram "
                          f"matrices, over the budget of {format_bytes(memory_budget)}. Hint: method='nystrom', "
                          f"fewer samples, or memory_budget=.")
    spectra: dict[frozenset, list[DataEntanglement]] = {s: [] for s in nodes}
    grams = DataGrams(Phi, m, landmarks, seed=seed, memory_budget=memory_budget)
    ts = time.perf_counter()
    for s, g_s, g_c in node_grams(grams, t, nodes):  # labels do not change Grams or factors: once per node
        pair = grams.side_pair(tuple(sorted(s)), tuple(sorted(t.root - s)), {"I": g_s, "J": g_c})
        del g_s, g_c
        for sq in pair.squared_all(labels):
            spectra[s].append(spectrum_from_squares(sq, f"node{sorted(s)[:4]}", m, n, rtol, ts))
        pair.release()
        del pair
        ts = time.perf_counter()
    per_node = {s: float(np.mean([d.entropy for d in spectra[s]])) for s in nodes}
    vals = list(per_node.values()) or [0.0]
    return GeometryFit(t.name, per_node, {s: tuple(v) for s, v in spectra.items()}, float(np.mean(vals)),
                       float(np.max(vals)), n, m, time.perf_counter() - t0)


def _random_tree(h: int, w: int, seed: int) -> ModeTree:
    """The square quad tree on a random relabelling of the pixels (the baseline geometry)."""
    perm = np.random.default_rng(seed).permutation(h * w)
    base = ModeTree.grid(h, w)

    def relabel(node: Any) -> Any:
        return int(perm[node]) if isinstance(node, int) else tuple(relabel(c) for c in node)

    return ModeTree.from_nested(relabel(base.to_nested()), name=f"grid:{h}x{w}:random{seed}")


#: The geometries :func:`rank_geometries` compares on an ``h x w`` image.
STANDARD_GEOMETRIES: dict[str, Callable[[int, int], ModeTree]] = {
    "square": lambda h, w: ModeTree.grid(h, w, geometry="square"),
    "mirror": lambda h, w: ModeTree.grid(h, w, geometry="mirror"),
    "line": lambda h, w: ModeTree.line(h * w),
    "random": lambda h, w: _random_tree(h, w, 0),
}


def rank_geometries(X: Any, y: Any, shape: tuple[int, int], geometries: Sequence[str] | None = None,
                    **kwargs: Any) -> list[GeometryFit]:
    """:func:`geometry_fit` under each standard geometry of an ``h x w`` image, best (lowest total) first.

    Parameters
    ----------
    X, y
        As in :func:`geometry_fit`, with ``h * w`` features.
    shape : (int, int)
        The image shape ``(h, w)``; powers of 2 for the quad trees.
    geometries : sequence of str, optional
        Keys of :data:`STANDARD_GEOMETRIES`. The default compares the quad trees (square, mirror, random), whose
        canonical partitions have the same sizes; a mean over trees of other shapes (``line``: many two-feature
        nodes of low entropy) is not comparable.
    **kwargs
        Passed to :func:`geometry_fit`.

    Returns
    -------
    list of GeometryFit
        Sorted by ``total``.

    Raises
    ------
    GeometryError
        An unknown geometry name, or a shape the trees do not take.
    """
    names = ["square", "mirror", "random"] if geometries is None else list(geometries)
    bad = [g for g in names if g not in STANDARD_GEOMETRIES]
    if bad:
        raise GeometryError(f"Unknown geometries {bad}; expected some of {sorted(STANDARD_GEOMETRIES)}.")
    fits = [geometry_fit(X, y, STANDARD_GEOMETRIES[g](*shape), **kwargs) for g in names]
    return sorted(fits, key=lambda f: f.total)


def _affinity(X: np.ndarray) -> np.ndarray:
    """``|corr(x_i, x_j)|`` with constant features uncorrelated to everything, and a zero diagonal."""
    Xc = X - X.mean(axis=0)
    sd = np.sqrt((Xc**2).sum(axis=0))
    Z = np.divide(Xc, sd, out=np.zeros_like(Xc), where=sd > 0)
    C = np.abs(Z.T @ Z)
    np.fill_diagonal(C, 0.0)
    return C


def _split(C: np.ndarray, feats: list[int], sizes: list[int], seed: int) -> list[list[int]]:
    """Cut ``feats`` into groups of the given sizes with little affinity across groups: repeated balanced
    Kernighan-Lin bisections (the group for the first size against the rest, and so on)."""
    import networkx as nx
    from networkx.algorithms.community import kernighan_lin_bisection

    groups, rest = [], list(feats)
    rng = np.random.default_rng(seed)
    for size in sizes[:-1]:
        G = nx.Graph()
        G.add_nodes_from(rest)
        sub = C[np.ix_(rest, rest)]
        iu = np.triu_indices(len(rest), 1)
        G.add_weighted_edges_from((rest[a], rest[b], float(sub[a, b])) for a, b in zip(*iu) if sub[a, b] > 0)
        # seed the bisection with the `size` features most tied to a random pivot, so KL starts near a good cut
        pivot = int(rng.integers(len(rest)))
        order = np.argsort(-sub[pivot], kind="stable")
        first = set(([rest[pivot]] + [rest[i] for i in order if i != pivot])[:size])
        A, B = kernighan_lin_bisection(G, partition=(first, set(rest) - first), weight="weight", seed=seed)
        A = A if len(A) == size else B
        groups.append(sorted(A))
        rest = [f for f in rest if f not in A]
    groups.append(sorted(rest))
    return groups


def rearrange(X: Any, y: Any, tree: ModeTree | str, seed: int = 0) -> np.ndarray:
    """A permutation ``p`` of the features such that ``X[:, p]`` fits ``tree`` better.

    The surrogate for the entanglement under a canonical partition ``(t, complement)`` is the affinity across
    it, ``sum_{i in t, j not in t} |corr(x_i, x_j)|``; the features are assigned to the tree top-down, each node
    splitting its features among its children (sizes fixed by the tree) by balanced Kernighan-Lin bisections
    that minimize that cut (networkx). This follows the method of Alexander et al. (NeurIPS 2023, Sec. 5: a
    surrogate from pairwise feature statistics, then recursive balanced min-cut); their exact surrogate and
    min-cut solver may differ (docs/data.md says what is and is not checked).

    Parameters
    ----------
    X : array_like, shape (n, N)
        The samples.
    y : array_like, shape (n,)
        The labels (checked for shape; the correlation surrogate reads the features only).
    tree : ModeTree or str
        The geometry the data should fit.
    seed : int
        Seed of the bisections.

    Returns
    -------
    numpy.ndarray of int, shape (N,)
        ``p[m]`` is the original feature placed at mode ``m``.

    Raises
    ------
    DataError, GeometryError
        Bad data, or a tree that does not match the features.

    Examples
    --------
    >>> import numpy as np
    >>> from tensorexpr.data import rearrange
    >>> X = np.random.default_rng(0).random((30, 8))
    >>> sorted(rearrange(X, np.ones(30), "line:8")) == list(range(8))
    True
    """
    Xa = np.asarray(X, dtype=np.float64)
    feature_embedding(Xa[:1], "affine")  # same shape / finiteness checks as everywhere else
    if not np.all(np.isfinite(Xa)):
        raise DataError("X holds non-finite values. Hint: impute or drop them.")
    if np.asarray(y).shape != (Xa.shape[0],):
        raise DataError(f"y must have shape ({Xa.shape[0]},), got {np.asarray(y).shape}.")
    t = _as_tree(tree, Xa.shape[1])
    C = _affinity(Xa)
    p = np.full(t.n_modes, -1, dtype=np.int64)
    stack: list[tuple[frozenset, list[int]]] = [(t.root, list(range(t.n_modes)))]
    while stack:
        node, feats = stack.pop()
        if t.is_leaf(node):
            (m,) = node
            p[m] = feats[0]
            continue
        kids = t.children(node)
        for c, g in zip(kids, _split(C, feats, [len(c) for c in kids], seed)):
            stack.append((c, g))
    return p
