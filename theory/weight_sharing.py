"""Weight sharing: which separation-rank statements survive tying the weights (a convolution).

Cohen & Shashua, "Inductive Bias of Deep Convolutional Networks through Pooling Geometry", ICLR 2017, say their
analysis is "oblivious to whether or not weights are shared". Upper bounds are: a tied network is a special
weight setting of the untied one. Generic ranks are not always: tying makes the grid tensor invariant under the
tree automorphisms it creates, and a window split with two or more positions on each side drops from
``M^2`` to ``dim Sym^2 = M(M+1)/2`` (te.symmetry_bound; docs/theory.md, "Weight sharing").
"""

from __future__ import annotations

import numpy as np
import sympy as sp

import tensorexpr as te

from theory._common import RANGE, exact_rank, save_plot
from theory.report import Report, check_scale
from tensorexpr.core.partitions import STANDARD_PARTITIONS

STATUS = "checked"  # the quote is [checked] against the paper; what survives tying is [derived] and measured here
CITATION = "Cohen & Shashua, ICLR 2017 (Sec. on weight sharing: 'oblivious to whether or not weights are shared')"
STATEMENT = ("The separation-rank analysis is oblivious to weight sharing. Measured: every upper bound survives "
             "(tied weights are a special setting), and so do the odd/even window-2 rank min(r_0, M)^(N/2), the "
             "coarse-partition rank r_(L-1) and the preference of each pooling geometry; the per-window factor "
             "min(r_0, M^min(|I n w|,|J n w|)) does not: a 2|2 window of a convolution has rank "
             "min(r_0, M(M+1)/2), so checkerboard under square pooling is (M(M+1)/2)^(N/4), not M^(N/2).")
M, r0, N = sp.symbols("M r_0 N", positive=True, integer=True)
FORMULA = "tied odd/even (line, window 2) = min(r_0, M)^(N/2);  tied 2|2 windows = min(r_0, M(M+1)/2)^(N/4)"

LINES = {"test": [(8, 2, 2), (8, 3, 4)], "quick": [(8, 2, 2), (8, 3, 4), (16, 2, 3), (8, 2, 5)],
         "full": [(8, 2, 2), (8, 3, 4), (16, 2, 3), (8, 2, 5), (16, 3, 4)]}
GRIDS = {"test": [(4, 4, 2, [4, 9])], "quick": [(4, 4, 2, [4, 9]), (4, 4, 2, [2, 9]), (2, 2, 3, [8])],
         "full": [(4, 4, 2, [4, 9]), (4, 4, 2, [2, 9]), (2, 2, 3, [8]), (2, 2, 4, [12]), (4, 4, 2, [3, 5])]}
SCALE = {"test": [], "quick": [(32, 2, 16)], "full": [(32, 2, 16), (64, 2, 16)]}
KINDS = list(STANDARD_PARTITIONS)


def _best(net: te.Network, P: te.Partition, seeds: int = 2) -> int:
    """Largest exact rank over a few integer instances of the architecture (a lower bound on the generic rank)."""
    return max(exact_rank(te.integer_twin(net, s, int_range=RANGE * 1000), P) for s in range(seeds))


