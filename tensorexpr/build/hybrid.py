"""Hybrid trees of a mixed decomposition and Claim 5's embedding (Cohen, Tamari & Shashua, ICLR 2018).

A *hybrid tree* (Def. 4) of ``T``, ``Tbar`` and mixture nodes ``mix(T, Tbar)`` takes, for every mixture node
and for the root, the segment below it (down to the next mixture nodes) from ``T`` or from ``Tbar``.
Claim 5: the mixed decomposition (eq. 4) of size ``r`` reproduces the tree decomposition (eq. 3) of size
``r/2`` of any hybrid tree, hence per partition its generic rank is at least the hybrid's.

:func:`embed_hybrid` is the construction, written out (docs/theory.md, "Mixed decompositions and
interconnectivity"). Channel halves: ``LOW = [0, r/2)`` (swapped at every mixture node) and
``HIGH = [r/2, r)`` (kept). Every hybrid value lives in ``h <= r/2`` channels of one tree's stream, all
other weights are zero:

* inside a segment chosen from tree ``X``, a node's value sits in ``LOW`` of ``X``'s stream;
* at a mixture node ``mu`` whose segment is from ``X`` and whose parent's segment is from ``Y``, the value
  is written to ``HIGH`` when ``Y = X`` (it stays in ``X``'s stream) and to ``LOW`` otherwise (the swap
  hands it to ``Y``'s stream), and the parent reads it from there;
* the hybrid's discretizers are ``F B`` for a ``(r, h)`` matrix ``B`` (default the first ``h`` unit
  vectors), so a leaf edge weight ``a`` becomes ``B a``;
* the other tree's root is zero, so ``A = phi^{[N]} + phibar^{[N]}`` is the hybrid's output.
"""

from __future__ import annotations

import itertools
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from tensorexpr.core.errors import GeometryError, NetworkError
from tensorexpr.build.mixed import check_mixture_nodes
from tensorexpr.core.modetree import ModeTree

__all__ = ["segment_tops", "hybrid_tree", "hybrid_choices", "embed_hybrid"]

Choice = Mapping[frozenset, str]


def segment_tops(tree_a: ModeTree, mixture_nodes: Iterable[Iterable[int]]) -> tuple[frozenset, ...]:
    """The tops of the segments: the mixture nodes (smallest first) and then the root.

    Parameters
    ----------
    tree_a : ModeTree
        The tree whose root closes the list.
    mixture_nodes : iterable of iterable of int
        The mixture nodes (not validated here).

    Returns
    -------
    tuple of frozenset
        Sorted by size, then by sorted modes; the root last.

    References
    ----------
    Cohen, Tamari & Shashua, "Boosting Dilated Convolutional Networks with Mixed Tensor Decompositions",
    ICLR 2018, Def. 4.

    Examples
    --------
    >>> [sorted(t) for t in segment_tops(ModeTree.line(4), [{2, 3}, {0, 1}])]
    [[0, 1], [2, 3], [0, 1, 2, 3]]
    """
    mix = sorted({frozenset(int(i) for i in m) for m in mixture_nodes}, key=lambda m: (len(m), sorted(m)))
    return tuple(mix) + (tree_a.root,)


def _check_choice(tops: Sequence[frozenset], choice: Any) -> dict[frozenset, str]:
    if not isinstance(choice, Mapping):
        if isinstance(choice, str) or len(choice) != len(tops):
            raise GeometryError(
                f"choice must map each segment top to 'a' or 'b', or list one tag per top in segment_tops order "
                f"({len(tops)} tops), got {choice!r}."
            )
        choice = dict(zip(tops, choice))
    out = {frozenset(k): v for k, v in choice.items()}
    missing = [sorted(t) for t in tops if t not in out]
    extra = [sorted(k) for k in out if k not in tops]
    bad = [v for v in out.values() if v not in ("a", "b")]
    if missing or extra or bad:
        raise GeometryError(
            f"A hybrid choice needs 'a' or 'b' for exactly the segment tops {[sorted(t) for t in tops]}; "
            f"missing {missing}, unknown {extra}, bad tags {bad}."
        )
    return out


