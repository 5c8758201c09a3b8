"""Job kinds of a sweep (a registry): each validates a config on the driver and runs it on a worker.

A job returns ``(metrics, result)``: ``metrics`` a flat dict of numbers that :mod:`tensorexpr.sweep.results`
aggregates, ``result`` the full report (training history, ``Spectrum.to_dict()``, ``Certificate.to_dict()``).
:func:`execute` wraps a job for Dask: it never raises for an error in the job itself (the error is returned and
recorded), so only a dying worker makes Dask retry it.
"""

from __future__ import annotations

import os
import platform
import socket
import time
import traceback
from dataclasses import dataclass, fields
from typing import Any, Callable

from tensorexpr.build.spec import NetworkSpec

__all__ = ["JobKind", "JOB_KINDS", "register_job_kind", "execute", "device_name"]


@dataclass(frozen=True)
class JobKind:
    """A kind of sweep job: its name, ``run(config) -> (metrics, result)``, config validator and description."""

    name: str
    run: Callable[[dict[str, Any]], tuple[dict[str, Any], dict[str, Any]]]
    validate: Callable[[dict[str, Any]], None]
    description: str


JOB_KINDS: dict[str, JobKind] = {}


def register_job_kind(kind: JobKind) -> JobKind:
    """Add ``kind`` to :data:`JOB_KINDS`; a name registers once (a second kind would silently change what every
    stored job key of that name means).

    Parameters
    ----------
    kind : JobKind
        The job's name, its ``run(config) -> (metrics, result)``, its config validator and a one-line description.

    Returns
    -------
    JobKind
        ``kind`` itself.

    Raises
    ------
    SweepError
        A kind of that name is registered already.
    """
    from tensorexpr.core.errors import SweepError

    if kind.name in JOB_KINDS:
        raise SweepError(f"Sweep job kind {kind.name!r} is registered already; expected a new name, "
                         f"{sorted(JOB_KINDS)} are taken. Hint: register under another name.")
    JOB_KINDS[kind.name] = kind
    return kind


def device_name() -> str:
    """``cuda:<name>`` when a GPU is visible to torch (if torch is loaded), else ``cpu (<machine>, N cores)``.

    Returns
    -------
    str
        The device a worker's rows record.
    """
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return f"cuda:{torch.cuda.get_device_name(0)}"
    return f"cpu ({platform.machine()}, {os.cpu_count()} cores)"


# -- training ------------------------------------------------------------------------------------------------
def _validate_train(cfg: dict[str, Any]) -> None:
    from tensorexpr.experiments.config import TrainConfig

    TrainConfig.from_dict({**cfg, "progress": False})


