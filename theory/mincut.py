"""Min-cut bounds: the separation rank of a ConvAC is bounded by a min-cut in its tensor network.

Levine, Yakira, Cohen & Shashua, "Deep Learning and Quantum Entanglement", ICLR 2018.
"""

from __future__ import annotations

import numpy as np

import tensorexpr as te
from tensorexpr.bounds import flow_bound
from tensorexpr.testing import random_tree

from theory._common import RANGE, exact_rank, max_rank, save_plot
from theory.report import Report, check_scale

STATUS = "checked"  # the abstract; tightness for powers of one integer: [derived] here (flow_bound's proof)
CITATION = "Levine, Yakira, Cohen & Shashua, ICLR 2018 (abstract)"
STATEMENT = ("rank [A]_{I,J} <= min over cuts separating I's legs from J's of the product of the cut bond dimensions "
             "(copy tensors as hyper-edges); on untied trees with every dimension a power of one integer it is the generic "
             "rank ([derived]: a maximum flow routes identity wires, flow_bound).")
FORMULA = "rank <= min_cut prod(dim)"

GRIDS = {"test": dict(nets=6, n=[4, 5]), "quick": dict(nets=30, n=[4, 5, 6]), "full": dict(nets=120, n=[4, 5, 6, 7])}


def _random_net(rng: np.random.Generator, n: int, pow2: bool) -> te.Network:
    tree = random_tree(n, rng)
    m = int(rng.choice([2, 4])) if pow2 else int(rng.integers(2, 4))
    pool = [1, 2, 4] if pow2 else [1, 2, 3, 5]
    widths = {}
    for node in tree.internal_nodes:
        w = int(rng.choice(pool))
        for c in tree.children(node):
            widths[c] = w
    return te.convac(tree, m, widths, seed=int(rng.integers(1 << 30)), integer=True, int_range=RANGE)


def check(scale: str = "quick", out_dir: str | None = None) -> Report:
    """Run the checks of the min-cut claim.

    ``rank [A]_{I,J}`` is at most the min-cut of the tensor network, and meets it in the cases tried.

    Parameters
    ----------
    scale : {"test", "quick", "full"}, optional
        The grid of sizes: ``test`` is the tiny one the test suite runs, ``quick`` the default of
        ``tensorexpr verify``.
    out_dir : str, optional
        Where plots are written (``<out_dir>/<name>.png``); no plots without it.

    Returns
    -------
    Report
        Every check with its expected relation and observed numbers; ``Report.passed`` when all pass.

    Raises
    ------
    TensorExprError
        On an unknown ``scale``.

    References
    ----------
    Levine, Yakira, Cohen & Shashua, "Deep Learning and Quantum Entanglement: Fundamental Connections with
    Implications to Network Design", ICLR 2018.
    """
    rep = Report("mincut", STATEMENT, CITATION, STATUS, FORMULA, check_scale(scale))
    g = GRIDS[scale]
    rng = np.random.default_rng(2018)
    stats = {True: [0, 0], False: [0, 0]}
    rows, pts, viol = [], [], []
    flow_eq, flow_n = 0, 0  # powers of one base: flow lower bound == min-cut == exact rank
    for k in range(g["nets"]):
        pow2 = bool(k % 2)
        n = int(rng.choice(g["n"]))
        net = _random_net(rng, n, pow2)
        P = te.Partition.random(n, int(rng.integers(1000)))
        r = exact_rank(net, P)
        cut, src = te.mincut_bound(net, P).bound, "te.mincut_bound"
        if r > cut:
            viol.append((net.tree.to_nested(), P.rows, r, cut))
        tight = r == min(cut, max_rank(net, P))
        if pow2:
            flow_n += 1
            flow_eq += flow_bound(net, P).value == cut == r
        stats[pow2][0] += tight
        stats[pow2][1] += 1
        pts.append((min(cut, max_rank(net, P)), r))
        if len(rows) < 12 or not tight:
            rows.append((str(net.tree.to_nested()), net.M, sorted(set(net.widths.values())), list(P.rows), r, cut,
                         "tight" if tight else "loose"))
    rep.check("exact rank <= min-cut on random trees", not viol, "always [derived]",
              f"{g['nets']} networks, violations {viol[:2]}")
    rep.check("powers of 2 on trees: flow lower bound = min-cut = exact rank", flow_eq == flow_n,
              "[derived] (routing along a maximum flow, tensorexpr/bounds/flow.py)", f"{flow_eq}/{flow_n} networks")
    # overlapping DAGs, and the star model of copy tensors is never tighter than the hyper-edge model
    ov_ok, looser = True, 0
    for seed, layers in enumerate([[(2, 1, 2), (5, 1, 2)], [(3, 1, 2), (2, 2, 2), (2, 1, 2)]]):
        net = te.overlapping(6, layers, M=2, seed=seed, integer=True, int_range=RANGE)
        for P in (te.Partition.odd_even(6), te.Partition.left_right(6)):
            r = exact_rank(net, P)
            hyper, star = te.mincut_bound(net, P).bound, te.mincut_bound(net, P, hyperedges="star").bound
            ov_ok &= r <= hyper <= star
            looser += star > hyper
    rep.check("overlapping DAGs: exact <= hyper-edge cut <= star cut", ov_ok, "always [derived]", f"star looser in {looser} cases")
    rep.table("Min-cut bound vs exact rank on random architectures (rows: first 12 and every loose case)",
              ["tree", "M", "widths", "I", "exact rank", "min-cut", "tight?"], rows)
    for pow2, (t, tot) in stats.items():
        rep.observations.append(f"{'widths and M powers of 2' if pow2 else 'mixed widths (1,2,3,5)'}: tight in {t}/{tot} "
                                f"random cases (min-cut from {src}); tightness is [recalled], so not a PASS criterion.")

    def draw(ax):
        xs, ys = zip(*pts)
        ax.loglog(xs, ys, "o", alpha=0.6)
        top = max(xs)
        ax.plot([1, top], [1, top], "k--", label="rank = bound")
        ax.set_xlabel("min(min-cut, M^min(|I|,|J|))")
        ax.set_ylabel("exact rank")
        ax.set_title("Min-cut bound vs exact rank")
        ax.legend()

    rep.plots += save_plot(out_dir, "mincut", draw)
    return rep
