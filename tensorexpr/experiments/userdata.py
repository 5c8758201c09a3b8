"""Your own data for ``te.experiments.train(config, data=...)``: arrays, ``.npz`` files or torch Datasets.

Accepted forms (checked at this boundary, each failure a :class:`DataError` naming the value and the fix):

* a :class:`~tensorexpr.experiments.Dataset`;
* a mapping or ``.npz`` path with ``X_train, y_train, X_test, y_test``;
* a tuple ``(X_train, y_train, X_test, y_test)`` of arrays or tensors;
* a tuple ``(train, test)`` of ``torch.utils.data.Dataset`` objects yielding ``(x, y)`` pairs.

Inputs are images ``(n, H, W)`` / ``(n, C, H, W)`` or sequences ``(n, N)`` / ``(n, N, C)`` fitting the
geometry's ``N`` modes. Integer inputs are symbols ``0..M-1`` for the ``one_hot`` representation
(``M = max + 1``, at least 2); float inputs need ``gaussian`` or ``linear``. Labels are integers
``0..K-1`` with at least two classes in the training set.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from tensorexpr.core.specs import grid_shape, parse_geometry
from tensorexpr.experiments.data import Dataset, DataError

__all__ = ["user_dataset", "load_npz", "fingerprint"]

_KEYS = ("X_train", "y_train", "X_test", "y_test")


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """The four arrays of an ``.npz`` data file (keys ``X_train``, ``y_train``, ``X_test``, ``y_test``).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    dict of str to numpy.ndarray

    Raises
    ------
    DataError
        When the file does not exist, cannot be read as an ``.npz`` (pickles are refused), or lacks a key.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"Data file {str(p)!r} does not exist; expected an .npz with keys {list(_KEYS)}.")
    try:
        with np.load(p, allow_pickle=False) as z:
            missing = [k for k in _KEYS if k not in z.files]
            if missing:
                raise DataError(f"Data file {str(p)!r} lacks {missing}; it has {sorted(z.files)}, expected {list(_KEYS)}. "
                                f"Hint: np.savez(path, X_train=..., y_train=..., X_test=..., y_test=...).")
            return {k: z[k] for k in _KEYS}
    except DataError:
        raise  # already names the file and the keys; DataError is a ValueError, so keep it from the wrap below
    except (OSError, ValueError) as exc:
        raise DataError(f"Cannot read {str(p)!r} as an .npz data file ({exc}).") from None


