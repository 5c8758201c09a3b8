"""``tensorexpr report``: the main job, certified separation ranks of square vs mirror pooling on one grid.

Defaults are the blob-task network of Cohen & Shashua (ICLR 2017): a 32x32 grid, M=2, 16 channels per
layer. The first table is the authors' architecture, a *convolutional* ConvAC (1x1 weights shared over the
image, one tied block per level); the second is the *locally connected* one (every position its own weights),
``--weights`` picks one. Each cell is the certified generic rank (or an honest interval) with the methods that
produced it; nothing dense is formed, so it runs in seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
from typing import Iterator, Sequence

from tensorexpr.bounds import profile
from tensorexpr.bounds.profile import Profile
from tensorexpr.build.spec import NetworkSpec
from tensorexpr.core.partitions import Partition, standard_partitions
from tensorexpr.core.specs import grid_shape, parse_window, with_window
from tensorexpr.cli.common import add_command, dump_json, format_count, print_table

def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``tensorexpr report`` subcommand (its flags and defaults) to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subcommand parsers of ``tensorexpr`` (see :func:`tensorexpr.cli.main`).
    """
    p = add_command(sub, "report", help="certified rank table for square vs mirror pooling (the main job)")
    p.add_argument("--grid", default="32x32", help="HxW of the input grid")
    p.add_argument("--window", default=None, help="square pooling window per level, bottom first, the last "
                                                  "repeating (3,2 for 6x6); mirror pooling needs 2")
    p.add_argument("--M", type=int, default=2, help="representation functions per position")
    p.add_argument("--widths", default="16", help="channels: one int, or r_0,r_1,... one per level")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    p.add_argument("--weights", choices=["both", "tied", "untied"], default="both",
                   help="tied = convolution (the authors' network, first table); untied = locally connected")
    p.add_argument("--random", type=int, default=0, metavar="K",
                   help="also certify K seeded random balanced partitions and print the fraction certified")
    p.add_argument("--plot", default=None, help="write a side-by-side PNG (square vs mirror) here")
    p.add_argument("--json", action="store_true", help="print JSON (exact integers) instead of a table")
    p.add_argument("--jobs", type=int, default=0, metavar="N",
                   help="certify the networks in N worker processes (0: one per core, at most one per network; "
                        "1: in this process)")
    p.add_argument("--torch", default=None, metavar="FILE.py:FUNCTION",
                   help="certify your own torch network instead: FUNCTION() in FILE.py returns the nn.Module, "
                        "traced with te.from_torch (docs/torch.md)")
    p.add_argument("--input", default="1x32x32", metavar="CxHxW", help="input shape of the --torch network")
    p.add_argument("--templates", default="0,1", help="the --torch network's pixel values: one per template "
                                                      "(C = 1), or rows separated by ';' (0,0;1,1 for C = 2)")
    p.set_defaults(func=run)


def _load_module(target: str) -> object:
    """``FUNCTION()`` from ``FILE.py`` (``FILE.py:FUNCTION``)."""
    import importlib.util
    from pathlib import Path

    from tensorexpr.core.errors import NetworkError

    path, sep, fn = target.rpartition(":")
    if not sep or not path or not fn:
        raise NetworkError(f"--torch takes FILE.py:FUNCTION, got {target!r}. Hint: --torch model.py:make_model.")
    if not Path(path).is_file():
        raise NetworkError(f"--torch: no file {path!r}.")
    spec = importlib.util.spec_from_file_location("tensorexpr_user_model", path)
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    if not callable(getattr(mod, fn, None)):
        raise NetworkError(f"--torch: {path} has no function {fn!r}.")
    return getattr(mod, fn)()


