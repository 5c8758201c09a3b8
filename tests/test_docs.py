"""The documentation lives in the repository: every docs/ page a docstring cites exists, and nothing cites
the team's private notes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [p for d in ("tensorexpr", "theory", "benchmarks", "examples") for p in (ROOT / d).rglob("*.py")]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_citation_outside_the_repository(path: Path) -> None:
    text = path.read_text()
    assert not re.search(r"DESIGN\.md|THEORY\.md|\.\./shared", text), f"{path} cites notes outside the repository"


def test_cited_docs_pages_exist() -> None:
    cited = {m for p in SOURCES for m in re.findall(r"docs/([\w.-]+\.md)", p.read_text())}
    missing = sorted(c for c in cited if not (ROOT / "docs" / c).exists())
    assert not missing, f"docstrings cite docs pages that do not exist: {missing}"
    assert {"conventions.md", "design.md", "theory.md"} <= {p.name for p in (ROOT / "docs").glob("*.md")}


def _backticked(text: str) -> list[str]:
    return re.findall(r"`([a-z_]+)`", text)


@pytest.mark.parametrize("page, anchor", [("cli.md", "- **Partitions**"), ("design.md", "The standard partition")])
def test_docs_list_the_standard_partitions_in_registry_order(page: str, anchor: str) -> None:
    """The docs' lists of the standard kinds are the registry, in its order (STANDARD_PARTITIONS is the one
    definition; a new kind there fails this until the docs name it)."""
    from tensorexpr.core.partitions import STANDARD_PARTITIONS

    text = (ROOT / "docs" / page).read_text()
    start = text.index(anchor)
    names = [n for n in _backticked(text[start:start + 800]) if n in STANDARD_PARTITIONS or n.endswith(
        ("_right", "_bottom", "board", "_rows", "_cols"))]
    assert names[:len(STANDARD_PARTITIONS)] == list(STANDARD_PARTITIONS), names


ERROR_TEST_FILES = ["tests/core/test_errors.py", "tests/cli/test_errors.py", "tests/sweep/test_errors.py",
                    "tests/experiments/test_userdata.py", "tests/experiments/test_checkpoint.py",
                    "tests/experiments/test_data.py", "tests/data/test_entanglement.py"]


def _tested_error_rows() -> dict[str, list[str]]:
    """Row id -> the test files that check it: the ``(id, ...)`` pairs of an ``ERROR_ROWS`` list, and the ids
    passed to ``check_error_row`` / ``check_cli_row`` directly."""
    found: dict[str, list[str]] = {}
    for f in ERROR_TEST_FILES:
        text = (ROOT / f).read_text()
        ids = []
        for block in re.findall(r"^ERROR_ROWS = \[\n(.*?)^\]", text, re.S | re.M):
            ids += re.findall(r'^    \("([A-Za-z0-9-]+)",', block, re.M)
        ids += re.findall(r'check_(?:error|cli)_row\("([A-Za-z0-9-]+)"', text)
        for i in ids:
            found.setdefault(i, []).append(f)
    return found


def test_the_errors_page_and_the_tests_name_the_same_rows() -> None:
    """docs/errors.md and the tests cannot drift: every row on the page is tested, every tested row is on the page,
    and the page holds at least 30 mistakes."""
    page = (ROOT / "docs" / "errors.md").read_text()
    on_page = re.findall(r"^\| `([A-Za-z0-9-]+)` \|", page, re.M)
    assert len(on_page) == len(set(on_page)), "a row id is twice on docs/errors.md"
    tested = _tested_error_rows()
    assert sorted(set(on_page) - set(tested)) == [], "rows of docs/errors.md without a test"
    assert sorted(set(tested) - set(on_page)) == [], "tested rows missing from docs/errors.md"
    assert len(on_page) >= 30
    for page_name in ("cli.md",):
        assert "errors.md" in (ROOT / "docs" / page_name).read_text()
    assert "docs/errors.md" in (ROOT / "README.md").read_text()


def _raises_directly(fn: ast.FunctionDef) -> bool:
    """A ``raise`` in ``fn``'s own body (not in a nested function or class)."""
    stack = list(fn.body)
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Raise):
            return True
        if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(n))
    return False


def _numpydoc_gaps(path: Path) -> list[str]:
    """Public functions and methods of ``path`` whose docstring lacks a section its signature or body calls for:
    Parameters (it takes arguments), Returns/Yields (it returns a value), Raises (it raises)."""
    gaps: list[str] = []

    def walk(body: list[ast.stmt], prefix: str) -> None:
        for n in body:
            if isinstance(n, ast.ClassDef) and not n.name.startswith("_"):
                if not ast.get_docstring(n):
                    gaps.append(f"{prefix}{n.name}: no docstring")
                walk(n.body, f"{prefix}{n.name}.")
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and not n.name.startswith("_"):
                decorators = {ast.unparse(d) for d in n.decorator_list}
                if any(d.endswith(".setter") for d in decorators):
                    continue
                doc = ast.get_docstring(n) or ""
                if not doc:
                    gaps.append(f"{prefix}{n.name}: no docstring")
                    continue
                if decorators & {"property", "cached_property", "functools.cached_property"}:
                    continue
                a = n.args
                args = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs if x.arg not in ("self", "cls")]
                args += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
                missing = []
                if args and "Parameters" not in doc:
                    missing.append("Parameters")
                if (n.returns is not None and ast.unparse(n.returns) not in ("None", "NoReturn")
                        and "Returns" not in doc and "Yields" not in doc):
                    missing.append("Returns")
                if _raises_directly(n) and "Raises" not in doc:
                    missing.append("Raises")
                if missing:
                    gaps.append(f"{prefix}{n.name}:{n.lineno}: no {', '.join(missing)}")

    walk(ast.parse(path.read_text()).body, "")
    return gaps


def test_every_public_function_has_numpydoc_sections() -> None:
    pkg = ROOT / "tensorexpr"
    gaps = [f"{p.relative_to(ROOT)}: {g}" for p in sorted(pkg.rglob("*.py")) for g in _numpydoc_gaps(p)]
    assert not gaps, "numpydoc sections missing (docs/design.md, house style):\n" + "\n".join(gaps)


def test_the_numpydoc_check_sees_a_gap(tmp_path: Path) -> None:
    src = ('def f(x: int) -> int:\n    """Doc."""\n    if x < 0:\n        raise ValueError(x)\n    return x\n\n'
           'def g(x: int) -> int:\n    """Doc.\n\n    Parameters\n    ----------\n    x : int\n\n'
           '    Returns\n    -------\n    int\n    """\n'
           '    def inner():\n        raise KeyError\n    return x\n')
    path = tmp_path / "m.py"
    path.write_text(src)
    # g's only raise is in a nested function: not g's to document
    assert _numpydoc_gaps(path) == ["f:1: no Parameters, Returns, Raises"]
