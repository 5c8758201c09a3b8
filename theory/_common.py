"""Helpers shared by the claim modules: exact ranks, certificates, plotting (bounds come from the library)."""

from __future__ import annotations

import os
from typing import Any

import tensorexpr as te

#: integer weights in [-RANGE, RANGE]: wide enough that a random point hits the generic rank with high probability
RANGE = 1000

__all__ = ["RANGE", "exact_rank", "interval", "save_plot", "max_rank"]


def exact_rank(net: te.Network, P: te.Partition) -> int:
    """Exact rank at the network's integer point (a certified lower bound on the generic rank).

    Parameters
    ----------
    net : Network
        An integer network.
    P : Partition

    Returns
    -------
    int

    Raises
    ------
    RankError
        When ``net`` is not an integer network (from :func:`tensorexpr.rank`).
    """
    return te.rank(net, P, method="exact").rank


def max_rank(net: te.Network, P: te.Partition) -> int:
    """The largest rank ``[A]_{I,J}`` can have: ``min(T^|I|, T^|J|)``.

    Parameters
    ----------
    net : Network
    P : Partition

    Returns
    -------
    int
    """
    return min(net.n_templates ** len(P.I), net.n_templates ** len(P.J))


def interval(net: te.Network, P: te.Partition) -> dict[str, Any]:
    """Certified interval on the generic rank (``te.certify``).

    Parameters
    ----------
    net : Network
    P : Partition

    Returns
    -------
    dict
        ``{"lower", "upper", "certified", "by"}``; ``by`` names the lower and upper methods.
    """
    c = te.certify(net, P)
    return {"lower": int(c.lower), "upper": int(c.upper), "certified": bool(c.certified),
            "by": f"{c.lower_method} / {c.upper_method}"}


def save_plot(out_dir: str | None, name: str, draw: Any) -> list[str]:
    """Draw with matplotlib (Agg) into ``out_dir/name.png``; no-op without ``out_dir``.

    Parameters
    ----------
    out_dir : str or None
        Created when missing.
    name : str
        File name without ``.png``.
    draw : callable
        ``draw(ax)`` on a fresh 6x4 inch axes.

    Returns
    -------
    list of str
        ``[path]``, or ``[]`` without ``out_dir``.
    """
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
