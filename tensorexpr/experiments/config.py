"""Training configuration: one frozen, validated value object, serializable to JSON (checkpoints, CLI)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Callable

from tensorexpr.core.specs import grid_shape, parse_geometry, parse_widths

__all__ = ["TrainConfig", "ConfigError", "MODEL_KINDS", "PRESETS", "ORDERS", "TASK_DEFAULTS"]

from tensorexpr.models.kinds import MODEL_KINDS  # noqa: E402  (torch-free, shared with the CLI parser)
_TASKS = ("closedness", "symmetry", "digits", "teacher", "digits32", "user")
#: Batch orders: a seeded reshuffle per epoch, or the data in order, cycled (the authors' Caffe
#: ``ImageData`` layers with ``shuffle: false`` read their index files so).
ORDERS = ("shuffle", "sequential")

#: Defaults that depend on the task (fields left ``None``). Digits: shared 1x1 convs with symmetric 2x2
#: pooling are invariant to permuting the children of every window at every level (the root's four
#: quadrants included), which erases most of an 8x8 digit's shape; with those defaults the shared ConvAC
#: stayed at the class prior (8% test accuracy). Locally connected weights and a 0.01 lr for 20 epochs
#: learn the task (see the README notes for measured accuracies).
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "digits": {"shared": False, "lr": 0.01, "epochs": 20},
    "*": {"shared": True, "lr": 0.003, "epochs": 5},
}

#: The authors' training settings (Cohen & Shashua, ICLR 2017; ``exp/blob/{cac,crn}`` of
#: HUJI-Deep/inductive-pooling, see ``docs/theory.md``): Adam, batch 64, 15,000 iterations, lr x0.1 at
#: 80%, breadth 16, shared weights, the authors' blob data read in order. Caffe's Adam ``delta`` is ``eps``
#: (Caffe adds it to ``sqrt(v_t)`` before bias correction, torch after; at 1e-16 the two agree).
PRESETS: dict[str, dict[str, Any]] = {
    "iclr2017-convac": dict(model="convac", geometry="grid:32x32:square", widths=16, shared=True, iterations=15_000,
                            batch_size=64, lr=0.003, betas=(0.9, 0.9), eps=1e-16, weight_decay=0.0, lr_drop=0.8,
                            order="sequential", blob_recipe="iclr2017", eval_every=5_000),
    "iclr2017-relu": dict(model="relu", geometry="grid:32x32:square", widths=16, shared=True, iterations=15_000,
                          batch_size=64, lr=0.001, betas=(0.9, 0.999), eps=1e-16, weight_decay=1e-4, lr_drop=0.8,
                          bias=True, init="xavier", pooling="max", order="sequential", blob_recipe="iclr2017",
                          eval_every=5_000),
}
#: Fields that may change between an interrupted run and its resumption without invalidating the checkpoint.
RUNTIME_FIELDS = ("out_dir", "progress", "device")


from tensorexpr.core.errors import ConfigError  # noqa: F401  (re-exported: defined in errors.py)


#: Model kinds whose positions are kernel x kernel patches.
_PATCH_KINDS = ("p4", "p4-relu", "learned", "learned-relu", "patch", "patch-relu")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (same config + same seed = same metrics).

    Parameters
    ----------
    model : {"convac", "relu", "scatlinear"}
        ``scatlinear`` is the scattering + linear baseline (needs a ``scattering:...`` representation).
    geometry : str
        Geometry spec (``grid:32x32:square``, ``grid:8x8:mirror``, ``line:64``, ...; see :mod:`tensorexpr.core.specs`).
    task : {"closedness", "symmetry", "digits", "teacher", "user"}
        ``"user"``: your own data, from ``data`` (a file) or ``train(config, data=...)``.
    widths : int or tuple
        Channels per level (``r_0..r_{L-1}``).
    representation : str
        ``one_hot`` (default; the tasks are symbol images) or ``gaussian`` / ``linear`` (float digits), or
        ``scattering:J=2,L=8[,rotinv=1]`` (float images; the geometry is the ``(H/2^J) x (W/2^J)`` grid,
        e.g. ``grid:8x8:square`` for the 32x32 ``digits32`` task).
    pooling : {"max", "avg"}
        ReLU net pooling.
    lr, betas, eps, weight_decay, batch_size : Adam and its batches (weight decay is an L2 term on the
        weights, not on biases, as the authors' Caffe ``decay_mult``; biases learn at ``2 lr`` as their ``lr_mult``).
    epochs, iterations : the schedule: ``epochs`` passes over the data, or, when ``iterations`` is set, that
        many steps (the authors' runs are iteration-based); the lr drops x0.1 at ``lr_drop`` of the run.
    eval_every : iterations between evaluations (and checkpoints) of an iteration-based run
        (default: a tenth of the run).
    order : {"shuffle", "sequential"} batch order (see :data:`ORDERS`).
    bias, init : ReLU nets only: conv biases, and ``"he"`` or Caffe's ``"xavier"`` initialization.
    n_train, n_test : data sizes. Blobs: the first labelled images of the authors' sets (default all:
        20,000 / 4,000); teacher: set sizes (default 2000 / 500); digits has a fixed 1797 images.
    data_seed : seed of the data (default: 0 for the blobs -- the authors' data -- and ``seed`` otherwise).
    blob_recipe : {"iclr2017", "centred"} the blob generator (see :func:`tensorexpr.experiments.blobs`).
    data : path of an ``.npz`` with ``X_train, y_train, X_test, y_test`` (your own data; see
        :func:`tensorexpr.experiments.user_dataset`); overrides ``task``'s built-in data.
    kernel : int
        Patch side of the patch models (p4, learned, patch).
    rotate_train, rotate_test : {"none", "90", "random"}
        Rotations of the digits32 images (:func:`tensorexpr.experiments.digits32`).

    Named presets: :meth:`preset` (``"iclr2017-convac"``, ``"iclr2017-relu"``, see :data:`PRESETS`).
    """

    model: str = "convac"
    geometry: str = "grid:32x32:square"
    task: str = "closedness"
    widths: Any = 16
    representation: str = "one_hot"
    pooling: str = "max"
    shared: bool | None = None
    epochs: int | None = None
    batch_size: int = 64
    lr: float | None = None
    betas: tuple[float, float] = (0.9, 0.9)
    lr_drop: float = 0.8
    seed: int = 0
    n_train: int | None = None
    n_test: int | None = None
    teacher_widths: int = 4
    kernel: int = 2
    rotate_train: str = "none"
    rotate_test: str = "none"
    iterations: int | None = None
    eval_every: int | None = None
    eps: float = 1e-8
    weight_decay: float = 0.0
    order: str = "shuffle"
    bias: bool = False
    init: str = "he"
    data_seed: int | None = None
    blob_recipe: str = "iclr2017"
    data: str | None = None
    out_dir: str | None = None
    progress: bool = True
    device: str | None = None

    def __post_init__(self) -> None:
        _apply_task_defaults(self)
        for check in _CHECKS:
            check(self)
        if isinstance(self.widths, list):
            object.__setattr__(self, "widths", tuple(self.widths))
        object.__setattr__(self, "betas", tuple(self.betas))
        object.__setattr__(self, "_n_modes", parse_geometry(self.geometry).n_modes)

    def lr_at(self, epoch: int) -> float:
        """Learning rate of ``epoch`` (0-based): ``lr``, then ``lr / 10`` from ``lr_drop * epochs`` on.

        Parameters
        ----------
        epoch : int
            The epoch, counted from 0.

        Returns
        -------
        float
            The step size of that epoch.
        """
        return self.lr * (0.1 if self.epochs > 1 and epoch >= self.lr_drop * self.epochs else 1.0)

    def lr_at_iteration(self, it: int) -> float:
        """Learning rate of step ``it`` (0-based) of an iteration-based run: ``lr / 10`` from
        ``int(lr_drop * iterations)`` on (Caffe's ``multistep`` with ``stepvalue = int(0.8 max_iter)``).

        Parameters
        ----------
        it : int
            The optimizer step, counted from 0.

        Returns
        -------
        float
            The step size of that iteration.
        """
        n = self.iterations or 1
        return self.lr * (0.1 if n > 1 and it >= int(self.lr_drop * n) else 1.0)

    @property
    def resolved_data_seed(self) -> int:
        """The data seed: ``data_seed``, else 0 for the blob tasks (the authors' data), else ``seed``."""
        if self.data_seed is not None:
            return self.data_seed
        return 0 if self.task in ("closedness", "symmetry") and self.blob_recipe == "iclr2017" else self.seed

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> "TrainConfig":
        """A named preset (:data:`PRESETS`) with ``overrides``.

        Parameters
        ----------
        name : str
            A key of :data:`PRESETS`.
        **overrides
            Fields that replace the preset's values.

        Returns
        -------
        TrainConfig
            The validated config.

        Raises
        ------
        ConfigError
            ``name`` is not a preset, or the overridden config is invalid.

        >>> TrainConfig.preset("iclr2017-convac", task="symmetry").iterations
        15000
        """
        if name not in PRESETS:
            raise ConfigError(f"Unknown preset {name!r}; expected one of {sorted(PRESETS)}.")
        return cls(**{**PRESETS[name], **overrides})

    def to_dict(self) -> dict[str, Any]:
        """The config as plain JSON-able data (tuples become lists); :meth:`from_dict` inverts it.

        Returns
        -------
        dict
            Field name to value, for every field.
        """
        d = asdict(self)
        d["widths"] = list(self.widths) if isinstance(self.widths, tuple) else self.widths
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """The config written by :meth:`to_dict` (a checkpoint's or a sweep's).

        Parameters
        ----------
        d : dict
            Field name to value; fields left out take their defaults.

        Returns
        -------
        TrainConfig
            The validated config.

        Raises
        ------
        ConfigError
            ``d`` names a field the config does not have, or a value is invalid.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"Unknown config fields {unknown}; expected a subset of {sorted(known)}.")
        return cls(**d)

    def identity(self) -> dict[str, Any]:
        """The fields a checkpoint must agree on to be resumed.

        Returns
        -------
        dict
            :meth:`to_dict` without the runtime fields :data:`RUNTIME_FIELDS` (``out_dir``, ``progress``, ``device``).
        """
        return {k: v for k, v in self.to_dict().items() if k not in RUNTIME_FIELDS}

    def replace(self, **kw: Any) -> "TrainConfig":
        """A copy with some fields changed, validated again.

        Parameters
        ----------
        **kw
            The fields to change.

        Returns
        -------
        TrainConfig
            The new config.
        """
        return replace(self, **kw)


# -- validation, one concern per function (TrainConfig.__post_init__ runs them in this order) ----------------------
def _apply_task_defaults(c: TrainConfig) -> None:
    """Fill the fields left ``None`` from :data:`TASK_DEFAULTS` (``"user"`` and own data: ``"*"``)."""
    defaults = TASK_DEFAULTS.get(c.task if c.data is None else "*", TASK_DEFAULTS["*"])
    for name, value in defaults.items():
        if getattr(c, name) is None:
            object.__setattr__(c, name, value)


def _is_user(c: TrainConfig) -> bool:
    """Own data: the built-in tasks' shape rules do not apply."""
    return c.data is not None or c.task == "user"


