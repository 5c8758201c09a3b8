"""Pooling geometry: contiguous (square) pooling favours interleaved partitions, mirror pooling coarse ones.

Cohen & Shashua, "Inductive Bias of Deep Convolutional Networks through Pooling Geometry", ICLR 2017.
"""

from __future__ import annotations

import sympy as sp

import tensorexpr as te
from tensorexpr.build.convac import resolve_widths

from theory._common import RANGE, exact_rank, save_plot
from theory.report import Report, check_scale
from tensorexpr.core.partitions import STANDARD_PARTITIONS

STATUS = "checked"  # the claim, from the abstract; the bounds used below are [derived]
CITATION = "Cohen & Shashua, ICLR 2017 (abstract; bounds derived)"
STATEMENT = ("A polynomially sized deep network gives exponential separation ranks for favoured partitions and "
             "polynomial ones for the others; contiguous (square) pooling favours interleaved partitions over coarse "
             "ones, and mirror pooling favours mirror-symmetric (coarse) ones.")
M, r = sp.symbols("M r", positive=True, integer=True)
FORMULA = "square, coarse: rank <= r_(L-1);  lower bound prod_w min(r_0, M^min(|I n w|,|J n w|))"

KINDS = list(STANDARD_PARTITIONS)
GRIDS = {"test": [(4, 4, 2, 2)], "quick": [(4, 4, 2, 2), (4, 4, 2, 3)], "full": [(4, 4, 2, 2), (4, 4, 2, 3), (4, 4, 3, 2)]}


def check(scale: str = "quick", out_dir: str | None = None) -> Report:
    """Run the checks of the pooling-geometry claim.

    The pooling geometry decides which partitions get exponential ranks.

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
    Cohen & Shashua, "Inductive Bias of Deep Convolutional Networks through Pooling Geometry", ICLR 2017.
    """
    rep = Report("pooling_geometry", STATEMENT, CITATION, STATUS, FORMULA, check_scale(scale))
    bars = {}
    for h, w, m, width in GRIDS[scale]:
        rows = []
        nets = {g: te.convac(te.ModeTree.grid(h, w, 2, g), m, width, seed=7, integer=True, int_range=RANGE) for g in ("square", "mirror")}
        for kind in KINDS:
            P = te.Partition.grid(h, w, kind)
            row = [kind]
            for g, net in nets.items():
                tree = net.tree
                wd = resolve_widths(tree, width, 1)
                lo_w = te.specialization_bound(tree, P, M=m, widths=wd).value
                up = te.geometry_bound(tree, P, M=m, widths=wd).value
                got = exact_rank(net, P)
                rep.check(f"{g} {kind} {h}x{w} M={m} r={width}", lo_w <= got <= up,
                          f"in [{lo_w}, {up}] (window lower bound, geometry upper bound) [derived]", str(got))
                row += [got, f"[{max(lo_w, got)}, {up}]", "yes" if got == up else "no"]
                bars[(g, kind, m, width)] = got
            rows.append(row)
        sq = {k: bars[("square", k, m, width)] for k in KINDS}
        mi = {k: bars[("mirror", k, m, width)] for k in KINDS}
        rep.check(f"square favours interleaved {h}x{w} M={m} r={width}",
                  min(sq["checkerboard"], sq["interleaved_rows"]) > max(sq["left_right"], sq["top_bottom"]),
                  "rank(interleaved) > rank(coarse) under square pooling", f"{sq}")
        rep.check(f"mirror favours coarse {h}x{w} M={m} r={width}",
                  mi["left_right"] > sq["left_right"] and mi["top_bottom"] > sq["top_bottom"],
                  "mirror rank > square rank on left_right and top_bottom", f"mirror {mi}")
        rep.check(f"mirror has its own coarse halves {h}x{w} M={m} r={width}",
                  mi["mirror_left_right"] < sq["mirror_left_right"] and mi["mirror_top_bottom"] < sq["mirror_top_bottom"],
                  "the roles swap on the halves that are coarse for the mirror tree [derived]", f"mirror {mi}")
        rep.table(f"Exact ranks, {h}x{w} grid, M={m}, widths={width} (interval: certified lower = exact rank at an "
                  f"integer point, upper = geometry bound)",
                  ["partition", "square rank", "square interval", "square certified",
                   "mirror rank", "mirror interval", "mirror certified"], rows)

    def draw(ax):
        import numpy as np

        m, width = GRIDS[scale][0][2], GRIDS[scale][0][3]
        x = np.arange(len(KINDS))
        ax.bar(x - 0.2, [bars[("square", k, m, width)] for k in KINDS], 0.4, label="square")
        ax.bar(x + 0.2, [bars[("mirror", k, m, width)] for k in KINDS], 0.4, label="mirror")
        ax.set_xticks(x, KINDS, rotation=20)
        ax.set_yscale("log")
        ax.set_ylabel("exact rank")
        ax.set_title(f"Pooling geometry, M={m}, r={width}")
        ax.legend()

    rep.plots += save_plot(out_dir, "pooling_geometry", draw)
    return rep