def _walk(tree_a: ModeTree, tree_b: ModeTree, tops: Sequence[frozenset], choice: dict[frozenset, str]
          ) -> list[tuple[frozenset, str, frozenset | None, str | None]]:
    """Every hybrid node with the tree it comes from, its parent and the parent's tree (root first)."""
    trees = {"a": tree_a, "b": tree_b}
    out = []
    stack: list[tuple[frozenset, str | None, frozenset | None]] = [(tree_a.root, None, None)]
    while stack:
        n, inherited, parent = stack.pop()
        tag = choice[n] if n in tops else inherited
        assert tag is not None
        out.append((n, tag, parent, inherited))
        for c in trees[tag].children(n):
            stack.append((c, tag, n))
    return out


def hybrid_tree(tree_a: ModeTree, tree_b: ModeTree, mixture_nodes: Iterable[Iterable[int]], choice: Any) -> ModeTree:
    """The hybrid tree (Def. 4) that takes the segment below each top from ``choice[top]`` (``'a'`` or ``'b'``).

    Parameters
    ----------
    tree_a, tree_b : ModeTree
        The two trees of the mixed decomposition.
    mixture_nodes : iterable of iterable of int
        Interior nodes common to both trees.
    choice : mapping or sequence
        ``{top: 'a' or 'b'}`` for every segment top, or one tag per top in :func:`segment_tops` order.

    Returns
    -------
    ModeTree

    Raises
    ------
    NetworkError
        When ``mixture_nodes`` is not a list of mode sets.
    GeometryError
        When a mixture node is not a common interior node, is listed twice, or ``choice`` does not tag exactly
        the segment tops with ``'a'``/``'b'``.

    References
    ----------
    Cohen, Tamari & Shashua, "Boosting Dilated Convolutional Networks with Mixed Tensor Decompositions",
    ICLR 2018, Def. 4.

    Examples
    --------
    >>> a, b = ModeTree.dilated(8), ModeTree.dilated(8, "swapped")
    >>> hybrid_tree(a, b, [{0, 1, 2, 3}, {4, 5, 6, 7}], ["a", "b", "a"]).to_nested()
    (((0, 1), (2, 3)), ((4, 6), (5, 7)))
    """
    mix = check_mixture_nodes(tree_a, tree_b, mixture_nodes, leaves_ok=False)
    tops = segment_tops(tree_a, mix)
    ch = _check_choice(tops, choice)
    trees = {"a": tree_a, "b": tree_b}

    def build(n: frozenset, tag: str) -> Any:
        tag = ch[n] if n in tops else tag
        t = trees[tag]
        return next(iter(n)) if t.is_leaf(n) else tuple(build(c, tag) for c in t.children(n))

    tags = "".join(ch[t] for t in tops)
    return ModeTree.from_nested(build(tree_a.root, "a"), name=f"hybrid({tree_a.name} | {tree_b.name} : {tags})")


def hybrid_choices(tree_a: ModeTree, mixture_nodes: Iterable[Iterable[int]]) -> Iterator[dict[frozenset, str]]:
    """All ``2^(|mix| + 1)`` choices of a tree per segment top.

    Parameters
    ----------
    tree_a : ModeTree
    mixture_nodes : iterable of iterable of int

    Yields
    ------
    dict of frozenset to str
        ``{top: 'a' or 'b'}``, in ``itertools.product`` order (all ``'a'`` first).

    Examples
    --------
    >>> len(list(hybrid_choices(ModeTree.line(4), [{0, 1}])))
    4
    """
    tops = segment_tops(tree_a, mixture_nodes)
    for tags in itertools.product("ab", repeat=len(tops)):
        yield dict(zip(tops, tags))


