r"""Circuit upper bound: matricization ranks propagated through the network's own DAG, sums included.

The min-cut (:mod:`tensorexpr.bounds.mincut`) reads a product network as one tensor network, which a sum node
(the offsets of a traced convolution, a mixed decomposition) is not, and which a DAG must unroll once per use:
a traced VGG-like stack unrolls to about ``9^10`` copies. This bound instead walks the DAG once, bottom-up,
and bounds two ranks of every node's output ``phi_v`` (a ``D_v``-vector of functions of the modes ``R_v`` it
reads), for a partition ``(I, J)`` with ``I_v = R_v \cap I`` and ``J_v = R_v \cap J``:

.. math::
    a_v = \operatorname{rank} [\phi_v]_{(I_v, g),\, J_v}, \qquad
    b_v = \operatorname{rank} [\phi_v]_{I_v,\, (J_v, g)}

(the channel ``g`` on the row side, resp. the column side). Each rule below is a fact about functions, so it
holds for every weight setting, tied, fixed or free, and for a node reused by any number of parents.

* *Shape and channels.* ``a_v <= min(D_v T^{|I_v|}, T^{|J_v|})``, ``b_v <= min(T^{|I_v|}, D_v T^{|J_v|})``;
  moving the ``D_v`` channels from one side to the other changes a rank by at most a factor ``D_v``:
  ``a_v <= D_v b_v``, ``b_v <= D_v a_v``.
* *Pure nodes.* ``J_v = {}``: one column, ``a_v <= 1``, and ``b_v <= min(D_v, T^{|I_v|})``; symmetrically for
  ``I_v = {}``. A leaf's non-trivial rank is also at most ``M`` (``phi = F[i] w``).
* *Product pooling* of children ``c`` on a shared channel ``k`` (``D_in`` of them), then the weight:
  ``(\odot_c \phi_c)_k = \prod_c \phi_{c,k}``, so multiplying the children's rank decompositions term by term,
  ``a <= \prod_c a_c`` and ``b <= \prod_c b_c``; per channel the ``I x J`` rank is at most
  ``\prod_c \min(a_c, b_c)``, and stacking ``D_in`` channels gives ``a, b <= D_in \prod_c \min(a_c, b_c)``
  (the min-cut's "cut the input channel"). A weight mixes channels, which keeps both ranks
  (rows, resp. columns, of the new matrix are combinations of the old). A ``linear`` node is the one-child case.
* *Sums.* The summands that read only ``I`` modes add up to one function of ``I`` (``a <= 1``,
  ``b <= min(D, T^{|\cup I_c|})``), those that read only ``J`` modes to one function of ``J``; the rest
  add their ranks (subadditivity): ``a <= a_{I\text{-group}} + a_{J\text{-group}} + \sum_{\text{mixed}} a_c``.
* *Split.* Every node is also written ``phi = p_I + p_J + rest`` (a function of ``I`` only, one of ``J`` only,
  and a rest with its own ranks): linear maps and sums keep the split (the parts map and merge), a product
  of two or more children makes it all rest. Then ``a <= a_rest + 1 + min(D, T^{|J_v|})`` (when both parts
  are present), and one output channel has rank at most ``min(a_rest, b_rest) + 2``: a linear network (no
  products) is at most 2 however deep.

The bound is ``min(a_root, b_root)`` for the output channel (one channel's ``I x J`` matrix is a slice of
both). On a tree these are exactly the states of the min-cut dynamic program (output bond on the ``I`` or the
``J`` side, an input channel cut or not), so the bound equals the exact tree min-cut
(``tests/bounds/test_circuit.py`` checks it); on a DAG it charges a reused node once per use, like an
unrolled min-cut, but adds summands instead of multiplying bonds, and costs one pass over the nodes per
partition. Generalized operators (ReLU, max) have no such rule at a node that reads both sides, so the bound
needs the product operator.

References
----------
Levine, Yakira, Cohen & Shashua, "Deep learning and quantum entanglement: fundamental connections with
implications to network design", ICLR 2018 (min-cut bounds of ConvACs). Sharir & Shashua, "On the expressive
power of overlapping architectures of deep learning", ICLR 2018 (overlapping DAGs). docs/theory.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from tensorexpr.core.errors import NotApplicable
from tensorexpr.core.network import Network
from tensorexpr.core.partitions import Partition
from tensorexpr.core.validation import check_output, check_partition
from tensorexpr.bounds.analysis import Analysis, analysis_of
from tensorexpr.bounds.result import Bound, BoundContext, BoundProvider

__all__ = ["circuit_bound", "CIRCUIT"]


@dataclass(frozen=True)
class _Plan:
    """What the bound reads from the network, derived once per analysis: node order, kinds, widths, the
    receptive field of every node as a bitmask over modes, and each node's children as indices."""

    kinds: tuple[str, ...]
    widths: tuple[int, ...]
    masks: tuple[int, ...]
    children: tuple[tuple[int, ...], ...]
    fan_in: tuple[int, ...]  # the channel count a pool/linear node's weight reads
    root: int


