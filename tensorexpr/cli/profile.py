"""``tensorexpr profile``: certified ranks of one architecture across partitions, as a table or a plot."""

from __future__ import annotations

import argparse

from tensorexpr.bounds import profile
from tensorexpr.core.partitions import LINE_PARTITIONS, STANDARD_PARTITIONS, standard_partitions
from tensorexpr.core.specs import grid_shape
from tensorexpr.cli.common import add_command, add_network_args, build_network, dump_json, partitions_from_args


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``tensorexpr profile`` subcommand (its flags and defaults) to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommand parsers of ``tensorexpr`` (see :func:`tensorexpr.cli.main`).
    """
    p = add_command(sub, "profile", help="certified rank profile over partitions (table, JSON or PNG)")
    add_network_args(p, geometry="grid:8x8:square", M=2, widths="4")
    p.add_argument("--partitions", default=None,
                   help=f"partition specs, as for --partition (default on grids: the standard kinds the grid tiles, "
                        f"{','.join(STANDARD_PARTITIONS)}; on lines: {','.join(LINE_PARTITIONS)})")
    p.add_argument("--plot", default=None, help="write a PNG of the profile here")
    p.add_argument("--budget-seconds", type=float, default=None)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``tensorexpr profile`` on the parsed flags (docs/cli.md).

    Parameters
    ----------
    args : argparse.Namespace
        The flags :func:`register` defines.

    Returns
    -------
    int
        The exit status: 0 on success.
    """
    tree, net = build_network(args, integer=False)
    shape = grid_shape(args.geometry) if args.geometry.startswith("grid:") else None
    if args.partitions:  # the shared parser: explicit lists like I:0,2,5 survive the comma split
        parts: list = partitions_from_args([args.partitions], args.geometry, net.n_modes)
    else:
        parts = standard_partitions(*shape) if shape is not None else [make(net.n_modes)
                                                                       for make in LINE_PARTITIONS.values()]
    prof = profile(net, parts, budget_seconds=args.budget_seconds, progress=None if not args.no_progress else False,
                   shape=shape)
    if args.plot:
        from tensorexpr.plot import plot_profiles

        plot_profiles([prof], args.plot, titles=[prof.network])
    if args.json:
        d = prof.to_dict()
        d["plot"] = args.plot
        dump_json(d)
        return 0
    print(prof)
    if args.plot:
        print(f"plot written to {args.plot}")
    return 0
