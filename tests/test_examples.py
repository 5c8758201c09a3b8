"""Smoke tests: every example runs, and what it prints agrees with an independent oracle."""

import importlib.util
from pathlib import Path

import pytest

import tensorexpr as te


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_quickstart_methods_agree_and_certificates_bracket_them():
    out = _load("quickstart").main()
    for (geometry, kind), (numeric, exact, structured, cert) in out.items():
        assert numeric == exact == structured  # three independent computations of one rank
        assert cert.lower <= exact <= cert.upper  # a random instance has the generic rank (Schwartz-Zippel)
    # [derived]: coarse halves of each tree have rank <= r_{L-1} = 3
    assert out[("square", "left_right")][1] <= 3 and out[("mirror", "mirror_left_right")][1] <= 3


def test_train_and_extract_runs():
    out = _load("train_and_extract").main()
    for name, (r, cert) in out.items():
        assert r.rank <= cert.upper  # the trained weights never beat the architecture's upper bound
    assert out["left_right"][1].upper <= 4  # coarse partition: <= r_{L-1} = widths = 4 [derived]


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


def test_inductive_bias_example_smoke(tmp_path):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "inductive_bias.py"
    spec = importlib.util.spec_from_file_location("inductive_bias", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rep = mod.main(["--quick", "--out", str(tmp_path), "--no-progress", "--seeds", "2"])
    assert (tmp_path / "inductive_bias.png").exists() and (tmp_path / "results.md").exists()
    ranks = {(r["task"], r["geometry"], r["partition"]): r for r in rep["ranks"]}
    assert len(ranks) == 2 * 2 * len(mod.PARTITIONS)
    for task in ("closedness", "symmetry"):
        # [derived] oracles (docs/theory.md), quick run = 8x8 grid, M=2, widths 4, tied weights: a coarse partition of
        # the pooling tree has rank <= r_{L-1} = 4; with tied leaves each mixed first-level window contributes
        # min(r_0, M) = 2 to the specialization lower bound, over 16 windows: 2^16.
        assert ranks[(task, "square", "left_right")]["upper"] <= 4
        assert ranks[(task, "mirror", "mirror_left_right")]["upper"] <= 4
        assert ranks[(task, "square", "checkerboard")]["lower"] >= 2**16
        assert ranks[(task, "mirror", "left_right")]["lower"] >= 2**16


@pytest.mark.slow
def test_cnn_scattering_example_smoke(tmp_path):
    pytest.importorskip("kymatio")
    out = _load("cnn_scattering").main(["--quick", "--out", str(tmp_path), "--no-progress"])
    assert (tmp_path / "cnn_scattering.png").exists() and (tmp_path / "cnn_scattering.md").exists()
    assert out["traced"]["max_rel_err_vs_module"] < 1e-9  # oracle: the module on template fields
    for v in out["traced"]["partitions"].values():  # 2 templates, 8 | 8 modes: rank <= 2^8 (matrix shape)
        assert v["lower"] <= v["numeric_rank_trained"] <= v["upper"] <= 256


@pytest.mark.slow
def test_cnn_attribute_example_smoke(tmp_path):
    out = _load("cnn_attribute").main(["--quick", "--out", str(tmp_path), "--no-progress"])
    assert (tmp_path / "cnn_attribute.png").exists()
    for v in out["traced"].values():  # the ties are kept: the traced blocks hold exactly the module's parameters
        assert v["traced_params"] == v["module_params"] and v["max_rel_err_vs_module"] < 1e-9


@pytest.mark.slow
def test_cnn_overlap_example_smoke(tmp_path):
    out = _load("cnn_overlap").main(["--quick", "--out", str(tmp_path), "--no-progress"])
    assert (tmp_path / "cnn_overlap.png").exists() and (tmp_path / "cnn_overlap.md").exists()
    for r in out["ranks_4x4"]:
        assert all(0 < v <= 256 for v in r["ranks"].values())  # 2 templates, 8 | 8 modes: the matrix shape
        if r["kind"] == "convac" and r["k"] == 1:  # the tree: left | right meet only at the root's product,
            assert r["ranks"]["left_right"] <= r["width"] + 1  # so at most its channels plus the head's bias
    for c in out["certified_8x8"]:
        assert c["lower"] <= c["upper"]
        if c["k"] == 1 and c["partition"] == "left_right":
            assert c["lower"] == c["upper"] == c["width"] + 1


@pytest.mark.slow
def test_cnn_rotation_example_smoke(tmp_path):
    out = _load("cnn_rotation").main(["--quick", "--out", str(tmp_path), "--no-progress"])
    assert (tmp_path / "cnn_rotation.png").exists() and (tmp_path / "cnn_rotation.md").exists()
    rows = {r["model"]: r for r in out["rows"]}
    # the p4 CNN is invariant to quarter turns by construction: the softmax moves only by float32 rounding
    assert rows["p4"]["sensitivity"]["90"]["tv"] < 1e-5 and rows["p4"]["sensitivity"]["90"]["flip"] == 0
    for name, v in out["traced"].items():  # oracle: the module on 64 template images
        assert v["max_rel_err_vs_module"] < 1e-9
        if name in ("plain", "p4"):  # every parameter is a traced block (the p4 ties: one per base filter)
            assert v["traced_params"] == v["module_params"]


@pytest.mark.slow
def test_data_geometry_example_smoke(tmp_path):
    """The data-geometry experiment at smoke size: each layout is a permutation of the pixels, its entropy is the
    fit of the reordered data (recomputed here), the rearrangement undoes most of the permutation's entropy
    (in the full runs: 1.562 -> 1.322), and accuracies are fractions."""
    pytest.importorskip("sklearn")
    pytest.importorskip("torch")
    mod = _load("data_geometry")
    out = mod.main(["--quick", "--out", str(tmp_path)])
    assert {p.name for p in tmp_path.iterdir()} >= {"data_geometry_quick.json", "data_geometry_quick.md",
                                                    "data_geometry_quick.png"}
    X, y = mod.digits()
    orders = mod.layouts(X, y, 0)
    for name, order in orders.items():
        assert sorted(order) == list(range(64))
        row = next(r for r in out["rows"] if r["layout"] == name)
        assert row["entropy_mean"] == pytest.approx(te.geometry_fit(X[:, order], y, "grid:8x8:square").total)
        assert 0 <= row["acc_convac"] <= 1 and 0 <= row["acc_relu"] <= 1
    s = out["summary"]
    assert s["rearranged"]["entropy_mean"][0] < s["permuted"]["entropy_mean"][0]
    assert {(r["task"], r["geometry"]) for r in out["blobs"]} == {(t, g) for t in ("closedness", "symmetry")
                                                                  for g in ("square", "mirror")}
