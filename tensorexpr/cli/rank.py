"""``tensorexpr rank``: the matricization rank of a random network under one or more partitions."""

from __future__ import annotations

import argparse

from tensorexpr.rank import RANK_METHODS, rank_many
from tensorexpr.cli.common import add_command, add_network_args, build_network, dump_json, format_count, partitions_from_args, print_table


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``tensorexpr rank`` subcommand (its flags and defaults) to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommand parsers of ``tensorexpr`` (see :func:`tensorexpr.cli.main`).
    """
    p = add_command(sub, "rank", help="matricization rank of a random network's grid tensor")
    add_network_args(p)
    p.add_argument("--partition", action="append", default=None,
                   help="partition spec (repeat or comma-separate): odd_even, left_right, checkerboard, random:SEED, "
                        "I:0,2,5, mask:0101..., all_balanced (every balanced split, N <= 16); default odd_even")
    p.add_argument("--method", default="exact", choices=sorted(RANK_METHODS), help="rank method")
    p.add_argument("--max-rank", type=int, default=None,
                   help="structured method: largest intermediate rank kept before refusing (default: the library's)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``tensorexpr rank`` on the parsed flags (docs/cli.md).

    Parameters
    ----------
    args : argparse.Namespace
        The flags :func:`register` defines.

    Returns
    -------
    int
        The exit status: 0 on success.

    Raises
    ------
    RankError
        When ``--max-rank`` is given with a method other than ``structured``.
    """
    integer = args.method != "numeric"
    tree, net = build_network(args, integer=integer)
    parts = partitions_from_args(args.partition or ["odd_even"], args.geometry, net.n_modes)
    extra = {} if args.max_rank is None else {"max_rank": args.max_rank}
    if extra and args.method != "structured":
        from tensorexpr.core.errors import RankError

        raise RankError(f"--max-rank applies to --method structured, got --method {args.method}.")
    results = rank_many(net, parts, method=args.method, **extra)
    if args.json:
        dump_json({"network": repr(net), "results": [r.to_dict() for r in results]})
        return 0
    print(net)
    print_table(
        ["partition", "rank", "max", "method", "field", "seconds"],
        [[P.name, format_count(r.rank), format_count(r.max_rank), r.method, r.field, f"{r.seconds:.3f}"]
         for P, r in zip(parts, results)],
    )
    return 0
