"""Array backends found from the input, never imported unless present (docs/design.md, "Layers").

The calculator layers (core .. spectra) do not import torch; import-linter holds that. They reach torch only
here, when a caller passes a torch tensor or asks for ``backend="torch"``, the way einops finds its backends:
a tensor is recognised by its type's module, and the torch module is loaded on demand, with a clear error
naming the extra when it is not installed.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from tensorexpr.core.errors import MissingExtraError

__all__ = ["is_torch_tensor", "torch_module", "torch_device", "require", "progress_bar"]

#: The optional extras and what each one installs (pyproject.toml).
EXTRAS = {"torch": "torch", "scattering": "kymatio", "sweep": "dask", "plot": "matplotlib", "data": "sklearn"}


def require(module: str, extra: str, what: str) -> ModuleType:
    """Import ``module`` for ``what``, or raise :class:`MissingExtraError` naming the extra.

    Parameters
    ----------
    module : str
        The module to import (``"torch"``, ``"matplotlib.pyplot"``, ...).
    extra : str
        The tensorexpr extra that installs it.
    what : str
        What needs it, for the message.

    Returns
    -------
    module

    Raises
    ------
    MissingExtraError
        If the module cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(f"{what} needs {module.split('.')[0]}, which is not installed. "
                                f"Hint: pip install 'tensorexpr[{extra}]'.") from exc


def is_torch_tensor(x: Any) -> bool:
    """Whether ``x`` is a torch tensor, without importing torch (its type lives in a ``torch`` module).

    Parameters
    ----------
    x : object
        Any value.

    Returns
    -------
    bool
        True when ``type(x)`` comes from the ``torch`` package and has ``detach``; torch is never imported.
    """
    return type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach")


def torch_module(what: str = "backend='torch'") -> ModuleType:
    """The torch module, loaded on demand.

    Parameters
    ----------
    what : str
        What needs it, for the error message.

    Returns
    -------
    module

    Raises
    ------
    MissingExtraError
        If torch is not installed (the ``[torch]`` extra).
    """
    return require("torch", "torch", what)


def torch_device(device: Any = None) -> Any:
    """``device`` as a ``torch.device``; ``None`` picks CUDA when torch sees it, else the CPU.

    Parameters
    ----------
    device : str or torch.device, optional

    Returns
    -------
    torch.device

    Raises
    ------
    MissingExtraError
        If torch is not installed.
    """
    torch = torch_module()
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class _NoBar:
    """Stands in for a tqdm bar when the ``progress`` extra is not installed or the bar is off."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> "_NoBar":
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def progress_bar(total: int, desc: str, enabled: bool, **kw: Any) -> Any:
    """A tqdm bar (``update``, ``close``, a context manager) when enabled and tqdm is installed, else a no-op.

    Parameters
    ----------
    total : int
    desc : str
    enabled : bool
        Usually "stderr is a terminal" unless the caller asked.
    **kw
        Passed to ``tqdm.auto.tqdm`` (``leave``, ``unit``, ``initial``).

    Returns
    -------
    object
        A tqdm bar, or a do-nothing stand-in: progress is never a reason to fail.
    """
    if not enabled:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ModuleNotFoundError:
        return _NoBar()
    return tqdm(total=total, desc=desc, **kw)
