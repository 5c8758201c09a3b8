"""Arguments and output helpers shared by the subcommands; every spec is parsed by :mod:`tensorexpr.core.specs` and
:mod:`tensorexpr.build.spec`, never here."""

from __future__ import annotations

import argparse
import json
from typing import Any, Sequence

from tensorexpr.build.spec import CONSTRUCTORS, NetworkSpec
from tensorexpr.core.modetree import ModeTree
from tensorexpr.core.network import Network
from tensorexpr.core.numbers import format_count
from tensorexpr.core.operators import OPERATORS
from tensorexpr.core.partitions import Partition
from tensorexpr.core.specs import grid_shape, parse_partitions, with_window
from tensorexpr.core.tables import format_table

__all__ = ["add_command", "DefaultsFormatter", "add_network_args", "network_spec", "build_network",
           "partitions_from_args", "print_table", "dump_json", "format_table", "format_count", "NETWORK_KINDS"]

NETWORK_KINDS = ("convac", "overlapping", "mixed")


class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Help that shows every default and keeps a description's own line breaks (examples in docstrings)."""


def add_command(sub: argparse._SubParsersAction, name: str, **kw: Any) -> argparse.ArgumentParser:
    """Add the subcommand ``name``; its ``--help`` shows the defaults (:class:`DefaultsFormatter`).

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommand parsers of ``tensorexpr``.
    name : str
        The subcommand.
    **kw
        Passed to ``add_parser`` (``help``, ``description``, ...).

    Returns
    -------
    argparse.ArgumentParser
        The subcommand's parser.
    """
    kw.setdefault("formatter_class", DefaultsFormatter)
    return sub.add_parser(name, **kw)


def add_network_args(p: argparse.ArgumentParser, geometry: str = "line:8", M: int = 3, widths: str = "2") -> None:
    """Add the flags that name a network (read back by :func:`network_spec`).

    Parameters
    ----------
    p : argparse.ArgumentParser
        A subcommand's parser.
    geometry, M, widths
        The defaults of ``--geometry``, ``--M`` and ``--widths``.
    """
    p.add_argument("--geometry", default=geometry, help="line:N | grid:HxW:square|mirror | shallow:N | nested:(...) "
                                                         "| dilated:N:reversed")
    p.add_argument("--window", default=None,
                   help="pooling window per level, bottom first, the last repeating: 2 | 3,2 (a 6x6 grid) | "
                        "2,2,2,3 (24x24); grids only, overrides the window in --geometry")
    p.add_argument("--M", type=int, default=M, help="representation functions per position")
    p.add_argument("--widths", default=widths, help="channels: one int, or r_0,r_1,... one per level")
    p.add_argument("--outputs", type=int, default=1, help="output channels of the root")
    p.add_argument("--op", default="product", choices=sorted(OPERATORS), help="pooling operator")
    p.add_argument("--shared", action="store_true", help="tie weights per level (convolution)")
    p.add_argument("--network", default="convac", choices=NETWORK_KINDS,
                   help="convac: a tree network on --geometry; overlapping: GC layers given by --layers on a line:N "
                        "or grid:HxW input; mixed: two trees (--geometry and --mix-with) joined at --mix-nodes")
    p.add_argument("--layers", default="3,1,2;2,2,2;3,1,2",
                   help="overlapping layers 'window,stride,width;...' (with --network overlapping)")
    p.add_argument("--mix-with", default=None, help="second geometry of a mixed network (with --network mixed)")
    p.add_argument("--mix-nodes", default="none",
                   help="mixture nodes of a mixed network: 'none' (the plain sum), mode sets like '0,1;2,3', or "
                        "'leaves' (sum convention only)")
    p.add_argument("--mix-convention", default="swap", choices=["swap", "sum"],
                   help="mixed networks: the paper's channel swap at mixture nodes (eq. 4; --M discretizers, "
                        "--widths r), or this project's earlier summation")
    p.add_argument("--family", default="convac", choices=["convac", "p4", "attribute"],
                   help="p4: group-equivariant (te.group_convac; widths = filters per orientation, M per pixel); "
                        "attribute: attribute convolutions (te.attribute_convac; widths = attribute sizes)")
    p.add_argument("--kernel", type=int, default=2, help="p4: patch side k (the network's M is k*k*M)")
    p.add_argument("--support", type=int, default=None, help="attribute: kernel support along attributes")
    p.add_argument("--padding", default="periodic", choices=["periodic", "zero"], help="attribute: padding")
    p.add_argument("--keep", type=int, default=3, help="attribute: attributes kept per level")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    p.add_argument("--json", action="store_true", help="print JSON (exact integers) instead of a table")


