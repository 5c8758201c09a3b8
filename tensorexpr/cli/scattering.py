"""``tensorexpr scattering``: certify the separation ranks of a hybrid scattering + ConvAC network.

The hybrid (``--representation scattering:J=2,L=8``) is built fresh, or loaded from a ``tensorexpr train
--out`` directory (``--run``); its templates are the scattering coefficients of k-means centroids of
digits32 patches (:func:`tensorexpr.models.scattering.fit_templates`), and certify runs on the extracted
network with an integer ``F`` of the same exact rank (docs/design.md, "Template matrix").
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tensorexpr.core.specs import parse_widths
from tensorexpr.cli.common import add_command, dump_json, partitions_from_args, print_table


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``tensorexpr scattering`` subcommand (its flags and defaults) to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommand parsers of ``tensorexpr`` (see :func:`tensorexpr.cli.main`).
    """
    p = add_command(sub, "scattering", help="certified ranks of a hybrid scattering + ConvAC network (rank F of the templates)")
    p.add_argument("--representation", default="scattering:J=2,L=8", help="scattering:J=2,L=8[,rotinv=1]")
    p.add_argument("--geometry", default="grid:8x8:square", help="tree over the (H/2^J)x(W/2^J) grid of 32x32 digits")
    p.add_argument("--widths", default="4")
    p.add_argument("--templates", type=int, default=96, help="T: k-means centroids of digits32 patches")
    p.add_argument("--run", default=None, help="a `tensorexpr train --out` directory of a trained hybrid ConvAC")
    p.add_argument("--partition", action="append", default=None, help="partition spec(s), e.g. odd_even,left_right")
    p.add_argument("--budget-seconds", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``tensorexpr scattering`` on the parsed flags (docs/cli.md).

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
    NetworkError
        When the checkpoint is not a hybrid (scattering) ConvAC.
    """
    import numpy as np
    import torch

    from tensorexpr.bounds import certify
    from tensorexpr.experiments import TrainConfig, digits32
    from tensorexpr.models import ConvAC
    from tensorexpr.models import scattering as sc
    from tensorexpr.build.convac import convac
    from tensorexpr.core.specs import parse_geometry

    if args.run:
        from tensorexpr.experiments.train import make_dataset, make_model

        run_dir = Path(args.run)
        cfg = TrainConfig.from_dict({**json.loads((run_dir / "metrics.json").read_text())["config"], "device": "cpu"})
        data = make_dataset(cfg)
        model = make_model(cfg, data)
        model.load_state_dict(torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)["model"])
        images = data.X_train
    else:
        spec = sc.parse_scattering(args.representation)
        tree = parse_geometry(args.geometry)
        data = digits32(n_test=297, n_train=200, seed=args.seed)
        model = ConvAC(tree, spec.n_coefficients(1), parse_widths(args.widths), representation=args.representation,
                       seed=args.seed, device="cpu")
        model.representation.fit_scale(data.X_train)
        images = data.X_train
    if not isinstance(model, ConvAC) or not hasattr(model.representation, "fit_scale"):
        from tensorexpr.core.errors import NetworkError

        raise NetworkError("tensorexpr scattering needs a hybrid ConvAC (model convac with a scattering representation).")
    sc.fit_templates(model, images[:200], T=args.templates, seed=args.seed)
    net = model.to_network()
    r_exact, r_num = sc.exact_rank(net.F), int(np.linalg.matrix_rank(net.F))
    neti = net.with_F(sc.integer_template_matrix(net.F))
    parts = partitions_from_args(args.partition or ["odd_even"], model.tree.name, model.tree.n_modes)
    rows, payload = [], []
    for P in parts:
        c = certify(neti, P, budget_seconds=args.budget_seconds)
        ref = certify(convac(model.tree, r_exact, model.widths_spec, shared=model.shared), P, budget_seconds=args.budget_seconds)
        rows.append([P.name, c.summary(), ref.summary()])
        payload.append({"partition": P.name, "hybrid": c.to_dict(), "convac_M_rank_F": ref.to_dict()})
    if args.json:
        dump_json({"network": repr(net), "rank_F_exact": r_exact, "rank_F_numeric": r_num, "results": payload})
        return 0
    print(f"{net}\ntemplates T={net.F.shape[0]}: rank F = {r_exact} (exact), {r_num} (numerical); M = {net.M}")
    print_table(["partition", "hybrid (scattering F)", f"ConvAC with M = rank F = {r_exact}"], rows)
    return 0