def _run_train(cfg: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    from tensorexpr.experiments import TrainConfig, train

    r = train(TrainConfig.from_dict({**cfg, "progress": False}))
    last = r.history[-1] if r.history else {}
    metrics = {k: float(v) for k, v in last.items() if k in ("train_acc", "test_acc", "train_loss", "test_loss")}
    metrics["n_params"] = int(r.n_params)
    return metrics, {"history": list(r.history), "nonfinite": bool(getattr(r, "nonfinite", False))}


# -- spectrum / certify on a random (or given) network ---------------------------------------------------------
# NetworkSpec fields a job may set (integer is the job kind's choice); shared = true is tied = "conv"
_SPEC_FIELDS = tuple(f.name for f in fields(NetworkSpec) if f.name != "integer") + ("shared",)
_NET_FIELDS = {*_SPEC_FIELDS, "partition", "output"}
_SPECTRUM_FIELDS = _NET_FIELDS | {"method", "rows", "cols", "rtol", "integer"}
_CERTIFY_FIELDS = _NET_FIELDS | {"methods", "budget_seconds"}


def _network(cfg: dict[str, Any], integer: bool) -> tuple[Any, Any]:
    """The network and partition of a job, through the one spec parser (:class:`~tensorexpr.build.spec.NetworkSpec`):
    the same bad field gives the same error, recorded in the job's row, as the CLI prints."""
    from tensorexpr.core.specs import parse_partition

    spec = NetworkSpec.from_mapping({**{k: cfg[k] for k in _SPEC_FIELDS if k in cfg}, "integer": integer})
    net = spec.build()
    return net, parse_partition(str(cfg.get("partition", "odd_even")), net.n_modes, spec.shape)


def _check_fields(cfg: dict[str, Any], allowed: set, kind: str) -> None:
    from tensorexpr.core.errors import SweepError

    unknown = sorted(set(cfg) - allowed)
    if unknown:
        raise SweepError(f"Unknown {kind} job fields {unknown}; expected a subset of {sorted(allowed)}.")
    if "geometry" not in cfg:
        raise SweepError(f"A {kind} job needs a geometry field (e.g. geometry = \"grid:8x8:square\").")
    # the network spec is checked on the driver, before any job is sent: the same error the CLI and API raise
    NetworkSpec.from_mapping({k: cfg[k] for k in _SPEC_FIELDS if k in cfg})


def _run_spectrum(cfg: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    from tensorexpr.spectra import spectrum

    net, P = _network(cfg, integer=bool(cfg.get("integer", False)))
    kw = {k: cfg[k] for k in ("method", "rows", "cols", "rtol", "output") if k in cfg}
    sp = spectrum(net, P, seed=int(cfg.get("seed", 0)), **kw)
    return {"rank": sp.rank, "entropy": sp.entropy, "log_sigma1": sp.log_sigma1,
            "lower_bound": int(sp.kind == "lower-bound")}, sp.to_dict()


def _run_certify(cfg: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    from tensorexpr.bounds import certify

    net, P = _network(cfg, integer=True)
    c = certify(net, P, output=int(cfg.get("output", 0)), budget_seconds=cfg.get("budget_seconds"),
                methods=cfg.get("methods"), seed=int(cfg.get("seed", 0)))
    from tensorexpr.core.numbers import log2_int

    # exact ints (the store encodes big ones) and their log2, which plots and aggregates can average
    lg = {f"log2_{k}": log2_int(v) if v > 0 else None for k, v in (("lower", c.lower), ("upper", c.upper))}
    return {"lower": c.lower, "upper": c.upper, **lg, "certified": int(bool(c.certified))}, c.to_dict()


register_job_kind(JobKind("train", _run_train, _validate_train, "te.experiments.train(TrainConfig(**config))"))
register_job_kind(JobKind("spectrum", _run_spectrum, lambda c: _check_fields(c, _SPECTRUM_FIELDS, "spectrum"),
                          "te.spectrum of a random network (NetworkSpec fields: geometry, M, widths, ...; partition, ...)"))
register_job_kind(JobKind("certify", _run_certify, lambda c: _check_fields(c, _CERTIFY_FIELDS, "certify"),
                          "te.certify of a random integer network (NetworkSpec fields and partition)"))


def execute(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """Run one job on a worker and return its row fields; an exception in the job becomes ``status='error'``.

    Parameters
    ----------
    kind : str
        A name in :data:`JOB_KINDS`.
    config : dict
        The job's config (validated when the sweep was planned).

    Returns
    -------
    dict
        ``status``, ``metrics``, ``result``, ``error``, ``started``, ``finished``, ``seconds``, ``worker`` and
        ``device``: the fields of one results-database row.
    """
    t0, started = time.perf_counter(), time.time()
    row: dict[str, Any] = {"started": started, "worker": f"{socket.gethostname()}:{os.getpid()}"}
    try:
        metrics, result = JOB_KINDS[kind].run(dict(config))
        row.update(status="ok", metrics=metrics, result=result, error=None)
    except Exception as exc:  # noqa: BLE001 - a failed job is data: its error goes into its row
        row.update(status="error", metrics=None, result=None,
                   error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}")
    row.update(finished=time.time(), seconds=time.perf_counter() - t0, device=device_name())
    return row
