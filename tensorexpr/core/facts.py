"""Structural facts about a network, read from its own fields (operator, graph, mode tree, parametrization,
template matrix), never from its name: the hypotheses bounds declare (docs/design.md, "Bounds").

Each fact is a :class:`Fact`: a key, a description, a predicate and the reason it fails. :data:`FACTS` is the
one ordered table of them. These are pure functions of a (frozen) network; what is derived once per network
and reused across partitions is cached by :class:`tensorexpr.bounds.analysis.Analysis`, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np

from tensorexpr.core.errors import NetworkError
from tensorexpr.core.network import Network

__all__ = ["Fact", "FACTS", "mode_multiplicity", "modes_read_once", "tree_matches", "integer_templates",
           "check_fact"]


def mode_multiplicity(net: Network) -> dict[int, int | None]:
    """How many times each mode's template row enters each product term of the output.

    Parameters
    ----------
    net : Network

    Returns
    -------
    dict of int to int or None
        Per mode: leaf 1; a product pool adds its children's counts (children sharing a mode, as in
        overlapping networks, read it twice); a linear node keeps its child's; a sum node keeps its children's
        count where they agree, else None (a summand constant in a mode is not of the form ``W x_m F``).
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
    """True when every mode's template row enters every product term of the output exactly once.

    Parameters
    ----------
    net : Network
        The network.

    Returns
    -------
    bool
        True when :func:`mode_multiplicity` is 1 for every mode (false for overlapping windows and for mixed
        terms that disagree).
    """
    return all(k == 1 for k in mode_multiplicity(net).values())


def tree_matches(net: Network) -> bool:
    """True when ``net.tree`` is set and the live graph is that tree node for node (same receptive fields,
    same children), with no linear or sum nodes in between.

    Parameters
    ----------
    net : Network
        The network.

    Returns
    -------
    bool
        True when the live graph follows ``net.tree`` exactly and its output sees the tree's root.
    """
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


def integer_templates(net: Network) -> bool:
    """True when the template matrix ``F`` is integer or rational valued (ints, Fractions, integral floats).

    Parameters
    ----------
    net : Network
        The network whose ``F`` (shape ``(T, M)``) is read.

    Returns
    -------
    bool
        True when every entry of ``F`` is integral or a :class:`fractions.Fraction`.
    """
    F = np.asarray(net.F)
    if F.dtype.kind in "iub":
        return True
    if F.dtype.kind == "f":
        return bool(np.all(np.equal(np.mod(F, 1), 0)))
    return all(isinstance(x, (int, np.integer, Fraction)) or (isinstance(x, float) and x.is_integer())
               for x in F.ravel())


@dataclass(frozen=True)
class Fact:
    """One hypothesis a bound may need.

    Attributes
    ----------
    key : str
        The name providers list in ``needs``.
    description : str
        What it says, for docs and certificates.
    holds : callable
        ``holds(net) -> bool``.
    why : callable
        ``why(net) -> str``: the reason it fails, recorded in certificates.
    """

    key: str
    description: str
    holds: Callable[[Network], bool]
    why: Callable[[Network], str]

    def check(self, net: Network) -> str | None:
        """None when the fact holds for ``net``, else the reason it does not.

        Parameters
        ----------
        net : Network
            The network to test.

        Returns
        -------
        str or None
            None when ``holds(net)``; else ``why(net)``.
        """
        return None if self.holds(net) else self.why(net)


def _not_free(n: Network) -> str:
    kinds = n.parametrization()["nodes_by_kind"]
    return "some weights are tied, fixed or identities: " + ", ".join(
        f"{k}={v}" for k, v in kinds.items() if v and k != "free")


def _read_twice(n: Network) -> str:
    twice = sorted(m for m, k in mode_multiplicity(n).items() if k != 1)[:8]
    return f"some mode is read more than once (modes {twice} feed several windows or mixed terms)"


_TABLE = (
    Fact("product", "the operator is the product (a multilinear network: ConvAC / tensor decomposition)",
         lambda n: n.op.multilinear, lambda n: f"the operator is {n.op.name!r}, not the product"),
    Fact("tree", "the graph is a tree (no node feeds two parents, no sum nodes)",
         lambda n: n.is_tree,
         lambda n: "the graph is a DAG or has sum nodes (a node feeds two parents, or a mixture)"),
    Fact("mode-tree", "the network was built on a ModeTree (net.tree is set)",
         tree_matches,
         lambda n: "the network has no mode tree (net.tree is None)" if n.tree is None else
         "the graph does not follow net.tree node for node"),
    Fact("all-free", "every weight is its own free parameter block (no fixed, tied or identity weights)",
         lambda n: n.all_free, _not_free),
    Fact("modes-read-once", "each input mode feeds exactly one leaf",
         modes_read_once, _read_twice),
    Fact("integer-F", "the template matrix F is integer (or rational) valued", integer_templates,
         lambda n: "the template matrix F has non-integral float entries"),
)

#: The built-in facts, by key, in a fixed order (a provider may also list its own :class:`Fact` in ``needs``).
FACTS: Mapping[str, Fact] = MappingProxyType({f.key: f for f in _TABLE})


def check_fact(net: Network, need: str | Fact) -> str | None:
    """None when ``need`` (a key of :data:`FACTS` or a :class:`Fact`) holds for ``net``, else the reason.

    Parameters
    ----------
    net : Network
        The network to test.
    need : str or Fact
        A key of :data:`FACTS` or a :class:`Fact`.

    Returns
    -------
    str or None
        None when the fact holds, else the reason it fails.

    Raises
    ------
    NetworkError
        For an unknown key.
    """
    if isinstance(need, Fact):
        return need.check(net)
    try:
        return FACTS[need].check(net)
    except KeyError:
        raise NetworkError(f"Unknown fact {need!r}; known: {list(FACTS)}. Hint: pass a "
                           f"tensorexpr.core.facts.Fact(key, description, holds, why) for a new one.") from None
