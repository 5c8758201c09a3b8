"""The face-splitting product (``tensorexpr/rank/facesplit.py``) against its definition."""

from __future__ import annotations

import numpy as np

from tensorexpr.rank.facesplit import face_split


def test_face_split_matches_definition() -> None:
    rng = np.random.default_rng(1)
    T, p = 3, 10007
    X = rng.integers(0, p, size=(T**2, 2))  # modes (4, 1)
    Y = rng.integers(0, p, size=(T**2, 3))  # modes (1, 7)
    Z, modes = face_split(X, (4, 1), Y, (1, 7), T, p)
    assert modes == (1, 4, 7) and Z.shape == (T**3, 6)
    for u1 in range(T):
        for u4 in range(T):
            for u7 in range(T):
                row = (u1 * T + u4) * T + u7
                want = np.kron(X[u4 * T + u1], Y[u1 * T + u7]) % p
                assert np.array_equal(Z[row], want)