def embed_hybrid(
    tree_a: ModeTree,
    tree_b: ModeTree,
    mixture_nodes: Iterable[Iterable[int]],
    choice: Any,
    hybrid_weights: Mapping[frozenset, Sequence[Any]],
    r: int,
    B: Any = None,
) -> tuple[dict[frozenset, tuple], dict[frozenset, tuple]]:
    """Weights of the size-``r`` mixed decomposition whose grid tensor equals the hybrid's (Claim 5).

    The construction is in the module docstring: hybrid values live in the ``LOW`` or ``HIGH`` channel half of
    one tree's stream and every other weight is zero, so ``A = phi^{[N]} + phibar^{[N]}`` is the hybrid's grid
    tensor.

    Parameters
    ----------
    tree_a, tree_b : ModeTree
        The two trees of the mixed decomposition.
    mixture_nodes : iterable of iterable of int
        Interior nodes common to both trees.
    choice : mapping or sequence
        As for :func:`hybrid_tree`.
    hybrid_weights : mapping
        Edge weights of the hybrid's tree decomposition of size ``h <= r/2`` (as for
        :func:`tensorexpr.tree_decomposition` on :func:`hybrid_tree`): ``(h, h)``, ``(h, outputs)`` at the root.
    r : int
        Size of the mixed decomposition (even).
    B : array (r, h), optional
        The hybrid's discretizers are ``F @ B`` for the mixed decomposition's ``F``; default ``[I_h; 0]``.

    Returns
    -------
    (weights_a, weights_b)
        To pass as ``te.mixed(tree_a, tree_b, mixture_nodes, widths=r, F=F, weights=...)``.

    Raises
    ------
    NetworkError
        When ``r`` is not an even integer with ``h <= r/2``, ``B`` has the wrong shape, a node lacks its edge
        weights or an edge weight has the wrong shape, or ``mixture_nodes`` is malformed.
    GeometryError
        When a mixture node is not a common interior node, or ``choice`` is malformed.
    KeyError
        When ``hybrid_weights`` lacks the root.

    References
    ----------
    Cohen, Tamari & Shashua, "Boosting Dilated Convolutional Networks with Mixed Tensor Decompositions",
    ICLR 2018, Claim 5.
    """
    mix = check_mixture_nodes(tree_a, tree_b, mixture_nodes, leaves_ok=False)
    tops = segment_tops(tree_a, mix)
    ch = _check_choice(tops, choice)
    root_w = hybrid_weights[tree_a.root]
    h, outputs = np.shape(root_w[0])
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r % 2 or h > r // 2:
        raise NetworkError(f"Claim 5 embeds a hybrid of size h <= r/2 into an even r; got h={h}, r={r!r}.")
    obj = any(np.asarray(w).dtype.kind == "O" for ws in hybrid_weights.values() for w in ws)
    dt = object if obj else np.result_type(*[np.asarray(w).dtype for ws in hybrid_weights.values() for w in ws])
    Bm = np.vstack([np.eye(h, dtype=np.int64), np.zeros((r - h, h), dtype=np.int64)]) if B is None else np.asarray(B)
    if Bm.shape != (r, h):
        raise NetworkError(f"B must have shape (r={r}, h={h}) (hybrid discretizers = F @ B), got {Bm.shape}.")
    low, high = np.arange(h), r // 2 + np.arange(h)
    trees = {"a": tree_a, "b": tree_b}
    out: dict[str, dict[frozenset, list]] = {
        tag: {n: [np.zeros((r, outputs if n == t.root else r), dtype=dt) for _ in t.children(n)]
              for n in t.internal_nodes} for tag, t in trees.items()}
    for n, tag, parent, parent_tag in _walk(tree_a, tree_b, tops, ch):
        t = trees[tag]
        if t.is_leaf(n):
            continue
        if n not in hybrid_weights or len(hybrid_weights[n]) != len(t.children(n)):
            raise NetworkError(f"hybrid_weights lacks the {len(t.children(n))} edge weights of node {sorted(n)}.")
        if n == t.root:
            cols = np.arange(outputs)
        elif n in tops:
            cols = high if parent_tag == tag else low
        else:
            cols = low
        for k, c in enumerate(t.children(n)):
            a = np.asarray(hybrid_weights[n][k])
            if a.shape != (h, len(cols)):
                raise NetworkError(f"Edge weight {k} of hybrid node {sorted(n)} has shape {a.shape}, expected {(h, len(cols))}.")
            W = out[tag][n][k]
            if t.is_leaf(c):
                W[:, cols] = Bm @ a
            else:
                rows = (high if ch[c] == tag else low) if c in tops else low
                W[np.ix_(rows, cols)] = a
    return ({n: tuple(ws) for n, ws in out["a"].items()}, {n: tuple(ws) for n, ws in out["b"].items()})
