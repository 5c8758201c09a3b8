"""Every claim's check passes at the test scale (``theory/``); the report behaves."""

from __future__ import annotations

import json
import os

import pytest

import tensorexpr as te
import theory
from theory.report import Report


@pytest.mark.parametrize("name", sorted(theory.CLAIMS))
def test_claim_passes(name, tmp_path):
    rep = theory.run_claim(name, "test", str(tmp_path))
    assert isinstance(rep, Report)
    failed = [c for c in rep.checks if not c.passed]
    assert not failed, failed
    assert rep.checks and rep.tables
    assert all(os.path.exists(p) for p in rep.plots)
    d = rep.to_dict()
    assert d["passed"] is True and json.dumps(d, default=str)
    assert "PASS" in rep.to_markdown()
    mod = theory.get_claim(name)
    assert mod.STATUS in ("checked", "derived", "recalled") and mod.CITATION


def test_quick_scale_fast_claims(tmp_path):
    for name in ("depth_efficiency", "overlapping", "mincut"):
        assert theory.run_claim(name, "quick").passed


def test_fail_is_reported():
    rep = Report("x", "s", "c", "derived")
    rep.check("one", True, "=1", "1")
    rep.check("two", False, "=2", "3")
    assert not rep.passed and rep.n_failed == 1 and "FAIL" in rep.to_markdown()


def test_bad_scale():
    with pytest.raises(te.TensorExprError, match="Unknown scale"):
        theory.get_claim("mincut").check(scale="huge")
