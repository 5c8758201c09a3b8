import os
from collections.abc import Callable

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
