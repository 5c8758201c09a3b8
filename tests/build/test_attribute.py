"""Attribute-convolution ConvACs (``tensorexpr/build/attribute.py``): the tying maps (equivariance along attributes),
counts, certify."""

from __future__ import annotations

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.bounds.certificate import integer_twin
from tensorexpr.build.attribute import attribute_layer, attribute_maps, plain_param_count


def _shift(sizes, axis):
    """Permutation of the flattened attribute grid: shift ``axis`` by +1 (periodic)."""
    idx = np.arange(int(np.prod(sizes))).reshape(sizes)
    return np.roll(idx, 1, axis=axis).reshape(-1)


def test_single_axis_matches_a_direct_circular_and_zero_padded_convolution():
    rng = np.random.default_rng(0)
    n, new, s = 5, 2, 3
    K = rng.standard_normal((new, s))
    for padding in ("periodic", "zero"):
        _, m = attribute_layer((n,), new, s, padding, keep=3)
        W = m.weight(K.reshape(-1)).reshape(n, n, new)
        ref = np.zeros((n, n, new))
        for i in range(n):  # input attribute value
            for j in range(n):  # output attribute value
                d = j - i
                if padding == "periodic":
                    cands = [o for o in range(s) if (o - s // 2 - (j - i)) % n == 0]
                    for o in cands:
                        ref[i, j] += K[:, o]
                elif 0 <= d + s // 2 < s:
                    ref[i, j] = K[:, d + s // 2]
        np.testing.assert_allclose(W, ref)


@pytest.mark.parametrize("support", [None, 2])
def test_periodic_layer_is_shift_equivariant_on_kept_axes_and_invariant_on_dropped(support):
    sizes, new = (3, 4), 2
    rng = np.random.default_rng(1)
    lay, m = attribute_layer(sizes, new, support, "periodic", keep=3)
    W = m.weight(rng.standard_normal(m.n_free))
    assert lay.out_sizes == (3, 4, 2)
    for ax in (0, 1):  # shifting input axis ax shifts output axis ax
        si, so = _shift(sizes, ax), _shift(lay.out_sizes, ax)
        np.testing.assert_allclose(W[np.ix_(si, so)], W)
    lay2, m2 = attribute_layer(sizes, new, support, "periodic", keep=2)  # drops the first axis
    W2 = m2.weight(rng.standard_normal(m2.n_free))
    assert lay2.out_sizes == (4, 2)
    np.testing.assert_allclose(W2[_shift(sizes, 0)], W2)  # invariant to the summed-out attribute
    np.testing.assert_allclose(W2[np.ix_(_shift(sizes, 1), _shift(lay2.out_sizes, 0))], W2)


def test_zero_padded_layer_is_toeplitz_and_banded():
    lay, m = attribute_layer((6,), 3, 3, "zero", keep=3)
    W = m.weight(np.random.default_rng(2).standard_normal(m.n_free)).reshape(6, 6, 3)
    for i in range(5):
        for j in range(5):
            np.testing.assert_allclose(W[i + 1, j + 1], W[i, j])
    for i in range(6):
        for j in range(6):
            if abs(i - j) > 1:
                assert not W[i, j].any()


def test_parameter_counts_against_plain_nets():
    tree = te.ModeTree.line(32)
    maps, layers = attribute_maps(tree, 2, [2, 3, 2, 2, 2], outputs=1, support=None, keep=3)
    assert [m.cols for lv, m in sorted(maps.items())] == [2, 6, 12, 12, 8, 1]
    # dense leaf 2*2; convs n_new * prod(support = in sizes); dense root 8*1
    assert [m.n_free for lv, m in sorted(maps.items())] == [4, 3 * 2, 2 * 6, 2 * 12, 2 * 12, 8]
    assert plain_param_count(maps) == 4 + 2 * 6 + 6 * 12 + 12 * 12 + 12 * 8 + 8
    net = te.attribute_convac(tree, 2, [2, 3, 2, 2, 2], seed=0)
    assert net.n_params == 4 + 6 + 12 + 24 + 24 + 8
    by_level = {}
    for nd in net.live_nodes:
        by_level.setdefault(tree.levels[net.modes[nd.id]], set()).add(net.tie_key(nd.id))
    assert all(len(k) == 1 for k in by_level.values())
    assert {net.weight_kind(nd.id) for nd in net.live_nodes} == {"tied", "free"}  # the root is dense and free


@pytest.mark.parametrize("tree,kind", [(te.ModeTree.line(4), "odd_even"), (te.ModeTree.line(8), "odd_even"),
                                        (te.ModeTree.line(8), "left_right"), (te.ModeTree.grid(2, 2), "left_right")])
@pytest.mark.parametrize("support,keep", [(1, 3), (None, 1)])
def test_certify_never_overclaims_on_attribute_nets(tree, kind, support, keep):
    net = te.attribute_convac(tree, M=3, widths=2, support=support, keep=keep, seed=0)
    P = te.Partition.family(kind, tree.n_modes, shape=(2, 2) if tree.name.startswith("grid") else None)
    exact = max(te.rank(integer_twin(net, seed=s), P, method="exact").rank for s in range(3))
    c = te.certify(net, P)
    assert c.lower <= exact <= c.upper
    if c.certified:
        assert c.lower == exact


def test_bad_arguments_are_refused():
    with pytest.raises(te.NetworkError, match="padding"):
        te.attribute_convac(te.ModeTree.line(4), 2, 2, padding="reflect")
    with pytest.raises(te.NetworkError, match="keep"):
        te.attribute_convac(te.ModeTree.line(4), 2, 2, keep=0)
    with pytest.raises(te.NetworkError, match="widths"):
        te.attribute_convac(te.ModeTree.line(4), 2, [2, 2, 2])
