"""Networks with exact rational weights brought to integers, so that prime-field ranks apply.

A network whose template matrix, fixed weights or tie bases hold :class:`~fractions.Fraction` entries has the same
matricization ranks as the integer network obtained by scaling every such matrix by its common denominator
(docs/conventions.md, "Exact numbers"). Kept apart from :mod:`tensorexpr.core.rational` (exact entries and ranks
of matrices), which :mod:`tensorexpr.core.network` itself uses.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from tensorexpr.core.errors import NetworkError
from tensorexpr.core.network import Network, Node
from tensorexpr.core.params import FIXED
from tensorexpr.core.rational import denominator_lcm, exact_matrix, has_fractions, integer_entries

__all__ = ["network_is_rational", "clear_denominators"]


def network_is_rational(net: Any) -> bool:
    """True when ``F``, a weight, a parameter block or a tie basis of ``net`` holds a non-integral entry.

    Parameters
    ----------
    net : Network
        The network to inspect.

    Returns
    -------
    bool
    """
    arrays = [net.F] + [nd.weight for nd in net.nodes if nd.weight is not None]
    arrays += list(net.params.values())
    arrays += [nd.param.basis for nd in net.nodes if getattr(nd.param, "basis", None) is not None]
    return any(np.asarray(a).dtype.kind not in "iub" and has_fractions(a) for a in arrays)


def clear_denominators(net: Any) -> Any:
    """An integer product network whose grid tensor is a positive integer multiple of ``net``'s.

    Every matricization rank is unchanged (see the module docstring). ``net`` is returned unchanged when it is
    already integer-valued. Only product (multilinear) networks: with ReLU pooling, scaling one child of a pool
    is not a scaling of the output (exact paths evaluate those over Q directly). The scaled weights are
    :data:`~tensorexpr.core.params.FIXED` in the result, whose ``meta["cleared_denominators"]`` is ``s_root``.

    Parameters
    ----------
    net : Network
        A product network with integer or Fraction entries.

    Returns
    -------
    Network
        Integer-valued, ``integer=True``.

    Raises
    ------
    NetworkError
        When ``net`` is not a :class:`~tensorexpr.core.network.Network`, uses a non-product operator, or holds a
        non-integral float in ``F`` or a weight (only exact ``Fraction`` entries are cleared).
    """

    if not isinstance(net, Network):
        raise NetworkError(f"clear_denominators needs a te.Network, got {type(net).__name__}.")
    if not network_is_rational(net):
        return net
    if not net.op.multilinear:
        raise NetworkError(
            f"clear_denominators scales node weights, which keeps ranks only for product pooling; {net.name} uses "
            f"{net.op.name!r}. Hint: exact ranks over Q (method='exact', field='rational') take fractions directly."
        )
    for what, a in [("F", net.F)] + [(f"weight of node {nd.id!r}", nd.weight) for nd in net.nodes
                                     if nd.weight is not None]:
        if np.asarray(a).dtype.kind == "f" and has_fractions(a):
            raise NetworkError(
                f"{net.name}: the {what} holds non-integral floats; only exact fractions.Fraction entries are "
                f"brought to integers. Hint: pass Fraction entries, or use method='numeric'."
            )
    cF = denominator_lcm(net.F)
    F = integer_entries(exact_matrix(net.F) * cF, "F")
    scale: dict[str, int] = {}  # s_t: node value of the new network = s_t * node value of net
    nodes: list[Node] = []
    for nd in net.nodes:
        c = 1 if nd.weight is None else denominator_lcm(nd.weight)
        w = None if nd.weight is None else integer_entries(exact_matrix(nd.weight) * c, f"weight of {nd.id!r}")
        if nd.kind == "leaf":
            scale[nd.id] = cF * c
        elif nd.kind == "sum":
            L = math.lcm(*[scale[ch] for ch in nd.children])
            kids = []
            for ch in nd.children:
                k = L // scale[ch]
                if k == 1:
                    kids.append(ch)
                    continue
                r = net.widths[ch]
                lin = Node(f"{ch}#x{k}@{nd.id}", "linear", (ch,), np.eye(r, dtype=np.int64) * k, param=FIXED)
                nodes.append(lin)
                kids.append(lin.id)
            nd = replace(nd, children=tuple(kids))
            scale[nd.id] = L
            nodes.append(nd)
            continue
        elif nd.kind == "linear":
            scale[nd.id] = c * scale[nd.children[0]]
        else:
            scale[nd.id] = c * math.prod(scale[ch] for ch in nd.children)
        # the scaled weight is a constant of the integer instance (the ranks are those of this one tensor)
        nodes.append(replace(nd, weight=w, param=None if w is None else FIXED))
    return Network(tuple(nodes), net.output, net.M, net.op, F, True, net.tree, {}, net.name,
                   {**dict(net.meta), "cleared_denominators": scale[net.output]})
