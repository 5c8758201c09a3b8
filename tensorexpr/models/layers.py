"""Building blocks of the trainable tree models: representation layers, the gather plan, input checks.

Every model here is built from a :class:`~tensorexpr.ModeTree`. The tree is compiled once into a list of
*stages* (:class:`Stage`): the nodes of one level that share the weight shape ``(r_in, r_out)``. A stage
gathers its nodes' children from the outputs of earlier stages with one index tensor (padded where fan-ins
differ), pools over the gathered axis and applies its 1x1 conv. Nothing assumes 2x2 windows, so line,
square, mirror, shallow, nested and uneven trees all run the same code (docs/conventions.md).

Representation layers map each position's raw input ``x`` to the ``M`` representation functions
``f_1..f_M`` (Cohen, Sharir & Shashua, COLT 2016, Sec. 3). They return ``f`` (``forward``) or ``log f``
(``log_forward``, used by the log-space ConvAC):

* ``one_hot``  discrete inputs in ``0..M-1``; ``f_d(x) = [x == d]``; templates ``x^(i) = i`` so ``F = I``.
* ``gaussian`` SimNets-style similarity to learned templates ``mu_d`` with learned scales ``sigma_d``:
  ``log f_d(x) = -1/2 sum_c ((x_c - mu_{d,c}) / sigma_{d,c})^2``; default templates are the ``mu_d``.
* ``linear``   a learned 1x1 projection ``p_d . x + b_d``. The ReLU net uses it as ``f_d``; the positive
  log-space ConvAC uses it as ``log f_d`` (so ``f_d = exp(p_d . x + b_d)`` > 0). Templates must be given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from tensorexpr.core.errors import NetworkError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.build.convac import resolve_widths

__all__ = [
    "Representation",
    "OneHot",
    "Gaussian",
    "Linear",
    "REPRESENTATIONS",
    "Stage",
    "compile_tree",
    "default_device",
    "ModelInputError",
]


from tensorexpr.core.errors import ModelInputError  # noqa: F401  (re-exported: defined in errors.py)


def default_device() -> torch.device:
    """CUDA when torch sees a GPU, CPU otherwise.

    Returns
    -------
    torch.device
    """
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# -- representation layers ------------------------------------------------------------------------------
class Representation(nn.Module):
    """Base class: ``(B, N, C)`` raw positions -> ``(B, N, M)`` representation values.

    Parameters
    ----------
    M : int
        Representation functions.
    in_features : int, optional
        Raw features per position.

    Raises
    ------
    NetworkError
        When ``M`` or ``in_features`` is not a positive integer.
    """

    name: str = "base"
    discrete: bool = False

    def __init__(self, M: int, in_features: int = 1):
        super().__init__()
        if isinstance(M, bool) or not isinstance(M, (int, np.integer)) or M < 1:
            raise NetworkError(f"M (number of representation functions) must be an integer >= 1, got {M!r}.")
        if isinstance(in_features, bool) or not isinstance(in_features, (int, np.integer)) or in_features < 1:
            raise NetworkError(f"in_features must be a positive integer, got {in_features!r}.")
        self.M = int(M)
        self.in_features = int(in_features)

    def log_forward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """``log f_d(x)`` per position (subclasses implement it).

        Parameters
        ----------
        x : torch.Tensor
            ``(B, N, C)`` raw positions.

        Returns
        -------
        torch.Tensor
            ``(B, N, M)``.

        Raises
        ------
        NotImplementedError
            In the base class.
        """
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``f_d(x) = exp(log_forward(x))``.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, N, C)`` raw positions.

        Returns
        -------
        torch.Tensor
            ``(B, N, M)``.
        """
        return torch.exp(self.log_forward(x))

    def default_templates(self) -> torch.Tensor:
        """The natural template points (``F = I`` for one-hot); the base class has none.

        Returns
        -------
        torch.Tensor
            ``(T, in_features)`` template points.

        Raises
        ------
        NetworkError
            For a representation without natural templates (the base class and :class:`Linear`).
        """
        raise NetworkError(
            f"The {self.name!r} representation has no natural templates; pass templates=(T, {self.in_features}) "
            f"points to to_network()."
        )

    def extra_repr(self) -> str:
        """The summary line ``torch`` prints inside the module's repr.

        Returns
        -------
        str
        """
        return f"M={self.M}, in_features={self.in_features}"


