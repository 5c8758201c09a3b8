"""``tensorexpr bound``: certificate, min-cut and symbolic pooling-geometry bound for one architecture."""

from __future__ import annotations

import argparse

from tensorexpr.bounds import certify, closed_form, geometry_bound, mincut_bound
from tensorexpr.core.errors import TensorExprError
from tensorexpr.cli.common import add_command, add_network_args, build_network, dump_json, format_count, partitions_from_args


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``tensorexpr bound`` subcommand (its flags and defaults) to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommand parsers of ``tensorexpr`` (see :func:`tensorexpr.cli.main`).
    """
    p = add_command(sub, "bound", help="certified rank interval, min-cut and symbolic geometry bound")
    add_network_args(p)
    p.add_argument("--partition", action="append", default=None,
                   help="partition spec (repeat or comma-separate): odd_even, left_right, checkerboard, random:SEED, "
                        "I:0,2,5, mask:0101..., all_balanced; default odd_even")
    p.add_argument("--budget-seconds", type=float, default=None, help="time budget per certificate (none: no limit)")
    p.set_defaults(func=run)


def _safe(fn, *a, **k):  # noqa: ANN001, ANN002, ANN003
    try:
        return fn(*a, **k), None
    except TensorExprError as exc:
        return None, str(exc)


def run(args: argparse.Namespace) -> int:
    """Run ``tensorexpr bound`` on the parsed flags (docs/cli.md).

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
    parts = partitions_from_args(args.partition or ["odd_even"], args.geometry, net.n_modes)
    payload = []
    for P in parts:
        cert = certify(net, P, budget_seconds=args.budget_seconds)
        cut, cut_err = _safe(mincut_bound, net, P)
        geo, geo_err = _safe(geometry_bound, net, P, symbolic=True)
        cf = closed_form(tree, P) if net.is_tree and tree is not None else None
        payload.append({"partition": P.to_dict() if P.n_modes <= 64 else P.name, "certificate": cert.to_dict(),
                        "mincut": cut.to_dict() if cut else {"error": cut_err},
                        "geometry": geo.to_dict() if geo else {"error": geo_err},
                        "closed_form": cf.to_dict() if cf else None})
        if args.json:
            continue
        print(f"{net}\npartition {P!r}")
        print(f"  certificate : {cert.summary()}  ({cert.seconds:.3f}s)")
        print(f"  min-cut     : {format_count(cut.bound) if cut else '-'}"
              f"  cut = {cut.describe_cut() if cut else cut_err}")
        if geo:
            print(f"  geometry    : {format_count(geo.value)}"
                  f"  formula = {geo.expr}")
        else:
            print(f"  geometry    : not defined ({geo_err})")
        if cf:
            print(f"  closed form : {cf.expr} ({cf.kind}, {cf.claim}; {cf.source} {cf.tag})")
    if args.json:
        dump_json({"network": repr(net), "results": payload})
    return 0