def _torch_report(args: argparse.Namespace) -> int:
    """``report --torch``: the standard partitions of a traced torch network."""
    import torch

    from tensorexpr.core.errors import NetworkError
    from tensorexpr.nn import from_torch

    try:
        shape = tuple(int(v) for v in args.input.lower().split("x"))
        rows = [[float(v) for v in r.split(",")] for r in args.templates.split(";")]
    except ValueError:
        raise NetworkError(f"--input {args.input!r} / --templates {args.templates!r}: expected CxHxW and numbers "
                           f"like 0,1 (or 0,0;1,1).") from None
    T = torch.tensor(rows, dtype=torch.float64)
    T = T.T if T.shape[0] == 1 and shape and shape[0] == 1 else T
    net = from_torch(_load_module(args.torch), shape, T)
    _, h, w = shape
    parts = standard_partitions(h, w) + [Partition.random(h * w, seed=s) for s in range(max(args.random, 0))]
    prof = profile(net, parts, shape=(h, w))
    if args.json:
        dump_json({"torch": args.torch, "input": args.input, "templates": rows, "network": net.name,
                   "profile": prof.to_dict()})
        return 0
    print(f"Certified generic separation ranks of {args.torch} ({net.name}; {len(net.nodes)} nodes, "
          f"M={net.n_templates} templates)")
    print_table(["partition", "rank", "how"],
                [[P.name, _cell(c), f"{c.lower_method}/{c.upper_method}"] for P, c in zip(parts, prof.certificates)])
    print(f"({prof.seconds:.1f}s; lower = upper means the rank is certified)")
    return 0


def _cell(c) -> str:  # noqa: ANN001
    return format_count(c.lower) if c.certified else f"[{format_count(c.lower)}, {format_count(c.upper)}]"


_LABEL = {"tied": "convolutional ConvAC (weights shared per level: the authors' architecture)",
          "untied": "locally connected ConvAC (every position its own weights)"}


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one report, and restore it.

    A 256x256 report allocates millions of acyclic objects (four networks of 87,381 nodes, their tables), and
    each full collection walks all of them: about 3 s of a 19 s report, collecting nothing. Reference counting
    still frees everything; the collector's previous state is restored on exit, even on an error.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run(args: argparse.Namespace) -> int:
    """Run ``tensorexpr report`` on the parsed flags (docs/cli.md).

    Parameters
    ----------
    args : argparse.Namespace
        The flags :func:`register` defines.

    Returns
    -------
    int
        The exit status: 0 on success.
    """
    with _cyclic_gc_paused():
        return _torch_report(args) if args.torch is not None else _run(args)


def _profile_job(spec: NetworkSpec, parts: Sequence[Partition], shape: tuple[int, int]) -> tuple[Profile, int]:
    """Build one network and certify it under ``parts``: ``(profile, number of templates)``."""
    with _cyclic_gc_paused():
        net = spec.build()
        return profile(net, parts, shape=shape, progress=False), net.n_templates


def _profile_all(specs: Sequence[NetworkSpec], parts: Sequence[Partition], shape: tuple[int, int],
                 jobs: int) -> list[tuple[Profile, int]]:
    """:func:`_profile_job` for every spec, in ``jobs`` worker processes (0: one per core), results in order.

    The networks are independent, so the report scales with cores (four networks at 256x256: each worker holds
    only the network it certifies). Errors raised in a worker are re-raised here, with their own class.
    """
    from tensorexpr.core.backends import progress_bar

    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 0:
        from tensorexpr.core.errors import ConfigError

        raise ConfigError(f"--jobs must be a count >= 0 (0: one per core), got {jobs!r}. Hint: --jobs 2.")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n = min(len(specs), jobs or cores)
    show = sys.stderr.isatty()
    with progress_bar(len(specs), "networks", show, leave=False) as bar:
        if n <= 1:
            out = []
            for spec in specs:
                out.append(_profile_job(spec, parts, shape))
                bar.update()
            return out
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # fork shares the imported library with the workers (no re-import); spawn where fork does not exist
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
        with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as pool:
            futures = [pool.submit(_profile_job, spec, parts, shape) for spec in specs]
            for f in futures:
                f.add_done_callback(lambda _: bar.update())
            try:
                return [f.result() for f in futures]
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)  # the first error ends the report: drop queued jobs
                raise


