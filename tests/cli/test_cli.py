import json

import pytest

from tensorexpr.cli import main


def test_rank_cli_table(capsys):
    assert main(["rank", "--geometry", "line:8", "--M", "3", "--widths", "2", "--partition", "odd_even,left_right"]) == 0
    out = capsys.readouterr().out
    assert "odd_even" in out and "left_right" in out


def test_rank_cli_json_matches_theory(capsys):
    assert main(["rank", "--geometry", "line:8", "--M", "3", "--widths", "2", "--partition", "odd_even", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["results"][0]["rank"] == min(2, 3) ** 4  # COLT 2016 closed form ([derived])


def test_rank_cli_grid_numeric(capsys):
    args = ["rank", "--geometry", "grid:4x4:square", "--M", "2", "--widths", "2", "--partition", "left_right",
            "--method", "numeric", "--json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["rank"] <= 2  # coarse partition: <= r_{L-1}


def test_cli_errors_are_clean(capsys):
    assert main(["rank", "--geometry", "grid:4x5", "--M", "2"]) == 2
    assert "does not divide" in capsys.readouterr().err
    assert main(["rank", "--geometry", "line:8", "--partition", "diagonal"]) == 2
    assert "Unknown partition family" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["nonsense"])
