"""Mixed decompositions: interconnecting two dilated networks boosts expressiveness.

Cohen, Tamari & Shashua, "Boosting Dilated Convolutional Networks with Mixed Tensor Decompositions", ICLR 2018.
"""

from __future__ import annotations

import itertools

import tensorexpr as te

from ._common import RANGE, exact_rank, save_plot
from .report import Report, check_scale

STATUS = "checked"  # the abstract; the exact theorem is [recalled], so the needed width is an observation
CITATION = "Cohen, Tamari & Shashua, ICLR 2018 (abstract)"
STATEMENT = ("Interconnecting two dilated networks through their intermediate layers (a mixed tensor decomposition), "
             "even with a single connection, gives an (almost) quadratic expressive gap over the individual networks.")
FORMULA = ""

GRIDS = {"test": dict(n=8, M=2, r=[1], rmax=4, parts=6), "quick": dict(n=8, M=2, r=[1, 2], rmax=6, parts=35),
         "full": dict(n=8, M=3, r=[1, 2, 3], rmax=9, parts=35)}


def _family(n: int, k: int) -> list[te.Partition]:
    return list(itertools.islice(te.Partition.all_balanced(n), k))


def check(scale: str = "quick", out_dir: str | None = None) -> Report:
    rep = Report("mixed", STATEMENT, CITATION, STATUS, FORMULA, check_scale(scale))
    g = GRIDS[scale]
    n, m = g["n"], g["M"]
    a, b = te.ModeTree.dilated(n, [1, 2, 4]), te.ModeTree.dilated(n, [2, 1, 4])
    mix_nodes = [frozenset(range(4)), frozenset(range(4, 8))]
    parts = _family(n, g["parts"])
    rows, curve = [], []
    for r in g["r"]:
        net = te.mixed(a, b, mix_nodes, M=m, widths=r, seed=r, integer=True, int_range=RANGE)
        wa, wb = net.meta["weights"]
        na = te.hierarchical(a, wa, m, integer=True)
        nb = te.hierarchical(b, wb, m, integer=True)
        rm = [exact_rank(net, P) for P in parts]
        ra = [exact_rank(na, P) for P in parts]
        rb = [exact_rank(nb, P) for P in parts]
        # [derived] generic rank(mixed) >= generic rank of each component (zero the other tree's leaves/root)
        ca = [exact_rank(te.convac(a, m, r, seed=99, integer=True, int_range=RANGE), P) for P in parts]
        cb = [exact_rank(te.convac(b, m, r, seed=98, integer=True, int_range=RANGE), P) for P in parts]
        bad = [P.rows for P, x, y, z in zip(parts, rm, ca, cb) if x < max(y, z)]
        rep.check(f"mixed >= components, r={r}", not bad,
                  "rank(mixed) >= max(rank(tree a), rank(tree b)) per partition [derived, generic]",
                  f"violations: {bad[:3]}" if bad else f"{len(parts)} partitions ok")
        # no mixture: exactly the sum of the two networks
        plain = te.mixed(a, b, [], M=m, widths=r, seed=r, integer=True, int_range=RANGE)
        pa, pb = plain.meta["weights"]
        same = (plain.grid_tensor(backend="exact") == te.hierarchical(a, pa, m, integer=True).grid_tensor(backend="exact")
                + te.hierarchical(b, pb, m, integer=True).grid_tensor(backend="exact")).all()
        rep.check(f"no mixture = sum of networks, r={r}", bool(same), "grid tensors equal exactly [derived]", str(bool(same)))
        need = {}
        for tag, tree in (("a", a), ("b", b)):
            need[tag] = None
            for w in range(1, g["rmax"] + 1):
                single = te.convac(tree, m, w, seed=w, integer=True, int_range=RANGE)
                if all(exact_rank(single, P) >= x for P, x in zip(parts, rm)):
                    need[tag] = w
                    break
        fmt = lambda v: str(v) if v is not None else f"> {g['rmax']}"
        rows.append((r, max(rm), sum(rm), max(ra), max(rb), fmt(need["a"]), fmt(need["b"])))
        curve.append((r, need["a"], need["b"]))
    rep.table(f"Mixed ({a.name} + {b.name} @ {{0..3}}, {{4..7}}), M={m}, over {len(parts)} balanced partitions: width an "
              f"individual tree needs to reach the mixed ranks on every partition",
              ["mixed width r", "max mixed rank", "sum of mixed ranks", "max rank tree a", "max rank tree b",
               "width needed, tree a alone", "width needed, tree b alone"], rows)
    rep.observations.append(f"Needed widths (r, tree a, tree b): {curve}. The paper's (almost) quadratic gap is "
                            f"[recalled]; these small cases are an observation.")

    def draw(ax):
        rs = [c[0] for c in curve]
        for k, tag in ((1, "tree a alone"), (2, "tree b alone")):
            ax.plot(rs, [c[k] if c[k] is not None else float("nan") for c in curve], "o-", label=tag)
        ax.plot(rs, rs, "k--", label="mixed width")
        ax.set_xlabel("mixed network width r")
        ax.set_ylabel("width needed to match")
        ax.set_title("Mixed decompositions")
        ax.legend()

    rep.plots += save_plot(out_dir, "mixed", draw)
    return rep
