"""The ``verify`` command (``tensorexpr/cli/verify.py``): it writes the claim's report and refuses an unknown claim."""

from __future__ import annotations

from tensorexpr.cli import main


def test_cli_verify_writes_report(tmp_path, capsys):
    rc = main(["verify", "--claim", "mixed", "--scale", "test", "--out", str(tmp_path), "--no-progress"])
    assert rc == 0
    text = (tmp_path / "report.md").read_text()
    assert "mixed: PASS" in text and "mixed.png" in text
    assert "PASS" in capsys.readouterr().out


def test_cli_verify_bad_claim(capsys):
    assert main(["verify", "--claim", "nope"]) == 2
    assert "Unknown claim 'nope'" in capsys.readouterr().err
