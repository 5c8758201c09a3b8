"""``te.from_torch``: a convolutional network written in torch, traced with ``torch.fx`` into the one
:class:`~tensorexpr.Network` form (docs/torch.md).

The traced network's grid tensor is the module evaluated on every image made of templates: mode
``m = h * W + w`` is pixel ``(h, w)``, and grid entry ``(i_0, ..., i_{N-1})`` is the module's output on the image
whose pixel ``m`` is ``templates[i_m]``. How each layer becomes nodes:

* the input: one ``leaf`` per pixel; the template matrix is ``F = [phi(templates), 1]``, ``phi`` the identity
  or a leading :class:`~tensorexpr.nn.Representation`, and the extra constant column carries biases;
* ``Conv2d`` (any kernel, stride, zero padding, dilation, groups, bias): per output position one ``linear``
  node per in-range kernel offset (zero padding drops the offsets that fall outside), their ``sum``, plus a
  ``linear`` node on the constant column for the bias. The weight of an offset is one parameter block tied
  across positions (groups: through a fixed block-diagonal map), so the parametrization is the convolution's;
* ``ZeroPad2d`` / ``ConstantPad2d(0)`` directly before a ``Conv2d`` (asymmetric "same" padding of an even
  kernel): the padded positions are zeros, whose taps the convolution drops;
* ``AvgPool2d``: the same with fixed weights ``I / divisor``; ``Linear`` after ``Flatten``: one free block
  per position, summed;
* ``P4Conv2d`` (:mod:`tensorexpr.nn.group`): as ``Conv2d`` with one block for the whole base filter (rot90 moves
  weights between offsets), each offset's weight a fixed 0/1 map of it; ``LearnedBasisConv2d`` the same nodes
  with FIXED weights; ``OrientationPool("mean")`` a fixed linear node per position;
* ``ProductPool2d``: a ``pool`` node over the window (the product operator); ``ReLU``: a one-child ``pool``
  node and ``MaxPool2d`` (after a ReLU) a ``pool`` node over the window, with the ``relu-max`` operator
  ``g(a, ...) = relu(max(a, ...))``, which is ``relu`` for one child and ``max`` of non-negative inputs.

Overlapping windows make a DAG; sums over offsets are ``sum`` nodes, which the bounds that need a tree or a
single tensor network (min-cut, geometry, specialization) decline, so a traced standard CNN is certified by
the matrix-shape bound and the exact ranks of integer instances (which keep the ties). Anything else raises
:class:`~tensorexpr.core.errors.NetworkError` naming the module and its position in the graph.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from tensorexpr.core.errors import NetworkError
from tensorexpr.core.network import Network, Node
from tensorexpr.core.operators import get_operator
from tensorexpr.core.params import FIXED, Tied
from tensorexpr.nn.group import LearnedBasisConv2d, OrientationPool, P4Conv2d
from tensorexpr.nn.hybrid import AttributeConv2d, FrontEnd
from tensorexpr.nn.modules import ProductPool2d, Representation
from tensorexpr.nn.rearrange import Rearrange

__all__ = ["from_torch", "SUPPORTED_MODULES"]

#: The torch modules the tracer reads (plus ``torch.flatten`` / ``Tensor.flatten`` / ``torch.relu`` calls).
SUPPORTED_MODULES = (nn.Conv2d, nn.AvgPool2d, nn.MaxPool2d, nn.ReLU, nn.Identity, nn.Flatten, nn.Linear,
                     ProductPool2d, Representation, FrontEnd, AttributeConv2d, Rearrange,
                     P4Conv2d, LearnedBasisConv2d, OrientationPool, nn.ZeroPad2d, nn.ConstantPad2d)


@dataclass
class _Map:
    """A traced feature map: network node ids per position, their channel count, and what is known of them."""

    ids: np.ndarray  # (h, w) of node ids
    channels: int  # channels every node outputs (+1 when ``const``)
    const: bool  # each node outputs a trailing constant-1 channel (leaves, products of leaves)
    nonneg: bool  # every value is >= 0 (after a ReLU)
    flat: bool = False  # after Flatten: torch index c * h * w + i * w + j
    rep_mode: np.ndarray | None = None  # a mode inside each position's receptive field
    padded: bool = False  # after zero padding: ids is None (a zero) at the padded positions; only a Conv2d reads it


class _Builder:
    def __init__(self, net_name: str, F: np.ndarray) -> None:
        self.nodes: list[Node] = []
        self.params: dict[str, np.ndarray] = {}
        self.weights: dict[str, np.ndarray] = {}  # one frozen array per block, shared by its uses
        self.F = F
        self.M = F.shape[1]  # with the constant column, the last
        self.name = net_name

    def add(self, nd: Node) -> str:
        self.nodes.append(nd)
        return nd.id

    def tied(self, block: str, theta: np.ndarray, basis: np.ndarray | None, shape: tuple[int, int]
             ) -> tuple[np.ndarray, Tied]:
        """The weight of one use of parameter block ``block`` (``basis=None``: ``theta`` is the weight itself)."""
        if block not in self.params:
            theta = np.array(theta, dtype=np.float64).reshape(-1)
            theta.setflags(write=False)
            self.params[block] = theta
            self.weights[block] = (self.params[block] if basis is None else basis @ self.params[block]).reshape(shape)
            self.weights[block].setflags(write=False)
        return self.weights[block], Tied(block, basis)

    def bias(self, block: str, b: np.ndarray, leaf: str, nid: str) -> str:
        """A linear node on the constant column of ``leaf``'s templates: the constant ``b``."""
        cout = b.shape[0]
        basis = np.zeros((self.M * cout, cout))
        basis[(self.M - 1) * cout + np.arange(cout), np.arange(cout)] = 1.0
        W, p = self.tied(block, b, basis, (self.M, cout))
        return self.add(Node(nid, "linear", (leaf,), W, param=p))


