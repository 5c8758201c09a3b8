"""User data (``tensorexpr/experiments/userdata.py``) through the training loop: arrays, npz files and torch datasets
give the same run; every bad input names the problem."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tensorexpr.cli import main as cli_main
from tensorexpr.experiments import DataError, TrainConfig, train


def _arrays(n=64, m=32, seed=0):
    g = np.random.default_rng(seed)
    Xtr, Xte = g.integers(0, 3, (n, 16)), g.integers(0, 3, (m, 16))
    return Xtr, (Xtr[:, 0] > 0).astype(np.int64), Xte, (Xte[:, 0] > 0).astype(np.int64)


def test_user_data_arrays_npz_and_torch_datasets(tmp_path):
    arrs = _arrays()
    cfg = TrainConfig(model="convac", task="user", geometry="line:16", widths=4, epochs=2, progress=False, device="cpu",
                      lr=0.03)
    r1 = train(cfg, data=arrs)
    assert r1.model.M == 3 and r1.model.outputs == 2  # symbols 0..2 -> M = 3; labels 0/1 -> 2 classes
    path = tmp_path / "mine.npz"
    np.savez(path, X_train=arrs[0], y_train=arrs[1], X_test=arrs[2], y_test=arrs[3])
    r2 = train(cfg.replace(data=str(path)))
    tds = [torch.utils.data.TensorDataset(torch.as_tensor(arrs[i]), torch.as_tensor(arrs[i + 1])) for i in (0, 2)]
    r3 = train(cfg, data=tuple(tds))
    assert r1.metrics() == r2.metrics() == r3.metrics()  # the same data through three doors


@pytest.mark.parametrize("bad, match", [
    (lambda a: (a[0][:, :15], *a[1:]), "16 positions"),
    (lambda a: (a[0], -a[1], *a[2:]), "negative label"),
    (lambda a: (a[0], a[1][:10], *a[2:]), r"expected \(64,\)"),
    (lambda a: (a[0], np.zeros_like(a[1]), *a[2:]), "single class"),
    (lambda a: (a[0] + 0.5, *a[1:]), "gaussian"),
    (lambda a: (a[0] - 1, *a[1:]), "negative symbol"),
    (lambda a: (a[0], a[1] + 0.5, *a[2:]), "non-integer"),
])
def test_user_data_errors_name_the_problem(bad, match):
    cfg = TrainConfig(model="convac", task="user", geometry="line:16", widths=4, epochs=1, progress=False, device="cpu")
    with pytest.raises(DataError, match=match):
        train(cfg, data=bad(_arrays()))


def test_user_data_file_errors(tmp_path):
    np.savez(tmp_path / "x.npz", X=np.zeros(3))
    cfg = TrainConfig(model="convac", task="user", geometry="line:16", widths=4, epochs=1, progress=False, device="cpu")
    with pytest.raises(DataError, match="lacks"):
        train(cfg.replace(data=str(tmp_path / "x.npz")))
    with pytest.raises(DataError, match="does not exist"):
        train(cfg.replace(data=str(tmp_path / "nope.npz")))
    rc = cli_main(["train", "--task", "user", "--geometry", "line:16", "--widths", "4", "--data", str(tmp_path / "x.npz"),
                   "--no-progress"])
    assert rc == 2  # a clean error, no traceback
    with pytest.raises(DataError, match="needs your data"):
        train(cfg)


def test_missing_keys_message_starts_with_the_file(tmp_path):
    import numpy as np

    from tensorexpr.core.errors import DataError
    from tensorexpr.experiments.userdata import load_npz

    path = tmp_path / "bad.npz"
    np.savez(path, X_train=np.zeros(3))
    with pytest.raises(DataError) as info:
        load_npz(path)
    msg = str(info.value)
    assert msg.startswith("Data file") and msg.count("lacks") == 1 and "Cannot read" not in msg
# -- the table of mistakes, user-data rows (docs/errors.md) -------------------------------------------------------
def _user(data):
    from tensorexpr.experiments.userdata import user_dataset

    return lambda d: user_dataset(data(d) if callable(data) else data, "line:16")


def _npz(**arrays):
    def write(d):
        np.savez(d / "u.npz", **arrays)
        return str(d / "u.npz")
    return write


_A = _arrays()
ERROR_ROWS = [
    ("userdata-keys-missing", _user(_npz(X_train=_A[0], y_train=_A[1]))),
    ("userdata-file-missing", _user(lambda d: str(d / "missing.npz"))),
    ("userdata-shape", _user((_A[0][:, :15], *_A[1:]))),
    ("userdata-labels-negative", _user((_A[0], -_A[1] - 1, *_A[2:]))),
    ("userdata-labels-non-integer", _user((_A[0], _A[1] + 0.5, *_A[2:]))),
    ("userdata-labels-string", _user((_A[0], np.array(["a", "b"] * 32), *_A[2:]))),
    ("userdata-single-class", _user((_A[0], np.zeros_like(_A[1]), *_A[2:]))),
    ("userdata-inputs-nan", _user((np.full((64, 16), np.nan), *_A[1:]))),
    ("userdata-negative-symbol", _user((_A[0] - 1, *_A[1:]))),
    ("userdata-float-one-hot", _user((_A[0] + 0.5, *_A[1:]))),
]


@pytest.mark.parametrize("row, call", ERROR_ROWS, ids=[r for r, _ in ERROR_ROWS])
def test_user_data_mistakes_of_the_errors_page(row, call, tmp_path, check_error_row):
    check_error_row(row, lambda: call(tmp_path))


def test_missing_keys_message_is_said_once(tmp_path):
    """The missing-keys DataError used to be caught by the file-read wrapper and repeated inside 'Cannot read'."""
    from tensorexpr.experiments.userdata import load_npz

    np.savez(tmp_path / "x.npz", X=np.zeros(3))
    with pytest.raises(DataError) as exc:
        load_npz(tmp_path / "x.npz")
    assert str(exc.value).count("lacks") == 1 and "Cannot read" not in str(exc.value)
