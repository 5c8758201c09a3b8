"""Read a results database back: list rows, aggregate metrics over seeds (mean, std), plot a metric."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

from tensorexpr.core.backends import require
from tensorexpr.sweep.db import ResultsDB
from tensorexpr.sweep.spec import SweepError

__all__ = ["load_rows", "aggregate", "plot_metric", "varying_fields"]


def load_rows(db: str | Path | None = None, sweep: str | None = None, kind: str | None = None,
              status: str | None = None) -> list[dict[str, Any]]:
    """The rows of a results database (:meth:`ResultsDB.rows`), as a list.

    Parameters
    ----------
    db : str or Path, optional
        The database; :func:`~tensorexpr.sweep.db.default_db_path` when omitted.
    sweep, kind, status : str, optional
        Filters.

    Returns
    -------
    list of dict
    """
    with ResultsDB(db) as store:
        return list(store.rows(sweep=sweep, kind=kind, status=status))


def varying_fields(rows: Sequence[dict[str, Any]], exclude: Sequence[str] = ("seed",)) -> list[str]:
    """Config fields that take more than one value among ``rows`` (in first-seen order).

    Parameters
    ----------
    rows : sequence of dict
        Rows of :func:`load_rows`.
    exclude : sequence of str, optional
        Fields never reported (the seed, by default).

    Returns
    -------
    list of str
    """
    seen: dict[str, set] = {}
    for r in rows:
        for k, v in (r["config"] or {}).items():
            seen.setdefault(k, set()).add(json.dumps(v, sort_keys=True, default=str))
    return [k for k, vals in seen.items() if len(vals) > 1 and k not in exclude]


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        try:
            return float(v)
        except OverflowError:  # certificate bounds can be huge integers
            return math.inf
    return None


def aggregate(rows: Sequence[dict[str, Any]], by: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One entry per group of ``by`` fields (default: every varying field but ``seed``) over the ``ok`` rows:
    ``{"group": {...}, "n": seeds, "<metric>_mean": ..., "<metric>_std": ...}`` (population std, 0 for one seed).

    Parameters
    ----------
    rows : sequence of dict
    by : sequence of str, optional

    Returns
    -------
    list of dict
    """
    ok = [r for r in rows if r["status"] == "ok"]
    by = list(by) if by is not None else varying_fields(ok)
    groups: dict[str, dict[str, Any]] = {}
    for r in ok:
        g = {k: r["config"].get(k) for k in by}
        key = json.dumps(g, sort_keys=True, default=str)
        entry = groups.setdefault(key, {"group": g, "values": {}, "n": 0})
        entry["n"] += 1
        for m, v in (r["metrics"] or {}).items():
            x = _num(v)
            if x is not None:
                entry["values"].setdefault(m, []).append(x)
    out = []
    for e in groups.values():
        row: dict[str, Any] = {"group": e["group"], "n": e["n"]}
        for m, xs in e["values"].items():
            mean = sum(xs) / len(xs)
            var = sum((x - mean) ** 2 for x in xs) / len(xs) if all(math.isfinite(x) for x in xs) else math.nan
            row[f"{m}_mean"], row[f"{m}_std"] = mean, math.sqrt(var) if var == var else math.nan
        out.append(row)
    return out


def plot_metric(rows: Sequence[dict[str, Any]], metric: str, x: str, path: str | Path,
                hue: Sequence[str] | None = None, title: str = "") -> Path:
    """``metric`` (mean +- std over seeds) against config field ``x``, one line per value of the ``hue`` fields
    (default: the other varying fields).

    Parameters
    ----------
    rows : sequence of dict
        Rows from :func:`load_rows`; only ``status == "ok"`` rows are drawn.
    metric : str
        A metric the jobs recorded.
    x : str
        A config field, the horizontal axis.
    path : str or Path
        The PNG to write.
    hue : sequence of str, optional
        The config fields that tell lines apart.
    title : str, optional
        The figure title.

    Returns
    -------
    Path
        The written PNG.

    Raises
    ------
    SweepError
        No finished rows, ``x`` not a config field, or ``metric`` not recorded.
    MissingExtraError
        matplotlib is not installed (the ``[plot]`` extra).
    """
    matplotlib = require("matplotlib", "plot", "plot_metric")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r["status"] == "ok"]
    if not ok:
        raise SweepError("No finished (status 'ok') rows to plot. Hint: check `tensorexpr results --failed`.")
    var = varying_fields(ok)
    if x not in {k for r in ok for k in r["config"]}:
        raise SweepError(f"x={x!r} is not a config field of these rows; fields: {sorted({k for r in ok for k in r['config']})}.")
    hue = list(hue) if hue is not None else [k for k in var if k != x]
    agg = aggregate(ok, by=hue + [x])
    if not any(f"{metric}_mean" in a for a in agg):
        names = sorted({k[:-5] for a in agg for k in a if k.endswith("_mean")})
        raise SweepError(f"metric={metric!r} is not among the rows' metrics {names}.")
    lines: dict[str, list[tuple[Any, float, float]]] = {}
    for a in agg:
        if f"{metric}_mean" not in a:
            continue
        label = ", ".join(f"{k}={a['group'][k]}" for k in hue) or metric
        lines.setdefault(label, []).append((a["group"][x], a[f"{metric}_mean"], a[f"{metric}_std"]))
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    numeric_x = all(isinstance(p[0], (int, float)) for pts in lines.values() for p in pts)
    cats = sorted({str(p[0]) for pts in lines.values() for p in pts})
    for label, pts in sorted(lines.items()):
        pts.sort(key=lambda p: p[0] if numeric_x else str(p[0]))
        xs = [p[0] if numeric_x else cats.index(str(p[0])) for p in pts]
        ax.errorbar(xs, [p[1] for p in pts], yerr=[p[2] for p in pts], marker="o", capsize=3, label=label,
                    ls="-" if numeric_x else "none")
    if not numeric_x:
        ax.set_xticks(range(len(cats)), cats, rotation=20, fontsize=7)
    elif all(p[0] > 0 for pts in lines.values() for p in pts) and max(p[0] for pts in lines.values() for p in pts) \
            >= 8 * min(p[0] for pts in lines.values() for p in pts):
        ax.set_xscale("log", base=2)
    ax.set_xlabel(x)
    ax.set_ylabel(f"{metric} (mean ± std over seeds)")
    ax.set_title(title or f"{metric} vs {x}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