class OneHot(Representation):
    """Discrete inputs ``x in {0..M-1}``: ``f_d(x) = [x == d]`` (the authors' binary-image setting, M = 2).

    Parameters
    ----------
    M : int
        Number of symbols.
    in_features : int, optional
        Must be 1.

    Raises
    ------
    NetworkError
        When ``in_features != 1`` or ``M`` is not a positive integer.
    """

    name = "one_hot"
    discrete = True

    def __init__(self, M: int, in_features: int = 1):
        super().__init__(M, 1)
        if in_features != 1:
            raise NetworkError(f"one_hot takes one discrete value per position, got in_features={in_features}.")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The one-hot vectors of the symbols ``x[..., 0]`` (default dtype).

        Parameters
        ----------
        x : torch.Tensor
            ``(B, N, C)`` raw positions.

        Returns
        -------
        torch.Tensor
            ``(B, N, M)``.
        """
        return nn.functional.one_hot(x[..., 0].long(), self.M).to(torch.get_default_dtype())

    def log_forward(self, x: torch.Tensor) -> torch.Tensor:
        """``log`` of :meth:`forward` (0 or ``-inf``).

        Parameters
        ----------
        x : torch.Tensor
            ``(B, N, C)`` raw positions.

        Returns
        -------
        torch.Tensor
            ``(B, N, M)``.
        """
        return torch.log(self.forward(x))

    def default_templates(self) -> torch.Tensor:
        """The symbols ``0..M-1`` as ``(M, 1)`` (so ``F = I``).

        Returns
        -------
        torch.Tensor
            ``(T, in_features)`` template points.
        """
        return torch.arange(self.M).reshape(self.M, 1)


class Gaussian(Representation):
    """SimNets-style similarity ``log f_d(x) = -1/2 ||(x - mu_d) / sigma_d||^2`` to learned templates.

    Parameters
    ----------
    M : int
    in_features : int, optional
    seed : int, optional
        Seeds ``mu`` (uniform in [0, 1)); ``sigma`` starts at 0.5.

    Raises
    ------
    NetworkError
        When ``M`` or ``in_features`` is not a positive integer.
    """

    name = "gaussian"

    def __init__(self, M: int, in_features: int = 1, seed: int | None = None):
        super().__init__(M, in_features)
        g = torch.Generator().manual_seed(0 if seed is None else int(seed))
        self.mu = nn.Parameter(torch.rand(self.M, self.in_features, generator=g))
        self.log_sigma = nn.Parameter(torch.full((self.M, self.in_features), math.log(0.5)))

    def log_forward(self, x: torch.Tensor) -> torch.Tensor:
        """``-1/2 ||(x - mu_d) / sigma_d||^2`` for every ``d``.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, N, C)`` raw positions.

        Returns
        -------
        torch.Tensor
            ``(B, N, M)``.
        """
        z = (x.unsqueeze(-2) - self.mu) * torch.exp(-self.log_sigma)  # (B, N, M, C)
        return -0.5 * (z * z).sum(-1)

    def default_templates(self) -> torch.Tensor:
        """The learned means ``mu`` (a detached copy).

        Returns
        -------
        torch.Tensor
            ``(T, in_features)`` template points.
        """
        return self.mu.detach().clone()


class Linear(Representation):
    """A learned 1x1 projection ``p_d . x + b_d``: ``f`` for the ReLU net, ``log f`` for the log-space ConvAC.

    Parameters
    ----------
    M : int
    in_features : int, optional
    seed : int, optional
        Seeds the weights (uniform in ``+-1/sqrt(in_features)``).

    Raises
    ------
    NetworkError
        When ``M`` or ``in_features`` is not a positive integer.
    """

    name = "linear"

    def __init__(self, M: int, in_features: int = 1, seed: int | None = None):
        super().__init__(M, in_features)
        g = torch.Generator().manual_seed(0 if seed is None else int(seed))
        bound = 1.0 / math.sqrt(self.in_features)
        self.weight = nn.Parameter((torch.rand(self.in_features, self.M, generator=g) * 2 - 1) * bound)
        self.bias = nn.Parameter((torch.rand(self.M, generator=g) * 2 - 1) * bound)

    def log_forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x @ weight + bias`` (read as ``log f`` by a ConvAC).

        Parameters
        ----------
        x : torch.Tensor
            ``(B, N, C)`` raw positions.

        Returns
        -------
        torch.Tensor
            ``(B, N, M)``.
        """
        return x @ self.weight + self.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x @ weight + bias`` (read as ``f`` by a ReLU net).

        Parameters
        ----------
        x : torch.Tensor
            ``(B, N, C)`` raw positions.

        Returns
        -------
        torch.Tensor
            ``(B, N, M)``.
        """
        return x @ self.weight + self.bias


#: Open registry of representation layers: ``name -> class(M, in_features, seed=...)``.
REPRESENTATIONS: dict[str, Callable[..., Representation]] = {
    "one_hot": OneHot,
    "gaussian": Gaussian,
    "linear": Linear,
}


# -- the gather plan --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Stage:
    """Nodes of one level sharing a weight shape; ``index[j, k]`` points at child ``k`` of node ``j``.

    ``index`` addresses the concatenation of the outputs of ``sources`` (earlier stages, in that order),
    followed by one padding row (position ``pad``) used where a node has fewer children than ``fan``.
    For leaf stages ``index[:, 0]`` holds the modes.

    Parameters
    ----------
    level : int
    nodes : tuple of frozenset
    r_in, r_out : int
        Weight shape.
    sources : tuple of int
        Earlier stages whose outputs the children come from.
    index : numpy.ndarray
        ``(n_nodes, fan)``.
    counts : numpy.ndarray
        Children per node.
    pad : int
        Position of the padding row.
    """

    level: int
    nodes: tuple[frozenset, ...]
    r_in: int
    r_out: int
    sources: tuple[int, ...]
    index: np.ndarray
    counts: np.ndarray
    pad: int

    @property
    def is_leaf(self) -> bool:
        """Whether this is a leaf stage (level 0)."""
        return self.level == 0

    @property
    def padded(self) -> bool:
        """Whether some node has fewer children than the stage's fan-in."""
        return bool((self.counts < self.index.shape[1]).any())