def check(scale: str = "quick", out_dir: str | None = None) -> Report:
    """Run the checks of which separation-rank statements survive tying the weights (a convolution).

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
    Cohen & Shashua, "Inductive Bias of Deep Convolutional Networks through Pooling Geometry", ICLR 2017
    (weight sharing).
    """
    rep = Report("weight_sharing", STATEMENT, CITATION, STATUS, FORMULA, check_scale(scale))
    rows = []
    for n, m, r in LINES[scale]:
        P = te.Partition.odd_even(n)
        want = min(r, m) ** (n // 2)
        tied = _best(te.convac(te.ModeTree.line(n), m, r, shared=True, seed=1), P)
        untied = _best(te.convac(te.ModeTree.line(n), m, r, seed=1), P)
        rep.check(f"odd/even line N={n} M={m} r0={r}: tying changes nothing", tied == untied == want,
                  f"tied = untied = min(r0,M)^(N/2) = {want} (a symmetric M x M window matrix has rank min(r0, M))",
                  f"tied {tied}, untied {untied}")
        rows.append(("line", n, m, r, "odd_even", untied, tied, want))
    grid_rows = []
    for h, w, m, widths in GRIDS[scale]:
        sym2 = m * (m + 1) // 2
        for geometry in ("square", "mirror"):
            tied_net = te.convac(te.ModeTree.grid(h, w, 2, geometry), m, widths, shared=True, seed=2)
            untied_net = te.convac(te.ModeTree.grid(h, w, 2, geometry), m, widths, seed=2)
            for kind in KINDS:
                P = te.Partition.grid(h, w, kind)
                tied, untied = _best(tied_net, P), _best(untied_net, P)
                up = te.symmetry_bound(tied_net, P).value
                cert = te.certify(tied_net, P)
                rep.check(f"tied {geometry} {kind} {h}x{w} M={m} widths={widths}: certified = exact",
                          cert.certified and cert.value == tied and tied <= untied,
                          "certify (symmetry / specialization / gram) = exact tied rank <= untied rank",
                          f"{cert.summary()}; exact tied {tied}, untied {untied}")
                split2 = all(min(P.side(wd)) == 2 for wd in tied_net.tree.internal_nodes
                             if tied_net.tree.levels[wd] == 1)
                if split2:
                    want = min(widths[0], sym2) ** ((h * w) // 4)
                    rep.check(f"tied {geometry} {kind} {h}x{w} M={m}: 2|2 windows", tied == want == up,
                              f"= min(r0, M(M+1)/2)^(N/4) = {want} = symmetry bound", f"exact {tied}, bound {up}")
                grid_rows.append((geometry, kind, f"M={m} w={widths}", untied, tied, up, cert.summary()))
    rep.table("Odd/even on a window-2 line: exact ranks, untied vs tied (best of 2 integer instances)",
              ["tree", "N", "M", "r0", "partition", "untied", "tied", "min(r0,M)^(N/2)"], rows)
    rep.table("4x4 grids: exact ranks untied vs tied, the symmetry bound, and te.certify on the tied network",
              ["geometry", "partition", "arch", "untied exact", "tied exact", "symmetry bound", "certify (tied)"],
              grid_rows)
    # invariance behind the drop: a tied tensor is unchanged by swapping two leaves of one window
    net = te.convac(te.ModeTree.grid(4, 4), 2, [3, 2], shared=True, seed=3, integer=True)
    A = te.grid_tensor(net, backend="exact")  # exact: entries reach 1e60, where float64 rounding depends on the order
    swapped = np.swapaxes(A, 0, 5)  # modes 0 and 5 = (0,0) and (1,1) of the first 2x2 window
    rep.check("tied grid tensor is window-symmetric", bool(np.array_equal(A, swapped)),
              "A unchanged by swapping two positions of one window (the automorphism tying creates)", "equal"
              if np.array_equal(A, swapped) else "differs")
    A_u = np.asarray(te.grid_tensor(te.convac(te.ModeTree.grid(4, 4), 2, [3, 2], seed=3, integer=True), backend="exact"))
    rep.check("untied grid tensor is not", not np.array_equal(A_u, np.swapaxes(A_u, 0, 5)),
              "untied (locally connected) weights break the symmetry", "differs"
              if not np.array_equal(A_u, np.swapaxes(A_u, 0, 5)) else "equal")
    big = []
    for side, m, width in SCALE[scale]:
        for geometry in ("square", "mirror"):
            tied_net = te.convac(te.ModeTree.grid(side, side, 2, geometry), m, width, shared=True, seed=0)
            untied_net = te.convac(te.ModeTree.grid(side, side, 2, geometry), m, width, seed=0)
            for kind in KINDS:
                P = te.Partition.grid(side, side, kind)
                ct, cu = te.certify(tied_net, P), te.certify(untied_net, P)
                rep.check(f"certified tied {geometry} {kind} {side}x{side}", ct.certified,
                          "the tied (convolutional) network's generic rank is certified", ct.summary())
                big.append((geometry, kind, ct.summary(), cu.summary()))
        sq = {b[1]: b[2] for b in big if b[0] == "square"}
        rep.observations.append(f"{side}x{side}, square pooling, tied: checkerboard {sq.get('checkerboard')}, "
                                f"left_right {sq.get('left_right')}: the geometry's preference survives tying.")
    if big:
        rep.table("Blob-task scale (M=2, 16 channels): certified ranks, convolutional (tied) vs locally connected",
                  ["geometry", "partition", "tied (convolution)", "untied (locally connected)"], big)
    rep.observations.append("Upper bounds (geometry, min-cut) hold for tied networks unchanged; tied ConvACs are not "
                            "universal (Cohen & Shashua): every grid tensor is invariant under the tree "
                            "automorphisms the ties create.")

    first = grid_rows[: 2 * len(KINDS)]  # the first architecture, square then mirror: measured exact ranks

    def draw(ax):
        x = np.arange(len(first))
        ax.bar(x - 0.2, [r[3] for r in first], 0.4, label="locally connected (untied), exact")
        ax.bar(x + 0.2, [r[4] for r in first], 0.4, label="convolution (tied), exact")
        ax.plot(x + 0.2, [r[5] for r in first], "k_", markersize=10, label="symmetry bound (tied)")
        ax.set_xticks(x, [f"{r[0][:2]} {r[1]}" for r in first], rotation=70, fontsize=6)
        ax.set_yscale("log")
        ax.set_ylim(top=max(r[3] for r in first) * 30)  # room for the legend above the bars
        ax.set_ylabel("rank")
        ax.set_title(f"What weight sharing changes: 4x4 grid, {first[0][2]}", fontsize=9)
        ax.legend(fontsize=7)

    rep.plots += save_plot(out_dir, "weight_sharing", draw)
    return rep
