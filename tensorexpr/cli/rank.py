"""``tensorexpr rank``: the matricization rank of a random network under one or more partitions."""

from __future__ import annotations

import argparse

from ..rank import RANK_METHODS, rank_many
from .common import add_network_args, build_network, dump_json, partitions_from_args, print_table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rank", help="matricization rank of a random network's grid tensor")
    add_network_args(p)
    p.add_argument("--partition", action="append", default=None,
                   help="partition spec (repeat or comma-separate): odd_even, left_right, checkerboard, random:SEED, I:0,2")
    p.add_argument("--method", default="exact", choices=sorted(RANK_METHODS))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    integer = args.method != "numeric"
    tree, net = build_network(args, integer=integer)
    parts = partitions_from_args(args.partition or ["odd_even"], args.geometry, tree.n_modes)
    results = rank_many(net, parts, method=args.method)
    if args.json:
        dump_json({"network": repr(net), "results": [r.to_dict() for r in results]})
        return 0
    print(net)
    print_table(
        ["partition", "rank", "max", "method", "field", "seconds"],
        [[P.name, r.rank, r.max_rank, r.method, r.field, f"{r.seconds:.3f}"] for P, r in zip(parts, results)],
    )
    return 0
