"""Published claims about ConvAC expressiveness as executable checks.

One module per claim; each holds the statement with its citation, its status label from docs/theory.md
(checked / derived / recalled), the closed form as a sympy expression where there is one, and
``check(scale="quick"|"full"|"test", out_dir=None) -> Report``. :data:`CLAIMS` maps a claim name to its module.

>>> sorted(CLAIMS)
['depth_efficiency', 'generalized', 'mincut', 'mixed', 'overlapping', 'pooling_geometry', 'weight_sharing']
"""

from __future__ import annotations

import importlib
import time
from types import ModuleType

from theory.report import SCALES, Check, Report, Table

__all__ = ["CLAIMS", "get_claim", "run_claim", "Report", "Check", "Table", "SCALES"]

#: claim name -> module path (imported lazily); a new claim is one module and one entry here.
CLAIMS: dict[str, str] = {
    "depth_efficiency": "theory.depth_efficiency",
    "pooling_geometry": "theory.pooling_geometry",
    "generalized": "theory.generalized",
    "overlapping": "theory.overlapping",
    "mixed": "theory.mixed",
    "mincut": "theory.mincut",
    "weight_sharing": "theory.weight_sharing",
}


def get_claim(name: str) -> ModuleType:
    """The module of claim ``name`` (imported on first use).

    Parameters
    ----------
    name : str
        A key of :data:`CLAIMS`.

    Returns
    -------
    module
        With ``STATEMENT``, ``CITATION``, ``STATUS``, ``FORMULA`` and ``check``.

    Raises
    ------
    TensorExprError
        On an unknown claim.

    Examples
    --------
    >>> get_claim("mixed").STATUS
    'checked'
    """
    if name not in CLAIMS:
        from tensorexpr.core.errors import TensorExprError

        raise TensorExprError(f"Unknown claim {name!r}; expected one of {sorted(CLAIMS)}.")
    return importlib.import_module(CLAIMS[name])


def run_claim(name: str, scale: str = "quick", out_dir: str | None = None) -> Report:
    """Run one claim's check and time it.

    Parameters
    ----------
    name : str
        A key of :data:`CLAIMS`.
    scale : {"test", "quick", "full"}, optional
    out_dir : str, optional
        Where plots are written.

    Returns
    -------
    Report
        With ``seconds`` set.

    Raises
    ------
    TensorExprError
        On an unknown claim or scale.
    """
    t0 = time.perf_counter()
    rep = get_claim(name).check(scale=scale, out_dir=out_dir)
    rep.seconds = time.perf_counter() - t0
    return rep
