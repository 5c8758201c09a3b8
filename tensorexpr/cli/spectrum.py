"""``tensorexpr spectrum``: singular spectra (exact, or certified lower bounds) of a network per partition."""

from __future__ import annotations

import argparse

from tensorexpr.plot import plot_spectra
from tensorexpr.spectra import DEFAULT_RTOL, SPECTRUM_METHODS, spectrum
from tensorexpr.cli.common import add_command, add_network_args, build_network, dump_json, partitions_from_args, print_table


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``tensorexpr spectrum`` subcommand (its flags and defaults) to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommand parsers of ``tensorexpr`` (see :func:`tensorexpr.cli.main`).
    """
    p = add_command(sub, "spectrum", help="singular spectrum of [A]_{I,J}: exact on product trees, else certified "
                                        "lower bounds from sampled sub-matrices")
    add_network_args(p)
    p.add_argument("--partition", action="append", default=None,
                   help="partition spec (repeat or comma-separate): odd_even, left_right, checkerboard, random:SEED")
    p.add_argument("--method", default="auto", choices=SPECTRUM_METHODS)
    p.add_argument("--rtol", type=float, default=DEFAULT_RTOL, help="numeric rank tolerance relative to sigma_1")
    p.add_argument("--rows", type=int, default=256, help="sampled I-configurations (method sampled)")
    p.add_argument("--cols", type=int, default=256, help="sampled J-configurations (method sampled)")
    p.add_argument("--plot", default=None, help="write the spectra to this PNG")
    p.add_argument("--checkpoint", default=None,
                   help="a training run directory (tensorexpr train --out DIR): the spectra of the *trained* model "
                        "(its own weights) instead of a random network; the network flags are then ignored")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``tensorexpr spectrum`` on the parsed flags (docs/cli.md).

    Parameters
    ----------
    args : argparse.Namespace
        The flags :func:`register` defines.

    Returns
    -------
    int
        The exit status: 0 on success.
    """
    if args.checkpoint is not None:
        from tensorexpr.experiments import load

        net = load(args.checkpoint, device="cpu")  # a trained model: te.spectrum reads its own weights
        geometry, n_modes = net.train_config.geometry, net.tree.n_modes
    else:
        tree, net = build_network(args, integer=False)
        geometry, n_modes = args.geometry, net.n_modes
    parts = partitions_from_args(args.partition or ["odd_even"], geometry, n_modes)
    res = [spectrum(net, P, method=args.method, rtol=args.rtol, rows=args.rows, cols=args.cols, seed=args.seed,
                    progress=not args.json) for P in parts]
    if args.plot:
        plot_spectra(res, path=args.plot, title=f"{getattr(net, 'name', type(net).__name__)}")
    if args.json:
        dump_json({"network": repr(net), "spectra": [s.to_dict() for s in res]})
        return 0
    print(net)
    print_table(["partition", "kind", "rank", "gap", "entropy", "mincut D", "sigma_2/sigma_1", "method", "seconds"],
                [[s.partition, s.kind, (">= " if s.kind == "lower-bound" else "") + str(s.rank), f"{s.gap:.3g}",
                  "-" if s.entropy is None else f"{s.entropy:.4g}", s.mincut if s.mincut is not None else "-",
                  f"{s.normalized[1]:.3g}" if s.normalized.size > 1 else "0", s.method, f"{s.seconds:.2f}"]
                 for s in res])
    if args.plot:
        print(f"plot: {args.plot}")
    return 0
