"""te.spectrum (``tensorexpr/spectra/compute.py``): exact tree spectra against a dense SVD; sampled lower bounds never
above the dense values; and the ``spectrum`` command against the same dense oracle."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.core.operators import OPERATORS
from tensorexpr.core.specs import parse_geometry
from tensorexpr.plot import plot_spectra
from tensorexpr.spectra import entanglement_entropy

CASES = [("line:8", 2), ("line:8", 3), ("grid:4x4:square", 3), ("grid:4x4:mirror", 2), ("shallow:6", 3)]


def _dense(net, P):
    A = te.matricize(np.asarray(te.grid_tensor(net), dtype=np.float64), P)
    return np.linalg.svd(A, compute_uv=False)


def _parts(n):
    return [te.Partition.left_right(n), te.Partition.odd_even(n), te.Partition.random(n, seed=3)]


@pytest.mark.parametrize("geo,w", CASES)
def test_exact_matches_dense_svd(geo, w):
    tree = parse_geometry(geo)
    net = te.convac(tree, M=2, widths=w, seed=1)
    for P in _parts(tree.n_modes):
        sp = te.spectrum(net, P, method="exact")
        sd = _dense(net, P)
        assert sp.kind == "exact" and sp.method == "exact-tree"
        assert sp.rank == int(np.sum(sd > sp.rtol * sd[0]))
        k = sp.rank
        np.testing.assert_allclose(sp.values[:k], sd[:k], rtol=1e-9, atol=1e-12 * sd[0])
        assert sp.entropy == pytest.approx(entanglement_entropy(sd[:k]), abs=1e-9)
        assert sp.rank <= te.mincut_bound(net, P).bound


def test_exact_with_templates_and_unshared_signed_weights():
    tree = te.ModeTree.line(8)
    F = np.random.default_rng(0).normal(size=(3, 2))  # T = 3 templates of M = 2 functions
    net = te.convac(tree, M=2, widths=[2, 3, 2], seed=4).with_F(F)
    for P in _parts(8):
        sp, sd = te.spectrum(net, P, method="exact"), _dense(net, P)
        np.testing.assert_allclose(sp.values[: sp.rank], sd[: sp.rank], rtol=1e-9)


@pytest.mark.parametrize("op", sorted(OPERATORS))
def test_sampled_lower_bounds_never_exceed_dense(op):
    tree = parse_geometry("grid:4x4:square")
    net = te.convac(tree, M=2, widths=3, seed=2, op=op)
    for P in _parts(16):
        sd = _dense(net, P)
        for rows, cols, seed in [(5, 7, 0), (12, 3, 1), (16, 16, 2)]:
            lb = te.spectrum(net, P, method="sampled", rows=rows, cols=cols, seed=seed)
            m = min(lb.values.size, sd.size)
            assert np.all(lb.values[:m] <= sd[:m] + 1e-12 * sd[0])
            # the certified count never exceeds the dense numeric rank at the same absolute tolerance
            tol = lb.rtol * lb.values[0] if lb.values.size else 0
            assert lb.rank <= int(np.sum(sd > tol))


def test_sampled_full_matrix_is_the_dense_spectrum():
    net = te.convac(te.ModeTree.line(8), M=2, widths=2, seed=0)
    P = te.Partition.odd_even(8)
    sp = te.spectrum(net, P, method="sampled", rows=16, cols=16)
    assert sp.kind == "exact" and sp.method == "dense"
    sd = _dense(net, P)
    np.testing.assert_allclose(sp.values[: sp.rank], sd[: sp.rank], rtol=1e-9)


def test_trained_model_paths_agree():
    pytest.importorskip("torch")
    tree = parse_geometry("grid:4x4:square")
    m = te.models.ConvAC(tree, M=2, widths=3, outputs=2, device="cpu")
    P = te.Partition.grid(4, 4, "checkerboard")
    ex = te.spectrum(m, P, output=1)  # auto: min-cut small -> exact
    de = te.spectrum(m.to_network(), P, method="dense", output=1)
    np.testing.assert_allclose(ex.normalized[: ex.rank], de.normalized[: ex.rank], rtol=1e-8)
    assert ex.log_sigma1 == pytest.approx(de.log_sigma1, rel=1e-9)
    lb = te.spectrum(m, P, method="sampled", rows=9, cols=9, output=1)  # the model's own forward
    m_ = min(lb.normalized.size, de.normalized.size)
    vals_lb = lb.normalized[:m_] * math.exp(lb.log_sigma1 - de.log_sigma1)
    assert np.all(vals_lb <= de.normalized[:m_] + 1e-10)
    r = te.models.ReLUNet(tree, M=2, widths=3, device="cpu")
    rl = te.spectrum(r, P, rows=16, cols=16)
    dense_r = _dense(r.to_network(), P)
    m_ = min(rl.values.size, dense_r.size)
    assert rl.kind == "exact" or np.all(rl.values[:m_] <= dense_r[:m_] * (1 + 1e-9) + 1e-12)


def test_large_net_exact_at_coarse_partition_never_forms_dense():
    tree = parse_geometry("grid:16x16:square")
    net = te.convac(tree, M=2, widths=4, seed=0, shared=True)
    sp = te.spectrum(net, te.Partition.grid(16, 16, "left_right"))
    assert sp.kind == "exact" and sp.rank <= sp.mincut == 4


def test_report_and_errors(tmp_path):
    net = te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0)
    sp = te.spectrum(net, te.Partition.odd_even(4))
    d = sp.to_dict()
    assert d["rank"] == sp.rank and "numeric rank" in repr(sp)
    out = plot_spectra([sp], path=tmp_path / "s.png")
    assert out.exists() and out.stat().st_size > 0
    with pytest.raises(te.TensorExprError):
        te.spectrum(net, te.Partition.odd_even(6))
    with pytest.raises(te.TensorExprError):
        te.spectrum(net, te.Partition.odd_even(4), method="nope")
    with pytest.raises(te.TensorExprError):
        te.spectrum(te.convac(te.ModeTree.line(4), M=2, widths=2, op="relu-max"), te.Partition.odd_even(4),
                    method="exact")


def test_cli_spectrum_json_matches_library(capsys):
    import json

    from tensorexpr.cli import main

    assert main(["spectrum", "--geometry", "grid:4x4:square", "--M", "2", "--widths", "3", "--partition",
                 "left_right,checkerboard", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    net = te.convac(parse_geometry("grid:4x4:square"), 2, 3, seed=0)
    for d in out["spectra"]:
        P = te.Partition.grid(4, 4, d["partition"])
        assert d["rank"] == int(np.sum(_dense(net, P) > d["rtol"] * _dense(net, P)[0]))


@pytest.mark.parametrize("op", sorted(OPERATORS))
def test_sampled_count_never_exceeds_true_rank_even_at_tiny_tolerance(op):
    """Float noise in sampled entries must not be certified as rank: the margin covers it."""
    net = te.convac(te.ModeTree.line(16), M=2, widths=2, seed=5, op=op)
    P = te.Partition.left_right(16)  # 256 x 256 matricization
    true = _dense(net, P)
    for rtol in (1e-15, 1e-12):
        lb = te.spectrum(net, P, method="sampled", rows=32, cols=32, rtol=rtol)
        assert lb.kind == "lower-bound"
        assert lb.rank <= int(np.sum(true > 1e-13 * true[0]))  # the rank clear of float noise


def test_deep_convac_model_sampled_count_respects_mincut():
    pytest.importorskip("torch")
    tree = parse_geometry("grid:16x16:square")
    m = te.models.ConvAC(tree, M=2, widths=3, outputs=2, device="cpu")
    P = te.Partition.grid(16, 16, "left_right")
    D = te.mincut_bound(m.to_network(), P).bound
    for ev in ("network", "forward"):
        lb = te.spectrum(m, P, method="sampled", rows=24, cols=24, rtol=1e-15, evaluator=ev)
        assert lb.rank <= D == 3
    ex = te.spectrum(m, P, method="exact")
    a = te.spectrum(m, P, method="sampled", rows=24, cols=24, evaluator="network")
    b = te.spectrum(m, P, method="sampled", rows=24, cols=24, evaluator="forward")
    np.testing.assert_allclose(a.normalized[:2], b.normalized[:2], rtol=1e-8)
    assert a.log_sigma1 == pytest.approx(b.log_sigma1, rel=1e-10)
    assert a.log_sigma1 <= ex.log_sigma1 + 1e-9  # interlacing on sigma_1 (in logs: no overflow)


def _cuda() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return torch.cuda.is_available()


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda(), reason="no CUDA device")
def test_forward_evaluator_on_cuda_matches_network_path():
    tree = parse_geometry("grid:8x8:square")
    m = te.models.ConvAC(tree, M=2, widths=4, outputs=2, device="cuda")
    P = te.Partition.grid(8, 8, "checkerboard")
    a = te.spectrum(m, P, method="sampled", rows=64, cols=64, evaluator="forward")
    b = te.spectrum(m, P, method="sampled", rows=64, cols=64, evaluator="network")
    np.testing.assert_allclose(a.normalized[:8], b.normalized[:8], rtol=1e-8)
    assert a.rank == b.rank
