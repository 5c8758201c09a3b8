"""The documentation lives in the repository: every docs/ page a docstring cites exists, and nothing cites
the team's private notes."""

from __future__ import annotations

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
