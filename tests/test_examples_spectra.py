"""The square-vs-mirror spectra example runs, and its numbers respect the architectures' upper bounds."""

import importlib.util
from pathlib import Path

import pytest

import tensorexpr as te

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.slow
def test_spectra_example_respects_mincut_bounds(tmp_path):
    spec = importlib.util.spec_from_file_location("spectra_ex", EXAMPLES / "spectra_square_vs_mirror.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.main(8, 4, 1, 200, 100, rows=32, cols=32, out=tmp_path)
    assert (tmp_path / "spectra.md").exists() and (tmp_path / "spectra.png").exists()
    for (task, geo), v in out.items():
        tree = te.ModeTree.grid(8, 8, geometry=geo)
        net = te.convac(tree, 2, 4, outputs=2, shared=True, seed=0)
        for name, sp in v["spectra"].items():
            D = te.mincut_bound(net, te.Partition.grid(8, 8, name)).bound
            assert sp.rank <= D  # trained weights never exceed the architecture's min-cut bound
            if sp.kind == "exact":
                assert D <= 4096
