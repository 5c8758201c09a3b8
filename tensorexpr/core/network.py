"""The one network representation: weights on the nodes of a DAG whose sources are the modes.

CP, HT (ConvAC on a tree), generalized (ReLU), overlapping and mixed networks are all a :class:`Network`
(docs/design.md, "One network form"); family-specific code lives in constructors only. Node semantics, for template
index ``i`` and channel ``g`` (``phi`` is a tensor over the node's receptive field):

* ``leaf``   (mode ``m``):  ``phi[g] = sum_mu F[i, mu] * weight[mu, g]`` (representation then 1x1 conv);
  ``weight=None`` passes the ``M`` representation channels through.
* ``pool``:   ``phi[g] = sum_a weight[a, g] * op(phi_c[a] for children c)``, with ``op`` from the operator
  registry (product pooling = outer product over the children's disjoint or shared modes);
  ``weight=None`` is the identity (a generalized-convolution node whose maps sit on its input edges).
* ``linear``: one child, ``phi[g] = sum_a weight[a, g] * phi_c[a]`` (a per-edge map, for DAGs).
* ``sum``:    ``phi = sum_c phi_c`` (mixture nodes and the output of mixed decompositions).

A child feeding several parents (overlapping windows) makes the graph a DAG: its value is reused, which
in the tensor network is a copy (delta) hyper-edge on the reused input modes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property
from types import MappingProxyType
from typing import Any, Hashable, Mapping

import numpy as np

from tensorexpr.core.errors import NetworkError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.core.operators import Operator, get_operator
from tensorexpr.core.rational import exact_matrix, integer_entries
from tensorexpr.core.params import FIXED, Fixed, ParamSpec, Tied, check_params, digest, freeze_vector, is_immutable, materialize

__all__ = ["Node", "Network", "NODE_KINDS", "node_id", "freeze_weight"]

NODE_KINDS = ("leaf", "pool", "linear", "sum")


def _same_view(a: np.ndarray, b: np.ndarray) -> bool:
    """``a`` and ``b`` are the same elements of one buffer (same start, shape, strides and dtype)."""
    return (a.shape == b.shape and a.strides == b.strides and a.dtype == b.dtype
            and a.__array_interface__["data"][0] == b.__array_interface__["data"][0])


def freeze_weight(w: Any) -> np.ndarray | None:
    """A read-only 2-D copy of a node weight (torch tensors are detached and moved to numpy).

    Parameters
    ----------
    w : array_like, torch.Tensor or None
        The weight matrix, shape ``(in, out)``; None is the identity.

    Returns
    -------
    numpy.ndarray or None
        ``w`` itself when it is already an immutable 2-D array, else a non-writable copy; None for None.

    Raises
    ------
    NetworkError
        When ``w`` is not 2-D, or its dtype is not integer, unsigned, float or object.
    """
    if w is None:
        return None
    if isinstance(w, np.ndarray) and w.ndim == 2 and is_immutable(w):
        return w  # already frozen: no copy (ties are read from Node.param, never from identity)
    if hasattr(w, "detach"):  # torch tensor
        w = w.detach().cpu().numpy()
    a = np.array(w, copy=True)
    if a.ndim != 2:
        raise NetworkError(f"A node weight must be a 2-D matrix (in, out), got shape {a.shape}.")
    if a.dtype.kind not in "iufO":
        raise NetworkError(f"Weights must be numeric, got dtype {a.dtype}.")
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Node:
    """One node of the network graph (see the module docstring for the four kinds).

    ``param`` says how ``weight`` depends on the network's parameters (:mod:`tensorexpr.core.params`):
    :class:`~tensorexpr.core.params.Tied` (a parameter block, possibly through a fixed linear map),
    :data:`~tensorexpr.core.params.FIXED` (a constant), or ``None``, which the :class:`Network` turns into a
    free block of the node's own. A node with ``weight=None`` is a fixed identity.
    """

    id: str
    kind: str
    children: tuple[str, ...] = ()
    weight: np.ndarray | None = None
    mode: int | None = None
    param: ParamSpec = None

    def __post_init__(self) -> None:
        if self.kind not in NODE_KINDS:
            raise NetworkError(f"Node {self.id!r}: unknown kind {self.kind!r}; expected one of {NODE_KINDS}.")
        if self.param is not None and not isinstance(self.param, (Tied, Fixed)):
            raise NetworkError(
                f"Node {self.id!r}: param must be a Tied(block, basis), FIXED or None, got {self.param!r}."
            )
        if self.param is not None and self.weight is None:
            raise NetworkError(f"Node {self.id!r} has param {self.param!r} but no weight (None is the identity).")
        object.__setattr__(self, "weight", freeze_weight(self.weight))
        object.__setattr__(self, "children", tuple(self.children))
        if self.kind == "leaf":
            if self.children or self.mode is None or int(self.mode) < 0:
                raise NetworkError(f"Leaf {self.id!r} needs a non-negative mode and no children.")
            object.__setattr__(self, "mode", int(self.mode))
        else:
            if not self.children:
                raise NetworkError(f"Node {self.id!r} ({self.kind}) needs at least one child.")
            if self.kind == "linear" and (len(self.children) != 1 or self.weight is None):
                raise NetworkError(f"Linear node {self.id!r} needs exactly one child and a weight.")
            if self.kind == "sum" and self.weight is not None:
                raise NetworkError(f"Sum node {self.id!r} takes no weight.")


def node_id(modes: frozenset, prefix: str = "") -> str:
    """Readable id of a tree node: ``x3`` for a leaf, ``t0-7`` for a contiguous range, else ``t0,2,4``.

    Parameters
    ----------
    modes : frozenset of int
        The node's receptive field (non-empty).
    prefix : str, optional
        Put in front of the id.

    Returns
    -------
    str
        The id, e.g. ``x3``, ``t0-7`` or ``t0,2,4``, after ``prefix``.
    """
    s = sorted(modes)
    if len(s) == 1:
        return f"{prefix}x{s[0]}"
    if s[-1] - s[0] + 1 == len(s):  # distinct sorted ints: contiguous iff the span equals the count
        return f"{prefix}t{s[0]}-{s[-1]}"
    return f"{prefix}t" + ",".join(map(str, s))


@dataclass(frozen=True, eq=False)
class Network:
    """Weights on a network graph, with a pooling operator and a template matrix.

    Parameters
    ----------
    nodes : tuple of Node
        In topological order: every child before its parents.
    output : str
        Id of the node whose channels are the network outputs.
    M : int
        Number of representation functions (rows of leaf weights).
    op : Operator or str
        Pooling operator from :data:`tensorexpr.core.operators.OPERATORS`.
    F : array (T, M), optional
        Template matrix ``F[i, d] = f_d(x^{(i)})``; identity by default. The grid tensor has ``T`` entries
        per mode.
    integer : bool
        All weights and ``F`` are integers, so exact evaluation and prime-field ranks apply.
    tree : ModeTree, optional
        The mode tree the network was built on (None for DAGs and mixed networks).
    params : mapping str -> 1-D array
        The parameter blocks that :class:`~tensorexpr.core.params.Tied` node parametrizations name. A weighted
        node given with ``param=None`` gets a free block of its own, named by its id.
    name : str
        A label for reports only; nothing is derived from it.
    meta : mapping
        Constructor arguments, for reports only.
    """

    nodes: tuple[Node, ...]
    output: str
    M: int
    op: Operator = field(default_factory=lambda: get_operator("product"))
    F: np.ndarray | None = None
    integer: bool = False
    tree: ModeTree | None = None
    params: Mapping[str, np.ndarray] = field(default_factory=dict)
    name: str = "network"
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "op", get_operator(self.op))
        object.__setattr__(self, "nodes", tuple(self.nodes))
        if not (isinstance(self.integer, (bool, np.bool_)) or (isinstance(self.integer, (int, np.integer))
                                                             and self.integer in (0, 1))):
            raise NetworkError(f"integer must be True or False, got {self.integer!r}.")
        object.__setattr__(self, "integer", bool(self.integer))
        if self.integer:
            self._exact_entries()
        self._canonical_params()
        if isinstance(self.M, bool) or not isinstance(self.M, (int, np.integer)) or self.M < 1:
            raise NetworkError(f"M (number of representation functions) must be an integer >= 1, got {self.M!r}.")
        object.__setattr__(self, "M", int(self.M))
        F = np.eye(self.M, dtype=np.int64) if self.F is None else self.F
        if hasattr(F, "detach"):
            F = F.detach().cpu().numpy()
        F = np.array(F, copy=True)
        if F.ndim != 2 or F.shape[1] != self.M or F.shape[0] < 1:
            raise NetworkError(f"Template matrix F must have shape (T >= 1, M={self.M}), got {F.shape}.")
        if F.dtype.kind not in "iufO":
            raise NetworkError(f"Template matrix F must be numeric, got dtype {F.dtype}.")
        if F.dtype.kind == "f" and not np.isfinite(F).all():
            raise NetworkError("Template matrix F has NaN or infinite entries; templates must be finite.")
        F.setflags(write=False)
        object.__setattr__(self, "F", F)
        self._validate()

    def _exact_entries(self) -> None:
        """``integer=True``: every weight, block and ``F`` is exact (ints, or :class:`~fractions.Fraction`
        entries, exact over Q). Integral floats become ints; a non-integral float is refused, never rounded."""
        def exact(a: Any, what: str) -> Any:
            if a is None or hasattr(a, "detach"):
                return a
            arr = np.asarray(a)
            if arr.dtype.kind in "iu":
                return a
            if arr.dtype.kind == "f":
                return integer_entries(arr, what)  # raises on a non-integral float
            if arr.dtype.kind == "O":
                for x in arr.ravel():
                    if isinstance(x, (float, np.floating)) and not float(x).is_integer():
                        raise NetworkError(
                            f"{what} holds the non-integral float {x!r} but the network is declared integer=True. "
                            f"Hint: use fractions.Fraction for exact rationals, or integer=False."
                        )
                if not all(isinstance(x, (int, np.integer, Fraction, float, np.floating)) for x in arr.ravel()):
                    return a  # other exact objects (e.g. sympy symbols for a symbolic proof) pass through
                ex = exact_matrix(arr, what)
                return ex if any(isinstance(x, Fraction) for x in ex.ravel()) else integer_entries(ex, what)
            return a

        nodes = []
        for nd in self.nodes:
            if isinstance(nd, Node) and nd.weight is not None:
                w = exact(nd.weight, f"The weight of node {nd.id!r}")
                if w is not nd.weight:
                    nd = replace(nd, weight=w)
            nodes.append(nd)
        object.__setattr__(self, "nodes", tuple(nodes))
        if isinstance(self.params, Mapping):
            object.__setattr__(self, "params", {k: exact(v, f"Parameter block {k!r}") if not isinstance(v, list)
                                                else exact(np.asarray(v), f"Parameter block {k!r}")
                                                for k, v in self.params.items()})
        if self.F is not None:
            object.__setattr__(self, "F", exact(self.F, "The template matrix F"))

    def _canonical_params(self) -> None:
        """Give every weighted node without a parametrization a free block of its own, and check that every
        :class:`~tensorexpr.core.params.Tied` weight equals what its block gives."""
        params = check_params(self.params)
        nodes = []
        fresh: set[str] = set()  # blocks made here from the weight itself: nothing to check (keeps build O(N))
        for nd in self.nodes:
            if isinstance(nd, Node) and nd.weight is not None and nd.param is None:
                if nd.id in params:
                    raise NetworkError(
                        f"Node {nd.id!r} has no parametrization, and its default free block name {nd.id!r} is "
                        f"already a block in params. Hint: give the node param=Tied({nd.id!r}) explicitly."
                    )
                params[nd.id] = freeze_vector(nd.weight)
                fresh.add(nd.id)
                nd = replace(nd, param=Tied(nd.id))
            nodes.append(nd)
        checked: dict[tuple, np.ndarray] = {}  # tie key -> a weight object already found equal to its block
        for nd in nodes:
            if not isinstance(nd, Node):
                raise NetworkError(f"Network nodes must be Node objects, got {type(nd).__name__}.")
            if isinstance(nd.param, Tied) and nd.weight is not None and checked.get((nd.param.block, id(nd.param.basis))) is nd.weight:
                continue
            if isinstance(nd.param, Tied) and not (nd.param.block in fresh and nd.param.block == nd.id):
                if nd.param.block not in params:
                    raise NetworkError(
                        f"Node {nd.id!r} is tied to block {nd.param.block!r}, which is not in params "
                        f"(blocks: {sorted(params)[:8]})."
                    )
                vec = params[nd.param.block]
                if nd.param.basis is None and vec.base is nd.weight and nd.weight.flags.c_contiguous \
                        and vec.shape == (nd.weight.size,):
                    continue  # the block is this weight's own flat view (hierarchical): equal by construction
                want = materialize(nd.param, vec, nd.weight.shape)
                same = want is nd.weight or _same_view(want, nd.weight) or np.array_equal(want, nd.weight) or (
                    False if "O" in (want.dtype.kind, nd.weight.dtype.kind)
                        or want.dtype.kind in "iu" and nd.weight.dtype.kind in "iu"
                        else np.allclose(want.astype(float), nd.weight.astype(float), rtol=1e-12, atol=0.0))
                if not same:
                    raise NetworkError(
                        f"Node {nd.id!r}: its weight is not what its parametrization {nd.param!r} gives from "
                        f"params[{nd.param.block!r}]. Hint: build tied weights with Network.with_params, or "
                        f"declare the node FIXED."
                    )
                checked[(nd.param.block, id(nd.param.basis))] = nd.weight
        object.__setattr__(self, "nodes", tuple(nodes))
        object.__setattr__(self, "params", params)

    def _validate(self) -> None:
        seen: dict[str, Node] = {}
        for nd in self.nodes:
            if nd.id in seen:
                raise NetworkError(f"Duplicate node id {nd.id!r}.")
            w = nd.weight
            if isinstance(w, np.ndarray) and w.dtype.kind in "fc" and not np.isfinite(w).all():
                # a NaN weight makes every rank and bound downstream a silent wrong number (SVD of NaN, GF(p) of
                # garbage); refuse it where the network is made
                bad = w[~np.isfinite(w)].ravel()[0]
                raise NetworkError(f"The weight of node {nd.id!r} holds {int((~np.isfinite(w)).sum())} NaN or "
                                   f"infinite entries (e.g. {bad!r}); expected finite numbers. Hint: check the "
                                   f"weights you passed (or the trained model's parameters).")
            for c in nd.children:
                if c not in seen:
                    raise NetworkError(
                        f"Node {nd.id!r} has child {c!r} that is not defined before it; nodes must be in "
                        f"topological order (children first)."
                    )
            seen[nd.id] = nd
        if self.output not in seen:
            raise NetworkError(f"Output node {self.output!r} is not in the network.")
        widths: dict[str, int] = {}
        for nd in self.nodes:
            if nd.kind == "leaf":
                if nd.weight is not None and nd.weight.shape[0] != self.M:
                    raise NetworkError(
                        f"Leaf {nd.id!r} weight has {nd.weight.shape[0]} rows but M={self.M}: the 1x1 conv maps "
                        f"the M representation channels; widths mismatch."
                    )
                widths[nd.id] = self.M if nd.weight is None else nd.weight.shape[1]
                continue
            cw = {c: widths[c] for c in nd.children}
            if len(set(cw.values())) != 1:
                raise NetworkError(
                    f"Children of node {nd.id!r} have mismatched widths {cw}; pooling shares one channel index, "
                    f"so siblings need equal widths."
                )
            r_in = next(iter(cw.values()))
            if nd.weight is not None and nd.weight.shape[0] != r_in:
                raise NetworkError(
                    f"Node {nd.id!r} weight has {nd.weight.shape[0]} input rows but its children have width {r_in}."
                )
            widths[nd.id] = r_in if nd.weight is None else nd.weight.shape[1]
        object.__setattr__(self, "_widths", widths)
        out_modes = self.modes[self.output]
        n = max(out_modes) + 1 if out_modes else 0
        if out_modes != frozenset(range(n)):
            raise NetworkError(f"The output node sees modes {sorted(out_modes)[:10]}..., not all of 0..{n - 1}.")
        if self.integer:
            for nd in self.nodes:
                if nd.weight is not None and nd.weight.dtype.kind not in "iO":
                    raise NetworkError(f"integer=True but node {nd.id!r} has {nd.weight.dtype} weights.")
            for b, v in self.params.items():
                if v.dtype.kind not in "iO":
                    raise NetworkError(f"integer=True but parameter block {b!r} has dtype {v.dtype}.")
            if self.F.dtype.kind not in "iO":
                raise NetworkError(f"integer=True but F has dtype {self.F.dtype}; pass an integer F.")

    # -- structure ------------------------------------------------------------------------------------
    @cached_property
    def by_id(self) -> dict[str, Node]:
        """Node id to node."""
        return {nd.id: nd for nd in self.nodes}

    def node(self, node_id: str) -> Node:
        """The node with id ``node_id``.

        Parameters
        ----------
        node_id : str
            A node id.

        Returns
        -------
        Node

        Raises
        ------
        NetworkError
            When the network has no node of that id.
        """
        try:
            return self.by_id[node_id]
        except KeyError:
            raise NetworkError(f"No node {node_id!r} in {self.name}.") from None

    @cached_property
    def modes(self) -> dict[str, frozenset]:
        """Receptive field (set of input modes) of every node."""
        out: dict[str, frozenset] = {}
        for nd in self.nodes:
            out[nd.id] = frozenset({nd.mode}) if nd.kind == "leaf" else frozenset().union(*(out[c] for c in nd.children))
        return out

    @cached_property
    def widths(self) -> Mapping[str, int]:
        """Output channel count of every node (a read-only mapping, built once)."""
        return MappingProxyType(self._widths)  # type: ignore[attr-defined]

    @cached_property
    def parents(self) -> dict[str, tuple[str, ...]]:
        """Node id to the ids of the nodes that read it (several in a DAG)."""
        par: dict[str, list[str]] = {nd.id: [] for nd in self.nodes}
        for nd in self.nodes:
            for c in nd.children:
                par[c].append(nd.id)
        return {k: tuple(v) for k, v in par.items()}

    @property
    def n_modes(self) -> int:
        """Number of input modes ``N`` (the modes of the output node)."""
        return len(self.modes[self.output])

    @property
    def n_templates(self) -> int:
        """Number of templates ``M`` (rows of ``F``): the dimension of every mode."""
        return int(self.F.shape[0])

    @property
    def outputs(self) -> int:
        """Channels of the output node (classes)."""
        return self._widths[self.output]  # type: ignore[attr-defined]

    @cached_property
    def live_nodes(self) -> tuple[Node, ...]:
        """Nodes the output depends on, in topological order."""
        need = {self.output}
        for nd in reversed(self.nodes):
            if nd.id in need:
                need.update(nd.children)
        return tuple(nd for nd in self.nodes if nd.id in need)

    @cached_property
    def contraction_plans(self) -> dict[Hashable, Any]:
        """Contraction plans of this network's einsum, keyed by ``(equation, shapes)``.

        The network owns them (it is frozen, so a plan stays valid for its life) instead of a module-level
        cache; :mod:`tensorexpr.evaluate.grid` fills the dict on first use (docs/design.md, "The analysis plan").
        """
        return {}

    @cached_property
    def is_tree(self) -> bool:
        """True when no node feeds two parents and no sum node appears (a plain HT/CP network)."""
        uses: dict[str, int] = {}
        for nd in self.live_nodes:
            if nd.kind == "sum":
                return False
            for c in nd.children:
                if c in uses:  # a second live parent
                    return False
                uses[c] = 1
        return True

    @cached_property
    def levels(self) -> dict[str, int]:
        """Node id to its depth above the leaves (leaves 0, a node one more than its deepest child)."""
        lv: dict[str, int] = {}
        for nd in self.nodes:
            lv[nd.id] = 0 if nd.kind == "leaf" else 1 + max(lv[c] for c in nd.children)
        return lv

    # -- parametrization ------------------------------------------------------------------------------
    @cached_property
    def block_users(self) -> dict[str, tuple[str, ...]]:
        """Live nodes that use each parameter block (blocks no live node uses are left out)."""
        users: dict[str, list[str]] = {}
        for nd in self.live_nodes:
            if isinstance(nd.param, Tied):
                users.setdefault(nd.param.block, []).append(nd.id)
        return {b: tuple(u) for b, u in users.items()}

    def weight_kind(self, node_id: str) -> str:
        """``"free"``, ``"tied"``, ``"fixed"`` or ``"identity"`` (``weight=None``), read from the parametrization.

        A block used by one node through the identity map is free; by several nodes, or through a fixed
        non-identity map, it is tied.

        Parameters
        ----------
        node_id : str
            A node id.

        Returns
        -------
        str
            One of ``"free"``, ``"tied"``, ``"fixed"``, ``"identity"``.

        Raises
        ------
        NetworkError
            When the network has no node of that id.
        """
        kinds = self._weight_kinds
        if node_id not in kinds:
            self.node(node_id)  # raises the library's error for an unknown id
        return kinds[node_id]

    @cached_property
    def _weight_kinds(self) -> dict[str, str]:
        users = self.block_users
        out: dict[str, str] = {}
        for nd in self.nodes:
            if nd.weight is None:
                out[nd.id] = "identity"
            elif isinstance(nd.param, Fixed):
                out[nd.id] = "fixed"
            else:
                p = nd.param
                assert isinstance(p, Tied)
                out[nd.id] = "free" if p.basis is None and len(users.get(p.block, ())) <= 1 else "tied"
        return out

    def tie_key(self, node_id: str) -> tuple:
        """A hashable key; equal keys mean equal weights for *every* parameter value (same block and map, or
        the same constant).

        Parameters
        ----------
        node_id : str
            A node id.

        Returns
        -------
        tuple
            ``("identity",)``, ``("fixed", digest)`` or the :class:`~tensorexpr.core.params.Tied` key (block and map).

        Raises
        ------
        NetworkError
            When the network has no node of that id.
        """
        nd = self.node(node_id)
        if nd.weight is None:
            return ("identity",)
        if isinstance(nd.param, Fixed):
            return ("fixed", digest(nd.weight))
        return nd.param.key  # type: ignore[union-attr]

    @cached_property
    def all_free(self) -> bool:
        """Every live weight is its own free block (the assumption of the untied bounds)."""
        return all(self.weight_kind(nd.id) == "free" for nd in self.live_nodes if nd.kind != "sum")

    @cached_property
    def is_tied(self) -> bool:
        """Some live weight is tied (a block used by several nodes or through a fixed map)."""
        return any(self.weight_kind(nd.id) == "tied" for nd in self.live_nodes if nd.weight is not None)

    @property
    def n_params(self) -> int:
        """Number of free parameters: the sizes of the blocks that live nodes use (constants excluded)."""
        return int(sum(self.params[b].size for b in self.block_users))

    def parametrization(self) -> dict[str, Any]:
        """Summary of the parametrization: node counts per weight kind, tied groups and free-parameter count.

        Returns
        -------
        dict
            ``n_free_params``, ``blocks`` (blocks live nodes use), ``nodes_by_kind`` (live non-sum nodes per weight
            kind) and ``tied_blocks`` (block -> number of users, for blocks used by several nodes or through a map);
            a fresh copy each call.
        """
        p = self._parametrization
        return {**p, "nodes_by_kind": dict(p["nodes_by_kind"]), "tied_blocks": dict(p["tied_blocks"])}

    @cached_property
    def _parametrization(self) -> dict[str, Any]:
        kinds = {k: 0 for k in ("free", "tied", "fixed", "identity")}
        for nd in self.live_nodes:
            if nd.kind != "sum":
                kinds[self.weight_kind(nd.id)] += 1
        tied = {b: list(u) for b, u in self.block_users.items()
                if len(u) > 1 or any(self.node(i).param.basis is not None for i in u)}  # type: ignore[union-attr]
        return {"n_free_params": self.n_params, "blocks": len(self.block_users), "nodes_by_kind": kinds,
                "tied_blocks": {b: len(u) for b, u in tied.items()}}

    def with_params(self, params: Mapping[str, Any], F: Any = None, integer: bool | None = None,
                    name: str | None = None) -> "Network":
        """The same architecture at other parameter values: every tied or free weight is recomputed from its
        block; fixed weights and identities stay. Blocks not given keep their values.

        Parameters
        ----------
        params : mapping of str to array_like
            New values of some parameter blocks, each of the block's size.
        F : array_like, optional
            A new template matrix ``(T, M)``; the current one by default.
        integer : bool, optional
            Whether the new network is integer; the current flag by default.
        name : str, optional
            A new label; the current one by default.

        Returns
        -------
        Network
            A new network; ``self`` is unchanged.

        Raises
        ------
        NetworkError
            When a key is not a parameter block, a value has the wrong size, or the rebuilt network fails the
            :class:`Network` checks (e.g. ``integer=True`` with float values).
        """
        new = dict(self.params)
        for b, v in params.items():
            if b not in new:
                raise NetworkError(f"with_params: {b!r} is not a parameter block of {self.name}.")
            v = freeze_vector(v)
            if v.size != new[b].size:
                raise NetworkError(f"with_params: block {b!r} has {new[b].size} parameters, got {v.size}.")
            new[b] = v
        nodes = []
        for nd in self.nodes:
            if isinstance(nd.param, Tied):
                w = materialize(nd.param, new[nd.param.block], nd.weight.shape)
                nd = replace(nd, weight=w)
            nodes.append(nd)
        F = self.F if F is None else F
        integer = self.integer if integer is None else integer
        return replace(self, nodes=tuple(nodes), params=new, F=F, integer=integer, name=name or self.name)

    def with_F(self, F: Any) -> "Network":
        """Same weights with another template matrix (``F`` of shape ``(T, M)``).

        Parameters
        ----------
        F : array_like
            The new template matrix, shape ``(T, M)``.

        Returns
        -------
        Network
            A new network, integer only when ``self`` is and ``F`` has an integer or object dtype.

        Raises
        ------
        NetworkError
            When ``F`` does not have shape ``(T >= 1, M)``.
        """
        F = np.asarray(F)
        return replace(self, F=F, integer=self.integer and F.dtype.kind in "iO")

    def output_slice(self, output: int) -> "Network":
        """The network restricted to one output channel (a one-column ``linear`` head on weightless outputs).

        Parameters
        ----------
        output : int
            The output channel, ``0 <= output < self.outputs``.

        Returns
        -------
        Network
            A network with one output: the root's weight cut to column ``output`` (a constant slice, or a free
            weight when the root's was free), or a fixed 0/1 ``linear`` head when the root has no weight.

        Raises
        ------
        NetworkError
            When ``output`` is not a valid channel index.
        """
        from tensorexpr.core.validation import check_output

        output = check_output(output, self.outputs)
        nd = self.node(self.output)
        if nd.weight is not None:
            # the column is a constant slice of the head's parametrization
            new = Node(nd.id, nd.kind, nd.children, nd.weight[:, output : output + 1], nd.mode, FIXED)
            if self.weight_kind(nd.id) == "free":
                new = Node(nd.id, nd.kind, nd.children, new.weight, nd.mode, None)
                params = {b: v for b, v in self.params.items() if b != nd.param.block}  # type: ignore[union-attr]
                return replace(self, nodes=tuple(new if x.id == nd.id else x for x in self.nodes), params=params)
            return replace(self, nodes=tuple(new if x.id == nd.id else x for x in self.nodes))
        pick = np.zeros((self.outputs, 1), dtype=np.int64)
        pick[output, 0] = 1
        head = Node(f"{nd.id}#out{output}", "linear", (nd.id,), pick, param=FIXED)
        return replace(self, nodes=self.nodes + (head,), output=head.id)

    def __repr__(self) -> str:
        kinds = {k: sum(nd.kind == k for nd in self.live_nodes) for k in NODE_KINDS}
        kinds_s = ", ".join(f"{k}={v}" for k, v in kinds.items() if v)
        pz = self.parametrization()["nodes_by_kind"]
        extra = ", ".join(f"{k}={pz[k]}" for k in ("tied", "fixed") if pz[k])
        return (
            f"Network({self.name}, n_modes={self.n_modes}, M={self.M}, op={self.op.name}, outputs={self.outputs}, "
            f"{kinds_s}, params={self.n_params}{', weights: ' + extra if extra else ''}"
            f"{', integer' if self.integer else ''}{'' if self.is_tree else ', DAG'})"
        )

    def to_dict(self) -> dict[str, Any]:
        """Structure and parametrization, for ``--json`` (weights themselves are left out).

        Returns
        -------
        dict
            ``name``, ``n_modes``, ``M``, ``op``, ``outputs``, ``n_templates``, ``integer``, ``is_tree``, live node
            counts per kind and :meth:`parametrization`, with counts JSON-safe (:func:`~tensorexpr.core.numbers.encode_counts`).
        """
        from tensorexpr.core.numbers import encode_counts

        return encode_counts({"name": self.name, "n_modes": self.n_modes, "M": self.M, "op": self.op.name,
                "outputs": self.outputs, "n_templates": self.n_templates, "integer": self.integer,
                "is_tree": self.is_tree,
                "nodes": {k: sum(nd.kind == k for nd in self.live_nodes) for k in NODE_KINDS},
                "parametrization": self.parametrization()})
