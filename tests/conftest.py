import os
from pathlib import Path
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


# -- the table of mistakes (docs/errors.md) ---------------------------------------------------------------------------
# Each row of docs/errors.md has an id; the test files list their rows in an ``ERROR_ROWS`` list of
# ``(id, call)`` pairs and check them through these fixtures, so a row's class and message start are read from the
# page, never restated in the test (tests/test_docs.py checks that ids on the page and in the tests agree).

ERRORS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "errors.md"


def _error_table() -> dict[str, tuple[str, str]]:
    """``id -> (error class name or "—", message start)`` from the table of docs/errors.md."""
    import re

    rows: dict[str, tuple[str, str]] = {}
    for line in ERRORS_PAGE.read_text().splitlines():
        m = re.match(r"\|\s*`([A-Za-z0-9-]+)`\s*\|(.*)\|\s*$", line)
        if m:
            cells = [c.strip() for c in m.group(2).split(" | ")]
            cls, msg = cells[-2].strip("`"), cells[-1]
            assert m.group(1) not in rows, f"row {m.group(1)!r} is twice in docs/errors.md"
            rows[m.group(1)] = (cls, msg.replace("\\|", "|"))
    return rows


def _message_matches(start: str, message: str) -> bool:
    """``message`` begins with ``start``, where ``…`` in ``start`` stands for any text (a temporary path)."""
    import re

    pattern = ".*?".join(re.escape(p) for p in start.split("…"))
    return re.match(pattern, message, re.S) is not None


@pytest.fixture(scope="session")
def error_table() -> dict[str, tuple[str, str]]:
    return _error_table()


@pytest.fixture
def check_error_row(error_table: dict[str, tuple[str, str]]) -> Callable[[str, Callable[[], Any]], Any]:
    """``check(row_id, call)``: ``call()`` raises the row's class, and its message begins as the row says. A row
    whose class is ``—`` is a behaviour, not an error: ``call()`` returns normally and truthy."""
    from tensorexpr.core import errors

    def check(row_id: str, call: Callable[[], Any]) -> Any:
        assert row_id in error_table, f"row {row_id!r} is not in docs/errors.md"
        cls_name, start = error_table[row_id]
        if cls_name == "—":
            assert call(), f"row {row_id!r}: the behaviour the page describes does not hold"
            return None
        cls = getattr(errors, cls_name)
        with pytest.raises(errors.TensorExprError) as exc:
            call()
        assert type(exc.value) is cls, f"row {row_id!r}: raised {type(exc.value).__name__}, the page says {cls_name}"
        assert _message_matches(start, str(exc.value)), f"row {row_id!r}: {str(exc.value)!r} does not start {start!r}"
        return exc.value

    return check


@pytest.fixture
def check_cli_row(error_table: dict[str, tuple[str, str]], check_error_row: Any,
                  capsys: pytest.CaptureFixture[str]) -> Callable[[str, list[str]], None]:
    """``check(row_id, argv)``: the command raises the row's class (called under the parser, as ``main`` does), and
    ``main(argv)`` exits 2 with one ``tensorexpr: error: <message>`` line on stderr and no traceback."""
    from tensorexpr.cli import build_parser, main

    def check(row_id: str, argv: list[str]) -> None:
        args = build_parser().parse_args(argv)
        check_error_row(row_id, lambda: args.func(args))
        capsys.readouterr()
        rc = main(argv)
        out = capsys.readouterr()
        lines = out.err.strip().splitlines()
        assert rc == 2, f"row {row_id!r}: exit code {rc}"
        assert len(lines) == 1 and lines[0].startswith("tensorexpr: error: "), out.err
        assert "Traceback" not in out.err + out.out
        assert _message_matches(error_table[row_id][1], lines[0][len("tensorexpr: error: "):])

    return check
