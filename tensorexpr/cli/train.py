"""``tensorexpr train``: train a ConvAC or ReLU net on a pooling geometry; metrics JSON, checkpoints, plots."""

from __future__ import annotations

import argparse

from tensorexpr.core.specs import parse_widths
from tensorexpr.cli.common import add_command, dump_json, print_table


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``tensorexpr train`` subcommand (its flags and defaults) to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommand parsers of ``tensorexpr`` (see :func:`tensorexpr.cli.main`).
    """
    p = add_command(sub, "train", help="train a ConvAC / ReLU net (resumable; metrics JSON and curves PNG in --out)")
    from tensorexpr.models.kinds import MODEL_KINDS

    p.add_argument("--model", default="convac", choices=list(MODEL_KINDS),
                   help="p4/learned/patch (patch models, --kernel), attribute (widths = attribute sizes), *-relu")
    p.add_argument("--geometry", default="grid:32x32:square", help="grid:32x32:square|mirror, grid:8x8:..., line:N")
    p.add_argument("--task", default="closedness",
                   choices=["closedness", "symmetry", "digits", "teacher", "digits32", "user"],
                   help="built-in task, or 'user' with --data")
    p.add_argument("--kernel", type=int, default=2, help="patch side of the p4 / learned / patch models")
    p.add_argument("--rotate-train", default="none", choices=["none", "90", "random"], help="digits32 rotations")
    p.add_argument("--rotate-test", default="none", choices=["none", "90", "random"], help="digits32 rotations")
    p.add_argument("--widths", default="16", help="channels: one int, or r_0,r_1,... one per level")
    p.add_argument("--representation", default="one_hot",
                   help="one_hot | gaussian | linear | scattering:J=2,L=8[,rotinv=1] (then --geometry is the "
                        "(H/2^J)x(W/2^J) grid, e.g. grid:8x8:square with --task digits32)")
    p.add_argument("--pooling", default="max", choices=["max", "avg"], help="ReLU net pooling")
    p.add_argument("--unshared", dest="shared", action="store_const", const=False, default=None,
                   help="locally connected (untied) weights (the digits default: shared 1x1 convs + pooling are "
                        "invariant to permutations inside each pooling window)")
    p.add_argument("--shared", dest="shared", action="store_const", const=True, help="tied weights (a convolution)")
    p.add_argument("--preset", default=None, help="named settings: iclr2017-convac, iclr2017-relu (the authors')")
    p.add_argument("--data", default=None, help="your own data: an .npz with X_train, y_train, X_test, y_test")
    p.add_argument("--epochs", type=int, default=None, help="default: per task (5; digits 20)")
    p.add_argument("--iterations", type=int, default=None, help="iteration-based run (overrides --epochs)")
    p.add_argument("--eval-every", type=int, default=None, help="iterations between evaluations")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None, help="default: per task (0.003; digits 0.01)")
    p.add_argument("--weight-decay", type=float, default=None)
    p.add_argument("--order", default=None, choices=["shuffle", "sequential"])
    p.add_argument("--bias", action="store_const", const=True, default=None, help="ReLU nets: conv biases")
    p.add_argument("--init", default=None, choices=["he", "xavier"], help="ReLU nets: weight initialization")
    p.add_argument("--blob-recipe", default=None, choices=["iclr2017", "centred"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-train", type=int, default=None, help="blobs: first N labelled images (default all)")
    p.add_argument("--n-test", type=int, default=None)
    p.add_argument("--out", default=None, help="output dir: checkpoint.pt, metrics.json, curves.png (resumes)")
    p.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint in --out")
    p.add_argument("--device", default=None, help="cpu / cuda (default: cuda when available)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


_DEFAULTS = {"model": "convac", "geometry": "grid:32x32:square", "pooling": "max", "widths": "16"}


def run(args: argparse.Namespace) -> int:
    """Run ``tensorexpr train`` on the parsed flags (docs/cli.md).

    Parameters
    ----------
    args : argparse.Namespace
        The flags :func:`register` defines.

    Returns
    -------
    int
        The exit status: 0 on success.
    """
    from tensorexpr.experiments import TrainConfig, train

    given = {k: v for k, v in dict(
        shared=args.shared, epochs=args.epochs, iterations=args.iterations, eval_every=args.eval_every,
        batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay, order=args.order, bias=args.bias,
        init=args.init, blob_recipe=args.blob_recipe, n_train=args.n_train, n_test=args.n_test, data=args.data,
    ).items() if v is not None}
    common = dict(task=args.task, seed=args.seed, out_dir=args.out, progress=not args.no_progress, device=args.device,
                  kernel=args.kernel, rotate_train=args.rotate_train, rotate_test=args.rotate_test)
    if args.preset:
        explicit = {k: getattr(args, k) for k in ("model", "geometry", "pooling", "widths") if getattr(args, k) != _DEFAULTS[k]}
        if "widths" in explicit:
            explicit["widths"] = parse_widths(explicit["widths"])
        cfg = TrainConfig.preset(args.preset, **explicit, **given, **common)
    else:
        cfg = TrainConfig(model=args.model, geometry=args.geometry, widths=parse_widths(args.widths),
                          representation=args.representation, pooling=args.pooling, **given, **common)
    res = train(cfg, resume=not args.no_resume)
    if args.json:
        dump_json(res.to_dict())
        return 0
    print(res)
    print_table(["epoch" if not cfg.iterations else "iteration", "lr", "train_loss", "train_acc", "test_loss",
                 "test_acc", "seconds"],
                [[h.get("iteration", h["epoch"] + 1), f"{h['lr']:.4g}", f"{h['train_loss']:.4f}", f"{h['train_acc']:.4f}",
                  f"{h['test_loss']:.4f}", f"{h['test_acc']:.4f}", f"{h['seconds']:.1f}"] for h in res.history])
    for k, v in res.files.items():
        print(f"{k}: {v}")
    return 0
