"""The command registry and error handling of ``tensorexpr/cli/__init__.py``: every command's ``--help`` shows
defaults, duplicate names are refused, and bad specs or files are one-line errors, the same ones the API raises."""

from __future__ import annotations

import pytest

from tensorexpr.build.spec import NetworkSpec
from tensorexpr.cli import COMMANDS, Command, CommandRegistryError, build_parser, main
from tensorexpr.core.errors import TensorExprError
from tensorexpr.core.specs import PartitionSpec


@pytest.mark.parametrize("name", [c.name for c in COMMANDS])
def test_every_command_help_exits_0_and_shows_defaults(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    assert "(default:" in capsys.readouterr().out


def test_registry_is_explicit_and_unique():
    names = [c.name for c in COMMANDS]
    assert len(names) == len(set(names))
    assert set(build_parser()._subparsers._group_actions[0].choices) == set(names)  # type: ignore[union-attr]


def test_duplicate_command_names_are_refused():
    with pytest.raises(CommandRegistryError, match="'rank' is registered twice"):
        build_parser([Command("rank", "tensorexpr.cli.rank"), Command("rank", "tensorexpr.cli.rank")])
    with pytest.raises(CommandRegistryError, match="did not add a command named 'ranks'"):
        build_parser([Command("ranks", "tensorexpr.cli.rank")])


def _api_error(fn) -> str:  # noqa: ANN001
    with pytest.raises(TensorExprError) as exc:
        fn()
    return f"tensorexpr: error: {exc.value}"


@pytest.mark.parametrize("argv, api", [
    (["--geometry", "torus:3"], lambda: NetworkSpec.parse("convac torus:3")),
    (["--geometry", "grid:4xq"], lambda: NetworkSpec.parse("convac grid:4xq")),
    (["--widths", "0"], lambda: NetworkSpec.parse("convac line:8 widths=0")),
    (["--widths", "2,-1,2"], lambda: NetworkSpec.from_mapping({"geometry": "line:8", "widths": [2, -1, 2]})),
    (["--partition", "I:0,0,3"], lambda: PartitionSpec.parse("I:0,0,3")),
    (["--partition", "I:1,9"], lambda: PartitionSpec.parse("I:1,9").build(8)),
])
def test_bad_specs_give_the_api_error(argv, api, run_cli):
    """The CLI prints exactly the error the API raises for the same spec (one parser), and no traceback."""
    rc, out, err = run_cli("rank", *argv)
    assert rc == 2 and out == ""
    assert err.strip() == _api_error(api) and "Traceback" not in err


def test_unknown_constructor_is_refused_by_the_flag_choices(capsys):
    # the CLI names constructors through --network/--family choices, so argparse refuses before the spec
    with pytest.raises(SystemExit) as exc:
        main(["rank", "--network", "foo"])
    assert exc.value.code == 2 and "invalid choice: 'foo'" in capsys.readouterr().err


def test_missing_files_are_one_line_errors(run_cli, tmp_path):
    rc, _, err = run_cli("data", "--data", str(tmp_path / "nope.npz"))
    assert rc == 2 and "does not exist" in err and "Traceback" not in err
    bad = tmp_path / "bad.npz"
    bad.write_text("not an npz")
    rc, _, err = run_cli("data", "--data", str(bad))
    assert rc == 2 and "Cannot read" in err
    rc, _, err = run_cli("sweep", str(tmp_path / "nope.toml"))
    assert rc == 2 and "does not exist" in err and "Traceback" not in err
