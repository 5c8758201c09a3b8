import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run ``tensorexpr.cli.main`` on the given arguments; the callable returns (exit code, stdout, stderr)."""
    from tensorexpr.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        rc = main(list(argv))
        out = capsys.readouterr()
        return rc, out.out, out.err

    return run


@pytest.fixture
def border_images() -> Callable[..., Any]:
    """Seeded random 32x32 images, zero outside pixels 6..26: rotations about (16, 16) and small shifts keep them
    on the grid. The callable takes ``(n, seed=0)`` and returns a ``(n, 1, 32, 32)`` torch tensor."""
    import torch

    def make(n: int, seed: int = 0) -> Any:
        g = torch.Generator().manual_seed(seed)
        x = torch.zeros(n, 1, 32, 32)
        x[:, :, 6:27, 6:27] = torch.rand(n, 1, 21, 21, generator=g)
        return x

    return make
