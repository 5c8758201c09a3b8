"""Network specs: one frozen, validated value that names a whole architecture and builds it.

A :class:`NetworkSpec` is what the CLI flags, a sweep TOML table and the API all turn into before anything is
built, so one bad spec gives one error class and message from every entry point (docs/design.md, "The spec
parser"). Its one-line text form round-trips through :meth:`NetworkSpec.parse`::

    convac grid:8x8:square M=2 widths=16 tied=conv seed=0
    convac grid:6x6:square:3,2 M=2 widths=2,4 seed=1
    p4 grid:4x4:square M=1 widths=2 kernel=2 seed=0
    attribute grid:4x4:square M=2 widths=3 support=2 seed=0
    overlapping line:8 M=2 layers=3,1,2;2,2,2 seed=0
    mixed dilated:8:contiguous M=4 widths=4 mix_with=dilated:8:reversed seed=0

The first word is the constructor, the second the geometry (:func:`tensorexpr.core.specs.parse_geometry`), the
rest ``key=value`` fields without spaces. Partition specs are :class:`tensorexpr.core.specs.PartitionSpec`
(re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

from tensorexpr.core.errors import NetworkError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.core.network import Network
from tensorexpr.core.operators import OPERATORS
from tensorexpr.core.specs import PartitionSpec, check_geometry, grid_shape, parse_geometry, parse_partitions, parse_widths

__all__ = ["NetworkSpec", "PartitionSpec", "CONSTRUCTORS", "parse_partitions"]

_COMMON = frozenset({"geometry", "M", "outputs", "seed", "integer"})

#: The constructors a spec can name, each with the fields that apply to it (the others must keep their defaults).
CONSTRUCTORS: Mapping[str, frozenset[str]] = {
    "convac": _COMMON | {"widths", "op", "tied"},
    "p4": _COMMON | {"widths", "op", "kernel"},
    "attribute": _COMMON | {"widths", "op", "support", "padding", "keep"},
    "overlapping": _COMMON | {"layers", "tied"},
    "mixed": _COMMON | {"widths", "mix_with", "mix_nodes", "convention"},
}

_TIED = ("none", "conv")
_PADDINGS = ("periodic", "zero")
_CONVENTIONS = ("swap", "sum")
_INT_FIELDS = ("M", "outputs", "kernel", "keep")


def _as_int(name: str, value: Any, low: int) -> int:
    """``value`` as an int ``>= low``; decimal strings (the text form) are accepted."""
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise NetworkError(f"Network spec field {name} must be an integer >= {low}, got {value!r}. "
                           f"Hint: {name}={max(low, 2)}.")
    return int(value)


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "false", "0", "no"):
        return value.strip().lower() in ("true", "1", "yes")
    if not isinstance(value, bool):
        raise NetworkError(f"Network spec field {name} must be true or false, got {value!r}. Hint: {name}=true.")
    return value


def _choice(name: str, value: Any, options: tuple[str, ...] | list[str]) -> str:
    if value not in options:
        raise NetworkError(f"Network spec field {name}={value!r} is unknown; expected one of {list(options)}.")
    return str(value)


def _layers(value: Any) -> tuple[tuple[int, int, int], ...]:
    """Overlapping layers ``window,stride,width;...`` (text) or a sequence of triples."""
    try:
        if isinstance(value, str):
            items = [tuple(int(x) for x in item.split(",")) for item in value.split(";") if item.strip()]
        else:
            items = [tuple(int(x) for x in t) for t in value]
    except (TypeError, ValueError):
        items = []
    if not items or any(len(t) != 3 or min(t) < 1 for t in items):
        raise NetworkError(f"layers must be 'window,stride,width;...' with positive integers, got {value!r}. "
                           f"Hint: layers=2,1,2;2,2,2 (CLI: --layers '2,1,2;2,2,2').")
    return tuple(items)  # type: ignore[return-value]


def _mix_nodes(value: Any) -> str:
    """Mixture nodes as canonical text: ``none``, ``leaves`` or mode sets ``0,1;2,3``."""
    if value in ("none", "leaves"):
        return str(value)
    try:
        if isinstance(value, str):
            sets = [[int(x) for x in item.split(",")] for item in value.split(";") if item.strip()]
        else:
            sets = [[int(x) for x in s] for s in value]
    except (TypeError, ValueError):
        raise NetworkError(f"mix_nodes must be 'none', 'leaves' or mode sets like '0,1;2,3', got {value!r}. "
                           f"Hint: mix_nodes=0,1;2,3 (CLI: --mix-nodes '0,1;2,3').") from None
    return ";".join(",".join(map(str, s)) for s in sets) if sets else "none"


def _format_widths(widths: int | tuple[int, ...]) -> str:
    # a one-level tuple keeps its comma so that the text form parses back to a tuple, not an int
    return str(widths) if isinstance(widths, int) else ",".join(map(str, widths)) + ("," if len(widths) == 1 else "")


@dataclass(frozen=True)
class NetworkSpec:
    """A whole architecture by name: constructor, geometry, widths, operator, ties, seed, family options.

    Parameters
    ----------
    constructor : {"convac", "p4", "attribute", "overlapping", "mixed"}
        :func:`~tensorexpr.build.convac.convac`, :func:`~tensorexpr.build.p4.group_convac`,
        :func:`~tensorexpr.build.attribute.attribute_convac`, :func:`~tensorexpr.build.overlapping.overlapping`
        or :func:`~tensorexpr.build.mixed.mixed`.
    geometry : str
        A geometry spec (``grid:8x8:square``, ``grid:6x6:square:3,2``, ``line:16``, ...); overlapping networks take
        ``line:N`` or ``grid:HxW`` (the input, not a tree).
    M : int
        Representation functions per position.
    widths : int or tuple of int
        Channels per level (``r_0..r_{L-1}``); attribute sizes for ``attribute``.
    outputs : int
        Output channels of the root.
    op : str
        Pooling operator, a key of :data:`tensorexpr.core.operators.OPERATORS`.
    tied : {"none", "conv"}
        ``conv`` ties the weights of each level (a convolution; ``shared=True``).
    seed : int
        Seed of the random weights (>= 0).
    integer : bool
        Integer weights (exact ranks) instead of floats.
    layers : tuple of (window, stride, width), optional
        Overlapping networks: the GC layers.
    mix_with : str, optional
        Mixed networks: the second geometry.
    mix_nodes : str
        Mixed networks: ``none`` (the plain sum), ``leaves`` (sum convention) or mode sets ``0,1;2,3``.
    convention : {"swap", "sum"}
        Mixed networks: the paper's channel swap at mixture nodes, or a summation.
    kernel : int
        p4 networks: the patch side.
    support : int, optional
        Attribute networks: the kernel support along attributes.
    padding : {"periodic", "zero"}
        Attribute networks: the padding.
    keep : int
        Attribute networks: attributes kept per level.

    Raises
    ------
    NetworkError
        On an unknown constructor or field value, a field that does not apply to the constructor, widths that are not
        positive integers, or a missing required field (``layers``, ``mix_with``).
    GeometryError
        On a bad geometry spec.

    Examples
    --------
    >>> spec = NetworkSpec.parse("convac grid:4x4:square M=2 widths=3 tied=conv seed=0")
    >>> str(spec)
    'convac grid:4x4:square M=2 widths=3 tied=conv seed=0'
    >>> spec.build().n_modes
    16
    """

    constructor: str
    geometry: str
    M: int = 2
    widths: int | tuple[int, ...] = 2
    outputs: int = 1
    op: str = "product"
    tied: str = "none"
    seed: int = 0
    integer: bool = False
    layers: tuple[tuple[int, int, int], ...] | None = None
    mix_with: str | None = None
    mix_nodes: str = "none"
    convention: str = "swap"
    kernel: int = 2
    support: int | None = None
    padding: str = "periodic"
    keep: int = 3

    def __post_init__(self) -> None:
        allowed = CONSTRUCTORS.get(self.constructor)
        if allowed is None:
            raise NetworkError(f"Unknown network constructor {self.constructor!r}; expected one of "
                               f"{list(CONSTRUCTORS)}. Hint: convac grid:8x8:square M=2 widths=16.")
        self._normalize()
        defaults = {f.name: f.default for f in fields(self)}
        for name in sorted(set(defaults) - allowed - {"constructor"}):
            if getattr(self, name) != defaults[name]:
                raise NetworkError(f"Network spec field {name}={getattr(self, name)!r} does not apply to a "
                                   f"{self.constructor} network; its fields are {sorted(allowed)}.")
        self._check_geometry()

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)  # normalizing a frozen value once, in __post_init__

    def _normalize(self) -> None:
        if not isinstance(self.geometry, str):
            raise NetworkError(f"Network spec field geometry must be a geometry spec string, got {self.geometry!r}. "
                               f"Hint: geometry=grid:8x8:square.")
        self._set("geometry", "".join(self.geometry.split()))  # no spec has meaningful spaces
        for name in _INT_FIELDS:
            self._set(name, _as_int(name, getattr(self, name), 1))
        self._set("seed", _as_int("seed", self.seed, 0))
        self._set("integer", _as_bool("integer", self.integer))
        self._set("widths", parse_widths(self.widths))
        self._set("op", _choice("op", self.op, sorted(OPERATORS)))
        self._set("tied", _choice("tied", self.tied, _TIED))
        self._set("padding", _choice("padding", self.padding, _PADDINGS))
        self._set("convention", _choice("convention", self.convention, _CONVENTIONS))
        self._set("mix_nodes", _mix_nodes(self.mix_nodes))
        if self.support is not None and self.support != "none":
            self._set("support", _as_int("support", self.support, 1))
        else:
            self._set("support", None)
        if self.layers is not None:
            self._set("layers", _layers(self.layers))
        if self.mix_with is not None:
            self._set("mix_with", "".join(str(self.mix_with).split()))

    def _check_geometry(self) -> None:
        if self.constructor == "overlapping":
            if self.layers is None:
                raise NetworkError("An overlapping network needs layers 'window,stride,width;...'. "
                                   "Hint: layers=2,1,2;2,2,2.")
            self.input_size()
            return
        check_geometry(self.geometry)  # raises GeometryError on a bad spec, before anything is built
        if self.constructor == "mixed":
            if self.mix_with is None:
                raise NetworkError("A mixed network needs mix_with GEOMETRY (the second tree). Hint: "
                                   "mixed dilated:8:contiguous mix_with=dilated:8:reversed "
                                   "(CLI: --mix-with dilated:8:reversed).")
            check_geometry(self.mix_with)

    # -- text and mapping forms ------------------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str) -> "NetworkSpec":
        """Parse the one-line form ``CONSTRUCTOR GEOMETRY key=value ...`` (see the module docstring).

        Parameters
        ----------
        text : str
            The spec; ``geometry=...`` may replace the second word.

        Returns
        -------
        NetworkSpec

        Raises
        ------
        NetworkError
            On a malformed line, an unknown or repeated field, or an invalid value (see the class).
        GeometryError
            On a bad geometry spec.
        """
        if not isinstance(text, str) or not text.split():
            raise NetworkError(f"A network spec is a line like 'convac grid:8x8:square M=2 widths=16', got {text!r}.")
        words = text.split()
        d: dict[str, Any] = {}
        if "=" not in words[0]:
            d["constructor"] = words.pop(0)
        if words and "=" not in words[0]:
            d["geometry"] = words.pop(0)
        for w in words:
            key, sep, value = w.partition("=")
            if not sep or not key:
                raise NetworkError(f"Network spec word {w!r} is not key=value (in {text!r}). Hint: fields are "
                                   f"written without spaces, e.g. widths=2,4,8.")
            if key in d:
                raise NetworkError(f"Network spec field {key} is given twice in {text!r}.")
            d[key] = value
        return cls.from_mapping(d)

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any]) -> "NetworkSpec":
        """A spec from a dict or TOML table of fields (``shared = true`` is accepted for ``tied = "conv"``).

        Parameters
        ----------
        d : mapping
            Field names of the class (``constructor`` defaults to ``convac``); values as Python values or text.

        Returns
        -------
        NetworkSpec

        Raises
        ------
        NetworkError
            On an unknown field, ``shared`` and ``tied`` both given, or an invalid value.
        GeometryError
            On a bad geometry spec.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known - {"shared"})
        if unknown:
            raise NetworkError(f"Unknown network spec fields {unknown}; expected a subset of {sorted(known)} "
                               f"(or shared for tied).")
        kw = dict(d)
        if "shared" in kw:
            if "tied" in kw:
                raise NetworkError("Give tied or shared, not both (shared=true is tied=conv).")
            kw["tied"] = "conv" if _as_bool("shared", kw.pop("shared")) else "none"
        if "geometry" not in kw:
            raise NetworkError("A network spec needs a geometry (e.g. grid:8x8:square or geometry=line:16).")
        kw.setdefault("constructor", "convac")
        return cls(**kw)

    def to_dict(self) -> dict[str, Any]:
        """The fields that differ from their defaults (plus constructor and geometry), JSON-ready.

        Returns
        -------
        dict
            ``constructor``, ``geometry`` and every other field not at its default (tuples as lists).
        """
        out: dict[str, Any] = {"constructor": self.constructor, "geometry": self.geometry}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name not in out and v != f.default:
                out[f.name] = [list(t) for t in v] if f.name == "layers" else list(v) if isinstance(v, tuple) else v
        return out

    def __str__(self) -> str:
        allowed = CONSTRUCTORS[self.constructor]
        words = [self.constructor, self.geometry, f"M={self.M}"]
        if "widths" in allowed:
            words.append(f"widths={_format_widths(self.widths)}")
        for f in fields(self):
            name, v = f.name, getattr(self, f.name)
            if name in ("constructor", "geometry", "M", "widths", "seed") or v == f.default:
                continue
            if name == "layers":
                v = ";".join(",".join(map(str, t)) for t in v)
            elif name == "integer":
                v = "true"
            words.append(f"{name}={v}")
        return " ".join([*words, f"seed={self.seed}"])

    # -- building --------------------------------------------------------------------------------------------
    @property
    def shared(self) -> bool:
        """Whether the weights of each level are tied (``tied="conv"``)."""
        return self.tied == "conv"

    @property
    def shape(self) -> tuple[int, int] | None:
        """The grid ``(h, w)`` of a ``grid:HxW...`` geometry, else None."""
        return grid_shape(self.geometry)

    def input_size(self) -> int | tuple[int, int]:
        """The input of an overlapping network: ``N`` for ``line:N``, ``(h, w)`` for ``grid:HxW``.

        Returns
        -------
        int or tuple of (int, int)

        Raises
        ------
        NetworkError
            When the geometry is neither ``line:N`` nor ``grid:HxW``.
        GeometryError
            When the shape of a ``grid`` geometry is not integers.
        """
        shape = self.shape
        if shape is not None:
            return shape
        parts = self.geometry.split(":")
        if parts[0] == "line" and len(parts) == 2 and parts[1].isdigit() and int(parts[1]) > 0:
            return int(parts[1])
        raise NetworkError(f"An overlapping network needs geometry line:N or grid:HxW, got {self.geometry!r}.")

    def tree(self) -> ModeTree | None:
        """The mode tree of the geometry (None for overlapping networks, which have no tree).

        Returns
        -------
        ModeTree or None

        Raises
        ------
        GeometryError
            When the geometry spec is invalid (see :func:`~tensorexpr.core.specs.parse_geometry`).
        """
        return None if self.constructor == "overlapping" else parse_geometry(self.geometry)

    def build(self) -> Network:
        """Build the network.

        Returns
        -------
        Network

        Raises
        ------
        NetworkError, GeometryError
            From the constructor, when the fields do not fit one another (e.g. widths for another depth).
        """
        from tensorexpr.build.attribute import attribute_convac
        from tensorexpr.build.convac import convac
        from tensorexpr.build.mixed import mixed
        from tensorexpr.build.overlapping import overlapping
        from tensorexpr.build.p4 import group_convac

        # constructors record widths in their meta; a list keeps that record as the CLI always wrote it
        widths: Any = self.widths if isinstance(self.widths, int) else list(self.widths)
        common = dict(outputs=self.outputs, seed=self.seed, integer=self.integer)
        if self.constructor == "overlapping":
            return overlapping(self.input_size(), list(self.layers or ()), self.M, shared=self.shared, **common)
        tree = parse_geometry(self.geometry)
        if self.constructor == "mixed":
            if self.mix_nodes == "none":
                nodes: list = []
            elif self.mix_nodes == "leaves":
                nodes = [[m] for m in range(tree.n_modes)]
            else:
                nodes = [[int(x) for x in item.split(",")] for item in self.mix_nodes.split(";")]
            return mixed(tree, parse_geometry(str(self.mix_with)), nodes, self.M, widths,
                         convention=self.convention, **common)
        if self.constructor == "p4":
            return group_convac(tree, self.M, widths, kernel=self.kernel, op=self.op, **common)
        if self.constructor == "attribute":
            return attribute_convac(tree, self.M, widths, support=self.support, padding=self.padding,
                                    keep=self.keep, op=self.op, **common)
        return convac(tree, self.M, widths, shared=self.shared, op=self.op, **common)

    def partitions(self, specs: str | Any, n_modes: int | None = None) -> list:
        """The partitions ``specs`` names on this network's modes (2-D families on a grid geometry).

        Parameters
        ----------
        specs : str or iterable of str
            Partition specs (:func:`tensorexpr.core.specs.parse_partitions`).
        n_modes : int, optional
            The number of modes, when known (saves building the tree).

        Returns
        -------
        list of Partition
        """
        if n_modes is None:
            tree = self.tree()
            size = self.input_size() if tree is None else tree.n_modes
            n_modes = size if isinstance(size, int) else size[0] * size[1]
        return parse_partitions(specs, n_modes, self.shape)
