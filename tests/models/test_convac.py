"""The ConvAC model (``tensorexpr/models/convac.py``): log-space mex against linear space, finite at n=1024, depth 5."""

from __future__ import annotations

import torch

import tensorexpr as te
from tensorexpr.models import ConvAC, log_mex


def test_log_mex_matches_linear_space():
    g = torch.Generator().manual_seed(0)
    l = torch.randn(4, 5, 3, generator=g, dtype=torch.float64)
    for O in (torch.randn(3, 6, generator=g, dtype=torch.float64), torch.randn(5, 3, 6, generator=g, dtype=torch.float64)):
        naive = torch.log(torch.exp(l) @ torch.exp(O)) if O.dim() == 2 else torch.log(torch.einsum("bnr,nrs->bns", l.exp(), O.exp()))
        torch.testing.assert_close(log_mex(l, O), naive, rtol=1e-12, atol=1e-12)
    big = l * 500  # exp overflows float64 here, the stabilized form does not
    assert not torch.isfinite(torch.log(torch.exp(big) @ torch.exp(O[0]))).all()
    assert torch.isfinite(log_mex(big, O[0])).all()


def test_log_space_stays_finite_at_n1024_depth5():
    tree = te.ModeTree.grid(32, 32, geometry="mirror")
    assert tree.n_modes == 1024 and tree.depth == 5
    torch.manual_seed(0)
    for shared in (True, False):
        model = ConvAC(tree, 2, 8, outputs=2, shared=shared, seed=0, device="cpu")  # float32, as trained
        with torch.no_grad():
            for p in model.weights:
                p.mul_(8.0)  # offsets in [-8, 8]: linear-space products reach e^(8*1024), far past float64
        x = torch.randint(0, 2, (4, 32, 32))
        y = model(x)
        assert torch.isfinite(y).all() and y.abs().max() > 1000  # log-values beyond any float's exp range
        y.sum().backward()
        assert all(torch.isfinite(p.grad).all() for p in model.parameters())
