"""The SQLite results store (``tensorexpr/sweep/db.py``): exact big counts in, exact ints out."""

from __future__ import annotations

import json
import sqlite3

from tensorexpr.core.numbers import decode_count
from tensorexpr.sweep import ResultsDB


def test_huge_counts_round_trip_without_str(tmp_path):
    # 2^32768 and 16 * 3^16384 have more than 4300 digits: json.dumps of the raw int would raise
    big = {"lower": 16 * 3**16384, "upper": 2**32768, "odd": 3**20000 + 2, "small": 16, "ok": True}
    with ResultsDB(tmp_path / "r.sqlite") as s:
        s.write({"key": "k", "sweep": "t", "kind": "certify", "config": {"seed": 0}, "status": "ok",
                 "metrics": big, "result": {"bounds": [big]}})
        (row,) = list(s.rows())
    assert row["metrics"] == big and row["result"] == {"bounds": [big]}
    # the stored text is plain JSON any reader can parse, with each big count in its exact documented form
    raw = sqlite3.connect(tmp_path / "r.sqlite").execute("SELECT metrics FROM runs").fetchone()[0]
    d = json.loads(raw)
    assert d["upper"] == {"base": 2, "exponent": 32768, "log2": 32768.0}
    assert d["lower"]["factors"] == [[2, 4], [3, 16384]] and d["small"] == 16
    assert decode_count(d["odd"]) == 3**20000 + 2 and set(d["odd"]) == {"hex", "log2"}