def _plan(net: Network) -> _Plan:
    nodes = net.live_nodes
    index = {nd.id: k for k, nd in enumerate(nodes)}
    masks: list[int] = []
    kids: list[tuple[int, ...]] = []
    fan_in: list[int] = []
    for nd in nodes:
        ch = tuple(index[c] for c in nd.children)
        kids.append(ch)
        if nd.kind == "leaf":
            masks.append(1 << int(nd.mode))  # type: ignore[arg-type]
            fan_in.append(net.M)
            continue
        m = 0
        for c in ch:
            m |= masks[c]
        masks.append(m)
        fan_in.append(net.widths[nd.children[0]] if ch else 0)
    return _Plan(tuple(nd.kind for nd in nodes), tuple(net.widths[nd.id] for nd in nodes), tuple(masks),
                 tuple(kids), tuple(fan_in), index[net.output])


def circuit_bound(net: Network, P: Partition, output: int = 0, analysis: Analysis | None = None) -> Bound:
    """Upper bound on ``rank [A]_{I,J}`` from ranks propagated through the DAG (see the module docstring).

    Parameters
    ----------
    net : Network
        A product network: trees, DAGs (overlapping windows, reused nodes) and sum nodes are all read.
    P : Partition
    output : int
        The output channel.
    analysis : Analysis, optional
        The network's analysis plan (the node plan is derived once per network).

    Returns
    -------
    Bound
        ``side="upper"``, ``method="circuit"``; ``details`` holds ``a_root``/``b_root`` and the number of
        mixed nodes (those that read both sides).

    Raises
    ------
    NotApplicable
        For a non-product operator (no rank rule holds at a ReLU or max node that reads both sides).
    PartitionError
        For a partition of another number of modes.

    References
    ----------
    Levine et al., ICLR 2018; Sharir & Shashua, ICLR 2018 (docs/theory.md).
    """
    check_partition(P, net.n_modes, "the circuit bound", net.name)
    check_output(output, net.outputs)
    if not net.op.multilinear:
        raise NotApplicable(f"circuit bound: {net.name} uses the {net.op.name!r} operator; its nodes that read both "
                            f"sides obey no rank rule (only the product does).")
    plan = analysis_of(net, analysis).derived("circuit.plan", lambda: _plan(net))
    T, M = net.n_templates, net.M
    Imask = 0
    for m in P.I:
        Imask |= 1 << int(m)
    Jmask = 0
    for m in P.J:
        Jmask |= 1 << int(m)
    a: list[int] = []
    b: list[int] = []
    # phi_v = p_I + p_J + rest: a function of I only, one of J only (flags), and a rest of ranks (am, bm);
    # linear maps and sums keep the split, a product of two or more children makes it all rest
    am: list[int] = []
    bm: list[int] = []
    hI: list[bool] = []
    hJ: list[bool] = []
    mixed = 0
    for k, kind in enumerate(plan.kinds):
        D = plan.widths[k]
        nI = (plan.masks[k] & Imask).bit_count()
        nJ = (plan.masks[k] & Jmask).bit_count()
        capa, capb = min(D * T ** nI, T ** nJ), min(T ** nI, D * T ** nJ)
        ch = plan.children[k]
        if kind == "leaf":
            ak = bk = min(D, M, T)
        elif kind == "sum":
            ak, bk = _sum(ch, plan, a, b, Imask, Jmask, D, T)
        else:  # pool (product) or linear: products of the children's decompositions, then a weight
            pa = pb = pm = 1
            for c in ch:
                pa, pb, pm = pa * a[c], pb * b[c], pm * min(a[c], b[c])
            cut = plan.fan_in[k] * pm
            ak, bk = min(pa, cut), min(pb, cut)
        if nJ == 0:  # pure: a single column
            ak = 1
        if nI == 0:
            bk = 1
        if nI and nJ:
            mixed += 1
            if kind == "sum" or len(ch) == 1:
                rm = (sum(am[c] for c in ch), sum(bm[c] for c in ch))
                fI, fJ = any(hI[c] for c in ch), any(hJ[c] for c in ch)
            else:
                rm, fI, fJ = None, False, False
        else:
            rm, fI, fJ = (0, 0), nJ == 0, nI == 0
        ak, bk = min(ak, capa, D * bk), min(bk, capb, D * ak)
        if rm is not None:
            ak = min(ak, rm[0] + fI + fJ * min(D, T ** nJ))
            bk = min(bk, rm[1] + fI * min(D, T ** nI) + fJ)
        a.append(ak)
        b.append(bk)
        am.append(ak if rm is None else rm[0])
        bm.append(bk if rm is None else rm[1])
        hI.append(fI)
        hJ.append(fJ)
    r = plan.root
    # one output channel: its I x J rank is at most either stack's, or the split's rest plus one per pure part
    value = min(a[r], b[r], min(am[r], bm[r]) + hI[r] + hJ[r])
    return Bound(value, "upper", "circuit", P.name, ("product",),
                 {"a_root": a[r], "b_root": b[r], "mixed_nodes": mixed, "nodes": len(plan.kinds)})