def compile_tree(tree: ModeTree, M: int, widths: Any, outputs: int) -> tuple[list[Stage], dict[frozenset, int]]:
    """Compile ``tree`` into stages (levels grouped by weight shape), children before parents.

    Weight tying for ``shared=True`` follows :func:`tensorexpr.convac`: one weight per ``(level, shape)``,
    which is one weight per stage.

    Parameters
    ----------
    tree : ModeTree
    M : int
    widths : int, sequence or dict
    outputs : int

    Returns
    -------
    stages : list of Stage
    widths : dict of frozenset to int
        Output width of every node.

    Raises
    ------
    NetworkError
        When ``tree`` is not a :class:`ModeTree`, has fewer than 2 modes or no pooling node, or ``widths`` /
        ``outputs`` do not fit it.
    """
    if not isinstance(tree, ModeTree):
        raise NetworkError(f"Models are built from a te.ModeTree, got {type(tree).__name__}. Hint: te.ModeTree.grid(8, 8).")
    if tree.n_modes < 2:
        raise NetworkError(f"A tree model needs at least 2 modes, got {tree.n_modes}.")
    out_w = resolve_widths(tree, widths, outputs)
    groups: dict[tuple[int, int, int], list[frozenset]] = {}
    for n in tree.nodes:
        r_in = M if tree.is_leaf(n) else out_w[tree.children(n)[0]]
        groups.setdefault((tree.levels[n], r_in, out_w[n]), []).append(n)
    if tree.is_leaf(tree.root):  # pragma: no cover - excluded above
        raise NetworkError("The tree has no pooling node.")
    stages: list[Stage] = []
    where: dict[frozenset, tuple[int, int]] = {}  # node -> (stage, row)
    keys = sorted(groups)  # by level first: the root, alone on the top level, comes last
    for key in keys:
        level, r_in, r_out = key
        nodes = tuple(groups[key])
        si = len(stages)
        if level == 0:
            modes = np.array([[next(iter(n))] for n in nodes], dtype=np.int64)
            stages.append(Stage(0, nodes, r_in, r_out, (), modes, np.ones(len(nodes), np.int64), -1))
        else:
            kids = [tree.children(n) for n in nodes]
            sources = tuple(sorted({where[c][0] for ks in kids for c in ks}))
            offset, total = {}, 0
            for s in sources:
                offset[s] = total
                total += len(stages[s].nodes)
            fan = max(len(ks) for ks in kids)
            index = np.full((len(nodes), fan), total, dtype=np.int64)
            for j, ks in enumerate(kids):
                for k, c in enumerate(ks):
                    s, row = where[c]
                    index[j, k] = offset[s] + row
            counts = np.array([len(ks) for ks in kids], dtype=np.int64)
            stages.append(Stage(level, nodes, r_in, r_out, sources, index, counts, total))
        for row, n in enumerate(nodes):
            where[n] = (si, row)
    if stages[-1].nodes != (tree.root,):  # pragma: no cover - ordering invariant
        raise NetworkError("internal: the root must be compiled last.")
    return stages, out_w


