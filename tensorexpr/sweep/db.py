"""The SQLite results database: one row per job (stdlib :mod:`sqlite3`; one writer, the sweep's driver)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any, Iterator

from tensorexpr.core.errors import SweepError
from tensorexpr.core.numbers import decode_counts, encode_counts

__all__ = ["ResultsDB", "default_db_path", "COLUMNS"]

COLUMNS = ("key", "sweep", "kind", "config", "seed", "status", "metrics", "result", "error", "started", "finished",
           "seconds", "revision", "device", "worker", "attempt")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,      -- hash of kind + config (tensorexpr.sweep.spec.job_key)
    sweep TEXT, kind TEXT,
    config TEXT,               -- JSON
    seed INTEGER,
    status TEXT,               -- 'ok' or 'error'
    metrics TEXT,              -- JSON: accuracies, ranks, entropy, ...
    result TEXT,               -- JSON: the certificate or spectrum (to_dict) or training history
    error TEXT,                -- traceback or 'killed worker: ...'
    started REAL, finished REAL, seconds REAL,
    revision TEXT, device TEXT, worker TEXT,
    attempt INTEGER            -- how many times this key was run
)
"""


def default_db_path() -> Path:
    """``$TENSOREXPR_RESULTS_DB``, else ``~/.tensorexpr/results.sqlite``.

    Returns
    -------
    pathlib.Path
    """
    env = os.environ.get("TENSOREXPR_RESULTS_DB")
    return Path(env) if env else Path.home() / ".tensorexpr" / "results.sqlite"


class ResultsDB:
    """Rows of finished jobs; JSON columns are decoded on read.

    Counts of ``2^53`` or more (certified ranks such as ``2^32768``) are stored as exact
    :func:`~tensorexpr.core.numbers.encode_count` dicts and read back as the exact ints.
    """

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else default_db_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = sqlite3.connect(self.path, timeout=30)
        try:
            self.con.execute("PRAGMA journal_mode=WAL")
            self.con.execute(_SCHEMA)
            self.con.commit()
        except sqlite3.DatabaseError as exc:  # not a database (a typo'd path to another file): the user's input
            self.con.close()
            raise SweepError(f"{str(self.path)!r} is not a tensorexpr results database ({exc}); expected an SQLite "
                             f"file written by `tensorexpr sweep`. Hint: --db runs/results.sqlite, or a new "
                             f"path to start one.") from None

    def close(self) -> None:
        """Close the SQLite connection."""
        self.con.close()

    def __enter__(self) -> "ResultsDB":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def status(self, key: str) -> str | None:
        """The stored status of job ``key``.

        Parameters
        ----------
        key : str
            The job's content key (:func:`tensorexpr.sweep.spec.job_key`).

        Returns
        -------
        str or None
            ``"ok"``, ``"failed"``, ..., or ``None`` when the job has no row.
        """
        row = self.con.execute("SELECT status FROM runs WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def attempts(self, key: str) -> int:
        """How many times job ``key`` was run.

        Parameters
        ----------
        key : str
            The job's content key.

        Returns
        -------
        int
            0 when the job has no row.
        """
        row = self.con.execute("SELECT attempt FROM runs WHERE key = ?", (key,)).fetchone()
        return int(row[0] or 0) if row else 0

    def write(self, row: dict[str, Any]) -> None:
        """Insert or replace the row of ``row['key']`` (committed at once, so an interrupt loses nothing).

        Parameters
        ----------
        row : dict
            Column values (:data:`COLUMNS`); ``config``, ``metrics`` and ``result`` are stored as JSON with big
            counts encoded exactly; the attempt counter is incremented.
        """
        r = {c: row.get(c) for c in COLUMNS}
        for c in ("config", "metrics", "result"):
            if r[c] is not None and not isinstance(r[c], str):
                r[c] = json.dumps(encode_counts(r[c]), default=str)
        r["attempt"] = self.attempts(r["key"]) + 1
        self.con.execute(f"INSERT OR REPLACE INTO runs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                         [r[c] for c in COLUMNS])
        self.con.commit()

    def rows(self, sweep: str | None = None, kind: str | None = None, status: str | None = None) -> Iterator[dict[str, Any]]:
        """The stored rows, oldest first, filtered by the arguments given.

        Parameters
        ----------
        sweep, kind, status : str, optional
            Keep only rows with this sweep name, job kind, or status.

        Yields
        ------
        dict
            One row per job, its JSON columns decoded (exact big counts restored).
        """
        q, args = "SELECT * FROM runs WHERE 1=1", []
        for col, v in (("sweep", sweep), ("kind", kind), ("status", status)):
            if v is not None:
                q += f" AND {col} = ?"
                args.append(v)
        cur = self.con.execute(q + " ORDER BY finished", args)
        names = [d[0] for d in cur.description]
        for t in cur.fetchall():
            d = dict(zip(names, t))
            for c in ("config", "metrics", "result"):
                if d[c] is not None:
                    d[c] = decode_counts(json.loads(d[c]))
            yield d

    def count(self, status: str | None = None) -> int:
        """The number of rows, or of rows with ``status``.

        Parameters
        ----------
        status : str, optional

        Returns
        -------
        int
        """
        if status is None:
            return int(self.con.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
        return int(self.con.execute("SELECT COUNT(*) FROM runs WHERE status = ?", (status,)).fetchone()[0])
