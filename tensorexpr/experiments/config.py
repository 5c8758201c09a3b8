"""Training configuration: one frozen, validated value object, serializable to JSON (checkpoints, CLI)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from ..errors import TensorExprError
from ..specs import grid_shape, parse_geometry

__all__ = ["TrainConfig", "ConfigError", "MODEL_KINDS"]

MODEL_KINDS = ("convac", "relu",
               # structured tying (tensorexpr.models.group / learned_basis / attribute); patch* are untied baselines
               "p4", "p4-relu", "learned", "learned-relu", "patch", "patch-relu", "attribute", "attribute-relu",
               "scatlinear")  # scattering + linear baseline (tensorexpr.models.scattering)
_TASKS = ("closedness", "symmetry", "digits", "teacher", "digits32")
#: Fields that may change between an interrupted run and its resumption without invalidating the checkpoint.
RUNTIME_FIELDS = ("out_dir", "progress", "device")


from ..errors import ConfigError  # noqa: F401  (re-exported: defined in errors.py)


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
        Geometry spec (``grid:32x32:square``, ``grid:8x8:mirror``, ``line:64``, ...; see :mod:`tensorexpr.specs`).
    task : {"closedness", "symmetry", "digits", "teacher"}
    widths : int or tuple
        Channels per level (``r_0..r_{L-1}``).
    representation : str
        ``one_hot`` (default; the tasks are symbol images) or ``gaussian`` / ``linear`` (float digits), or
        ``scattering:J=2,L=8[,rotinv=1]`` (float images; the geometry is the ``(H/2^J) x (W/2^J)`` grid,
        e.g. ``grid:8x8:square`` for the 32x32 ``digits32`` task).
    pooling : {"max", "avg"}
        ReLU net pooling.
    lr, betas, batch_size, epochs : training schedule (Adam; the lr drops x0.1 at ``lr_drop`` of the epochs,
        as in the authors' code).
    n_train, n_test : data sizes (blobs and teacher; digits has a fixed 1797 images; digits32 uses n_test and
        at most n_train training images).
    kernel : int
        Patch side of the patch models (p4, learned, patch).
    rotate_train, rotate_test : {"none", "90", "random"}
        Rotations of the digits32 images (:func:`tensorexpr.experiments.digits32`).
    """

    model: str = "convac"
    geometry: str = "grid:32x32:square"
    task: str = "closedness"
    widths: Any = 16
    representation: str = "one_hot"
    pooling: str = "max"
    shared: bool = True
    epochs: int = 5
    batch_size: int = 64
    lr: float = 0.003
    betas: tuple[float, float] = (0.9, 0.9)
    lr_drop: float = 0.8
    seed: int = 0
    n_train: int = 2000
    n_test: int = 500
    teacher_widths: int = 4
    kernel: int = 2
    rotate_train: str = "none"
    rotate_test: str = "none"
    out_dir: str | None = None
    progress: bool = True
    device: str | None = None

    def __post_init__(self) -> None:
        if self.model not in MODEL_KINDS:
            raise ConfigError(f"model={self.model!r} is unknown; expected one of {MODEL_KINDS}.")
        if self.task not in _TASKS:
            raise ConfigError(f"task={self.task!r} is unknown; expected one of {_TASKS}.")
        if self.pooling not in ("max", "avg"):
            raise ConfigError(f"pooling={self.pooling!r} is unknown; expected 'max' or 'avg'.")
        tree = parse_geometry(self.geometry)  # raises GeometryError on bad specs
        hw = grid_shape(self.geometry)
        if self.task in ("closedness", "symmetry") and (hw is None or hw[0] != hw[1]):
            raise ConfigError(f"The blob tasks need a square grid geometry like grid:32x32:square, got {self.geometry!r}.")
        scat = self.representation.startswith("scattering")
        if scat:
            from ..models.scattering import parse_scattering

            J = parse_scattering(self.representation).J
            if self.task not in ("digits", "digits32"):
                raise ConfigError(f"representation={self.representation!r} needs float images (task digits or digits32).")
            side = {"digits": 8, "digits32": 32}[self.task]
            if hw is None or side % 2**J or hw != (side // 2**J, side // 2**J):
                raise ConfigError(f"With {self.representation!r} on {side}x{side} images the tree is over the "
                                  f"{side // 2**J}x{side // 2**J} grid: use geometry grid:{side // 2**J}x{side // 2**J}:square, "
                                  f"got {self.geometry!r}.")
        elif self.model == "scatlinear":
            raise ConfigError("model='scatlinear' is the scattering + linear baseline; give representation='scattering:J=2,L=8'.")
        if self.task == "digits32" and not scat and (hw is None or hw[0] != hw[1] or hw[0] * (
                self.kernel if self.model in _PATCH_KINDS else 1) != 32):
            raise ConfigError(f"digits32 images are 32x32: use a square grid of 32/kernel positions for patch models "
                              f"(kernel={self.kernel}), or grid:32x32, got {self.geometry!r}.")
        if self.model in _PATCH_KINDS and self.task != "digits32" and self.kernel != 1:
            raise ConfigError(f"Task {self.task!r} gives one symbol per grid position; patch models need kernel=1 there "
                              f"(patches of kernel x kernel pixels are for digits32), got kernel={self.kernel}.")
        if self.task == "digits" and not scat and hw != (8, 8):
            raise ConfigError(f"The digits are 8x8 images; use geometry grid:8x8:square|mirror, got {self.geometry!r}.")
        if self.task not in ("digits", "digits32") and self.representation != "one_hot":
            raise ConfigError(f"Task {self.task!r} has symbol inputs; use representation='one_hot', got {self.representation!r}.")
        for name in ("epochs", "batch_size", "n_train", "n_test"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}.")
        if not (self.lr > 0 and 0 < self.lr_drop <= 1):
            raise ConfigError(f"Need lr > 0 and 0 < lr_drop <= 1, got lr={self.lr}, lr_drop={self.lr_drop}.")
        if isinstance(self.widths, list):
            object.__setattr__(self, "widths", tuple(self.widths))
        object.__setattr__(self, "betas", tuple(self.betas))
        object.__setattr__(self, "_n_modes", tree.n_modes)

    def lr_at(self, epoch: int) -> float:
        """Learning rate of ``epoch`` (0-based): ``lr``, then ``lr / 10`` from ``lr_drop * epochs`` on."""
        return self.lr * (0.1 if self.epochs > 1 and epoch >= self.lr_drop * self.epochs else 1.0)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["widths"] = list(self.widths) if isinstance(self.widths, tuple) else self.widths
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"Unknown config fields {unknown}; expected a subset of {sorted(known)}.")
        return cls(**d)

    def identity(self) -> dict[str, Any]:
        """The fields a checkpoint must agree on to be resumed."""
        return {k: v for k, v in self.to_dict().items() if k not in RUNTIME_FIELDS}

    def replace(self, **kw: Any) -> "TrainConfig":
        return replace(self, **kw)
