"""``tensorexpr certify --checkpoint DIR``: certified separation ranks of a trained model's architecture."""

from __future__ import annotations

import argparse

from tensorexpr.cli.common import add_command, dump_json, partitions_from_args, print_table


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``tensorexpr certify`` subcommand (its flags and defaults) to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommand parsers of ``tensorexpr`` (see :func:`tensorexpr.cli.main`).
    """
    p = add_command(sub, "certify", help="certified rank bounds of a trained model (te.experiments.load + te.certify)")
    p.add_argument("--checkpoint", required=True, help="a training run directory (tensorexpr train --out DIR)")
    p.add_argument("--partition", action="append", default=None,
                   help="partition spec (repeat or comma-separate): left_right, checkerboard, odd_even, I:0,2")
    p.add_argument("--output", type=int, default=0, help="output channel (class) to certify")
    p.add_argument("--budget-seconds", type=float, default=None, help="time budget per certificate")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``tensorexpr certify`` on the parsed flags (docs/cli.md).

    Parameters
    ----------
    args : argparse.Namespace
        The flags :func:`register` defines.

    Returns
    -------
    int
        The exit status: 0 on success.
    """
    from tensorexpr.bounds import certify
    from tensorexpr.experiments import load

    model = load(args.checkpoint, device="cpu")
    cfg = model.train_config
    net = model.to_network()
    parts = partitions_from_args(args.partition or ["left_right"], cfg.geometry, net.n_modes)
    certs = [(P, certify(net, P, output=args.output, budget_seconds=args.budget_seconds)) for P in parts]
    if args.json:
        dump_json({"checkpoint": args.checkpoint, "network": repr(net), "config": cfg.to_dict(),
                   "results": [{"partition": P.name, "certificate": c.to_dict()} for P, c in certs]})
        return 0
    print(f"{net}\n(trained: {cfg.model} on {cfg.geometry}, task {cfg.task}, seed {cfg.seed}; the certificate "
          f"bounds the generic rank of this architecture with its ties and template matrix)")
    print_table(["partition", "certificate", "seconds"], [[P.name, c.summary(), f"{c.seconds:.3f}"] for P, c in certs])
    return 0