def network_spec(args: argparse.Namespace, integer: bool = False) -> NetworkSpec:
    """The :class:`NetworkSpec` the network flags of :func:`add_network_args` name (only the flags that apply to
    the chosen constructor are read; the others keep their defaults, as they always did).

    Parameters
    ----------
    args : argparse.Namespace
        Parsed flags of :func:`add_network_args`.
    integer : bool, optional
        Integer weights (for exact ranks).

    Returns
    -------
    NetworkSpec

    Raises
    ------
    NetworkError, GeometryError
        When a flag's value does not parse or names an impossible network (the same error the API and the sweep
        TOML give for the same mistake).
    """
    kind = getattr(args, "network", "convac")
    constructor = getattr(args, "family", "convac") if kind == "convac" else kind
    geometry = args.geometry if kind == "overlapping" else with_window(args.geometry, getattr(args, "window", None))
    d: dict[str, Any] = {"constructor": constructor, "geometry": geometry, "M": args.M, "outputs": args.outputs,
                         "seed": args.seed, "integer": integer}
    flags = {"widths": args.widths, "op": args.op, "tied": "conv" if args.shared else "none", "layers": args.layers,
             "mix_with": args.mix_with, "mix_nodes": args.mix_nodes, "convention": args.mix_convention,
             "kernel": args.kernel, "support": args.support, "padding": args.padding, "keep": args.keep}
    d.update({k: v for k, v in flags.items() if k in CONSTRUCTORS.get(constructor, ())})
    return NetworkSpec.from_mapping(d)


def build_network(args: argparse.Namespace, integer: bool = True) -> tuple[ModeTree | None, Network]:
    """``(tree or None, network)`` from the network flags, through :class:`NetworkSpec`.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed flags of :func:`add_network_args`.
    integer : bool, optional
        Integer weights (for exact ranks).

    Returns
    -------
    tuple
        The mode tree (``None`` for networks without one) and the built :class:`Network`.
    """
    spec = network_spec(args, integer=integer)
    return spec.tree(), spec.build()


def partitions_from_args(specs: Sequence[str], geometry: str, n_modes: int) -> list[Partition]:
    """The partitions of ``--partition`` values (2-D families on a ``grid:`` geometry).

    Parameters
    ----------
    specs : sequence of str
        Partition specs (docs/cli.md), e.g. ``left_right``, ``I:0,2,5``, ``random:3``.
    geometry : str
        The ``--geometry`` value; a ``grid:HxW`` one enables the 2-D kinds.
    n_modes : int
        The network's number of modes.

    Returns
    -------
    list of Partition

    Raises
    ------
    PartitionError
        On a malformed spec, a repeated or out-of-range mode, or a kind the geometry lacks.
    """
    return parse_partitions(specs, n_modes, grid_shape(geometry))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print ``rows`` under ``headers`` as an aligned text table (:func:`format_table`).

    Parameters
    ----------
    headers : sequence of str
    rows : sequence of sequences
        One sequence of cells per row, as many as ``headers``.
    """
    print(format_table(headers, rows))


def dump_json(obj: Any) -> None:
    """Print ``obj`` as JSON, every integer of ``2^53`` or more as an exact
    :func:`~tensorexpr.core.numbers.encode_count` dict (``str`` of a rank like ``2^32768`` would raise).

    Parameters
    ----------
    obj : object
        JSON-able data; big integers anywhere inside are encoded.
    """
    from tensorexpr.core.numbers import encode_counts

    print(json.dumps(encode_counts(obj), indent=2, default=str))