def _sum(ch: tuple[int, ...], plan: _Plan, a: list[int], b: list[int], Imask: int, Jmask: int, D: int,
         T: int) -> tuple[int, int]:
    """The sum rule: pure-I summands are one function of I, pure-J ones one function of J, the rest add."""
    uI = uJ = 0
    gI = gJ = None  # the pure groups' summed ranks (b of the I-group, a of the J-group)
    sa = sb = 0
    for c in ch:
        m = plan.masks[c]
        if not m & Jmask:
            uI, gI = uI | m, (gI or 0) + b[c]
        elif not m & Imask:
            uJ, gJ = uJ | m, (gJ or 0) + a[c]
        else:
            sa, sb = sa + a[c], sb + b[c]
    if gI is not None:
        sa, sb = sa + 1, sb + min(D, T ** (uI & Imask).bit_count(), gI)
    if gJ is not None:
        sa, sb = sa + min(D, T ** (uJ & Jmask).bit_count(), gJ), sb + 1
    return sa, sb


def _circuit(net: Network, P: Partition, ctx: BoundContext) -> Bound:
    check_partition(P, net.n_modes, "the circuit bound", net.name)
    if net.is_tree:
        raise NotApplicable("circuit bound: on a tree it equals the exact min-cut, which runs instead.")
    return circuit_bound(net, P, ctx.output, ctx.analysis)


#: The circuit provider: DAGs and sum nodes (on trees the min-cut is exact and equal).
CIRCUIT = BoundProvider("circuit", "upper", _circuit, needs=("product",))