def _is_scattering(c: TrainConfig) -> bool:
    return c.representation.startswith("scattering")


def _check_names(c: TrainConfig) -> None:
    if c.model not in MODEL_KINDS:
        raise ConfigError(f"model={c.model!r} is unknown; expected one of {MODEL_KINDS}.")
    if c.task not in _TASKS:
        raise ConfigError(f"task={c.task!r} is unknown; expected one of {_TASKS}.")
    if c.pooling not in ("max", "avg"):
        raise ConfigError(f"pooling={c.pooling!r} is unknown; expected 'max' or 'avg'.")


def _check_geometry(c: TrainConfig) -> None:
    """The geometry and widths parse (the one spec grammar: the same errors as the CLI and sweeps)."""
    parse_geometry(c.geometry)  # raises GeometryError on bad specs
    if isinstance(c.widths, (int, str, list, tuple)):  # a dict (per node) is checked by the model
        parse_widths(c.widths)


def _check_blob_grid(c: TrainConfig) -> None:
    hw = grid_shape(c.geometry)
    if not _is_user(c) and c.task in ("closedness", "symmetry") and (hw is None or hw[0] != hw[1]):
        raise ConfigError(f"The blob tasks need a square grid geometry like grid:32x32:square, got {c.geometry!r}.")


def _check_scattering(c: TrainConfig) -> None:
    if not _is_scattering(c):
        if c.model == "scatlinear":
            raise ConfigError("model='scatlinear' is the scattering + linear baseline; give "
                              "representation='scattering:J=2,L=8'.")
        return
    from tensorexpr.models.scattering import parse_scattering

    J = parse_scattering(c.representation).J
    if not _is_user(c) and c.task not in ("digits", "digits32"):
        raise ConfigError(f"representation={c.representation!r} needs float images (task digits or digits32).")
    side = {"digits": 8, "digits32": 32}[c.task]
    hw = grid_shape(c.geometry)
    if hw is None or side % 2**J or hw != (side // 2**J, side // 2**J):
        raise ConfigError(f"With {c.representation!r} on {side}x{side} images the tree is over the "
                          f"{side // 2**J}x{side // 2**J} grid: use geometry grid:{side // 2**J}x{side // 2**J}:square, "
                          f"got {c.geometry!r}.")


def _check_digits32_grid(c: TrainConfig) -> None:
    if _is_user(c) or c.task != "digits32" or _is_scattering(c):
        return
    hw = grid_shape(c.geometry)
    patch = c.kernel if c.model in _PATCH_KINDS else 1
    if hw is None or hw[0] != hw[1] or hw[0] * patch != 32:
        raise ConfigError(f"digits32 images are 32x32: use a square grid of 32/kernel positions for patch models "
                          f"(kernel={c.kernel}), or grid:32x32, got {c.geometry!r}.")


def _check_patch_kernel(c: TrainConfig) -> None:
    if not _is_user(c) and c.model in _PATCH_KINDS and c.task != "digits32" and c.kernel != 1:
        raise ConfigError(f"Task {c.task!r} gives one symbol per grid position; patch models need kernel=1 there "
                          f"(patches of kernel x kernel pixels are for digits32), got kernel={c.kernel}.")


def _check_blob_recipe(c: TrainConfig) -> None:
    if (not _is_user(c) and c.task in ("closedness", "symmetry") and c.blob_recipe == "iclr2017"
            and grid_shape(c.geometry) != (32, 32)):
        raise ConfigError(f"The authors' blob data are 32x32 images; use geometry grid:32x32:square|mirror, got "
                          f"{c.geometry!r} (or blob_recipe='centred' for other sizes).")
    if c.blob_recipe not in ("iclr2017", "centred"):
        raise ConfigError(f"blob_recipe={c.blob_recipe!r} is unknown; expected 'iclr2017' or 'centred'.")


def _check_training_options(c: TrainConfig) -> None:
    if c.order not in ORDERS:
        raise ConfigError(f"order={c.order!r} is unknown; expected one of {ORDERS}.")
    if c.init not in ("he", "xavier"):
        raise ConfigError(f"init={c.init!r} is unknown; expected 'he' or 'xavier'.")
    if c.model == "convac" and c.bias:
        raise ConfigError("bias=True is for ReLU nets; a ConvAC's MEX layers have offsets, no biases.")


def _check_inputs(c: TrainConfig) -> None:
    """The built-in tasks' image sizes and input kinds."""
    if _is_user(c):
        return
    if c.task == "digits" and not _is_scattering(c) and grid_shape(c.geometry) != (8, 8):
        raise ConfigError(f"The digits are 8x8 images; use geometry grid:8x8:square|mirror, got {c.geometry!r}.")
    if c.task not in ("digits", "digits32") and c.representation != "one_hot":
        raise ConfigError(f"Task {c.task!r} has symbol inputs; use representation='one_hot', got {c.representation!r}.")


def _check_counts(c: TrainConfig) -> None:
    for name in ("epochs", "batch_size", "n_train", "n_test", "iterations", "eval_every"):
        v = getattr(c, name)
        if v is None and name not in ("epochs", "batch_size"):
            continue
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}.")


def _check_optimizer(c: TrainConfig) -> None:
    if not (c.lr > 0 and 0 < c.lr_drop <= 1):
        raise ConfigError(f"Need lr > 0 and 0 < lr_drop <= 1, got lr={c.lr}, lr_drop={c.lr_drop}.")
    if not (c.eps > 0 and c.weight_decay >= 0):
        raise ConfigError(f"Need eps > 0 and weight_decay >= 0, got eps={c.eps}, weight_decay={c.weight_decay}.")


#: The checks in the order the original single validator ran them (so a config with two faults names the same one).
_CHECKS: tuple[Callable[[TrainConfig], None], ...] = (
    _check_names, _check_geometry, _check_blob_grid, _check_scattering, _check_digits32_grid, _check_patch_kernel,
    _check_blob_recipe, _check_training_options, _check_inputs, _check_counts, _check_optimizer)
