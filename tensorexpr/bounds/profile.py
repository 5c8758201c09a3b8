"""Rank profiles: the certified rank of one architecture across many partitions (ICLR 2017, Sec. 5).

A profile answers "which partitions can this geometry correlate strongly?": for each partition it holds the
certificate interval and ``log2`` of the rank relative to the largest possible, ``log2 min(T^|I|, T^|J|)``.
:meth:`Profile.plot` draws it; for 2-D geometries each partition's mask is drawn beside its bar, so square
vs mirror pooling is visible at a glance (:func:`tensorexpr.plot.plot_profiles`).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any, Sequence

from tensorexpr.core.backends import progress_bar
from tensorexpr.core.tables import format_table
from tensorexpr.core.errors import PartitionError
from tensorexpr.core.network import Network
from tensorexpr.core.partitions import Partition
from tensorexpr.core.validation import check_partition
from tensorexpr.bounds.analysis import Analysis, analysis_of
from tensorexpr.bounds.certificate import Certificate, certify

__all__ = ["profile", "Profile", "tree_grid_shape"]

def tree_grid_shape(net: Network) -> tuple[int, int] | None:
    """``(h, w)`` when the network's mode tree is a 2x2 grid pooling geometry, recognised from the tree's
    structure (never its name), else None.

    Parameters
    ----------
    net : Network
        The network.

    Returns
    -------
    tuple of (int, int) or None
        The grid height and width, or None (no mode tree, or not a grid geometry).
    """
    from tensorexpr.bounds.geometry import tree_shape

    if net.tree is None:
        return None
    shape = tree_shape(net.tree)
    return shape[1] if shape is not None and shape[0].startswith("grid") else None  # type: ignore[return-value]


def _log2(x: int) -> float:
    """``log2`` of a big int without overflow; 0 for x <= 1 (an unknown lower bound 0 plots as 0)."""
    if x <= 1:
        return 0.0
    b = x.bit_length() - 1
    return b + math.log2(x / (1 << b)) if b < 1000 else b + math.log2((x >> (b - 52)) / (1 << 52))


@dataclass(frozen=True)
class Profile:
    """Certificates of one network over a list of partitions.

    Attributes
    ----------
    partitions : tuple of Partition
    certificates : tuple of Certificate
    max_log2 : tuple of float
        ``log2 min(T^|I|, T^|J|)`` per partition.
    shape : (h, w) or None
        Grid shape for 2-D geometries (masks are drawn when set).
    """

    network: str
    partitions: tuple[Partition, ...]
    certificates: tuple[Certificate, ...]
    max_log2: tuple[float, ...]
    shape: tuple[int, int] | None = None
    seconds: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    def log2_bounds(self) -> list[tuple[float, float]]:
        """``(log2 lower, log2 upper)`` per partition (0 for bounds <= 1).

        Returns
        -------
        list of (float, float)
        """
        return [(_log2(c.lower), _log2(c.upper)) for c in self.certificates]

    def rows(self) -> list[list[Any]]:
        """The rows of :meth:`table`, one per partition.

        Returns
        -------
        list of list
            Partition name, rank (or ``[lower, upper]``), certified, log2 of the upper bound, ``log2 min(T^|I|, T^|J|)``
            and the lower/upper methods.
        """
        out = []
        for P, c, mx in zip(self.partitions, self.certificates, self.max_log2):
            from tensorexpr.core.numbers import format_count as fmt

            val = fmt(c.lower) if c.certified else f"[{fmt(c.lower)}, {fmt(c.upper)}]"
            lo, up = self.log2_bounds()[len(out)]
            out.append([P.name, val, "yes" if c.certified else "no", f"{up:.1f}", f"{mx:.1f}",
                        f"{c.lower_method}/{c.upper_method}"])
        return out

    def table(self) -> str:
        """The profile as a text table.

        Returns
        -------
        str
        """
        return format_table(["partition", "rank", "certified", "log2 rank", "log2 max", "lower/upper"], self.rows())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: one row per partition with its certificate (big counts encoded by
        :func:`~tensorexpr.core.numbers.encode_count`) and float ``log2_lower``, ``log2_upper``, ``log2_max``.

        Returns
        -------
        dict
        """
        from tensorexpr.core.numbers import encode_counts

        return encode_counts({
            "network": self.network,
            "shape": list(self.shape) if self.shape else None,
            "seconds": self.seconds,
            "meta": self.meta,
            "rows": [
                {"partition": P.to_dict() if P.n_modes <= 64 else P.name, "name": P.name, **c.to_dict(),
                 "log2_lower": lo, "log2_upper": up, "log2_max": mx}
                for P, c, mx, (lo, up) in zip(self.partitions, self.certificates, self.max_log2, self.log2_bounds())
            ],
        })

    def __str__(self) -> str:
        return f"Profile of {self.network} ({len(self.partitions)} partitions, {self.seconds:.2f}s)\n{self.table()}"

    def __repr__(self) -> str:
        cells = ", ".join(f"{P.name}: {'=' if c.certified else '<='}{c.upper}" if c.upper < 10**6 else
                          f"{P.name}: 2^{_log2(c.upper):.0f}" for P, c in zip(self.partitions, self.certificates))
        return f"Profile({self.network}, {cells})"


