"""Oracles for traced torch modules (needs the ``[torch]`` extra; not imported by ``tensorexpr.testing``).

:func:`module_grid` evaluates a module on every image made of templates, the definition that
:func:`tensorexpr.from_torch` must reproduce (docs/torch.md); :func:`integer_weights` gives a module integer
parameters, so that its grid tensor on integer templates is exact.
"""

from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np
import torch

__all__ = ["module_grid", "integer_weights"]


def module_grid(module: torch.nn.Module, input_shape: Sequence[int], templates: torch.Tensor) -> np.ndarray:
    """The module (float64) on all ``M^N`` template images, as an array ``(outputs, M, ..., M)``.

    Image ``(i_0, ..., i_{N-1})`` has pixel ``m = h * W + w`` equal to ``templates[i_m]``.

    Parameters
    ----------
    module : torch.nn.Module
        Turned to float64 in place.
    input_shape : (int, int, int)
        ``(C, H, W)``.
    templates : torch.Tensor
        ``(M, C)``.

    Returns
    -------
    numpy.ndarray
        Axis 0 the module's outputs, then one axis of size ``M`` per pixel.
    """
    C, H, W = input_shape
    N, M = H * W, templates.shape[0]
    idx = torch.as_tensor(np.array(list(itertools.product(range(M), repeat=N))))
    imgs = templates.double()[idx].reshape(-1, H, W, C).permute(0, 3, 1, 2)
    with torch.no_grad():
        y = module.double()(imgs).reshape(idx.shape[0], -1).numpy()
    return y.T.reshape((y.shape[1],) + (M,) * N)


def integer_weights(module: torch.nn.Module, seed: int, lo: int = -2, hi: int = 3) -> torch.nn.Module:
    """``module`` with every parameter drawn uniformly from ``{lo, ..., hi - 1}``, in float64.

    Parameters
    ----------
    module : torch.nn.Module
        Changed in place.
    seed : int
        Seed of the draw.
    lo, hi : int
        The range, ``hi`` excluded.

    Returns
    -------
    torch.nn.Module
        ``module``.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randint(lo, hi, p.shape, generator=g).to(p.dtype))
    return module.double()