def _from_torch(ds: Any, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        n = len(ds)
    except TypeError:
        raise DataError(f"The {name} torch Dataset has no len(); pass a map-style Dataset.") from None
    if n == 0:
        raise DataError(f"The {name} Dataset is empty.")
    xs, ys = [], []
    for i in range(n):
        item = ds[i]
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise DataError(f"{name}[{i}] must be an (x, y) pair, got {type(item).__name__}.")
        xs.append(torch.as_tensor(np.asarray(item[0])))
        ys.append(int(item[1]))
    try:
        X = torch.stack(xs)
    except RuntimeError as exc:
        raise DataError(f"The {name} Dataset's inputs differ in shape ({exc}).") from None
    return X, torch.as_tensor(ys, dtype=torch.long)


def _tensor(a: Any, name: str) -> torch.Tensor:
    """``a`` as a tensor; strings, objects and complex numbers are refused here with the key's name (torch's own
    error names neither the array nor the fix)."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{name} has dtype {arr.dtype}; expected numbers (inputs: int symbols or floats; labels: "
                        f"integers 0..K-1). Hint: encode string labels with np.unique(y, return_inverse=True)[1].")
    return torch.as_tensor(arr)


def _arrays(data: Any) -> list[torch.Tensor]:
    if isinstance(data, (str, Path)):
        data = load_npz(data)
    if isinstance(data, Mapping) or hasattr(data, "files"):
        missing = [k for k in _KEYS if k not in data]
        if missing:
            raise DataError(f"data lacks {missing}; expected keys {list(_KEYS)}.")
        return [_tensor(data[k], k) for k in _KEYS]
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(d, torch.utils.data.Dataset) for d in data):
        (Xtr, ytr), (Xte, yte) = _from_torch(data[0], "train"), _from_torch(data[1], "test")
        return [Xtr, ytr, Xte, yte]
    if isinstance(data, torch.utils.data.Dataset):
        raise DataError("A single torch Dataset has no test split; pass (train_dataset, test_dataset).")
    if isinstance(data, (tuple, list)) and len(data) == 4:
        return [d if isinstance(d, torch.Tensor) else _tensor(d, k) for d, k in zip(data, _KEYS)]
    raise DataError(f"data must be a Dataset, an .npz path, a mapping or tuple (X_train, y_train, X_test, y_test), "
                    f"or (train, test) torch Datasets; got {type(data).__name__}.")


def _check_inputs(X: torch.Tensor, name: str, n_modes: int, hw: tuple[int, int] | None) -> None:
    shape = tuple(X.shape)
    if X.dim() not in (2, 3, 4) or shape[0] == 0:
        raise DataError(f"{name} has shape {shape}; expected (n, H, W), (n, C, H, W), (n, N) or (n, N, C) with n >= 1.")
    if X.dim() == 2:
        fits = shape[1] == n_modes
    elif X.dim() == 3:
        fits = (shape[1] * shape[2] == n_modes and (hw is None or shape[1:] == hw)) or shape[1] == n_modes
    else:
        fits = shape[2] * shape[3] == n_modes and (hw is None or shape[2:] == hw)
    if not fits:
        want = f"(n, {hw[0]}, {hw[1]})" if hw else f"(n, {n_modes})"
        raise DataError(f"{name} has shape {shape}, which does not fit the geometry's {n_modes} positions; "
                        f"expected {want}. Hint: choose the geometry of your data (e.g. grid:HxW:square).")
    if X.dtype.is_floating_point and not torch.isfinite(X).all():
        raise DataError(f"{name} contains NaN or infinite values.")


def _check_labels(y: torch.Tensor, name: str, n: int) -> torch.Tensor:
    if y.dim() != 1 or len(y) != n:
        raise DataError(f"{name} has shape {tuple(y.shape)}; expected ({n},), one integer label per input.")
    if y.dtype.is_floating_point:
        if not torch.equal(y, y.round()):
            raise DataError(f"{name} holds non-integer values; labels must be integers 0..K-1.")
        y = y.long()
    if y.dtype == torch.bool or not (y.dtype.is_floating_point or y.dtype in (torch.int8, torch.int16, torch.int32,
                                                                             torch.int64, torch.uint8, torch.long)):
        raise DataError(f"{name} has dtype {y.dtype}; labels must be integers 0..K-1.")
    y = y.long()
    if int(y.min()) < 0:
        raise DataError(f"{name} has a negative label ({int(y.min())}); labels must be 0..K-1.")
    return y


def user_dataset(data: Any, geometry: str, representation: str = "one_hot") -> Dataset:
    """Validate user data against ``geometry`` and ``representation`` and return a :class:`Dataset`.

    Parameters
    ----------
    data : Dataset, sequence, mapping or path
        A :class:`Dataset`, arrays ``(X_train, y_train, X_test, y_test)``, a mapping / ``.npz`` path with those
        keys, or ``(train, test)`` torch Datasets.
    geometry : str
        A geometry spec (``"line:16"``, ``"grid:8x8"``, ...); the inputs must have one position per mode.
    representation : str, optional
        ``"one_hot"`` needs integer symbols ``0..M-1`` (``M <= 256``); other representations take floats.

    Returns
    -------
    Dataset
        ``meta["fingerprint"]`` is :func:`fingerprint` of the validated tensors.

    Raises
    ------
    DataError
        On missing arrays, inputs that do not fit the geometry, train and test shapes that differ, bad labels,
        a single class, non-integral or negative symbols for ``one_hot``, or more than 256 symbols.
    GeometryError
        On a bad geometry spec.
    """
    tree = parse_geometry(geometry)
    hw = grid_shape(geometry)
    if isinstance(data, Dataset):
        arrs = [data.X_train, data.y_train, data.X_test, data.y_test]
    else:
        arrs = _arrays(data)
    Xtr, ytr, Xte, yte = arrs
    for X, name in ((Xtr, "X_train"), (Xte, "X_test")):
        _check_inputs(X, name, tree.n_modes, hw)
    if Xtr.shape[1:] != Xte.shape[1:]:
        raise DataError(f"X_train {tuple(Xtr.shape)} and X_test {tuple(Xte.shape)} differ beyond the first axis.")
    ytr, yte = _check_labels(ytr, "y_train", len(Xtr)), _check_labels(yte, "y_test", len(Xte))
    K = int(max(ytr.max(), yte.max())) + 1
    if len(torch.unique(ytr)) < 2:
        raise DataError(f"y_train has a single class ({int(ytr[0])}); a classifier needs at least two.")
    integral = not Xtr.dtype.is_floating_point or (torch.equal(Xtr, Xtr.round()) and torch.equal(Xte, Xte.round()))
    if representation == "one_hot":
        if not integral:
            raise DataError("Float inputs with non-integer values need representation='gaussian' or 'linear'; "
                            "one_hot takes integer symbols 0..M-1.")
        Xtr, Xte = Xtr.long(), Xte.long()
        lo = int(min(Xtr.min(), Xte.min()))
        if lo < 0:
            raise DataError(f"Inputs hold the negative symbol {lo}; one_hot symbols must be 0..M-1.")
        M: int | None = max(2, int(max(Xtr.max(), Xte.max())) + 1)
        if M > 256:
            raise DataError(f"Inputs span {M} symbols; one_hot with M={M} is unlikely what you meant. "
                            f"Hint: quantize, or use representation='gaussian' with float inputs.")
        C = 1
    else:
        Xtr, Xte = Xtr.float(), Xte.float()
        M = None
        C = Xtr.shape[1] if Xtr.dim() == 4 else (Xtr.shape[2] if Xtr.dim() == 3 and Xtr.shape[1] == tree.n_modes else 1)
    name = data.name if isinstance(data, Dataset) else "user"
    return Dataset(name, Xtr, ytr, Xte, yte, K, M, C, {"fingerprint": fingerprint([Xtr, ytr, Xte, yte])})


def fingerprint(arrays: list[torch.Tensor]) -> str:
    """A short content hash of the data (a checkpoint resumes only on the same data).

    Parameters
    ----------
    arrays : list of torch.Tensor

    Returns
    -------
    str
        16 hex digits of a SHA-1 over shapes, dtypes and bytes.
    """
    h = hashlib.sha1()
    for a in arrays:
        t = a.detach().cpu().contiguous()
        h.update(str((tuple(t.shape), str(t.dtype))).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()[:16]
