r"""p4 group-equivariant tree models: a rotated filter basis lifts each patch, group convolutions mix.

Diaconu & Worrall, ICML 2019 (the group convolution ``[f * psi](g) = sum_x f(x) L_g[psi](x)``); the tying
is :mod:`tensorexpr.build.p4`. ``model(torch.rot90(x, 1, (-2, -1)))`` equals ``model(x)`` up to float
rounding, because the output pools over the rotation index at the root and the tree maps onto itself.

Scattering + p4 (roto-translation scattering feeding a p4 tree)
---------------------------------------------------------------
With ``representation="scattering:..."`` (``kernel=1``; the tree is over the ``(H/2^J) x (W/2^J)`` grid of
the scattering field) the lift acts on the coefficients ``S(u, lambda)`` of a position. A quarter turn ``g``
of the image that maps the sampling lattice ``2^J Z^2`` onto itself (kymatio's samples ``u = 2^J (i, j)``)
moves the field as

.. math:: S_{gx}(u, \lambda) = S_x(g^{-1} u, g^{-1} \lambda),

``g^{-1}\lambda`` shifting every orientation by ``L/2`` (:func:`~tensorexpr.models.scattering.rotate_coefficients`;
the permutation per position is :func:`~tensorexpr.models.scattering.coefficient_rotation`, ``q``). The lift
``W_0[d, (r, b)] = psi_b(q^{-r} d)`` (:func:`~tensorexpr.build.p4.permutation_lift_map`) then gives

.. math:: h_{gx}(g u, r, b) = \sum_e S_x(u, e)\, \psi_b(q^{-(r-1)} e) = h_x(u, r - 1, b),

the p4 law of the pixel lift, and the group convs, the symmetric pooling over a rotation-closed tree and
the invariant root finish as there: ``model(g x) == model(x)``. Because kymatio's orientations span
``[0, pi)``, ``q`` has order 2: a half turn fixes every coefficient, so lifted channels ``r`` and ``r + 2``
coincide (the orientations see ``p4 / C_2``; positions see all of p4). With ``rotinv=1`` ``q`` is the
identity (orbit averages are invariant) and the four lifted copies coincide. Exact (float rounding) for
images rotated about a point that maps the lattice onto itself (pixel ``(2^J (h - 1) / 2)``: e.g. 14 for
32x32, J=2) whose support keeps ``2^J`` zero pixels from the border (kymatio pads by reflection);
``torch.rot90`` about the image centre is not such a rotation and the invariance is then only approximate
(measured in ``tests/test_group_scattering.py`` and ``docs/scattering.md``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tensorexpr.core.errors import NetworkError
from tensorexpr.core.modetree import ModeTree
from tensorexpr.build.p4 import ORDER, p4_maps, permutation_lift_map, tree_rotation_closed
from tensorexpr.models.scattering import coefficient_rotation, is_scattering_spec, parse_scattering
from tensorexpr.models.tied import TiedTreeModel

__all__ = ["P4ConvAC", "P4ReLUNet", "PatchConvAC", "PatchReLUNet"]


class P4ConvAC(TiedTreeModel):
    """The p4 ConvAC on a square grid tree over ``kernel x kernel`` patches (log space, positive weights).

    Parameters
    ----------
    tree : ModeTree
        Square or mirror grid tree over the ``S x S`` patch positions; images are ``(S k) x (S k)``.
    M : int
        Representation functions per pixel (symbols for ``one_hot``).
    widths : int or list
        Filters per orientation at each level (``4 * widths[l]`` channels).
    outputs : int
    kernel : int
        Patch side ``k``.
    representation, in_features, seed, device : as in :class:`tensorexpr.models.ConvAC`. A scattering
        representation (``kernel=1``) lifts the coefficients with their orientation permutation (module doc).

    Raises
    ------
    NetworkError
        When ``tree`` is not a rotation-closed grid tree, a scattering representation has ``kernel != 1``, or
        ``widths`` is malformed.
    GeometryError
        When the tree is not over a square grid or is not balanced.

    References
    ----------
    Diaconu & Worrall, "Learning to Convolve: A Generalized Weight-Tying Approach", ICML 2019.

    Examples
    --------
    >>> import tensorexpr as te, torch
    >>> m = te.models.P4ConvAC(te.ModeTree.grid(4, 4), M=2, widths=2, outputs=3, kernel=2, device="cpu")
    >>> x = torch.randint(0, 2, (5, 8, 8))
    >>> bool(torch.allclose(m(torch.rot90(x, 1, (-2, -1))), m(x), atol=1e-5))
    True
    """

    log_space = True
    _orientations = 4  # hidden channels are (orientation, filter): summed for sensitivity measurements

    def __init__(self, tree: ModeTree, M: int, widths: Any, outputs: int = 1, kernel: int = 2,
                 representation: Any = "one_hot", in_features: int = 1, seed: int | None = 0, device: Any = None):
        if not isinstance(tree, ModeTree) or not tree_rotation_closed(tree):
            raise NetworkError(f"P4 models need a grid tree that maps onto itself under rotations, got {tree!r}.")
        self.widths_spec = widths
        maps = p4_maps(tree, M, widths, outputs, kernel)
        if is_scattering_spec(representation):
            if kernel != 1:
                raise NetworkError(f"Scattering p4 models take kernel=1 (the tree is over the scattering grid, one "
                                   f"coefficient vector per position), got kernel={kernel}.")
            spec = parse_scattering(representation)
            B0 = maps[0].cols // ORDER
            perms = [coefficient_rotation(spec, in_features, r) if spec.n_coefficients(in_features) == M
                     else np.arange(M) for r in range(ORDER)]  # a wrong M is reported by the representation
            maps[0] = permutation_lift_map(perms, B0)
        super().__init__(tree, M, maps, outputs, kernel, representation, in_features, seed, device)


class P4ReLUNet(P4ConvAC):
    """The ReLU counterpart of :class:`P4ConvAC` (ReLU then max/avg pooling; same tying, same geometry).

    Pixel features are background-centered (``f(x) - f(0)``) and the initial filters zero-sum
    (:meth:`TiedTreeModel._center`): without both, the model collapsed to a constant output on digits.

    Parameters
    ----------
    tree, M, widths, outputs, kernel, representation, in_features, seed, device
        As for :class:`P4ConvAC`.
    pooling : {"max", "avg"}, optional

    Raises
    ------
    NetworkError
        On an unknown ``pooling``, or as :class:`P4ConvAC`.
    GeometryError
        As :class:`P4ConvAC`.

    References
    ----------
    Diaconu & Worrall, "Learning to Convolve: A Generalized Weight-Tying Approach", ICML 2019.
    """

    log_space = False
    centered = True

    def __init__(self, tree: ModeTree, M: int, widths: Any, outputs: int = 1, kernel: int = 2, pooling: str = "max",
                 representation: Any = "one_hot", in_features: int = 1, seed: int | None = 0, device: Any = None):
        if pooling not in ("max", "avg"):
            raise NetworkError(f"Unknown pooling {pooling!r}; expected 'max' or 'avg'.")
        self.pooling = pooling
        super().__init__(tree, M, widths, outputs, kernel, representation, in_features, seed, device)


def _dense_maps(tree: ModeTree, M: int, widths: Any, outputs: int, kernel: int, factor: int) -> dict:
    from tensorexpr.build.p4 import level_widths
    from tensorexpr.build.tying import LevelMap
    import numpy as np

    B = [factor * b for b in level_widths(tree, widths)]
    dims = [kernel * kernel * M] + B + [outputs]
    return {l: LevelMap(dims[l], dims[l + 1], np.eye(dims[l] * dims[l + 1], dtype=np.int64), "free")
            for l in range(len(dims) - 1)}


class PatchConvAC(TiedTreeModel):
    """The untied baseline of :class:`P4ConvAC`: same patches, tree and channel counts, dense free 1x1 convs.

    Channel counts are ``channel_factor * widths[l]``; the convs are shared across positions (a plain ConvAC on
    ``k x k`` patch features).

    Parameters
    ----------
    tree, M, widths, outputs, kernel, representation, in_features, seed, device
        As for :class:`P4ConvAC`.
    channel_factor : int, optional
        Channels per width (4 matches the p4 model).

    Raises
    ------
    NetworkError
        On malformed ``widths`` or arguments :class:`TiedTreeModel` refuses.
    """

    log_space = True

    def __init__(self, tree: ModeTree, M: int, widths: Any, outputs: int = 1, kernel: int = 2,
                 representation: Any = "one_hot", in_features: int = 1, seed: int | None = 0, device: Any = None,
                 channel_factor: int = 4):
        self.widths_spec = widths
        super().__init__(tree, M, _dense_maps(tree, M, widths, outputs, kernel, channel_factor), outputs, kernel,
                         representation, in_features, seed, device)


class PatchReLUNet(PatchConvAC):
    """The untied ReLU baseline of :class:`P4ReLUNet` (same patches, tree and channel counts, same centering).

    Parameters
    ----------
    tree, M, widths, outputs, kernel, representation, in_features, seed, device, channel_factor
        As for :class:`PatchConvAC`.
    pooling : {"max", "avg"}, optional

    Raises
    ------
    NetworkError
        On an unknown ``pooling``, or as :class:`PatchConvAC`.
    """

    log_space = False
    centered = True

    def __init__(self, tree: ModeTree, M: int, widths: Any, outputs: int = 1, kernel: int = 2, pooling: str = "max",
                 representation: Any = "one_hot", in_features: int = 1, seed: int | None = 0, device: Any = None,
                 channel_factor: int = 4):
        if pooling not in ("max", "avg"):
            raise NetworkError(f"Unknown pooling {pooling!r}; expected 'max' or 'avg'.")
        self.pooling = pooling
        super().__init__(tree, M, widths, outputs, kernel, representation, in_features, seed, device, channel_factor)
