"""Exact ranks (``tensorexpr/rank/exact.py``): rank_mod_p hands flint one list built in C (ndarray.tolist), since
python-flint 0.9 has no buffer constructor; more than 64 modes is refused before numpy fails."""

from __future__ import annotations

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.rank.exact import rank_mod_p
from tensorexpr.rank.modp import rref_mod_p


def test_nmod_mat_has_no_buffer_constructor():
    flint = pytest.importorskip("flint")
    A = np.arange(6, dtype=np.int64).reshape(2, 3)
    for arg in (A, memoryview(A)):
        with pytest.raises(TypeError):
            flint.nmod_mat(arg, 101)


@pytest.mark.parametrize("shape", [(7, 30), (30, 7), (12, 12)])
def test_rank_mod_p_matches_numpy_elimination(shape):
    rng = np.random.default_rng(sum(shape))
    p = 1_000_003
    B = rng.integers(0, p, size=(shape[0], 3)) @ rng.integers(0, p, size=(3, shape[1]))  # rank <= 3
    C = rng.integers(-(10**6), 10**6, size=shape)
    for X in (B % p, C, C.astype(object)):
        assert rank_mod_p(X, p) == len(rref_mod_p(np.asarray(X, dtype=np.int64) % p, p)[1])


def test_more_than_64_modes_is_refused_before_numpy_fails():
    net = te.convac(te.ModeTree.line(128), M=1, widths=2, seed=0, integer=True)
    with pytest.raises(te.BudgetError, match="64"):
        te.rank(net, te.Partition.odd_even(128), method="exact")
    with pytest.raises(te.BudgetError, match="structured"):
        te.grid_tensor(net)
    assert te.rank(net, te.Partition.odd_even(128), method="structured").rank == 1  # M=1: one template


def test_object_tensor_with_floats_past_the_first_entries_is_refused():
    """A float anywhere in an object tensor would be truncated by int(): method='exact' must refuse, not
    report rank 0 (the oracle: the true rank over Q of this matrix is 1)."""
    import numpy as np
    import pytest

    import tensorexpr as te

    A = np.array([0] * 64 + [0.5] * 64, dtype=object).reshape((2,) * 7)
    with pytest.raises(te.RankError, match="integer tensor"):
        te.rank(A, te.Partition.odd_even(7), method="exact")
