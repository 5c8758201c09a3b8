"""Sweep specifications: a TOML file with a ``[base]`` table of config fields and a ``[grid]`` of value lists.

.. code-block:: toml

    kind = "train"            # or "spectrum", "certify" (see tensorexpr.sweep.jobs.JOB_KINDS)
    name = "blob-breadth"     # optional label stored with every row

    [base]
    task = "closedness"
    epochs = 2

    [grid]
    geometry = ["grid:32x32:square", "grid:32x32:mirror"]
    widths = [8, 16, 32]
    seed = [0, 1, 2]

The sweep is the Cartesian product of the grid (in the file's order, last field fastest), each point merged over
``base``. A job's identity is a hash of its kind and full config, so a rerun recognises finished jobs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping


__all__ = ["SweepError", "SweepSpec", "Job", "job_key"]


from tensorexpr.core.errors import SweepError  # noqa: E402,F401  (re-exported: defined in errors.py)


def job_key(kind: str, config: Mapping[str, Any]) -> str:
    """Stable identity of a job: sha256 of its kind and canonical JSON config (16 hex digits).

    Parameters
    ----------
    kind : str
        The job kind (a key of :data:`tensorexpr.sweep.jobs.JOB_KINDS`).
    config : mapping
        The job's configuration; key order does not matter.

    Returns
    -------
    str
    """
    blob = json.dumps({"kind": kind, "config": config}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Job:
    """One job of a sweep: its content key (a hash of kind and config), kind and config."""

    key: str
    kind: str
    config: dict[str, Any]

    @property
    def seed(self) -> int | None:
        """The job's ``seed`` config field, when it is an integer."""
        s = self.config.get("seed")
        return int(s) if isinstance(s, int) else None


@dataclass(frozen=True)
class SweepSpec:
    """``kind`` + ``base`` + ``grid``; :meth:`jobs` is their product."""

    kind: str
    base: Mapping[str, Any] = field(default_factory=dict)
    grid: Mapping[str, list] = field(default_factory=dict)
    name: str = "sweep"

    def __post_init__(self) -> None:
        from tensorexpr.sweep.jobs import JOB_KINDS

        if self.kind not in JOB_KINDS:
            raise SweepError(f"Sweep kind {self.kind!r} is unknown; expected one of {sorted(JOB_KINDS)}.")
        for k, v in self.grid.items():
            if not isinstance(v, list) or not v:
                raise SweepError(f"[grid] {k} must be a non-empty list of values, got {v!r}. "
                                 f"Hint: put single values in [base].")
        both = sorted(set(self.base) & set(self.grid))
        if both:
            raise SweepError(f"Fields {both} are in both [base] and [grid]; give each field once.")

    @classmethod
    def from_toml(cls, path: str | Path) -> "SweepSpec":
        """Read a sweep spec from a TOML file (docs/cli.md, "sweep").

        Parameters
        ----------
        path : str or Path

        Returns
        -------
        SweepSpec

        Raises
        ------
        SweepError
            When the file is missing, is not TOML, or its keys are not a sweep spec (see :meth:`from_dict`).
        """
        p = Path(path)
        if not p.is_file():
            raise SweepError(f"Sweep spec {str(p)!r} does not exist. Hint: see `tensorexpr sweep --help` for the format.")
        try:
            d = tomllib.loads(p.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise SweepError(f"Sweep spec {str(p)!r} is not valid TOML: {exc}.") from None
        return cls.from_dict(d, default_name=p.stem)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], default_name: str = "sweep") -> "SweepSpec":
        """A sweep spec from its mapping: ``kind``, optional ``name``, ``[base]`` config and ``[grid]`` lists.

        Parameters
        ----------
        d : mapping
        default_name : str, optional
            The name when ``d`` has none.

        Returns
        -------
        SweepSpec

        Raises
        ------
        SweepError
            On unknown top-level keys, a missing or unknown kind, or a grid value that is not a non-empty list.
        """
        unknown = sorted(set(d) - {"kind", "base", "grid", "name"})
        if unknown:
            raise SweepError(f"Unknown top-level keys {unknown} in the sweep spec; expected kind, name, [base], [grid].")
        if "kind" not in d:
            raise SweepError("The sweep spec needs a top-level kind = \"train\" | \"spectrum\" | \"certify\".")
        for table in ("base", "grid"):
            if not isinstance(d.get(table, {}), Mapping):
                # a scalar where a table belongs: dict()/items() would fail with a bare TypeError
                raise SweepError(f"The sweep spec's {table} must be a table ([{table}] with field = value lines), "
                                 f"got {d[table]!r}. Hint: a [{table}] header line, then lines like geometry = \"line:8\".")
        return cls(d["kind"], dict(d.get("base", {})), {k: list(v) if isinstance(v, (list, tuple)) else v
                                                         for k, v in d.get("grid", {}).items()},
                   str(d.get("name", default_name)))

    def jobs(self) -> list[Job]:
        """Every job of the sweep: the product of the grid lists over the base config, each validated.

        Returns
        -------
        list of Job
            In grid order, each with its content key (:func:`job_key`).
        """
        from tensorexpr.sweep.jobs import JOB_KINDS

        keys = list(self.grid)
        out = []
        for values in itertools.product(*(self.grid[k] for k in keys)):
            cfg = {**self.base, **dict(zip(keys, values))}
            JOB_KINDS[self.kind].validate(cfg)
            out.append(Job(job_key(self.kind, cfg), self.kind, cfg))
        return out
