"""Overlapping operations: stride < window brings an exponential increase in expressive capacity.

Sharir & Shashua, "On the Expressive Power of Overlapping Architectures of Deep Learning", ICLR 2018.
"""

from __future__ import annotations

import tensorexpr as te

from theory._common import RANGE, exact_rank, interval, max_rank, save_plot
from theory.report import Report, check_scale

STATUS = "checked"  # the abstract; the exact lower-bound formula was not retrieved, so no closed form is asserted
CITATION = "Sharir & Shashua, ICLR 2018 (abstract)"
STATEMENT = ("Overlapping receptive fields (stride < window) give an exponential increase in expressive capacity; "
             "the non-overlapping case reduces to the HT model.")
FORMULA = ""  # not retrieved; checks are exact rank <= min-cut <= M^min(|I|,|J|) [derived]

#: name -> layers with a width placeholder ``r``: all valid-padded on N = 8, ending with one position
ARCHS = {
    "HT (2,2)x3": [(2, 2), (2, 2), (2, 2)],
    "(3,1),(3,3),(2,2)": [(3, 1), (3, 3), (2, 2)],
    "(2,1),(3,2),(3,3)": [(2, 1), (3, 2), (3, 3)],
    "(4,2),(3,3)": [(4, 2), (3, 3)],
    "(5,3),(2,1)": [(5, 3), (2, 1)],
    "(3,1),(3,1),(4,4)": [(3, 1), (3, 1), (4, 4)],
}
GRIDS = {"test": dict(M=2, budget_r=2, rmax=3, archs=3), "quick": dict(M=2, budget_r=3, rmax=4, archs=6),
         "full": dict(M=3, budget_r=3, rmax=6, archs=6)}


def _net(layers, r, m, seed=0):
    return te.overlapping(8, [(w, s, r) for w, s in layers], M=m, seed=seed, integer=True, int_range=RANGE, shared=True)


def check(scale: str = "quick", out_dir: str | None = None) -> Report:
    """Run the checks of the overlapping-architectures claim.

    Exact rank <= min-cut <= ``M^min(|I|,|J|)`` for overlapping networks.

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
    Sharir & Shashua, "On the Expressive Power of Overlapping Architectures of Deep Learning", ICLR 2018.
    """
    rep = Report("overlapping", STATEMENT, CITATION, STATUS, FORMULA, check_scale(scale))
    g = GRIDS[scale]
    m = g["M"]
    budget = _net(ARCHS["HT (2,2)x3"], g["budget_r"], m).n_params
    parts = [te.Partition.odd_even(8), te.Partition.left_right(8), te.Partition.random(8, 3)]
    rows, pts = [], []
    names = list(ARCHS)[: g["archs"]]
    for name in names:
        layers = ARCHS[name]
        fits = [r for r in range(1, g["rmax"] + 1) if _net(layers, r, m).n_params <= budget]
        if not fits:
            rows.append((name, "-", "-", *(["over budget"] * len(parts))))
            continue
        r = max(fits)
        net = _net(layers, r, m)
        row = [name, r, net.n_params]
        for P in parts:
            iv = interval(net, P)
            cut = te.mincut_bound(net, P).bound
            ok = iv["lower"] <= min(cut, max_rank(net, P))
            rep.check(f"{name} r={r} {P.name}", ok, "exact rank <= min(min-cut, M^min(|I|,|J|)) [derived]",
                      f"{iv['lower']} <= {min(cut, max_rank(net, P))}")
            row.append(f"{iv['lower']} / cut {cut}" + (" (certified)" if iv["certified"] else ""))
            pts.append((name, P.name, iv["lower"]))
        rows.append(tuple(row))
    # non-overlapping HT at the budget: its odd/even rank is min(r, M)^(N/2) [derived]
    ht = _net(ARCHS["HT (2,2)x3"], g["budget_r"], m)
    want = min(g["budget_r"], m) ** 4
    got = exact_rank(ht, te.Partition.odd_even(8))
    rep.check("window=stride reduces to HT: odd/even rank", got == want, f"= min(r,M)^(N/2) = {want} [derived]", str(got))
    rep.table(f"Exact rank / min-cut at a budget of {budget} parameters (N=8, M={m}); each architecture (shared weights, i.e. convolutions) gets the "
              f"largest width r that fits", ["architecture (window,stride)", "r", "params",
                                             *[P.name for P in parts]], rows)
    lr = {n: rk for n, p, rk in pts if p == "left_right"}
    best = max(lr, key=lr.get) if lr else None
    rep.observations.append(
        f"left_right ranks at equal budget: {lr}. The non-overlapping HT network is capped at r_(L-1) on this coarse "
        f"partition; the best overlapping architecture here is {best!r}. The paper's exact bound was not retrieved, "
        f"so this comparison is an observation, not a PASS criterion.")

    def draw(ax):
        import numpy as np

        x = np.arange(len(names))
        for k, P in enumerate(parts):
            vals = [next((rk for n, p, rk in pts if n == nm and p == P.name), 0) for nm in names]
            ax.bar(x + 0.25 * k, vals, 0.25, label=P.name)
        ax.set_xticks(x + 0.25, names, rotation=25, fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("exact rank")
        ax.set_title(f"Overlaps at a fixed budget ({budget} params)")
        ax.legend()

    rep.plots += save_plot(out_dir, "overlapping", draw)
    return rep
