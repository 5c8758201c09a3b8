"""Command line: ``tensorexpr <command> ...``.

Each command is one module with ``register(subparsers)``, which adds its parser through
:func:`tensorexpr.cli.common.add_command` (so every ``--help`` shows the defaults), and one entry in
:data:`COMMANDS`. Nothing is patched and nothing is discovered by name: the registry is the list.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass
from typing import Sequence

from tensorexpr.core.errors import TensorExprError
from tensorexpr.cli.common import DefaultsFormatter

__all__ = ["main", "build_parser", "Command", "COMMANDS", "CommandRegistryError"]


class CommandRegistryError(TensorExprError):
    """The command registry is inconsistent (a name twice, or a module that does not add its command)."""


@dataclass(frozen=True)
class Command:
    """A subcommand: its name and the module whose ``register(subparsers)`` adds its parser."""

    name: str
    module: str


#: The subcommands in ``--help`` order; a new command is one module and one entry here.
COMMANDS: tuple[Command, ...] = tuple(Command(name, f"tensorexpr.cli.{name}") for name in (
    "report", "rank", "bound", "profile", "train", "verify", "certify", "scattering", "spectrum", "sweep",
    "results", "data"))


def build_parser(commands: Sequence[Command] = COMMANDS) -> argparse.ArgumentParser:
    """The ``tensorexpr`` parser with one subparser per entry of ``commands``.

    Parameters
    ----------
    commands : sequence of Command
        The registry (default :data:`COMMANDS`).

    Returns
    -------
    argparse.ArgumentParser

    Raises
    ------
    CommandRegistryError
        When a name is registered twice, or a module's ``register`` does not add the command it is registered as.
    """
    seen: set[str] = set()
    for cmd in commands:
        if cmd.name in seen:
            raise CommandRegistryError(f"Command {cmd.name!r} is registered twice (module {cmd.module}); every "
                                       f"command name is unique. Hint: rename one entry of COMMANDS.")
        seen.add(cmd.name)
    parser = argparse.ArgumentParser(prog="tensorexpr", description="Expressiveness calculator for ConvACs.",
                                     formatter_class=DefaultsFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for cmd in commands:
        importlib.import_module(cmd.module).register(sub)
        if cmd.name not in sub.choices:
            raise CommandRegistryError(f"Module {cmd.module} did not add a command named {cmd.name!r}; it added "
                                       f"{sorted(set(sub.choices) - seen)}. Hint: its register() calls "
                                       f"add_command(sub, {cmd.name!r}, ...).")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a :class:`TensorExprError` or an unreadable file is a one-line error and exit code 2.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after ``tensorexpr``; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        The exit status: 0 on success, 2 on a library error (printed as one line, no traceback).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TensorExprError as exc:
        print(f"tensorexpr: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a missing or unwritable file named on the command line: the user's input, not a bug
        print(f"tensorexpr: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
