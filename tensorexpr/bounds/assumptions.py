"""The assumptions bounds declare (:data:`~tensorexpr.bounds.result.ASSUMPTIONS`), checked from a network's
own fields: its operator, graph, mode tree, parametrization and template matrix. Never from names.

:func:`check_assumption` returns None when the assumption holds, else the reason it fails, which
certificates record as the reason a bound stepped aside (docs/design.md, "Bounds").
"""

from __future__ import annotations

import weakref

from typing import Any, Callable

import numpy as np

from tensorexpr.core.network import Network
from tensorexpr.bounds.result import ASSUMPTIONS

__all__ = ["check_assumption", "mode_multiplicity", "modes_read_once", "tree_matches", "network_facts"]


_MULT: "weakref.WeakKeyDictionary[Network, dict]" = weakref.WeakKeyDictionary()


def mode_multiplicity(net: Network) -> dict[int, int | None]:
    """Cached per network (networks are immutable); see :func:`_mode_multiplicity`."""
    if net not in _MULT:
        _MULT[net] = _mode_multiplicity(net)
    return dict(_MULT[net])


def _mode_multiplicity(net: Network) -> dict[int, int | None]:
    """How many times each mode's template row enters each product term of the output.

    Leaf: 1 for its mode. Product pool: the children's counts add (children sharing a mode, as in
    overlapping networks, read it twice). Linear: the child's. Sum: the children's, which must agree, else
    None (a summand constant in a mode is not of the form ``W x_m F``).
    """
    mult: dict[str, dict[int, int | None]] = {}
    for nd in net.live_nodes:
        if nd.kind == "leaf":
            mult[nd.id] = {nd.mode: 1}  # type: ignore[dict-item]
        elif nd.kind == "linear":
            mult[nd.id] = mult[nd.children[0]]
        elif nd.kind == "sum":
            modes = set().union(*(mult[c] for c in nd.children))
            out: dict[int, int | None] = {}
            for m in modes:
                vals = {mult[c].get(m, 0) for c in nd.children}
                out[m] = vals.pop() if len(vals) == 1 else None
            mult[nd.id] = out
        else:
            acc: dict[int, int | None] = {}
            for c in nd.children:
                for m, k in mult[c].items():
                    prev = acc.get(m, 0)
                    acc[m] = None if prev is None or k is None else prev + k
            mult[nd.id] = acc
    return mult[net.output]


def modes_read_once(net: Network) -> bool:
    """Every mode's template row enters every product term of the output exactly once."""
    return all(k == 1 for k in mode_multiplicity(net).values())


_TREE_MATCHES: "weakref.WeakKeyDictionary[Network, bool]" = weakref.WeakKeyDictionary()


def tree_matches(net: Network) -> bool:
    """``net.tree`` is set and the live graph is that tree node for node (same receptive fields, same
    children), with no linear or sum nodes in between. Cached per network (networks are immutable)."""
    if net not in _TREE_MATCHES:
        _TREE_MATCHES[net] = _tree_matches(net)
    return _TREE_MATCHES[net]


def _tree_matches(net: Network) -> bool:
    tree = net.tree
    if tree is None or not net.is_tree:
        return False
    live = net.live_nodes
    if any(nd.kind in ("linear", "sum") for nd in live):
        return False
    if len(live) != len(tree.nodes) or {net.modes[nd.id] for nd in live} != set(tree.nodes):
        return False
    modes = net.modes
    for nd in live:
        # children of one node have disjoint receptive fields, so equal sets of equal size are equal lists
        want = tree.children(modes[nd.id])
        if len(nd.children) != len(want) or {modes[c] for c in nd.children} != set(want):
            return False
    return net.modes[net.output] == tree.root


def _integer_f(net: Network) -> bool:
    F = np.asarray(net.F)
    if F.dtype.kind in "iub":
        return True
    if F.dtype.kind == "f":
        return bool(np.all(np.equal(np.mod(F, 1), 0)))
    from fractions import Fraction

    return all(isinstance(x, (int, np.integer, Fraction)) or (isinstance(x, float) and x.is_integer())
               for x in F.ravel())


_CHECKS: dict[str, tuple[Callable[[Network], bool], Callable[[Network], str]]] = {
    "product": (lambda n: n.op.multilinear,
                lambda n: f"the operator is {n.op.name!r}, not the product"),
    "tree": (lambda n: n.is_tree,
             lambda n: "the graph is a DAG or has sum nodes (a node feeds two parents, or a mixture)"),
    "mode-tree": (tree_matches,
                  lambda n: "the network has no mode tree (net.tree is None)" if n.tree is None else
                  "the graph does not follow net.tree node for node"),
    "all-free": (lambda n: n.all_free,
                 lambda n: "some weights are tied, fixed or identities: "
                 + ", ".join(f"{k}={v}" for k, v in n.parametrization()["nodes_by_kind"].items() if v and k != "free")),
    "modes-read-once": (modes_read_once,
                        lambda n: "some mode is read more than once (modes "
                        + str(sorted(m for m, k in mode_multiplicity(n).items() if k != 1)[:8])
                        + " feed several windows or mixed terms)"),
    "integer-F": (_integer_f, lambda n: "the template matrix F has non-integral float entries"),
}


_CHECKED: "weakref.WeakKeyDictionary[Network, dict[str, str | None]]" = weakref.WeakKeyDictionary()


def check_assumption(net: Network, key: str) -> str | None:
    """None when assumption ``key`` holds for ``net``, else why not (cached per network: networks are
    immutable, and a profile asks the same questions once per partition)."""
    if key not in ASSUMPTIONS:
        raise KeyError(f"Unknown assumption {key!r}; known: {sorted(ASSUMPTIONS)}.")
    if key not in _CHECKS:  # registered by a provider module without a checker: cannot be verified
        return f"no checker for assumption {key!r}"
    seen = _CHECKED.setdefault(net, {})
    if key not in seen:
        holds, why = _CHECKS[key]
        seen[key] = None if holds(net) else why(net)
    return seen[key]


def register_assumption_check(key: str, description: str, holds: Callable[[Network], bool],
                              why: Callable[[Network], str]) -> None:
    """Add an assumption (and its checker) that providers may declare in ``needs``."""
    ASSUMPTIONS[key] = description
    _CHECKS[key] = (holds, why)
    for seen in list(_CHECKED.values()):  # a re-registered checker must not answer from the old one's cache
        seen.pop(key, None)


def network_facts(net: Network) -> dict[str, Any]:
    """Every known assumption, True or the reason it fails, for certificates' ``to_dict()``."""
    return {k: (True if (r := check_assumption(net, k)) is None else r) for k in ASSUMPTIONS}
