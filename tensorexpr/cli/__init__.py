"""Command line: ``tensorexpr <command> ...``; each command is one module with ``register(subparsers)``."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from tensorexpr.core.errors import TensorExprError

__all__ = ["main", "COMMANDS"]

#: Subcommand modules under tensorexpr.cli; a new command is one module and one entry here.
COMMANDS = ["report", "rank", "bound", "profile", "train", "verify", "certify", "scattering"]
COMMANDS += ["spectrum", "sweep", "results", "data"]  # spectra, sweeps, data fit


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(prog="tensorexpr", description="Expressiveness calculator for ConvACs.",
                                     formatter_class=fmt)
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser = sub.add_parser

    def add_with_defaults(name: str, **kw: object) -> argparse.ArgumentParser:  # every --help shows defaults
        kw.setdefault("formatter_class", fmt)
        return add_parser(name, **kw)  # type: ignore[arg-type]

    sub.add_parser = add_with_defaults  # type: ignore[method-assign]
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue  # command not installed in this build
            raise
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TensorExprError as exc:
        print(f"tensorexpr: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
