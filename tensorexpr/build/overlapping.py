"""Overlapping ConvACs (Sharir & Shashua, ICLR 2018) as constructors of the one :class:`Network`.

A layer with window ``w`` and stride ``s < w`` feeds one position into several windows, so the
network is a DAG (one node with several parents) and, in its tensor network, a reused position is a copy
(delta) hyper-edge (docs/conventions.md).

What is implemented (the *generalized convolution*, GC, layer of the paper, as far as we could establish it
from the talk slides and the abstract; see :func:`overlapping` for where it may differ):

.. math::
    \\phi^{(l)}_j[\\gamma] \\;=\\; \\prod_{k \\in \\text{window}(j)}
        \\big(W^{(l)}_{j,k}{}^{\\top} \\phi^{(l-1)}_{js + k}\\big)[\\gamma]

i.e. per window ``j``, one linear map per offset ``k`` on the input position ``js + k`` (a ``linear`` node)
followed by product pooling across the window over one shared channel index (a ``pool`` node with
``weight=None``). After the last layer the remaining positions are product-pooled globally (when more than
one is left) and a dense linear map gives the ``outputs`` channels.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Sequence

import numpy as np

from tensorexpr.core.errors import GeometryError, NetworkError
from tensorexpr.core.network import Network, Node
from tensorexpr.build.convac import draw_weight
from tensorexpr.core.params import Tied

__all__ = ["overlapping", "layer_windows", "PADDINGS"]

#: ``valid``: every window lies inside the input, and the windows must cover every position.
#: ``same``: ``ceil(n / s)`` windows, centred as in TensorFlow's "SAME"; offsets that fall outside the input
#: are dropped, i.e. padding with the multiplicative identity (the factor is 1), never with zeros (a zero
#: would annihilate the product).
PADDINGS = ("valid", "same")


def _posint(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise GeometryError(f"{name} must be a positive integer, got {v!r}.")
    return int(v)


def layer_windows(n_in: int, window: int, stride: int, padding: str = "valid", layer: int = 0) -> list[list[tuple[int, int]]]:
    """Windows of one 1-D layer: for each output position, the list of ``(offset, input_position)``.

    Parameters
    ----------
    n_in : int
        Input positions of the layer.
    window : int
        Window size.
    stride : int
        Stride, ``<= window``.
    padding : str, optional
        ``"valid"`` or ``"same"`` (centred; windows are cut at the borders).
    layer : int, optional
        The layer's index, for messages.

    Returns
    -------
    list of list of (int, int)
        Per output position, ``(offset in the window, input position)`` pairs.

    Raises
    ------
    GeometryError
        For an unknown padding, ``stride > window``, ``window > n_in``, or (``"valid"``) input positions left
        uncovered.

    Examples
    --------
    >>> layer_windows(4, 2, 1)
    [[(0, 0), (1, 1)], [(0, 1), (1, 2)], [(0, 2), (1, 3)]]
    >>> layer_windows(4, 3, 2, "same")
    [[(0, 0), (1, 1), (2, 2)], [(0, 2), (1, 3)]]
    """
    if padding not in PADDINGS:
        raise GeometryError(f"Unknown padding {padding!r}; expected one of {PADDINGS}.")
    if stride > window:
        raise GeometryError(
            f"Layer {layer}: stride {stride} > window {window} skips input positions, which the network would then "
            f"ignore. Hint: use stride <= window (stride == window is the non-overlapping HT model)."
        )
    if window > n_in:
        raise GeometryError(
            f"Layer {layer}: window {window} is larger than its input of {n_in} positions. Hint: shrink the window "
            f"or remove the layer (the input shrinks with every stride > 1)."
        )
    if padding == "valid":
        if (n_in - window) % stride:
            last = ((n_in - window) // stride) * stride + window
            raise GeometryError(
                f"Layer {layer}: window {window} with stride {stride} over {n_in} positions leaves positions "
                f"{list(range(last, n_in))} uncovered with padding='valid'. Hint: choose (n - window) divisible by "
                f"the stride, or padding='same'."
            )
        n_out = (n_in - window) // stride + 1
        return [[(k, j * stride + k) for k in range(window)] for j in range(n_out)]
    n_out = math.ceil(n_in / stride)
    left = max((n_out - 1) * stride + window - n_in, 0) // 2
    out = []
    for j in range(n_out):
        out.append([(k, j * stride + k - left) for k in range(window) if 0 <= j * stride + k - left < n_in])
    return out


def _parse_layers(layers: Any) -> list[tuple[int, int, int]]:
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence) or not layers:
        raise NetworkError(f"layers must be a non-empty list of (window, stride, width), got {layers!r}.")
    out = []
    for i, lay in enumerate(layers):
        if isinstance(lay, (str, bytes)) or not isinstance(lay, Sequence) or len(lay) != 3:
            raise NetworkError(f"Layer {i} must be (window, stride, width), got {lay!r}.")
        out.append((_posint(f"layer {i} window", lay[0]), _posint(f"layer {i} stride", lay[1]),
                    _posint(f"layer {i} width", lay[2])))
    return out


def overlapping(
    n_modes_or_grid: int | tuple[int, int],
    layers: Sequence[tuple[int, int, int]],
    M: int,
    outputs: int = 1,
    seed: int | None = None,
    integer: bool = False,
    shared: bool = False,
    padding: str = "valid",
    F: Any = None,
    int_range: int = 1000,
) -> Network:
    """A ConvAC of generalized-convolution (GC) layers, possibly overlapping (stride < window).

    Sharir & Shashua, "On the Expressive Power of Overlapping Architectures of Deep Learning", ICLR 2018.

    .. math::
        \\phi^{(l)}_j[\\gamma] = \\prod_{k} \\big(W^{(l)}_{j,k}{}^{\\top}\\phi^{(l-1)}_{js+k}\\big)[\\gamma],
        \\qquad \\phi^{(0)}_i = F[d_i, :]

    Parameters
    ----------
    n_modes_or_grid : int or (h, w)
        A 1-D input of ``n`` positions, or an ``h x w`` grid (mode ``row * w + col``; square windows and equal
        strides along both axes).
    layers : list of (window, stride, width)
        One GC layer each; layer ``l`` maps width ``r_{l-1}`` (``M`` for the first) to ``width``.
    M : int
        Representation functions per position.
    outputs : int
        Channels of the final dense layer.
    shared : bool
        One map per (layer, offset), tied across windows (a convolution); otherwise one per (window, offset).
    padding : {"valid", "same"}
        See :data:`PADDINGS`.
    integer : bool
        Integer weights in ``[-int_range, int_range]`` (exact and prime-field ranks apply).

    Notes
    -----
    Where this may differ from the paper: (1) the paper's padding convention was not recovered, so
    ``same`` pads with the multiplicative identity; (2) when more than one position is left after the last
    layer, we product-pool them globally (weight-free) before the dense output; (3) the representation layer is
    the template matrix ``F`` (identity by default), and the first GC layer's maps act on it directly.
    With ``window == stride`` in every layer and one position left at the end, the network equals the HT
    ConvAC whose node weights are the per-offset maps of the edge to the parent (tested).

    Returns
    -------
    Network
        A DAG when some stride is smaller than its window.

    Raises
    ------
    GeometryError
        Non-positive sizes, windows that do not cover the input (``valid``), or a bad ``padding``.
    NetworkError
        A bad ``M`` or ``outputs``.

    Examples
    --------
    >>> net = overlapping(4, [(2, 1, 2), (3, 1, 2)], M=2, seed=0)
    >>> net.is_tree, te.grid_tensor(net).shape
    (False, (2, 2, 2, 2))
    """
    if isinstance(M, bool) or not isinstance(M, (int, np.integer)) or M < 1:
        raise NetworkError(f"M (number of representation functions) must be an integer >= 1, got {M!r}.")
    _posint("outputs", outputs)
    if isinstance(n_modes_or_grid, (int, np.integer)) and not isinstance(n_modes_or_grid, bool):
        shape = (_posint("n", n_modes_or_grid),)
    elif isinstance(n_modes_or_grid, Sequence) and len(n_modes_or_grid) == 2:
        shape = (_posint("h", n_modes_or_grid[0]), _posint("w", n_modes_or_grid[1]))
    else:
        raise GeometryError(f"n_modes_or_grid must be an int n or a pair (h, w), got {n_modes_or_grid!r}.")
    specs = _parse_layers(layers)
    rng = np.random.default_rng(seed)
    nodes: list[Node] = []
    params: dict[str, np.ndarray] = {}
    # current level: array of node ids (1-D or 2-D), in mode order
    grid = np.arange(math.prod(shape)).reshape(shape)
    cur = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        m = int(grid[idx])
        nodes.append(Node(f"x{m}", "leaf", (), None, mode=m))
        cur[idx] = f"x{m}"
    r_in = int(M)
    for li, (w, s, r) in enumerate(specs):
        per_axis = [layer_windows(n_ax, w, s, padding, li) for n_ax in cur.shape]
        out_shape = tuple(len(p) for p in per_axis)
        tied: dict[tuple[int, ...], str] = {}
        nxt = np.empty(out_shape, dtype=object)
        for j in np.ndindex(*out_shape):
            jname = "_".join(map(str, j))
            kids = []
            for combo in np.ndindex(*[len(per_axis[a][j[a]]) for a in range(len(j))]):
                entries = [per_axis[a][j[a]][combo[a]] for a in range(len(j))]
                offset = tuple(e[0] for e in entries)
                src = tuple(e[1] for e in entries)
                param: Tied | None = None
                if shared:
                    if offset not in tied:
                        tied[offset] = f"L{li}.k{'_'.join(map(str, offset))}"
                        params[tied[offset]] = draw_weight(rng, (r_in, r), integer, int_range).reshape(-1)
                    param = Tied(tied[offset])
                    W = params[tied[offset]].reshape(r_in, r)
                else:
                    W = draw_weight(rng, (r_in, r), integer, int_range)
                lid = f"L{li}.p{jname}.k{'_'.join(map(str, offset))}"
                nodes.append(Node(lid, "linear", (cur[src],), W, param=param))
                kids.append(lid)
            pid = f"L{li}.p{jname}"
            nodes.append(Node(pid, "pool", tuple(kids), None))
            nxt[j] = pid
        cur, r_in = nxt, r
    top = list(cur.ravel())
    if len(top) > 1:
        nodes.append(Node("global", "pool", tuple(top), None))
        top = ["global"]
    nodes.append(Node("out", "linear", (top[0],), draw_weight(rng, (r_in, int(outputs)), integer, int_range)))
    dims = "x".join(map(str, shape))
    net = Network(tuple(nodes), "out", int(M), "product", F, integer, None, params,
                  name=f"overlapping({dims}, {specs}{', ' + padding if padding != 'valid' else ''})")
    return replace(net, meta={"layers": specs, "shape": shape, "padding": padding, "seed": seed})
