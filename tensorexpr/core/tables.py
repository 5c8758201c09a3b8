"""Plain-text tables for report objects and the CLI."""

from __future__ import annotations

from typing import Any, Sequence

__all__ = ["format_table"]


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A left-aligned plain-text table: a header row, a dashed rule, then one line per row.

    Parameters
    ----------
    headers : sequence of str
        The column titles.
    rows : sequence of sequence
        The cells (converted with ``str``, integers past 1000 digits with
        :func:`~tensorexpr.core.numbers.count_text`); a row shorter than ``headers`` raises ``IndexError``, extra cells
        are dropped.

    Returns
    -------
    str

    Examples
    --------
    >>> print(format_table(["a", "rank"], [[1, 16]]))
    a  rank
    -  ----
    1  16
    """
    from tensorexpr.core.numbers import count_text

    cells = [[str(h) for h in headers]] + [[count_text(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cells[0], widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells[1:]]
    return "\n".join(lines)
