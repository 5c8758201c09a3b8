"""Data sets (``tensorexpr/experiments/data.py``): seeded blobs and their scores on hand-made images, digits and the
teacher task."""

from __future__ import annotations

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.experiments import DataError, blob_images, blobs, closedness_score, digits, symmetry_score, teacher


def test_blob_generator_is_seeded_and_binary():
    a, sa = blob_images(20, 16, seed=3)
    b, sb = blob_images(20, 16, seed=3)
    assert np.array_equal(a, b) and np.array_equal(sa, sb)
    assert a.shape == (20, 16, 16) and set(np.unique(a)) <= {0, 1}
    assert not np.array_equal(a, blob_images(20, 16, seed=4)[0])


def test_scores_on_hand_made_images():
    ring = np.zeros((9, 9), np.uint8)
    ring[2:7, 2:7] = 1
    assert closedness_score(ring) == 1.0  # a filled square is already closed
    holey = ring.copy()
    holey[4, 4] = 0
    assert closedness_score(holey) == 24 / 25  # closing fills the one hole
    assert symmetry_score(ring) == 1.0
    half = np.zeros((6, 6), np.uint8)
    half[1:5, 1] = 1
    half[1, 2:5] = 1  # an L-shape: the mirror keeps the top bar and the two end columns
    reg_sym = symmetry_score(half)
    assert 0 < reg_sym < 1


def test_centred_blob_variant_labels_follow_its_scores():
    from tensorexpr.experiments.data import centred_closedness_score

    d = blobs("closedness", 60, 20, size=16, seed=1, recipe="centred")
    s = np.array([centred_closedness_score(x.numpy()) for x in d.X_train])
    lo, hi = d.meta["threshold"]
    assert (s[d.y_train.numpy() == 0] <= lo).all() and (s[d.y_train.numpy() == 1] >= hi).all()
    assert d.M == 2 and d.n_classes == 2
    with pytest.raises(DataError, match="Unknown blob task"):
        blobs("roundness")


def test_digits_and_teacher():
    d = digits(n_test=297, seed=0)
    assert d.X_train.shape == (1500, 8, 8) and d.n_classes == 10 and int(d.X_train.max()) == 1
    f = digits(seed=0, levels=None)
    assert f.X_train.shape == (1500, 1, 8, 8) and f.M is None
    t = teacher(te.ModeTree.grid(4, 4, geometry="mirror"), 100, 20, seed=2, shape=(4, 4))
    assert t.X_train.shape == (100, 4, 4)
    assert min(t.meta["class_balance"]) > 0  # median centring keeps both classes


@pytest.mark.parametrize("size", [7, 8, 9])
def test_flagged_drop_masks_are_mirror_symmetric_at_odd_sizes(size, check_error_row):
    """Row blob-odd-size-symmetry: odd sizes used to skip the mirroring and keep the flags. Oracle: a flagged
    mask equals its own left-right flip; an unflagged one is the mask as drawn."""
    from tensorexpr.experiments.data import _mirror_left

    rng = np.random.default_rng(size)
    drop, sym = rng.random((40, size, size)) < 0.3, rng.random(40) < 0.5
    out = _mirror_left(drop, sym)

    def symmetric_where_flagged() -> bool:
        return (np.array_equal(out[sym], out[sym][:, :, ::-1]) and np.array_equal(out[~sym], drop[~sym])
                and np.array_equal(out[sym][:, :, : size // 2], drop[sym][:, :, : size // 2]))

    check_error_row("blob-odd-size-symmetry", symmetric_where_flagged)
    img, flags = blob_images(30, size, seed=1)  # the public function runs at odd sizes and flags about half
    assert img.shape == (30, size, size) and 0 < flags.sum() < 30
