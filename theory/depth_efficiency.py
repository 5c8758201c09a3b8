"""Depth efficiency: a deep HT ConvAC needs an exponentially wide shallow (CP) network to be replicated.

Cohen, Sharir & Shashua, "On the Expressive Power of Deep Learning: A Tensor Analysis", COLT 2016, Thm. 1.
"""

from __future__ import annotations

import sympy as sp

import tensorexpr as te

from theory._common import RANGE, exact_rank, save_plot
from theory.report import Report, check_scale

STATUS = "checked"  # Thm. 1 in Bentkamp's Isabelle formalisation; the exact generic rank is [derived]
CITATION = "Cohen, Sharir & Shashua, COLT 2016, Theorem 1 (Isabelle AFP 'Deep_Learning')"
STATEMENT = ("For almost every weight setting of a deep HT ConvAC (window 2, N = 2^L), the odd/even "
             "matricization has rank min(r_0, M)^(N/2); a CP (shallow) network with Z channels has rank <= Z under "
             "every partition, so replicating the deep network needs Z >= min(r_0, M)^(N/2).")
N, M, r0, Z = sp.symbols("N M r_0 Z", positive=True, integer=True)
FORMULA = sp.Pow(sp.Min(r0, M), N / 2)

#: sizes no dense tensor reaches: certified with te.certify (specialization lower bound = min-cut / shape cap)
SCALE_GRIDS = {
    "test": [(32, 2, 2), (64, 3, 2)],
    "quick": [(32, 2, 2), (64, 3, 2), (256, 2, 2), (1024, 3, 2)],
    "full": [(32, 2, 2), (64, 3, 2), (64, 4, 3), (256, 2, 2), (256, 3, 2), (1024, 3, 2), (1024, 4, 3)],
}

GRIDS = {
    "test": [(4, 2, 2), (8, 2, 2)],
    "quick": [(4, 2, 2), (4, 3, 2), (8, 2, 2), (8, 3, 2), (8, 3, 3), (16, 2, 2)],
    "full": [(4, 2, 2), (4, 3, 2), (8, 2, 2), (8, 3, 2), (8, 3, 3), (16, 2, 2), (16, 3, 2), (16, 2, 3)],
}


def check(scale: str = "quick", out_dir: str | None = None) -> Report:
    """Run the checks of the depth-efficiency claim.

    A deep HT ConvAC's odd/even rank is ``min(r_0, M)^(N/2)``, a shallow one needs that many channels.

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
    Cohen, Sharir & Shashua, "On the Expressive Power of Deep Learning: A Tensor Analysis", COLT 2016, Thm. 1.
    """
    rep = Report("depth_efficiency", STATEMENT, CITATION, STATUS, f"rank_odd_even = {FORMULA}", check_scale(scale))
    rows, plot = [], []
    for n, m, r in GRIDS[scale]:
        P = te.Partition.odd_even(n)
        deep = te.convac(te.ModeTree.line(n), m, r, seed=n * 100 + m * 10 + r, integer=True, int_range=RANGE)
        want = int(FORMULA.subs({N: n, M: m, r0: r}))
        got = exact_rank(deep, P)
        lr = exact_rank(deep, te.Partition.left_right(n))
        rep.check(f"HT odd/even N={n} M={m} r0={r}", got == want, f"= min(r0,M)^(N/2) = {want} [derived]", str(got))
        rep.check(f"HT left/right N={n} M={m} r0={r}", lr <= r, f"<= r_(L-1) = {r} [derived]", str(lr))
        # shallow: CP rank <= Z; with Z = want - 1 it can never match, with Z = want it reaches the rank here
        zmin = want
        cp_below = exact_rank(te.cp(n, m, zmin - 1, seed=1, integer=True, int_range=RANGE), P) if zmin > 1 else 0
        cp_at = exact_rank(te.cp(n, m, zmin, seed=1, integer=True, int_range=RANGE), P)
        rep.check(f"CP Z={zmin - 1} N={n}", cp_below <= zmin - 1, f"<= Z = {zmin - 1} < deep rank [derived]", str(cp_below))
        rep.check(f"CP Z={zmin} N={n}", cp_at <= zmin, f"<= Z = {zmin} [derived]", str(cp_at))
        deep_params = deep.n_params
        cp_params = te.cp(n, m, zmin, seed=1).n_params
        rows.append((n, m, r, got, zmin, cp_at, deep_params, cp_params))
        plot.append((n, m, r, zmin, deep_params, cp_params))
    rep.table("Smallest shallow width Z matching a deep network (odd/even rank)",
              ["N", "M", "r0", "deep rank (exact)", "Z_min = min(r0,M)^(N/2)", "CP rank at Z_min (exact)",
               "deep params", "CP params at Z_min"], rows)
    big_rows = []
    for n, m, r in SCALE_GRIDS[scale]:
        deep = te.convac(te.ModeTree.line(n), m, r, seed=0)
        cert = te.certify(deep, te.Partition.odd_even(n))
        want = int(FORMULA.subs({N: n, M: m, r0: r}))
        rep.check(f"certified HT odd/even N={n} M={m} r0={r}", cert.certified and cert.lower == want,
                  f"certified = min(r0,M)^(N/2) = {min(r, m)}^{n // 2} [derived]",
                  cert.summary())
        cp_params = n * m * want + want
        big_rows.append((n, m, r, cert.summary(), deep.n_params, f"~10^{len(str(cp_params)) - 1}"))
        plot.append((n, m, r, want, deep.n_params, cp_params))
    rep.table("At scale (no dense tensor): certified odd/even rank, hence the smallest shallow width Z_min",
              ["N", "M", "r0", "te.certify", "deep params", "CP params at Z_min"], big_rows)
    rep.observations.append("Z_min is a lower bound on the shallow width (CP rank <= Z, derived); a random CP with "
                            "Z = Z_min reached rank Z_min in every row where 'CP rank at Z_min' equals it (generic "
                            "attainment is [recalled]).")

    def draw(ax):
        from tensorexpr.core.numbers import log2_int

        # log2 of exact integers on a linear axis: Z reaches 2^512 and beyond, past what a float log axis
        # shows well (its autoscaled lower limit fell to 1e-7)
        top = 1.0
        for (m, r) in sorted({(p[1], p[2]) for p in plot}):
            pts = [(p[0], log2_int(p[3])) for p in plot if (p[1], p[2]) == (m, r)]
            top = max(top, max(y for _, y in pts))
            ax.plot([x for x, _ in pts], [y for _, y in pts], "o-", label=f"Z_min, M={m}, r0={r}")
        ax.set_xscale("log", base=2)
        step = 1
        while top / step > 8:
            step *= 2
        ticks = list(range(0, int(top) + step, step))
        ax.set_yticks(ticks)
        ax.set_yticklabels([str(2**t) if t <= 4 else f"2^{t}" for t in ticks])
        ax.set_ylim(0, ticks[-1])
        ax.set_xlabel("N (input positions)")
        ax.set_ylabel("smallest shallow width Z (log scale)")
        ax.set_title("Depth efficiency: shallow width needed vs N")
        ax.legend()

    rep.plots += save_plot(out_dir, "depth_efficiency", draw)
    return rep
