"""Scattering representation and hybrid models: import workaround, coefficient bookkeeping, the transform's
theorems (non-expansiveness, exact quarter-turn covariance), hybrid forward == extracted network, and
certify(hybrid) == certify(ConvAC with M = rank F)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

import tensorexpr as te
from tensorexpr.testing.hybrid import forward_on_templates
from tensorexpr.core.errors import NetworkError, TensorExprError
from tensorexpr.models import scattering as sc
from tensorexpr.experiments import scattering_stability as st

SPEC = "scattering:J=2,L=8"


@pytest.fixture(scope="module")
def T():
    return sc.ScatteringTransform(sc.parse_scattering(SPEC), cache_size=0)


def _rot_about_16(x: torch.Tensor, k: int) -> torch.Tensor:
    """Quarter turns about pixel (16, 16), a point of the 2^J = 4 sampling lattice (x is 0 near the border)."""
    y = torch.rot90(torch.nn.functional.pad(x, (0, 1, 0, 1)), k, dims=(-2, -1))
    return y[..., :32, :32]


# -- the import workaround ------------------------------------------------------------------------------
def test_2d_frontend_imports_without_kymatio_torch_in_a_fresh_interpreter():
    code = ("import sys; from tensorexpr.models.scattering import scattering2d_class as f; c = f(); "
            "import scipy.special as sp; print(c.__name__, 'kymatio.torch' in sys.modules, "
            "'kymatio.scattering3d.filter_bank' in sys.modules, hasattr(sp, 'sph_harm'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=".")
    # kymatio.torch and the 3-D filter bank (the sph_harm importer) stay unimported; scipy is not patched
    import scipy

    has = tuple(int(v) for v in scipy.__version__.split(".")[:2]) < (1, 17)
    assert out.stdout.split() == ["ScatteringTorch2D", "False", "False", str(has)]


def test_missing_kymatio_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, sc.KYMATIO_2D_MODULE, None)  # makes that one import fail
    with pytest.raises(sc.ScatteringUnavailable, match="pip install"):
        sc.scattering2d_class()
    assert issubclass(sc.ScatteringUnavailable, TensorExprError)


# -- bookkeeping ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("J,L,order", [(2, 8, 2), (3, 4, 2), (2, 6, 1)])
def test_coefficient_meta_matches_kymatio_list_output(J, L, order):
    cls = sc.scattering2d_class()
    S = cls(J=J, shape=(32, 32), L=L, max_order=order, out_type="list")(torch.rand(1, 32, 32))
    meta = sc.coefficient_meta(J, L, order)
    assert [(len(d["j"]), tuple(d["j"]), tuple(d["theta"])) for d in S] == meta
    assert len(meta) == sc.n_coefficients(J, L, order)


def test_M_is_the_coefficient_count_and_a_mismatch_names_it():
    assert sc.parse_scattering(SPEC).n_coefficients(1) == 81
    assert sc.parse_scattering(SPEC + ",rotinv=1").n_coefficients(1) == 11
    assert sc.parse_scattering(SPEC).n_coefficients(3) == 243
    with pytest.raises(NetworkError, match="M must be 81"):
        te.models.ConvAC(te.ModeTree.grid(8, 8), 80, 4, representation=SPEC, device="cpu")
    with pytest.raises(NetworkError, match="Bad scattering option"):
        sc.parse_scattering("scattering:J=2,K=3")


def test_wrong_image_size_is_a_clear_error():
    m = te.models.ReLUNet(te.ModeTree.grid(8, 8), 81, 4, representation=SPEC, device="cpu")
    with pytest.raises(te.models.ModelInputError, match="tree is over"):
        m(torch.rand(2, 1, 16, 16))


# -- theorems of the transform ------------------------------------------------------------------------------
def test_non_expansive_on_random_pairs(T):
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(40, 1, 32, 32, generator=g), torch.rand(40, 1, 32, 32, generator=g)
    y2 = x + 0.01 * torch.randn(40, 1, 32, 32, generator=g)
    for b in (y, y2):
        r = st.nonexpansive_ratios(lambda z: T(z) * 4.0, x, b)["ratio"]
        assert r.max() <= 1.0  # Mallat 2012, Prop. 2.5 (norm of the 2^J-sampled field: factor 2^J)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_quarter_turn_covariance_to_float_precision(T, k, border_images):
    x = border_images(3)
    S, Sg = T(x), T(_rot_about_16(x, k))
    gS = sc.rotate_coefficients(torch.nn.functional.pad(S, (0, 1, 0, 1)), k, L=8, J=2)[..., :8, :8]
    err = (Sg - gS)[..., 1:8, 1:8].norm() / S.norm()
    assert err < 1e-5
    # and the orientation shift matters: spatial rotation alone is far off
    wrong = (Sg - torch.rot90(torch.nn.functional.pad(S, (0, 1, 0, 1)), k, dims=(-2, -1))[..., :8, :8])[..., 1:8, 1:8]
    assert k == 2 or wrong.norm() / S.norm() > 1e-2


def test_rotinv_is_quarter_turn_invariant_per_position(T, border_images):
    x = border_images(2, seed=3)
    Tr = sc.ScatteringTransform(sc.parse_scattering(SPEC + ",rotinv=1"), cache_size=0)
    A = Tr(x)
    assert A.shape[1] == 11
    for k in (1, 3):
        B = Tr(_rot_about_16(x, k))
        ref = torch.rot90(torch.nn.functional.pad(A, (0, 1, 0, 1)), k, dims=(-2, -1))[..., :8, :8]
        assert (B - ref)[..., 1:8, 1:8].norm() / A.norm() < 1e-5
    # orientation averaging == mean over the coefficients of each orbit (slow reference)
    S = T(x)
    meta = sc.coefficient_meta(2, 8)
    o2 = [i for i, (o, js, ts) in enumerate(meta) if o == 2 and (ts[1] - ts[0]) % 8 == 3]
    assert torch.allclose(A[:, 3 + 3], S[:, o2].mean(1), atol=1e-6)


def test_memo_cache_is_exact():
    Tc = sc.ScatteringTransform(sc.parse_scattering(SPEC))
    x = torch.rand(6, 1, 32, 32)
    a = Tc(x)
    assert torch.equal(Tc(x[2:5]), a[2:5])
    Tc.cache_size = 0
    assert torch.equal(Tc(x), a)


# -- hybrid models and the calculator ------------------------------------------------------------------------
def _small_hybrid(cls, T_templates=3, **kw):
    tree = te.ModeTree.grid(2, 2)  # 8x8 images -> 2x2 grid with J=2
    m = cls(tree, 81, 2, outputs=2, representation=SPEC, shared=False, device="cpu", seed=0, **kw)
    imgs = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    m.representation.fit_scale(imgs)
    sc.fit_templates(m, imgs, T=T_templates, patch=8, seed=0)
    return m, imgs


@pytest.mark.parametrize("kind", ["convac", "relu"])
def test_hybrid_forward_equals_extracted_grid_tensor(kind):
    cls = te.models.ConvAC if kind == "convac" else te.models.ReLUNet
    m, imgs = _small_hybrid(cls)
    net = m.to_network()
    assert net.F.shape == (3, 81)
    A = np.asarray(te.grid_tensor(net), dtype=np.float64)  # (T,)*4 + outputs, or (T,)*4
    got = forward_on_templates(m)
    rep = m.representation
    ref = A.reshape(-1, A.shape[-1]) if A.ndim == 5 else A.reshape(-1, 1)
    np.testing.assert_allclose(got[:, : ref.shape[1]], ref, rtol=2e-4)
    # and the image path equals the feature path
    feats = rep.lift(imgs, m.tree, m.device, m.dtype)
    rep.spatial = False
    try:
        via_feats = m(feats)
    finally:
        del rep.spatial
    assert torch.allclose(m(imgs), via_feats, rtol=1e-5, atol=1e-5)


def test_certify_hybrid_equals_convac_with_M_rank_F():
    m, _ = _small_hybrid(te.models.ConvAC, T_templates=3)
    net = m.to_network()
    rF = sc.exact_rank(net.F)
    assert rF == np.linalg.matrix_rank(net.F) == 3
    Fi = sc.integer_template_matrix(net.F)
    assert sc.exact_rank(Fi) == rF
    P = te.Partition.odd_even(4)
    c_hyb = te.certify(net.with_F(Fi), P)
    c_ref = te.certify(te.convac(m.tree, rF, 2, outputs=2), P)
    assert c_hyb.certified and c_ref.certified and c_hyb.lower == c_ref.lower


def test_exact_rank_against_flint_on_dyadic_low_rank():
    rng = np.random.default_rng(0)
    U = rng.integers(-9, 10, (7, 2)) / 8.0
    V = rng.integers(-9, 10, (2, 5)) / 16.0
    assert sc.exact_rank(U @ V) == 2  # dyadic entries: the float product is exact
    assert sc.exact_rank(np.eye(4) * 0.1) == 4


@pytest.mark.slow
def test_train_loop_runs_a_hybrid_and_resumes(tmp_path):
    from tensorexpr.experiments import TrainConfig, train

    cfg = TrainConfig(model="relu", task="digits32", geometry="grid:8x8:square", representation=SPEC, widths=4,
                      shared=False, epochs=2, n_train=24, n_test=16, batch_size=12, progress=False, device="cpu",
                      out_dir=str(tmp_path))
    full = train(cfg, resume=False)
    part = train(cfg.replace(out_dir=str(tmp_path / "b")), stop_after=1)
    rest = train(cfg.replace(out_dir=str(tmp_path / "b")))
    assert rest.resumed_from == 1 and part.metrics() == full.metrics()[:1]
    assert rest.metrics() == full.metrics()


@pytest.mark.slow
def test_cli_certifies_a_hybrid_like_the_convac_with_M_rank_F(capsys):
    from tensorexpr.cli import main

    assert main(["scattering", "--templates", "8", "--widths", "2", "--partition", "odd_even,left_right", "--json"]) == 0
    import json

    out = json.loads(capsys.readouterr().out)
    assert out["rank_F_exact"] == 8
    for r in out["results"]:
        assert r["hybrid"]["lower"] == r["hybrid"]["upper"] == r["convac_M_rank_F"]["lower"]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_hybrid_on_cuda_matches_cpu():
    tree = te.ModeTree.grid(8, 8)
    x = torch.rand(3, 1, 32, 32)
    cpu = te.models.ReLUNet(tree, 81, 4, outputs=3, representation=SPEC, device="cpu")
    gpu = te.models.ReLUNet(tree, 81, 4, outputs=3, representation=SPEC, device="cuda")
    assert gpu.device.type == "cuda"
    assert torch.allclose(gpu(x.cuda()).cpu(), cpu(x), rtol=1e-4, atol=1e-4)


def test_exact_rank_keeps_fractions():
    """Fractions are exact (oracle: a diagonal matrix of nonzero entries has full rank)."""
    from fractions import Fraction

    from tensorexpr.models.scattering import exact_rank

    assert exact_rank(np.array([[Fraction(1, 2), 0], [0, Fraction(1, 3)]], dtype=object)) == 2
