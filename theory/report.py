"""The report every claim check returns: checks with PASS/FAIL, tables, observations and plot paths."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

__all__ = ["Check", "Table", "Report", "SCALES", "check_scale"]

#: ``test`` is the tiny grid the test suite runs, ``quick`` the default of ``tensorexpr verify``.
SCALES = ("test", "quick", "full")


def check_scale(scale: str) -> str:
    """``scale`` itself, when it is one of :data:`SCALES`.

    Parameters
    ----------
    scale : str

    Returns
    -------
    str

    Raises
    ------
    TensorExprError
        On an unknown scale.
    """
    if scale not in SCALES:
        from tensorexpr.core.errors import TensorExprError

        raise TensorExprError(f"Unknown scale {scale!r}; expected one of {SCALES}.")
    return scale


@dataclass(frozen=True)
class Check:
    """One verified relation: ``expected`` says the relation, ``observed`` the numbers, ``passed`` the verdict.

    Parameters
    ----------
    name : str
    expected : str
    observed : str
    passed : bool
    """

    name: str
    expected: str
    observed: str
    passed: bool

    @property
    def verdict(self) -> str:
        """``'PASS'`` or ``'FAIL'``."""
        return "PASS" if self.passed else "FAIL"


@dataclass(frozen=True)
class Table:
    """A titled table of a report.

    Parameters
    ----------
    title : str
    headers : tuple of str
    rows : tuple of tuple
    """
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def to_markdown(self) -> str:
        """The table as Markdown: the bold title, a blank line, then a pipe table.

        Returns
        -------
        str

        Examples
        --------
        >>> print(Table("t", ("a",), ((1,),)).to_markdown())
        **t**
        <BLANKLINE>
        | a |
        |---|
        | 1 |
        """
        from tensorexpr.core.numbers import count_text

        head = "| " + " | ".join(map(str, self.headers)) + " |"
        sep = "|" + "|".join("---" for _ in self.headers) + "|"
        body = ["| " + " | ".join(count_text(c) for c in r) + " |" for r in self.rows]
        return "\n".join([f"**{self.title}**", "", head, sep, *body])


@dataclass
class Report:
    """Outcome of one claim's ``check()``.

    Attributes
    ----------
    claim, statement, citation, status : str
        ``status`` is the docs/theory.md label of the statement (checked / derived / recalled).
    formula : str
        The closed form (sympy ``str``) when there is one.
    checks : list of Check
        Each with its expected relation; the claim passes when every check does.
    tables : list of Table
    observations : list of str
        What was measured without a PASS criterion (e.g. [recalled] statements).
    plots : list of str
        PNG paths.
    """

    claim: str
    statement: str
    citation: str
    status: str
    formula: str = ""
    scale: str = "quick"
    checks: list[Check] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def check(self, name: str, passed: bool, expected: str, observed: str) -> bool:
        """Record one check and return its verdict.

        Parameters
        ----------
        name : str
        passed : bool
        expected : str
            The relation checked (with its docs/theory.md label).
        observed : str
            The measured numbers.

        Returns
        -------
        bool
        """
        self.checks.append(Check(name, expected, observed, bool(passed)))
        return bool(passed)

    def table(self, title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Add a table.

        Parameters
        ----------
        title : str
        headers : sequence of str
        rows : sequence of sequence

        Returns
        -------
        None
        """
        self.tables.append(Table(title, tuple(headers), tuple(tuple(r) for r in rows)))

    @property
    def passed(self) -> bool:
        """Whether every check passed (``True`` for a report without checks)."""
        return all(c.passed for c in self.checks)

    @property
    def n_failed(self) -> int:
        """Number of failed checks."""
        return sum(not c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field, plus ``passed`` and a ``verdict`` per check.

        Returns
        -------
        dict
        """
        from tensorexpr.core.numbers import encode_counts

        d = asdict(self)
        d["passed"] = self.passed
        for c in d["checks"]:
            c["verdict"] = "PASS" if c["passed"] else "FAIL"
        return encode_counts(d)

    def to_markdown(self, plot_root: str | None = None) -> str:
        """The report as a Markdown section.

        Verdict, citation, statement, closed form, checks, tables, observations and plots, in that order.

        Parameters
        ----------
        plot_root : str, optional
            Plot links are relative to it when given.

        Returns
        -------
        str
        """
        import os

        lines = [f"## {self.claim}: {'PASS' if self.passed else 'FAIL'}", "", f"*{self.citation}* — status **[{self.status}]**",
                 "", f"> {self.statement}", ""]
        if self.formula:
            lines += [f"Closed form: `{self.formula}`", ""]
        lines += ["| check | expected | observed | verdict |", "|---|---|---|---|"]
        lines += [f"| {c.name} | {c.expected} | {c.observed} | {c.verdict} |" for c in self.checks]
        lines.append("")
        for t in self.tables:
            lines += [t.to_markdown(), ""]
        if self.observations:
            lines += ["Observations (no PASS criterion):", ""] + [f"- {o}" for o in self.observations] + [""]
        for p in self.plots:
            rel = os.path.relpath(p, plot_root) if plot_root else p
            lines += [f"![{os.path.basename(p)}]({rel})", ""]
        lines.append(f"_scale={self.scale}, {self.seconds:.1f} s_")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Report({self.claim}: {'PASS' if self.passed else 'FAIL'}, {len(self.checks)} checks, "
                f"{self.n_failed} failed, {len(self.tables)} tables, {len(self.plots)} plots, {self.seconds:.1f}s)")
