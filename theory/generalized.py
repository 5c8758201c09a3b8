"""Generalized decompositions: ReLU ConvNets as generalized tensor decompositions.

Cohen & Shashua, "Convolutional Rectifier Networks as Generalized Tensor Decompositions", ICML 2016.
"""

from __future__ import annotations

import warnings

import sympy as sp

import tensorexpr as te
from tensorexpr.rank import RankWarning

from theory._common import RANGE, exact_rank, save_plot
from theory.report import Report, check_scale

STATUS = "checked"  # abstract; rank <= 2 of the shallow ReLU-sum net is [derived]; the ReLU-max measure claim [recalled]
CITATION = "Cohen & Shashua, ICML 2016 (abstract; shallow bound derived)"
STATEMENT = ("With max pooling ReLU ConvNets are universal, with average pooling they are not; their depth efficiency "
             "is incomplete (weaker than ConvACs'). A shallow ReLU network with global sum/avg pooling computes "
             "h = sum_i g(x_i), whose grid tensor has rank <= 2 under every partition.")
FORMULA = str(sp.Integer(2)) + " (shallow relu-sum / relu-avg, every partition)"

GRIDS = {"test": dict(n=[4], M=3, r=3, seeds=4), "quick": dict(n=[4, 8], M=3, r=3, seeds=8),
         "full": dict(n=[4, 8], M=3, r=3, seeds=30)}


def check(scale: str = "quick", out_dir: str | None = None) -> Report:
    """Run the checks of the generalized-decomposition claim.

    ReLU networks with max pooling are universal, with average pooling not; the shallow ReLU-sum / ReLU-avg
    rank is at most 2.

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
    Cohen & Shashua, "Convolutional Rectifier Networks as Generalized Tensor Decompositions", ICML 2016.
    """
    rep = Report("generalized", STATEMENT, CITATION, STATUS, FORMULA, check_scale(scale))
    g = GRIDS[scale]
    m, r = g["M"], g["r"]
    # 1. shallow relu-sum / relu-avg: rank <= 2 (exact, integer weights, every balanced partition of 4 and some of 8)
    for op in ("relu-sum", "relu-avg"):
        for n in g["n"]:
            net = te.convac(te.ModeTree.shallow(n), m, 4, op=op, seed=100 + n, integer=True, int_range=RANGE)
            parts = list(te.Partition.all_balanced(n)) if n <= 6 else [te.Partition.odd_even(n), te.Partition.left_right(n),
                                                                          te.Partition.random(n, 0)]
            worst = max(exact_rank(net, P) for P in parts)
            rep.check(f"shallow {op} N={n} Z=4", worst <= 2, "max rank over partitions <= 2 [derived]", str(worst))
    # 2. fraction of random deep nets whose odd/even rank stays below min(r0,M)^(N/2)
    rows, frac = [], {}
    for n in g["n"]:
        target = min(r, m) ** (n // 2)
        top = m ** (n // 2)
        P = te.Partition.odd_even(n)
        for op in ("product", "relu-max", "relu-avg"):
            low, below_max, gaps, ranks = 0, 0, [], []
            for s in range(g["seeds"]):
                if op == "product":
                    rk = exact_rank(te.convac(te.ModeTree.line(n), m, r, seed=s, integer=True, int_range=RANGE), P)
                    gaps.append(float("inf"))
                else:
                    net = te.convac(te.ModeTree.line(n), m, r, op=op, seed=s)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", RankWarning)
                        res = te.rank(net, P, "numeric")
                    rk = res.rank
                    gaps.append(res.gap)
                ranks.append(rk)
                low += rk < target
                below_max += rk < top
            f = low / g["seeds"]
            frac[(n, op)] = f
            ming = min(gaps)
            rows.append((n, op, g["seeds"], target, f"{f:.2f}", f"{below_max / g['seeds']:.2f}", f"{min(ranks)}..{max(ranks)}",
                         "exact" if op == "product" else f"{ming:.3g}"))
            if op == "product":
                rep.check(f"ConvAC fraction below min(r0,M)^(N/2), N={n}", low == 0,
                          "= 0 (generic rank, exact at integer points) [derived]", f"{low}/{g['seeds']}")
    rep.table("Fraction of random deep networks (line tree, M=3, r=3) with odd/even rank below the ConvAC generic rank",
              ["N", "operator", "networks", "min(r0,M)^(N/2)", "fraction below", "fraction below M^(N/2)", "ranks seen",
               "min singular-value gap (numeric)"], rows)
    for n in g["n"]:
        rep.observations.append(
            f"N={n}: fraction of random ReLU-max nets with rank < min(r0,M)^(N/2): {frac[(n, 'relu-max')]:.2f}; "
            f"ReLU-avg: {frac[(n, 'relu-avg')]:.2f}; ConvAC: {frac[(n, 'product')]:.2f}. Numeric ranks (float SVD) "
            f"for ReLU nets; the paper's positive-measure statement is [recalled], so this is an observation only.")

    def draw(ax):
        import numpy as np

        ops = ["product", "relu-max", "relu-avg"]
        x = np.arange(len(ops))
        for k, n in enumerate(g["n"]):
            ax.bar(x + 0.3 * k, [frac[(n, o)] for o in ops], 0.3, label=f"N={n}")
        ax.set_xticks(x + 0.15, ops)
        ax.set_ylabel("fraction with rank < min(r0,M)^(N/2)")
        ax.set_title("Depth efficiency: ConvAC vs ReLU networks")
        ax.legend()

    rep.plots += save_plot(out_dir, "generalized", draw)
    return rep