def _err(node: Any, what: str, hint: str = "") -> NetworkError:
    where = f"fx node {node.name!r} ({node.op} {node.target!r})" if node is not None else "the module"
    return NetworkError(f"from_torch: {where}: {what}" + (f" Hint: {hint}" if hint else ""))


def _channel_basis(cin_child: int, cout: int, cin_g: int, groups: int) -> np.ndarray:
    """0/1 map from a conv offset's parameters ``W[o, c_local]`` (C order) to the flattened (cin_child, cout)
    weight of a linear node (block-diagonal across groups; rows past ``groups * cin_g`` stay zero)."""
    basis = np.zeros((cin_child * cout, cout * cin_g))
    cout_g = cout // groups
    for o in range(cout):
        g = o // cout_g
        for cl in range(cin_g):
            basis[(g * cin_g + cl) * cout + o, o * cin_g + cl] = 1.0
    return basis


def _windows(n: int, k: int, s: int, pad: int, dil: int) -> list[list[tuple[int, int]]]:
    """Per output index: (offset, input index) of the in-range taps (torch's output size, ceil_mode=False)."""
    n_out = (n + 2 * pad - dil * (k - 1) - 1) // s + 1
    if n_out < 1:
        raise NetworkError(f"a window of {k} (dilation {dil}, padding {pad}) does not fit an input of {n}.")
    return [[(a, j * s - pad + a * dil) for a in range(k) if 0 <= j * s - pad + a * dil < n] for j in range(n_out)]


