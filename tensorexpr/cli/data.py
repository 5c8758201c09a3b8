"""``tensorexpr data``: how entangled a data set is under each geometry's canonical partitions (docs/data.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from tensorexpr.core.errors import DataError
from tensorexpr.core.numbers import encode_counts
from tensorexpr.core.tables import format_table
from tensorexpr.cli.common import add_command

TASKS = ("digits", "symmetry", "closedness")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``tensorexpr data`` subcommand (its flags and defaults) to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommand parsers of ``tensorexpr`` (see :func:`tensorexpr.cli.main`).
    """
    p = add_command(sub, "data", help="entanglement of a data set under the canonical partitions of pooling "
                                    "geometries (which geometry fits the data)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--data", default=None, help="an .npz with X (or X_train) of shape (n, H, W) or (n, N) and "
                                                  "y (or y_train)")
    src.add_argument("--task", default="digits", choices=TASKS, help="a built-in data set")
    p.add_argument("--geometry", action="append", default=None,
                   help="geometry spec (repeatable), e.g. grid:8x8:square; default: the square, mirror and "
                        "random quad trees on the image grid")
    p.add_argument("--n", type=int, default=None, help="use the first n samples (default: all; blobs: 1000)")
    p.add_argument("--method", default="auto", choices=("auto", "exact", "nystrom"))
    p.add_argument("--landmarks", type=int, default=500, help="Nystrom landmarks (method nystrom)")
    p.add_argument("--feature-map", default="cos-sin", help="cos-sin or affine")
    p.add_argument("--plot", default=None, help="write a heat map of the entropy per tree node to this PNG")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def load_data(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, tuple[int, int] | None, str]:
    """``(X, y, image shape or None, label)``: features flattened row-major (mode ``r * W + c``), scaled to
    ``[0, 1]``.

    Parameters
    ----------
    args : argparse.Namespace
        The ``tensorexpr data`` flags: ``--data`` (an ``.npz`` with ``X`` and ``y``) or a built-in task, ``--n``.

    Returns
    -------
    tuple
        ``(X, y, shape, label)``: ``X`` of shape ``(n, N)`` in ``[0, 1]``, labels ``y``, the image shape
        ``(H, W)`` or ``None``, and a label for printing.

    Raises
    ------
    DataError
        When the file is missing, unreadable, lacks ``X``/``y``, holds non-numbers, NaN or a bad shape, or when
        ``--n`` is below 1.
    """
    if args.data is not None:
        path = Path(args.data)
        if not path.exists():
            raise DataError(f"Data file {str(path)!r} does not exist; expected an .npz with X and y.")
        try:
            with np.load(path, allow_pickle=False) as z:
                kx = "X" if "X" in z.files else "X_train"
                ky = "y" if "y" in z.files else "y_train"
                if kx not in z.files or ky not in z.files:
                    raise DataError(f"{str(path)!r} has keys {sorted(z.files)}; expected X and y (or X_train and "
                                    f"y_train). Hint: np.savez(path, X=..., y=...).")
                X, y = z[kx], z[ky]
        except DataError:
            raise  # already names the file and the keys; DataError is a ValueError, so keep it from the wrap below
        except (OSError, ValueError) as exc:
            raise DataError(f"Cannot read {str(path)!r} as an .npz file ({exc}).") from None
        label = path.name
    elif args.task == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        X, y, label = d.images, d.target, "digits"
    else:
        from tensorexpr.experiments.data import blobs

        ds = blobs(args.task, n_train=args.n or 1000, n_test=10, progress=False)
        X, y, label = ds.X_train.numpy(), ds.y_train.numpy(), args.task
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise DataError(f"X of {label!r} has dtype {X.dtype}; expected numbers (int, uint, float or bool). "
                        f"Hint: np.savez(path, X=X.astype(float), y=y).")
    X = X.astype(np.float64)
    if X.ndim < 2 or len(X) == 0:
        raise DataError(f"X of {label!r} has shape {X.shape}; expected (n, H, W) or (n, N) with n >= 1.")
    if not np.isfinite(X).all():
        # the [0, 1] scaling below would turn NaN into a constant image without a word
        raise DataError(f"X of {label!r} holds {int((~np.isfinite(X)).sum())} NaN or infinite value(s); expected "
                        f"finite numbers. Hint: impute or drop them.")
    if args.n is not None and args.n < 1:
        raise DataError(f"--n must be an integer >= 1 (samples used), got {args.n}. Hint: --n 500.")
    shape = tuple(X.shape[1:3]) if X.ndim == 3 else None
    X = X.reshape(len(X), -1)
    if args.n is not None:
        X, y = X[: args.n], np.asarray(y)[: args.n]
    lo, hi = float(np.min(X)), float(np.max(X))
    X = (X - lo) / (hi - lo) if hi > lo else np.zeros_like(X)
    return X, np.asarray(y), shape, label


def run(args: argparse.Namespace) -> int:
    """Run ``tensorexpr data`` on the parsed flags (docs/cli.md).

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
    DataError
        When the data file is missing or malformed, or no geometry can be chosen.
    """
    from tensorexpr.data import geometry_fit, rank_geometries

    X, y, shape, label = load_data(args)
    kw: dict[str, Any] = dict(method=args.method, landmarks=args.landmarks, feature_map=args.feature_map)
    if args.geometry:
        fits = sorted((geometry_fit(X, y, g, **kw) for g in args.geometry), key=lambda f: f.total)
    elif shape is not None:
        fits = rank_geometries(X, y, shape, **kw)
    else:
        raise DataError("Without an image shape, name the geometries: --geometry line:64 (repeatable).")
    if args.json:
        print(json.dumps(encode_counts({"data": label, "n": int(len(X)), "fits": [f.to_dict() for f in fits]})))
    else:
        rows = [(f.geometry, f"{f.total:.4f}", f"{f.worst:.4f}", len(f.per_node), f.method, f"{f.seconds:.2f}")
                for f in fits]
        print(f"Entanglement of {label} (n={len(X)}, {X.shape[1]} features) under each geometry's canonical "
              f"partitions; lower fits better")
        print(format_table(["geometry", "mean entropy", "worst", "partitions", "method", "seconds"], rows))
    if args.plot:
        from tensorexpr.plot import plot_geometry_fits

        plot_geometry_fits(fits, shape or (1, X.shape[1]), args.plot)
        if not args.json:
            print(f"wrote {args.plot}")
    return 0