# -- inputs -----------------------------------------------------------------------------------------------
def positions(x: Any, tree: ModeTree, rep: Representation, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Reshape a batch to ``(B, N, C)`` with position ``(row, col)`` at mode ``row * W + col``.

    Accepts images ``(B, H, W)`` or ``(B, C, H, W)`` and sequences ``(B, N)`` or ``(B, N, C)``; a spatial
    representation (scattering) makes the positions itself.

    Parameters
    ----------
    x : torch.Tensor or array_like
    tree : ModeTree
    rep : Representation
    device : torch.device
    dtype : torch.dtype
        The dtype of float inputs (one-hot symbols stay ``long``).

    Returns
    -------
    torch.Tensor
        ``(B, N, C)`` on ``device``.

    Raises
    ------
    ModelInputError
        When the shape does not fit the tree (or its grid), the feature count differs from
        ``rep.in_features``, or one-hot inputs are not integers in ``0..M-1``.
    """
    if getattr(rep, "spatial", False):  # whole-image layers (scattering) make the positions themselves
        return rep.lift(x, tree, device, dtype)
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x))
    N = tree.n_modes
    from tensorexpr.bounds.geometry import tree_shape

    found = tree_shape(tree)  # from the tree's structure, never its name
    hw = found[1] if found is not None and found[0].startswith("grid") else None
    shape = tuple(x.shape)
    if x.dim() == 2:
        if shape[1] != N:
            raise ModelInputError(f"Input of shape {shape} has {shape[1]} positions but the tree has N={N} modes; "
                                  f"expected (B, {N}) or (B, {N}, C).")
        x = x.unsqueeze(-1)
    elif x.dim() == 3:
        if shape[1] * shape[2] == N and shape[1] != N and (hw is None or shape[1:] == hw):
            x = x.reshape(shape[0], N, 1)  # (B, H, W) image, one channel
        elif shape[1] != N:
            want = f"(B, {hw[0]}, {hw[1]})" if hw else f"(B, H, W) with H*W={N}"
            raise ModelInputError(f"Input of shape {shape} does not fit a tree of N={N} modes; expected {want} or "
                                  f"(B, {N}, C).")
    elif x.dim() == 4:
        if shape[2] * shape[3] != N or (hw is not None and shape[2:] != hw):
            want = f"(B, C, {hw[0]}, {hw[1]})" if hw else f"(B, C, H, W) with H*W={N}"
            raise ModelInputError(f"Input of shape {shape} does not fit a tree of N={N} modes; expected {want}.")
        x = x.reshape(shape[0], shape[1], N).transpose(1, 2)
    else:
        raise ModelInputError(f"Input of shape {shape} has {x.dim()} dims; expected (B,H,W), (B,C,H,W), (B,N) or (B,N,C).")
    if x.shape[-1] != rep.in_features:
        raise ModelInputError(f"Input has {x.shape[-1]} features per position but the {rep.name!r} representation "
                              f"expects in_features={rep.in_features}.")
    if rep.discrete:
        if x.dtype.is_floating_point and not torch.equal(x, x.round()):
            raise ModelInputError("one_hot inputs must be integers in 0..M-1, got non-integer floats.")
        x = x.long()
        lo, hi = (int(x.min()), int(x.max())) if x.numel() else (0, 0)
        if lo < 0 or hi >= rep.M:
            raise ModelInputError(f"one_hot input values span {lo}..{hi} but M={rep.M}: values must lie in 0..{rep.M - 1}. "
                                  f"Hint: set M to the number of symbols.")
        return x.to(device)
    return x.to(device=device, dtype=dtype)


def gather_children(outs: Sequence[torch.Tensor], st: Stage, pad_value: float, idx: torch.Tensor) -> torch.Tensor:
    """``(B, n_nodes, fan, r_in)``: the children of every node of ``st``, padded with ``pad_value``.

    Parameters
    ----------
    outs : sequence of torch.Tensor
        The outputs of the earlier stages.
    st : Stage
    pad_value : float
    idx : torch.Tensor
        ``st.index`` as a tensor on the outputs' device.

    Returns
    -------
    torch.Tensor
    """
    src = outs[st.sources[0]] if len(st.sources) == 1 else torch.cat([outs[s] for s in st.sources], dim=1)
    if st.padded:
        pad = src.new_full((src.shape[0], 1, src.shape[2]), pad_value)
        src = torch.cat([src, pad], dim=1)
    return src[:, idx]


def n_parameters(module: nn.Module) -> int:
    """Trainable parameter count.

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    int
    """
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