def _run(args: argparse.Namespace) -> int:
    geoms = [with_window(f"grid:{args.grid}:square", args.window)]
    if args.window is None or all(w in (2, (2, 2)) for w in parse_window(args.window)):
        geoms.append(f"grid:{args.grid}:mirror")  # mirror pooling exists for 2x2 windows only
    grids = ("square", "mirror")[: len(geoms)]
    h, w = grid_shape(geoms[0])  # type: ignore[misc]
    weights = ["tied", "untied"] if args.weights == "both" else [args.weights]
    specs = {kind: [NetworkSpec("convac", g, M=args.M, widths=args.widths, seed=args.seed,
                                tied="conv" if kind == "tied" else "none") for g in geoms] for kind in weights}
    if args.random < 0:
        from tensorexpr.core.errors import PartitionError

        raise PartitionError(f"--random must be a count >= 0, got {args.random}. Hint: --random 8.")
    parts = standard_partitions(h, w) + [Partition.random(h * w, seed=s) for s in range(args.random)]
    todo = [(kind, i) for kind in weights for i in range(len(geoms))]
    done = _profile_all([specs[kind][i] for kind, i in todo], parts, (h, w), args.jobs)
    tables = {kind: [done[j][0] for j, (k, _) in enumerate(todo) if k == kind] for kind in weights}
    n_templates = {kind: done[todo.index((kind, 0))][1] for kind in weights}
    profs = tables[weights[0]]
    if args.plot:
        from tensorexpr.plot import plot_profiles

        tag = "convolution" if weights[0] == "tied" else "locally connected"
        plot_profiles(profs, args.plot, titles=[f"{g} pooling ({tag}), M={args.M}, widths={args.widths}"
                                                for g in grids])
    if args.json:
        def block(kind: str) -> dict:
            ps = tables[kind]
            return {"network": _LABEL[kind], "square": ps[0].to_dict(), "mirror": ps[1].to_dict() if len(ps) > 1 else None}

        out = {"grid": args.grid, "M": args.M, "widths": args.widths, "weights": weights[0], **block(weights[0]),
               "plot": args.plot}
        if len(weights) == 2:
            out["locally_connected"] = block("untied")
        dump_json(out)
        return 0
    how = (lambda c: f"{c.lower_method}={c.upper_method}" if c.certified else f"{c.lower_method}/{c.upper_method}")
    for kind in weights:
        ps = tables[kind]
        print(f"Certified generic separation ranks, {_LABEL[kind]}, {args.grid} grid, M={args.M}, "
              f"widths={args.widths} (max possible: {_cell_max(ps[0], n_templates[kind])})")
        rows = []
        for i, part in enumerate(parts):
            row = [part if isinstance(part, str) else part.name]
            for prof in ps:
                row += [_cell(prof.certificates[i]), how(prof.certificates[i])]
            rows.append(row)
        heads = ["partition", "square", "how (square)", "mirror", "how (mirror)"][: 1 + 2 * len(ps)]
        print_table(heads, rows)
        if args.random:
            k = sum(c.certified for prof in ps for c in prof.certificates[len(parts) - args.random:])
            print(f"random balanced partitions certified: {k} of {args.random * len(ps)}")
        print(f"({sum(p.seconds for p in ps):.1f}s; lower = upper means the rank is certified)\n")
    if args.plot:
        print(f"plot written to {args.plot}")
    return 0


def _cell_max(prof, T: int) -> str:  # noqa: ANN001
    """The largest possible rank over the table's partitions, ``max min(T^|I|, T^|J|)``, formatted exactly."""
    return format_count(max(T ** min(len(P.I), len(P.J)) for P in prof.partitions))