def _pairs(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _templates_matrix(templates: Any, C: int) -> np.ndarray:
    t = templates.detach().cpu().double().numpy() if isinstance(templates, torch.Tensor) else np.asarray(templates, dtype=float)
    if t.ndim == 1 and C == 1:
        t = t[:, None]
    if t.ndim != 2 or t.shape[1] != C or t.shape[0] < 1:
        raise NetworkError(f"from_torch: templates must have shape (M, C={C}), got {t.shape}. Hint: the M discrete "
                           f"pixel values, one row each, e.g. torch.tensor([[0.], [1.]]).")
    if not np.all(np.isfinite(t)):
        raise NetworkError("from_torch: templates hold NaN or inf values.")
    return t


def from_torch(module: nn.Module, input_shape: Sequence[int], templates: Any, name: str | None = None,
               integer: bool = False) -> Network:
    """The :class:`~tensorexpr.Network` of a torch module (see the module docstring for the layer mapping).

    Parameters
    ----------
    module : torch.nn.Module
        Traceable by ``torch.fx``; evaluated in float64 on a copy (its weights are read, never changed).
    input_shape : (C, H, W)
    templates : tensor or array (M, C)
        The ``M`` discrete pixel values of the grid tensor.
    name : str, optional
    integer : bool
        Declare the network integer (every weight, template and representation value integral; checked), so
        exact and prime-field ranks read it directly.

    Returns
    -------
    Network
        ``n_modes = H * W``, ``n_templates = M``, one output per entry of the module's output vector.

    Raises
    ------
    NetworkError
        For an unsupported module or call (named, with its position in the fx graph), an output that is not one
        position, mixed nonlinearities (products and ReLUs in one network), a max pool not preceded by a ReLU,
        or bad ``input_shape`` / ``templates``.

    References
    ----------
    Cohen, Sharir & Shashua, "On the Expressive Power of Deep Learning: A Tensor Analysis", COLT 2016 (the grid
    tensor); Sharir & Shashua, "On the Expressive Power of Overlapping Architectures", ICLR 2018.

    Examples
    --------
    >>> import torch, tensorexpr as te
    >>> m = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 1, bias=False), te.nn.ProductPool2d(2),
    ...                         torch.nn.Flatten(), torch.nn.Linear(2, 1, bias=False))
    >>> net = te.from_torch(m, (1, 2, 2), torch.tensor([[0.0], [1.0]]))
    >>> net.n_modes, net.n_templates
    (4, 2)
    """
    import torch.fx as fx

    if not isinstance(module, nn.Module):
        raise NetworkError(f"from_torch needs a torch.nn.Module, got {type(module).__name__}.")
    if len(input_shape) != 3 or not all(isinstance(v, int) and v >= 1 for v in input_shape):
        raise NetworkError(f"from_torch: input_shape must be (C, H, W) positive ints, got {tuple(input_shape)!r}.")
    C, H, W = input_shape
    t = _templates_matrix(templates, C)
    class _Tracer(fx.Tracer):
        def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:  # our modules are layers, not code
            return isinstance(m, SUPPORTED_MODULES) or super().is_leaf_module(m, qualname)

    try:
        gm = fx.GraphModule(module, _Tracer().trace(module))
    except Exception as exc:  # torch raises many kinds here; the user needs to know which module failed
        raise NetworkError(f"from_torch: torch.fx could not trace {type(module).__name__}: {exc}") from None
    mods = dict(gm.named_modules())
    graph = list(gm.graph.nodes)
    kinds = {type(mods[n.target]) for n in graph if n.op == "call_module"}
    relu_calls = any(n.op == "call_function" and n.target in (torch.relu, nn.functional.relu) for n in graph)
    relu = bool(kinds & {nn.ReLU, nn.MaxPool2d}) or relu_calls
    if relu and ProductPool2d in kinds:
        raise _err(None, "mixes product pooling and ReLU / max pooling; the Network form has one operator.",
                   "trace the ConvAC and the ReLU net separately.")
    op = "relu-max" if relu else "product"
    rep_mod = None
    for n in graph:
        if n.op == "call_module" and isinstance(mods[n.target], (Representation, FrontEnd)):
            if rep_mod is not None or list(n.args)[0].op != "placeholder":
                raise _err(n, f"a {type(mods[n.target]).__name__} must be the first layer, applied once to the input.")
            rep_mod = mods[n.target]
    if isinstance(rep_mod, FrontEnd) and C != rep_mod.channels:  # modes and templates live after the front end
        raise NetworkError(f"from_torch: with a FrontEnd first, input_shape is its output (K={rep_mod.channels}, h, w) "
                           f"and templates are (M, K) coefficient vectors; got C={C}. Hint: docs/cnn_hybrid.md.")
    with torch.no_grad():
        phi = t if rep_mod is None or isinstance(rep_mod, FrontEnd) else \
            rep_mod.double().on_points(torch.as_tensor(t)).numpy()
    F = np.concatenate([phi, np.ones((t.shape[0], 1))], axis=1)
    b = _Builder(name or f"torch({type(module).__name__}, {C}x{H}x{W})", F)
    env: dict[str, _Map] = {}
    for k, n in enumerate(graph):
        if n.op == "placeholder":
            if any(v.op == "placeholder" for v in graph[:k]):
                raise _err(n, "the module takes more than one input.")
            ids = np.empty((H, W), dtype=object)
            for i in range(H):
                for j in range(W):
                    ids[i, j] = b.add(Node(f"x{i * W + j}", "leaf", (), None, mode=i * W + j))
            env[n.name] = _Map(ids, phi.shape[1], True, False, rep_mode=np.arange(H * W).reshape(H, W))
        elif n.op == "output":
            out = env[_arg(n, n.args[0]).name]
            if out.ids.size != 1:
                raise _err(n, f"the output has {out.ids.shape[0]}x{out.ids.shape[1]} positions; a grid tensor has one "
                              f"vector of outputs.", "end with global pooling, or Flatten + Linear.")
            top = out.ids.flat[0]
            if out.const:  # the constant channel is not an output
                top = b.add(Node("out", "linear", (top,), np.eye(out.channels + 1)[:, :out.channels], param=FIXED))
            top = _read_every_mode(b, top, out.channels, H * W)
            nodes = tuple(replace(nd, weight=_exact(nd.weight, True)) if integer and nd.weight is not None else nd
                          for nd in b.nodes)
            return Network(nodes, top, b.M, get_operator(op), _exact(F, integer), bool(integer), None,
                           {k: _exact(v, integer) for k, v in b.params.items()}, name=b.name)
        else:
            env[n.name] = _layer(n, k, mods, env, b, op)
    raise _err(None, "the traced graph has no output.")  # pragma: no cover


def _read_every_mode(b: _Builder, top: str, channels: int, n_modes: int) -> str:
    """Add ``0 * (pixel)`` for the pixels the module never reads (stride past them): the grid tensor is
    constant along those modes, and the Network's output must see every mode."""
    by_id = {nd.id: nd for nd in b.nodes}
    seen: set[int] = set()
    stack, visited = [top], set()
    while stack:
        nid = stack.pop()
        if nid in visited:
            continue
        visited.add(nid)
        nd = by_id[nid]
        if nd.kind == "leaf":
            seen.add(int(nd.mode))  # type: ignore[arg-type]
        stack.extend(nd.children)
    unread = [m for m in range(n_modes) if m not in seen]
    if not unread:
        return top
    zeros = [b.add(Node(f"unread.x{m}", "linear", (f"x{m}",), np.zeros((b.M, channels)), param=FIXED)) for m in unread]
    return b.add(Node("out.all-modes", "sum", (top, *zeros), None))


def _constant(b: _Builder, n: Any, nid: str, bias: Any, cout: int) -> str:
    """A window entirely in the zero padding: the bias (or 0), as a linear node on pixel 0's constant column."""
    if bias is not None:
        return b.bias(f"{n.name}.bias", bias.detach().double().cpu().numpy(), "x0", nid)
    return b.add(Node(nid, "linear", ("x0",), np.zeros((b.M, cout)), param=FIXED))


def _exact(a: np.ndarray, integer: bool) -> np.ndarray:
    """``a`` as int64 for an integer network (refused when not integral), else as it is."""
    if not integer:
        return a
    if not np.all(np.equal(np.mod(a, 1), 0)) or np.max(np.abs(a), initial=0) > 2**53:
        raise NetworkError("from_torch(integer=True): a weight, template or representation value is not an "
                           "integer. Hint: round the weights (torch.round) or trace with integer=False.")
    return np.rint(a).astype(np.int64)


def _arg(n: Any, a: Any) -> Any:
    import torch.fx as fx

    if not isinstance(a, fx.Node):
        raise _err(n, f"expects a tensor input, got {a!r}.")
    return a


def _layer(n: Any, k: int, mods: dict[str, nn.Module], env: dict[str, _Map], b: _Builder, op: str) -> _Map:
    if n.op == "call_module":
        m = mods[n.target]
        x = env[_arg(n, n.args[0]).name]
        if x.padded and not isinstance(m, (nn.Conv2d, nn.ConstantPad2d)):
            raise _padded_err(n, type(m).__name__)
        if isinstance(m, nn.ConstantPad2d):  # nn.ZeroPad2d is a ConstantPad2d with value 0
            return _zero_pad(n, m, x)
        if isinstance(m, Representation):
            return x  # already in F
        if isinstance(m, (nn.Identity, FrontEnd)):  # a front end is the representation: its outputs are the modes
            return x
        if isinstance(m, AttributeConv2d):
            return _attribute_conv(n, m, x, b)
        if isinstance(m, Rearrange):
            return _rearrange(n, m, x)
        # --- p4 group convolutions (tensorexpr.nn.group): _p4_conv, _orientation_pool ---
        if isinstance(m, (P4Conv2d, LearnedBasisConv2d)):
            return _p4_conv(n, m, x, b)
        if isinstance(m, OrientationPool):
            return _orientation_pool(n, m, x, b)
        # --- end p4 ---
        if isinstance(m, nn.Flatten):
            if (m.start_dim, m.end_dim) != (1, -1):
                raise _err(n, f"Flatten(start_dim={m.start_dim}, end_dim={m.end_dim}); only Flatten(1, -1) is read.")
            return _flatten(x)
        if isinstance(m, nn.Conv2d):
            return _conv(n, k, m, x, b)
        if isinstance(m, nn.AvgPool2d):
            return _avgpool(n, k, m, x, b)
        if isinstance(m, nn.Linear):
            return _linear(n, k, m, x, b)
        if isinstance(m, ProductPool2d):
            return _pool(n, k, x, b, m.kernel_size, m.stride, (0, 0), (1, 1), nonneg=x.nonneg, const=x.const)
        if isinstance(m, nn.ReLU):
            return _relu(n, k, x, b)
        if isinstance(m, nn.MaxPool2d):
            if not x.nonneg:
                raise _err(n, "a max pool whose inputs may be negative; the relu-max operator computes "
                              "relu(max(...)).", "put the ReLU before the max pool (they commute).")
            if m.ceil_mode or m.return_indices:
                raise _err(n, "MaxPool2d with ceil_mode or return_indices is not read.")
            return _pool(n, k, x, b, _pairs(m.kernel_size), _pairs(m.stride or m.kernel_size), _pairs(m.padding),
                         _pairs(m.dilation), nonneg=True, const=False)
        raise _err(n, f"{type(m).__name__} is not supported.",
                   f"supported: {', '.join(c.__name__ for c in SUPPORTED_MODULES)}.")
    if n.op in ("call_function", "call_method") and any(a.name in env and env[a.name].padded
                                                        for a in n.args if hasattr(a, "name")):
        raise _padded_err(n, str(n.target))
    if n.op == "call_function" and n.target in (torch.relu, nn.functional.relu):
        return _relu(n, k, env[_arg(n, n.args[0]).name], b)
    if (n.op == "call_function" and n.target is torch.flatten) or (n.op == "call_method" and n.target == "flatten"):
        start = n.args[1] if len(n.args) > 1 else n.kwargs.get("start_dim", 0)
        if start != 1 or (len(n.args) > 2 and n.args[2] != -1):
            raise _err(n, "only flatten(x, 1) is read (the batch dimension stays).")
        return _flatten(env[_arg(n, n.args[0]).name])
    raise _err(n, "is not supported.", f"supported modules: {', '.join(c.__name__ for c in SUPPORTED_MODULES)}.")


def _padded_err(n: Any, what: str) -> NetworkError:
    return _err(n, f"{what} reads a zero-padded map; only a Conv2d (or more zero padding) may read one.",
                "put the ZeroPad2d directly before the Conv2d it pads (asymmetric 'same' padding of an even kernel).")


def _zero_pad(n: Any, m: nn.ConstantPad2d, x: _Map) -> _Map:
    """Zero padding: the padded positions hold ``None`` (a zero), which the next Conv2d drops as it drops the
    taps in its own padding."""
    _spatial(n, x)
    if float(m.value) != 0.0:
        raise _err(n, f"ConstantPad2d(value={m.value}); only zero padding is read.",
                   "a nonzero constant pixel is not one of the templates the grid tensor is made of.")
    left, right, top, bottom = (int(v) for v in m.padding)
    if min(left, right, top, bottom) < 0:
        raise _err(n, f"negative padding {tuple(m.padding)} (a crop) is not read.")
    h, w = x.ids.shape
    ids = np.full((h + top + bottom, w + left + right), None, dtype=object)
    ids[top:top + h, left:left + w] = x.ids
    rep = np.full(ids.shape, -1, dtype=int)
    rep[top:top + h, left:left + w] = x.rep_mode
    return replace(x, ids=ids, rep_mode=rep, padded=True)


def _flatten(x: _Map) -> _Map:
    return _Map(x.ids, x.channels, x.const, x.nonneg, True, x.rep_mode)


def _spatial(n: Any, x: _Map) -> None:
    if x.flat:
        raise _err(n, "a spatial layer after Flatten.")


def _window_nodes(x: _Map, kh: int, kw: int, s: tuple[int, int], p: tuple[int, int], d: tuple[int, int]
                  ) -> list[list[list[tuple[tuple[int, int], tuple[int, int]]]]]:
    rows = _windows(x.ids.shape[0], kh, s[0], p[0], d[0])
    cols = _windows(x.ids.shape[1], kw, s[1], p[1], d[1])
    return [[[((a, c), (ia, jc)) for a, ia in r for c, jc in cl] for cl in cols] for r in rows]


def _sum(b: _Builder, nid: str, kids: list[str], n: Any) -> str:
    if not kids:
        raise _err(n, "a window with no input inside the image (padding larger than the kernel).")
    if len(kids) == 1:
        return kids[0]
    return b.add(Node(nid, "sum", tuple(kids), None))


def _conv(n: Any, k: int, m: nn.Conv2d, x: _Map, b: _Builder) -> _Map:
    _spatial(n, x)
    if m.padding_mode != "zeros" or isinstance(m.padding, str):
        raise _err(n, f"Conv2d padding={m.padding!r}, padding_mode={m.padding_mode!r}; only explicit zero padding.")
    if m.in_channels != x.channels:
        raise _err(n, f"Conv2d expects {m.in_channels} channels, the input has {x.channels}.")
    Wt = m.weight.detach().double().cpu().numpy()  # (cout, cin/g, kh, kw)
    cout, cin_g, kh, kw = Wt.shape
    cin_child = x.channels + int(x.const)
    plain = m.groups == 1 and not x.const  # the block is the (cin, cout) weight itself
    basis = None if plain else _channel_basis(cin_child, cout, cin_g, m.groups)
    win = _window_nodes(x, kh, kw, _pairs(m.stride), _pairs(m.padding), _pairs(m.dilation))
    ids = np.empty((len(win), len(win[0])), dtype=object)
    rep = np.empty(ids.shape, dtype=int)
    for i, row in enumerate(win):
        for j, taps in enumerate(row):
            kids = []
            taps = [t for t in taps if x.ids[t[1]] is not None]  # a tap on zero padding adds nothing
            for (a, c), (ia, jc) in taps:
                theta = Wt[:, :, a, c].T if plain else Wt[:, :, a, c]
                Wq, pq = b.tied(f"{n.name}.k{a}_{c}", theta, basis, (cin_child, cout))
                kids.append(b.add(Node(f"{n.name}.{i}_{j}.k{a}_{c}", "linear", (x.ids[ia, jc],), Wq, param=pq)))
            if not taps:
                ids[i, j], rep[i, j] = _constant(b, n, f"{n.name}.{i}_{j}", m.bias, cout), 0
                continue
            rep[i, j] = x.rep_mode[taps[0][1]]
            if m.bias is not None:
                kids.append(b.bias(f"{n.name}.bias", m.bias.detach().double().cpu().numpy(), f"x{rep[i, j]}",
                                   f"{n.name}.{i}_{j}.bias"))
            ids[i, j] = _sum(b, f"{n.name}.{i}_{j}", kids, n)
    return _Map(ids, cout, False, False, rep_mode=rep)


def _avgpool(n: Any, k: int, m: nn.AvgPool2d, x: _Map, b: _Builder) -> _Map:
    _spatial(n, x)
    if m.ceil_mode or m.divisor_override is not None:
        raise _err(n, "AvgPool2d with ceil_mode or divisor_override is not read.")
    kh, kw = _pairs(m.kernel_size)
    cin_child = x.channels + int(x.const)
    win = _window_nodes(x, kh, kw, _pairs(m.stride or m.kernel_size), _pairs(m.padding), (1, 1))
    ids = np.empty((len(win), len(win[0])), dtype=object)
    rep = np.empty(ids.shape, dtype=int)
    for i, row in enumerate(win):
        for j, taps in enumerate(row):
            div = kh * kw if m.count_include_pad else len(taps)
            Wf = np.eye(cin_child)[:, :x.channels] / div
            kids = [b.add(Node(f"{n.name}.{i}_{j}.k{a}_{c}", "linear", (x.ids[ia, jc],), Wf, param=FIXED))
                    for (a, c), (ia, jc) in taps]
            rep[i, j] = x.rep_mode[taps[0][1]]
            ids[i, j] = _sum(b, f"{n.name}.{i}_{j}", kids, n)
    return _Map(ids, x.channels, False, x.nonneg, rep_mode=rep)


def _pool(n: Any, k: int, x: _Map, b: _Builder, ks: tuple[int, int], s: tuple[int, int], p: tuple[int, int],
          d: tuple[int, int], nonneg: bool, const: bool) -> _Map:
    _spatial(n, x)
    win = _window_nodes(x, ks[0], ks[1], s, p, d)
    ids = np.empty((len(win), len(win[0])), dtype=object)
    rep = np.empty(ids.shape, dtype=int)
    for i, row in enumerate(win):
        for j, taps in enumerate(row):
            ids[i, j] = b.add(Node(f"{n.name}.{i}_{j}", "pool", tuple(x.ids[ia, jc] for _, (ia, jc) in taps), None))
            rep[i, j] = x.rep_mode[taps[0][1]]
    return _Map(ids, x.channels, const, nonneg, rep_mode=rep)


def _relu(n: Any, k: int, x: _Map, b: _Builder) -> _Map:
    if x.const:
        raise _err(n, "a ReLU directly on the input pixels.", "put a Conv2d (or a Representation) first.")
    ids = np.empty(x.ids.shape, dtype=object)
    for idx in np.ndindex(*x.ids.shape):
        ids[idx] = b.add(Node(f"{n.name}.{'_'.join(map(str, idx))}", "pool", (x.ids[idx],), None))
    return _Map(ids, x.channels, False, True, x.flat, x.rep_mode)


def _linear(n: Any, k: int, m: nn.Linear, x: _Map, b: _Builder) -> _Map:
    h, w = x.ids.shape
    if not x.flat and h * w != 1:
        raise _err(n, "a Linear layer on a spatial map.", "Flatten first (torch.flatten(x, 1) or nn.Flatten()).")
    if m.in_features != x.channels * h * w:
        raise _err(n, f"Linear expects {m.in_features} features, the flattened map has {x.channels}x{h}x{w}.")
    Wt = m.weight.detach().double().cpu().numpy()  # (out, C*h*w)
    out = Wt.shape[0]
    cin_child = x.channels + int(x.const)
    basis = None if not x.const else _channel_basis(cin_child, out, x.channels, 1)
    kids = []
    for i in range(h):
        for j in range(w):
            cols = [c * h * w + i * w + j for c in range(x.channels)]
            Wp, pp = b.tied(f"{n.name}.p{i}_{j}", Wt[:, cols].T if basis is None else Wt[:, cols], basis,
                            (cin_child, out))
            kids.append(b.add(Node(f"{n.name}.p{i}_{j}", "linear", (x.ids[i, j],), Wp, param=pp)))
    if m.bias is not None:
        kids.append(b.bias(f"{n.name}.bias", m.bias.detach().double().cpu().numpy(), f"x{int(x.rep_mode.flat[0])}",
                           f"{n.name}.bias"))
    ids = np.empty((1, 1), dtype=object)
    ids[0, 0] = _sum(b, n.name, kids, n)
    return _Map(ids, out, False, False, rep_mode=np.array([[int(x.rep_mode.flat[0])]]))


def _rearrange(n: Any, m: Rearrange, x: _Map) -> _Map:
    """:class:`Rearrange` moves nodes between positions and adds none: position ``p`` takes ``perm[p]``'s node."""
    _spatial(n, x)
    if x.ids.shape != m.shape:
        raise _err(n, f"Rearrange{m.shape} on a {x.ids.shape[0]}x{x.ids.shape[1]} feature map.")
    perm = m.perm.cpu().numpy()
    ids = x.ids.reshape(-1)[perm].reshape(m.shape)
    rep = None if x.rep_mode is None else x.rep_mode.reshape(-1)[perm].reshape(m.shape)
    return replace(x, ids=ids, rep_mode=rep)


def _attribute_basis(cin_child: int, m: AttributeConv2d) -> np.ndarray:
    """0/1 map from one spatial offset's parameters ``weight[o, f, t]`` (C order) to the flattened
    (cin_child, out_channels) weight: input channel ``f * L + l`` feeds output ``o * L' + l'`` through ``t`` when
    ``l = l' s_a - p_a + t`` (the same parameter at every attribute position: the tie of the Conv3d)."""
    fo, fi, ka, L, Lo = m.out_features, m.in_features, m.attr_kernel, m.attributes, m.out_attributes
    cout = fo * Lo
    basis = np.zeros((cin_child * cout, fo * fi * ka))
    for o in range(fo):
        for f in range(fi):
            for t in range(ka):
                for lo in range(Lo):
                    li = lo * m.attr_stride - m.attr_padding + t
                    if 0 <= li < L:
                        basis[(f * L + li) * cout + o * Lo + lo, (o * fi + f) * ka + t] = 1.0
    return basis


def _attribute_conv(n: Any, m: AttributeConv2d, x: _Map, b: _Builder) -> _Map:
    """:class:`AttributeConv2d` as :func:`_conv` does a Conv2d, each offset's block through :func:`_attribute_basis`,
    the bias one block of ``out_features`` repeated over the ``L'`` attribute positions."""
    _spatial(n, x)
    if m.in_channels != x.channels:
        raise _err(n, f"AttributeConv2d expects {m.in_channels} channels ({m.in_features} x {m.attributes} "
                      f"attributes), the input has {x.channels}.")
    Wt = m.conv.weight.detach().double().cpu().numpy()  # (fo, fi, ka, k, k)
    cout, cin_child, Lo = m.out_channels, x.channels + int(x.const), m.out_attributes
    basis = _attribute_basis(cin_child, m)
    bias = None if m.conv.bias is None else m.conv.bias.detach().double().cpu().numpy()
    bias_basis = np.zeros((b.M * cout, m.out_features))
    for o in range(m.out_features):
        bias_basis[(b.M - 1) * cout + o * Lo + np.arange(Lo), o] = 1.0

    def bias_node(leaf: str, nid: str) -> str:
        if bias is None:
            return b.add(Node(nid, "linear", (leaf,), np.zeros((b.M, cout)), param=FIXED))
        Wb, pb = b.tied(f"{n.name}.bias", bias, bias_basis, (b.M, cout))
        return b.add(Node(nid, "linear", (leaf,), Wb, param=pb))

    k, s, p = m.kernel_size, m.stride, m.padding
    win = _window_nodes(x, k, k, (s, s), (p, p), (1, 1))
    ids = np.empty((len(win), len(win[0])), dtype=object)
    rep = np.empty(ids.shape, dtype=int)
    for i, row in enumerate(win):
        for j, taps in enumerate(row):
            if not taps:  # the window lies in the zero padding: the bias alone
                ids[i, j], rep[i, j] = bias_node("x0", f"{n.name}.{i}_{j}"), 0
                continue
            kids = []
            for (a, c), (ia, jc) in taps:
                Wq, pq = b.tied(f"{n.name}.k{a}_{c}", Wt[:, :, :, a, c], basis, (cin_child, cout))
                kids.append(b.add(Node(f"{n.name}.{i}_{j}.k{a}_{c}", "linear", (x.ids[ia, jc],), Wq, param=pq)))
            rep[i, j] = x.rep_mode[taps[0][1]]
            if bias is not None:
                kids.append(bias_node(f"x{rep[i, j]}", f"{n.name}.{i}_{j}.bias"))
            ids[i, j] = _sum(b, f"{n.name}.{i}_{j}", kids, n)
    return _Map(ids, cout, False, False, rep_mode=rep)


# --- p4 group convolutions (tensorexpr.nn.group) ---------------------------------------------------------------

def _p4_conv(n: Any, m: P4Conv2d | LearnedBasisConv2d, x: _Map, b: _Builder) -> _Map:
    """A :class:`P4Conv2d` as :func:`_conv` does a Conv2d, with ONE parameter block for the whole base filter.

    ``torch.rot90`` moves base weights between kernel offsets, so the offsets cannot have blocks of their own:
    offset ``(a, c)``'s ``(cin_child, 4 out)`` weight is ``B_{a,c} @ theta`` with ``theta`` the base filter (C
    order) and ``B_{a,c}`` the 0/1 map that :meth:`P4Conv2d.expand` gives when applied to the indices of
    ``theta`` (rotation and orientation shift; the constant channel's row stays zero). The bias is one block of
    ``out`` numbers repeated over the 4 orientations. A :class:`LearnedBasisConv2d` has the same nodes with
    FIXED weights: its filters are bilinear in (coefficients, atoms), which no fixed basis expresses.
    """
    _spatial(n, x)
    name = type(m).__name__
    if x.channels != m.in_total:
        raise _err(n, f"{name} expects {m.in_total} channels"
                      + ("" if m.lifting else f" ({m.in_channels} features x 4 orientations, channel c * 4 + r)")
                      + f", the input has {x.channels}.",
                   "a group layer (lifting=False) reads the 4 * in_channels channels of a p4 layer; the first p4 "
                   "layer needs lifting=True.")
    cout, cin, cin_child = m.out_total, x.channels, x.channels + int(x.const)
    learned = isinstance(m, LearnedBasisConv2d)
    block = f"{n.name}.weight"
    with torch.no_grad():
        full = m.full_weight().detach().double().cpu().numpy()  # (cout, cin, k, k)
        if not learned:
            theta = m.weight.detach().double().cpu().numpy().reshape(-1)
            pos = torch.arange(theta.size, dtype=torch.float64).reshape(m.weight.shape)
            idx = np.rint(m.expand([torch.rot90(pos, r, (-2, -1)) for r in range(4)]).numpy()).astype(np.int64)
    rows = (np.arange(cin)[:, None] * cout + np.arange(cout)[None, :]).reshape(-1)  # (ci, co) -> ci * cout + co
    cache: dict[tuple[int, int], tuple[np.ndarray, Any]] = {}

    def offset(a: int, c: int) -> tuple[np.ndarray, Any]:
        if (a, c) not in cache:
            if learned:
                Wq = np.zeros((cin_child, cout))
                Wq[:cin] = full[:, :, a, c].T
                Wq.setflags(write=False)
                cache[a, c] = (Wq, FIXED)
            else:
                basis = np.zeros((cin_child * cout, theta.size))
                basis[rows, idx[:, :, a, c].T.reshape(-1)] = 1.0
                _, p = b.tied(block, theta, None, theta.shape)  # registers the block once
                Wq = (basis @ b.params[block]).reshape(cin_child, cout)
                Wq.setflags(write=False)
                cache[a, c] = (Wq, Tied(block, basis))  # one Tied per offset: its basis is not copied per node
        return cache[a, c]

    bias = None if m.bias is None else m.bias.detach().double().cpu().numpy()
    bias_basis = np.zeros((b.M * cout, m.out_channels))
    for o in range(m.out_channels):
        bias_basis[(b.M - 1) * cout + o * 4 + np.arange(4), o] = 1.0

    def bias_node(leaf: str, nid: str) -> str:
        if bias is None:
            return b.add(Node(nid, "linear", (leaf,), np.zeros((b.M, cout)), param=FIXED))
        Wb, pb = b.tied(f"{n.name}.bias", bias, bias_basis, (b.M, cout))
        return b.add(Node(nid, "linear", (leaf,), Wb, param=pb))

    k = m.kernel_size
    win = _window_nodes(x, k, k, (m.stride, m.stride), (m.padding, m.padding), (1, 1))
    ids = np.empty((len(win), len(win[0])), dtype=object)
    rep = np.empty(ids.shape, dtype=int)
    for i, row in enumerate(win):
        for j, taps in enumerate(row):
            if not taps:  # the window lies in the zero padding: the bias alone
                ids[i, j], rep[i, j] = bias_node("x0", f"{n.name}.{i}_{j}"), 0
                continue
            kids = []
            for (a, c), (ia, jc) in taps:
                Wq, pq = offset(a, c)
                kids.append(b.add(Node(f"{n.name}.{i}_{j}.k{a}_{c}", "linear", (x.ids[ia, jc],), Wq, param=pq)))
            rep[i, j] = x.rep_mode[taps[0][1]]
            if bias is not None:
                kids.append(bias_node(f"x{rep[i, j]}", f"{n.name}.{i}_{j}.bias"))
            ids[i, j] = _sum(b, f"{n.name}.{i}_{j}", kids, n)
    return _Map(ids, cout, False, False, rep_mode=rep)


def _orientation_pool(n: Any, m: OrientationPool, x: _Map, b: _Builder) -> _Map:
    """``OrientationPool("mean")``: per position a ``linear`` node with the fixed matrix ``W[c * 4 + r, c] = 1/4``.

    ``"max"`` is refused: the network's ``relu-max`` operator takes the max over *children* (positions of a
    window), not over the channels of one node, and a linear node cannot express a max.
    """
    _spatial(n, x)
    if m.mode != "mean":
        raise _err(n, f"OrientationPool(mode={m.mode!r}): a max over the channels of one position is not a network "
                      f"operator (relu-max pools over the positions of a window).",
                   "use OrientationPool(mode='mean'), or trace the network before the orientation pool.")
    if x.channels % 4:
        raise _err(n, f"OrientationPool needs 4 C channels (channel c * 4 + r), the input has {x.channels}.",
                   "apply it to the output of a P4Conv2d.")
    C = x.channels // 4
    Wf = np.zeros((x.channels + int(x.const), C))
    Wf[np.arange(x.channels), np.arange(x.channels) // 4] = 0.25
    Wf.setflags(write=False)
    ids = np.empty(x.ids.shape, dtype=object)
    for idx in np.ndindex(*x.ids.shape):
        ids[idx] = b.add(Node(f"{n.name}.{'_'.join(map(str, idx))}", "linear", (x.ids[idx],), Wf, param=FIXED))
    return _Map(ids, C, False, x.nonneg, rep_mode=x.rep_mode)
