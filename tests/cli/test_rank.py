"""The ``rank`` command (``tensorexpr/cli/rank.py``): tables, JSON against closed forms and the library, partition
spellings, --window, --max-rank, all_balanced, overlapping and mixed networks, defaults in --help, clean errors."""

import json

import pytest

import tensorexpr as te
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


def test_explicit_partition_rank_matches_library(run_cli):
    rc, out, _ = run_cli("rank", "--geometry", "line:8", "--M", "2", "--partition", "I:0,2,5", "--json")
    assert rc == 0
    got = json.loads(out)["results"][0]["rank"]
    net = te.convac(te.ModeTree.line(8), 2, 2, seed=0, integer=True)
    assert got == te.rank(net, te.Partition([0, 2, 5], 8), method="exact").rank


def test_space_separated_partition_hint_is_a_working_spelling(run_cli):
    rc, _, err = run_cli("rank", "--partition", "I:0 2 5")
    assert rc == 2 and "--partition I:0,2,5" in err
    rc, _, _ = run_cli("rank", "--partition", "I:0,2,5")
    assert rc == 0


def test_window_builds_6x6(run_cli):
    rc, out, _ = run_cli("rank", "--geometry", "grid:6x6:square", "--window", "3,2", "--M", "2",
                         "--widths", "2", "--method", "structured", "--partition", "checkerboard", "--json")
    assert rc == 0
    tree = te.ModeTree.grid(6, 6, [3, 2])
    net = te.convac(tree, 2, 2, seed=0, integer=True)
    P = te.Partition.grid(6, 6, "checkerboard")
    assert json.loads(out)["results"][0]["rank"] == te.rank(net, P, method="structured").rank


def test_max_rank_flag_and_hint(run_cli):
    rc, _, err = run_cli("rank", "--geometry", "grid:4x4:square", "--M", "3", "--widths", "4",
                         "--method", "structured", "--max-rank", "2", "--partition", "checkerboard")
    assert rc == 2 and "--max-rank" in err


def test_all_balanced(run_cli):
    rc, out, _ = run_cli("rank", "--geometry", "shallow:6", "--M", "2", "--partition", "all_balanced", "--json")
    assert rc == 0 and len(json.loads(out)["results"]) == 10  # C(5, 2) splits with mode 0 in I


def test_overlapping_and_mixed_reachable(run_cli):
    rc, out, _ = run_cli("rank", "--network", "overlapping", "--geometry", "line:8", "--M", "2",
                         "--partition", "left_right", "--json")
    assert rc == 0
    net = te.overlapping(8, [(3, 1, 2), (2, 2, 2), (3, 1, 2)], 2, seed=0, integer=True)
    assert json.loads(out)["results"][0]["rank"] == te.rank(net, te.Partition.left_right(8), method="exact").rank
    rc, out, _ = run_cli("rank", "--network", "mixed", "--geometry", "dilated:8:contiguous", "--mix-with",
                         "dilated:8:reversed", "--M", "2", "--partition", "odd_even", "--json")
    assert rc == 0 and json.loads(out)["results"][0]["rank"] >= 1


def test_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["rank", "--help"])
    out = capsys.readouterr().out
    assert "(default: 3)" in out and "(default: line:8)" in out
