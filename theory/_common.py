"""Helpers shared by the claim modules: exact ranks, geometry bounds, certificates, plotting."""

from __future__ import annotations

import os
from typing import Any

import tensorexpr as te

from ._mincut import mincut_bound

#: integer weights in [-RANGE, RANGE]: wide enough that a random point hits the generic rank with high probability
RANGE = 1000

__all__ = ["RANGE", "exact_rank", "geometry_bound", "lower_bound_windows", "interval", "save_plot", "max_rank"]


def exact_rank(net: te.Network, P: te.Partition) -> int:
    """Exact rank at the network's integer point (a certified lower bound on the generic rank)."""
    return te.rank(net, P, method="exact").rank


def max_rank(net: te.Network, P: te.Partition) -> int:
    return min(net.n_templates ** len(P.I), net.n_templates ** len(P.J))


def geometry_bound(tree: te.ModeTree, widths: dict[frozenset, int], M: int, P: te.Partition) -> int:
    """[derived] ``c(t) = 1`` if pure, else ``min(M^{min(|I_t|,|J_t|)}, r_in(t) prod c(children))``."""
    c: dict[frozenset, int] = {}
    for n in tree.nodes:
        i, j = P.side(n)
        if i == 0 or j == 0:
            c[n] = 1
            continue
        kids = tree.children(n)
        prod = widths[kids[0]]
        for k in kids:
            prod *= c[k]
        c[n] = min(M ** min(i, j), prod)
    return c[tree.root]


def lower_bound_windows(tree: te.ModeTree, r0: int, M: int, P: te.Partition) -> int:
    """[derived] ``prod over first-level windows w of min(r_0, M^{min(|I n w|, |J n w|)})`` (specialization)."""
    out = 1
    for n in tree.nodes_at_level(1):
        i, j = P.side(n)
        out *= min(r0, M ** min(i, j))
    return out


def interval(net: te.Network, P: te.Partition) -> dict[str, Any]:
    """Certified interval on the generic rank: ``te.certify`` when merged, else exact rank and min-cut."""
    cert = getattr(te, "certify", None)
    if cert is not None:
        try:
            c = cert(net, P)
            return {"lower": int(c.lower), "upper": int(c.upper), "certified": bool(c.certified), "by": "te.certify"}
        except te.TensorExprError:
            pass
    lo = exact_rank(net, P)
    cut, src = mincut_bound(net, P)
    up = min(cut, max_rank(net, P))
    return {"lower": lo, "upper": up, "certified": lo == up, "by": f"exact GF(p)/Q + {src}"}


def save_plot(out_dir: str | None, name: str, draw: Any) -> list[str]:
    """Draw with matplotlib (Agg) into ``out_dir/name.png``; no-op without ``out_dir``."""
    if not out_dir:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out_dir, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    draw(ax)
    fig.tight_layout()
    path = os.path.join(out_dir, f"{name}.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [path]
