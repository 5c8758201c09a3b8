"""The architecture holds: import-linter's contracts (pyproject.toml), no intra-package import cycles, and the
calculator works without the optional extras (docs/design.md, "Layers")."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("torch", "dask", "distributed", "kymatio", "sklearn", "matplotlib", "tqdm")


def _lint_imports() -> str | None:
    exe = Path(sys.executable).with_name("lint-imports")
    return str(exe) if exe.exists() else shutil.which("lint-imports")


def test_import_linter_contracts_hold():
    exe = _lint_imports()
    if exe is None:
        pytest.fail("lint-imports is not installed: it is part of the [dev] extra (pip install -e '.[dev]').")
    res = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "0 broken" in res.stdout


def test_no_import_cycles_between_modules():
    """No module of tensorexpr imports (directly or not) a module that imports it back: grimp's graph."""
    grimp = pytest.importorskip("grimp")  # installed with import-linter
    graph = grimp.build_graph("tensorexpr", cache_dir=None)
    mods = sorted(m for m in graph.modules if m.startswith("tensorexpr."))
    cycles = []
    for m in mods:
        for imp in graph.find_modules_directly_imported_by(m):
            if imp.startswith("tensorexpr.") and imp != m and graph.find_shortest_chain(importer=imp, imported=m):
                pair = tuple(sorted((m, imp)))
                if pair not in cycles:
                    cycles.append(pair)
    # a package's __init__ re-exporting its modules is not a cycle of design
    real = [c for c in cycles if not any(a == b.rsplit(".", 1)[0] or b == a.rsplit(".", 1)[0] or
                                         _is_init_reexport(graph, a, b) for a, b in [c])]
    assert not real, f"import cycles: {real[:10]}"


def _is_init_reexport(graph, a: str, b: str) -> bool:
    """The chain back goes only through a package ``__init__`` (``tensorexpr`` or a layer) re-exporting."""
    for x, y in ((a, b), (b, a)):
        chain = graph.find_shortest_chain(importer=y, imported=x)
        if chain and any(step.count(".") <= 1 for step in chain[1:-1]):
            return True
    return False


def test_import_tensorexpr_loads_no_optional_extra():
    code = "import sys, tensorexpr as te; print(sorted(m for m in %r if m in sys.modules))" % (EXTRAS,)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"import tensorexpr loaded {out.stdout.strip()}"


def test_the_calculator_runs_without_the_extras(tmp_path):
    """With torch, dask, kymatio, sklearn, matplotlib and tqdm unimportable, te.certify and `tensorexpr report`
    still work, and asking for a torch backend names the extra to install."""
    code = textwrap.dedent(f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {EXTRAS!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        sys.meta_path.insert(0, Block())
        import tensorexpr as te
        net = te.convac(te.ModeTree.grid(8, 8), M=2, widths=4, seed=0)
        c = te.certify(net, te.Partition.grid(8, 8, "checkerboard"))
        assert c.certified and c.lower == 4 ** 16, c
        from tensorexpr.cli import main
        assert main(["report"]) == 0
        from tensorexpr.core.errors import MissingExtraError
        try:
            te.grid_tensor(te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0), backend="torch")
        except MissingExtraError as exc:
            assert "torch" in str(exc) and "pip install" in str(exc), exc
        else:
            raise AssertionError("torch backend without torch did not raise")
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stdout[-2000:] + out.stderr[-3000:]
