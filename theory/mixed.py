"""Mixed tensor decompositions: Theorem 7, the worked example and Claim 5, against exact ranks.

Cohen, Tamari & Shashua, "Boosting Dilated Convolutional Networks with Mixed Tensor Decompositions", ICLR 2018
(arXiv 1703.06846): the tree decomposition (eq. 3, :func:`tensorexpr.tree_decomposition`), the mixed
decomposition (eq. 4, :func:`tensorexpr.build.mixed`), hybrid trees (Def. 4) and tilings (Def. 6).
"""

from __future__ import annotations

import numpy as np

import tensorexpr as te
from tensorexpr.bounds.tiling import tiling_bounds
from tensorexpr.build import common_nodes, embed_hybrid, hybrid_choices, hybrid_tree
from tensorexpr.build.dilated import random_binary_tree
from tensorexpr.bounds.tiling import node_depths

from theory._common import RANGE, exact_rank, save_plot
from theory.report import Report, check_scale

STATUS = "checked"
CITATION = "Cohen, Tamari & Shashua, ICLR 2018 (eq. 3, eq. 4, Def. 4, Def. 6, Theorem 7, Claim 5, worked example)"
STATEMENT = ("Theorem 7: for the tree decomposition with the product operator, r^{#sibling pairs of depth > 1 in "
             "Theta(I;T) x Theta(I^c;T)} <= rank [A]_I (generic) and rank [A]_I <= r^{min(|Theta(I;T)|, "
             "|Theta(I^c;T)|)} (all weights). Worked example (N = 16): T and Tbar reach r^{N/4+N/8}, a hybrid tree "
             "r^{N/2}. Claim 5: a mixed decomposition of size r reproduces the tree decomposition of any hybrid "
             "tree of size r/2, so its generic rank is at least the hybrid's on every partition.")
FORMULA = "r**Min(Abs(Theta_I), Abs(Theta_J)) >= rank >= r**n_sibling_pairs"

GRIDS = {
    "test": dict(thm_trees=4, thm_n=(4, 6), thm_r=(2,), thm_sets=2, draws=2, ex_r4=False, c5_parts=4),
    "quick": dict(thm_trees=12, thm_n=(4, 8), thm_r=(2, 3), thm_sets=3, draws=3, ex_r4=True, c5_parts=35),
    "full": dict(thm_trees=40, thm_n=(4, 10), thm_r=(2, 3), thm_sets=4, draws=3, ex_r4=True, c5_parts=35),
}


def _max_rank_over_draws(build, P: te.Partition, target: int, draws: int) -> tuple[int, int]:
    """(max exact rank, min exact rank) over integer draws; stops early once ``target`` is reached. The max
    is a certified lower bound on the generic rank; every draw must respect an all-weights upper bound."""
    hi, lo = 0, None
    for s in range(draws):
        x = exact_rank(build(s), P)
        hi, lo = max(hi, x), x if lo is None else min(lo, x)
        if hi >= target:
            break
    return hi, lo if lo is not None else 0


def _theorem7(rep: Report, g: dict) -> list[tuple]:
    rng = np.random.default_rng(7)
    rows, bad_up, bad_lo, tight, n_cases = [], [], [], 0, 0
    for t in range(g["thm_trees"]):
        n = int(rng.integers(g["thm_n"][0], g["thm_n"][1] + 1))
        tree = random_binary_tree(n, rng)
        for r in g["thm_r"]:
            if r ** n > 70_000:
                continue
            for _ in range(g["thm_sets"]):
                k = int(rng.integers(1, n))
                P = te.Partition(sorted(rng.choice(n, size=k, replace=False).tolist()), n)
                lo, up = tiling_bounds(tree, P, r)
                M = r + int(rng.integers(0, 2))  # M = r or r + 1 discretizers, spanning R^r either way

                def build(s: int, tree=tree, r=r, M=M, t=t):
                    return te.tree_decomposition(tree, r, M=M, seed=1000 * t + s, integer=True, int_range=RANGE)

                hi, low = _max_rank_over_draws(build, P, lo.value, g["draws"])
                n_cases += 1
                if low > up.value:
                    bad_up.append((tree.to_nested(), sorted(P.I), r, low, up.value))
                if hi < lo.value:
                    bad_lo.append((tree.to_nested(), sorted(P.I), r, hi, lo.value))
                tight += lo.value == up.value
                if len(rows) < 12:
                    rows.append((str(tree.to_nested()), str(sorted(P.I)), r, lo.value, hi, up.value))
    rep.check("Theorem 7 upper bound (every draw)", not bad_up,
              "rank [A]_I <= r^min(|Theta(I;T)|, |Theta(I^c;T)|) at every integer draw",
              f"{n_cases} (tree, I, r) cases; violations {bad_up[:2]}" if bad_up else f"{n_cases} cases ok")
    rep.check("Theorem 7 lower bound (generic)", not bad_lo,
              "max exact rank over integer draws >= r^#(sibling pairs of depth > 1)",
              f"violations {bad_lo[:2]}" if bad_lo else f"{n_cases} cases ok ({tight} with lower = upper)")
    return rows


