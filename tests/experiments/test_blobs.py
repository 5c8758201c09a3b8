"""The authors' blob recipe (ICLR 2017): draw-for-draw against a literal slow transcription, labels, scores."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage

from tensorexpr.experiments import DataError, blobs, closedness_score, symmetry_score
from tensorexpr.experiments.blobs import authors_blobs, extreme_labels, generate_blobs


def literal_recipe(n: int, seed: int = 0):
    """The recipe of docs/theory.md, step by step, one image at a time, without any shortcut."""
    rs = np.random.RandomState(seed)
    X, Y = np.meshgrid(range(32), range(32))
    out = []
    while len(out) < n:
        a = 32 / 2
        b = int((2 ** rs.uniform(3.5, 5)) / 2)
        I = (((X - 15.5) / a) ** 2 + ((Y - 15.5) / b) ** 2 < 1).astype(float)
        amp = rs.uniform(0, 4)
        freq = rs.uniform(0, 3 * (2 * np.pi / 32))
        warp = amp * np.sin(freq * np.arange(32))
        for i in range(32):
            I[:, i] = np.roll(I[:, i], warp[i].astype(int))
        I = scipy.ndimage.rotate(I, rs.uniform(0, 180.0), reshape=False)
        s = rs.randint(4, 6)
        row = (2**s) * rs.randint(0, 2 ** (5 - s))
        col = (2**s) * rs.randint(0, 2 ** (5 - s))
        scaled = scipy.ndimage.zoom(I, 2.0 ** (s - 5))
        I[:] = 0.0
        I[row : row + 2**s, col : col + 2**s] = scaled
        p = rs.uniform(0.1, 0.33)
        if rs.binomial(n=1, p=0.5) > 0.5:
            m = rs.binomial(n=1, p=p, size=(2**s, 2 ** (s - 1)))
            m = np.concatenate((m, np.fliplr(m)), axis=1)
        else:
            m = rs.binomial(n=1, p=p, size=(2**s, 2**s))
        I[row : row + 2**s, col : col + 2**s] *= 1 - m
        I = I > 0.1
        if not np.any(I):
            continue
        closed = scipy.ndimage.binary_closing(np.pad(I, (1,), "constant", constant_values=False))[1:33, 1:33]
        R = I[row : row + 2**s, col : col + 2**s]
        out.append((I, (row, col, 2**s), np.sum(I) / np.sum(closed), np.sum(R & np.fliplr(R)) / np.sum(R)))
    return out


def test_recipe_matches_a_literal_transcription_draw_for_draw():
    n = 12
    ref = literal_recipe(n, seed=0)
    got = generate_blobs(n, np.random.RandomState(0))
    for k, (I, reg, cls, sym) in enumerate(ref):
        assert np.array_equal(got.images[k], I.astype(np.uint8)), k
        assert tuple(got.regions[k]) == reg
        assert got.closedness[k] == cls and got.symmetry[k] == sym
    assert {int(r[2]) for r in got.regions} == {16, 32}  # both region sizes occur in the first images
    # the stream continues: the 13th image of a 13-image run equals the literal's 13th
    assert np.array_equal(generate_blobs(n + 1, np.random.RandomState(0)).images[n],
                          literal_recipe(n + 1, seed=0)[n][0].astype(np.uint8))


def test_extreme_labels_proportions_and_ties():
    s = np.array([0.5, 0.1, 0.5, 0.9, 0.5, 0.3, 0.5, 0.7, 0.5, 0.2])
    lab = extreme_labels(s, 0.4)
    assert (lab == 0).sum() == 4 and (lab == 1).sum() == 4 and (lab == -1).sum() == 2
    # ties at 0.5 resolve by generation order: the stable order is 1,9,5,0,2,4,6,8,7,3
    assert lab.tolist() == [0, 0, -1, 1, -1, 0, 1, 1, 1, 0]


def test_blobs_task_sizes_labels_and_order(tmp_path, monkeypatch):
    monkeypatch.setenv("TENSOREXPR_CACHE", str(tmp_path))
    gen = (250, 50)
    train, test = authors_blobs(0, gen, progress=False)
    for task in ("closedness", "symmetry"):
        d = blobs(task, generated=gen, progress=False)
        assert d.X_train.shape == (200, 32, 32) and d.X_test.shape == (40, 32, 32)  # 40% + 40% of each set
        assert int(d.y_train.sum()) == 100 and int(d.y_test.sum()) == 20
        idx = d.meta["train_index"]
        assert (np.diff(idx) > 0).all()  # generation order, as the authors' index files
        score = train.score(task)[idx]
        assert score[d.y_train.numpy() == 0].max() <= score[d.y_train.numpy() == 1].min()
        assert np.array_equal(d.X_train.numpy(), train.images[idx])
    # a cached rerun gives the same arrays; the prefix option takes the first labelled images
    assert list((tmp_path / "blobs").glob("*.npz"))
    d1, d2 = blobs("symmetry", generated=gen, progress=False), blobs("symmetry", 30, 7, generated=gen, progress=False)
    assert np.array_equal(d1.X_train[:30], d2.X_train) and np.array_equal(d1.y_test[:7], d2.y_test)
    # the 25,000-image stream starts with the same images as a shorter one (one RandomState, train first)
    assert np.array_equal(train.images[:5], literal_images(5))


def literal_images(n: int) -> np.ndarray:
    return np.array([r[0] for r in literal_recipe(n)], dtype=np.uint8)


def test_scores_definitions_on_hand_made_images():
    img = np.zeros((8, 8), np.uint8)
    img[2:6, 2:6] = 1
    assert closedness_score(img) == 1.0  # a filled square is closed
    holey = img.copy()
    holey[3, 3] = 0
    assert closedness_score(holey) == 15 / 16  # the cross element closes a one-pixel hole
    gap = img.copy()
    gap[2:6, 4] = 0  # a one-pixel slit: the cross closing refills its two inner pixels, not the two ends
    assert closedness_score(gap) == 12 / 14
    assert symmetry_score(img) == 1.0
    lshape = np.zeros((4, 4), np.uint8)
    lshape[:, 0] = 1
    lshape[0, :] = 1  # mirror keeps row 0 (4 pixels) of 7
    assert symmetry_score(lshape) == 4 / 7
    big = np.zeros((32, 32), np.uint8)
    big[16:32, 0:16] = np.kron(np.eye(2, dtype=np.uint8), np.ones((8, 8), np.uint8))
    assert symmetry_score(big, (16, 0, 16)) == 0.0 and symmetry_score(big, (0, 0, 32)) == 0.0
    big[16:32, 16:32] = big[16:32, 0:16][:, ::-1]
    assert symmetry_score(big, (0, 0, 32)) == 1.0 and symmetry_score(big, (16, 0, 16)) == 0.0


def test_blobs_rejects_bad_requests(tmp_path, monkeypatch):
    monkeypatch.setenv("TENSOREXPR_CACHE", str(tmp_path))
    with pytest.raises(DataError, match="32x32"):
        blobs("closedness", size=16)
    with pytest.raises(DataError, match="recipe"):
        blobs("closedness", recipe="random")
    with pytest.raises(DataError, match="exceeds"):
        blobs("closedness", n_train=100, generated=(50, 20), progress=False)
    old = blobs("closedness", 60, 20, size=16, seed=1, recipe="centred")  # the earlier variant, by name
    assert old.X_train.shape == (60, 16, 16) and old.meta["recipe"] == "centred"


@pytest.mark.slow
def test_full_authors_sets_have_the_papers_sizes(tmp_path, monkeypatch):
    monkeypatch.setenv("TENSOREXPR_CACHE", str(tmp_path))
    for task in ("closedness", "symmetry"):
        d = blobs(task, progress=False)
        assert d.X_train.shape == (20_000, 32, 32) and d.X_test.shape == (4_000, 32, 32)
        assert int(d.y_train.sum()) == 10_000 and int(d.y_test.sum()) == 2_000