def _resolve(net: Network, partitions: Sequence[Partition | str], shape: tuple[int, int] | None) -> list[Partition]:
    out: list[Partition] = []
    for p in partitions:
        if isinstance(p, Partition):
            out.append(check_partition(p, net.n_modes, "profile", net.name))
        elif isinstance(p, str):
            from tensorexpr.core.specs import parse_partition

            out.append(parse_partition(p, net.n_modes, shape))
        else:
            raise PartitionError(f"A profile partition is a te.Partition or a family name, got {p!r}.")
    if not out:
        raise PartitionError("profile needs at least one partition.")
    return out


def profile(
    net: Network | Analysis,
    partitions: Sequence[Partition | str],
    output: int = 0,
    methods: Sequence[str] | None = None,
    budget_seconds: float | None = None,
    progress: bool | None = None,
    shape: tuple[int, int] | None = None,
) -> Profile:
    """Certify ``net`` under each partition (names are resolved on the net's grid when it has one).

    Parameters
    ----------
    net : Network or Analysis
        The network, or its analysis plan (:func:`~tensorexpr.analyze`); one plan serves every partition.
    partitions : sequence of Partition or str
        Partitions, or family names / specs (``left_right``, ``checkerboard``, ``random:3``, ``I:0,2``).
    methods, budget_seconds :
        Passed to :func:`tensorexpr.certify` (the budget is per partition).
    progress : bool, optional
        Show a tqdm bar; default: only when stderr is a TTY.
    shape : (int, int), optional
        The ``(h, w)`` grid the modes lie on (mode ``row * w + col``), for 2-D family names and the masks of
        plots. By default it is recognised from the tree's structure for 2x2 pooling; pass it for other
        windows (``--window 3,2``).

    Returns
    -------
    Profile
        One certificate per partition, with the grid shape for plots.

    Raises
    ------
    PartitionError
        A bad partition, family name or ``shape``.
    NetworkError
        What :func:`~tensorexpr.certify` refuses.

    Examples
    --------
    >>> import tensorexpr as te
    >>> net = te.convac(te.ModeTree.line(8), M=2, widths=2, seed=0)
    >>> te.profile(net, ["odd_even", "left_right"], progress=False)
    Profile(convac(line:8), odd_even: =16, left_right: =2)
    """
    import time

    t0 = time.perf_counter()
    analysis = analysis_of(net)
    net = analysis.net
    if shape is None:
        shape = tree_grid_shape(net)
    elif (not isinstance(shape, tuple) or len(shape) != 2 or shape[0] * shape[1] != net.n_modes):
        raise PartitionError(f"profile shape={shape!r} must be (h, w) with h * w = {net.n_modes} modes. "
                             f"Hint: the grid the network was built on, e.g. (6, 6).")
    parts = _resolve(net, partitions, shape)
    show = sys.stderr.isatty() if progress is None else progress
    certs = []
    with progress_bar(len(parts), "partitions", show, leave=False) as bar:
        for P in parts:
            certs.append(certify(analysis, P, output=output, methods=methods, budget_seconds=budget_seconds))
            bar.update()
    T = net.n_templates
    mx = tuple(min(len(P.I), len(P.J)) * math.log2(T) for P in parts)
    meta = {"tied": net.is_tied, "weights": net.parametrization()["nodes_by_kind"]}  # convolution vs locally connected
    return Profile(net.name, tuple(parts), tuple(certs), mx, shape, time.perf_counter() - t0, meta)