def _worked_example(rep: Report, g: dict) -> dict:
    N, L, r = 16, 4, 2
    T, Tb = te.ModeTree.dilated(N), te.ModeTree.dilated(N, "swapped")
    depth = node_depths(T)
    mix = [m for m in common_nodes(T, Tb) if depth[m] == L - 2]
    I1 = [2 * k - 1 for k in range(1, N // 4 + 1)] + [N // 2 + 4 * k - kk for k in range(1, N // 8 + 1) for kk in (2, 3)]
    P = te.Partition([i - 1 for i in I1], N, name="worked example")
    choice = {m: ("a" if max(m) < N // 2 else "b") for m in mix}
    choice[T.root] = "a"
    H = hybrid_tree(T, Tb, mix, choice)
    ranks: dict[str, int] = {}
    for tag, tree, want in (("T", T, N // 4 + N // 8), ("Tbar", Tb, N // 4 + N // 8), ("H", H, N // 2)):
        lo, up = tiling_bounds(tree, P, r)
        x = exact_rank(te.tree_decomposition(tree, r, seed=3, integer=True, int_range=RANGE), P)
        ranks[tag] = x
        rep.check(f"worked example N=16: {tag}, r={r}", lo.value == up.value == x == r ** want,
                  f"Theorem 7 bounds and the exact rank all equal r^{want} = {r ** want}",
                  f"bounds [{lo.value}, {up.value}], exact {x}")
    net = te.mixed(T, Tb, mix, widths=r, seed=3, integer=True, int_range=RANGE)
    ranks["mixed"] = exact_rank(net, P)
    cap = min(net.n_templates, r) ** min(len(P.I), len(P.J))
    rep.observations.append(
        f"Worked example, N=16, r={r}, I (0-indexed) = {sorted(P.I)}, mixture nodes = depth-{L - 2} nodes "
        f"{[sorted(m) for m in mix]}: exact ranks T {ranks['T']}, Tbar {ranks['Tbar']}, hybrid H {ranks['H']} "
        f"({H.to_nested()}), mixed decomposition (eq. 4) {ranks['mixed']}"
        f"{' = the cap r^(N/2), so this is its generic rank' if ranks['mixed'] == cap else ''}.")
    if g["ex_r4"]:  # r = 4: T and Tbar through the structured path (H and the mixed net exceed its budget)
        for tag, tree in (("T", T), ("Tbar", Tb)):
            x = te.rank(te.tree_decomposition(tree, 4, seed=3, integer=True, int_range=RANGE), P, "structured").rank
            rep.check(f"worked example N=16: {tag}, r=4 (structured)", x == 4 ** (N // 4 + N // 8),
                      f"structured exact rank = r^(N/4+N/8) = {4 ** (N // 4 + N // 8)}", str(x))
            ranks[f"{tag} r=4"] = x
    return ranks


def _claim5(rep: Report, g: dict) -> list[tuple]:
    N, r, h = 8, 4, 2
    T, Tb = te.ModeTree.dilated(N), te.ModeTree.dilated(N, "swapped")
    mix = [frozenset(range(4)), frozenset(range(4, 8))]
    rng = np.random.default_rng(5)
    F = rng.integers(-9, 10, size=(r, r)).astype(np.int64)
    while round(abs(np.linalg.det(F))) == 0:
        F = rng.integers(-9, 10, size=(r, r)).astype(np.int64)
    hybrids, same_all = [], True
    for k, ch in enumerate(hybrid_choices(T, mix)):
        H = hybrid_tree(T, Tb, mix, ch)
        hn = te.tree_decomposition(H, h, F=F[:, :h], seed=50 + k, integer=True, int_range=RANGE)
        wa, wb = embed_hybrid(T, Tb, mix, ch, hn.meta["weights"], r)
        mn = te.mixed(T, Tb, mix, widths=r, F=F, weights=(wa, wb), integer=True)
        gh = te.grid_tensor(hn, backend="exact")
        same_all &= bool(np.array_equal(te.grid_tensor(mn, backend="exact"), gh) and np.any(gh != 0))
        hybrids.append((H, hn))
    rep.check("Claim 5: mixed (r=4) reproduces every hybrid (r=2)", same_all,
              "grid tensor of the embedded mixed weights == the hybrid's, exactly, for all 8 hybrids of "
              "(dilated:8, swapped) at mixture nodes {0..3}, {4..7}", str(same_all))
    parts = list(te.Partition.all_balanced(N))[: g["c5_parts"]]
    mixed_nets = [te.mixed(T, Tb, mix, widths=r, F=F, seed=60 + s, integer=True, int_range=RANGE) for s in range(2)]
    rows, bad = [], []
    for P in parts:
        hyb = max(exact_rank(hn, P) for _, hn in hybrids)
        mx = exact_rank(mixed_nets[0], P)
        if mx < hyb:
            mx = max(mx, exact_rank(mixed_nets[1], P))
        tr = max(exact_rank(te.tree_decomposition(t, r, F=F, seed=70, integer=True, int_range=RANGE), P) for t in (T, Tb))
        if mx < hyb:
            bad.append((sorted(P.I), mx, hyb))
        rows.append((str(sorted(P.I)), hyb, tr, mx))
    rep.check("Claim 5: generic rank per partition", not bad,
              "rank(mixed, r=4) >= max over the 8 hybrids of rank(hybrid, r=2), exact ranks",
              f"violations {bad[:3]}" if bad else f"{len(parts)} balanced partitions ok")
    return rows


def check(scale: str = "quick", out_dir: str | None = None) -> Report:
    """Run the checks of Theorem 7, the worked example and Claim 5 of mixed tensor decompositions, against exact ranks.



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
    Cohen, Tamari & Shashua, "Boosting Dilated Convolutional Networks with Mixed Tensor Decompositions", ICLR 2018.
    """
    rep = Report("mixed", STATEMENT, CITATION, STATUS, FORMULA, check_scale(scale))
    g = GRIDS[scale]
    rows = _theorem7(rep, g)
    rep.table("Theorem 7 on random binary trees (first cases): generic lower bound, max exact rank over integer "
              "draws, upper bound", ["tree", "I", "r", "lower", "exact", "upper"], rows)
    ranks = _worked_example(rep, g)
    rep.table("Worked example, N = 16, exact ranks of [A]_I", ["network", "rank"], list(ranks.items()))
    rows5 = _claim5(rep, g)
    rep.table("Claim 5, N = 8: best hybrid (r=2), best single tree T/Tbar (r=4) and mixed (r=4) exact ranks",
              ["I", "max hybrid r=2", "max(T, Tbar) r=4", "mixed r=4"], rows5[:12])

    def draw(ax):
        names = [k for k in ("T", "Tbar", "H", "mixed") if k in ranks]
        vals = [np.log2(ranks[k]) for k in names]
        ax.bar(names, vals, color=["C0", "C0", "C1", "C2"][: len(names)])
        ax.axhline(6, color="k", ls=":", label="r^(N/4+N/8)")
        ax.axhline(8, color="k", ls="--", label="r^(N/2)")
        ax.set_ylabel("log2 rank [A]_I")
        ax.set_title("Worked example N=16, r=2 (exact ranks)")
        ax.set_ylim(0, 10)
        ax.legend(loc="upper left", ncol=2)

    rep.plots += save_plot(out_dir, "mixed", draw)
    return rep
