"""A VGG-like ConvAC in plain torch, for ``tensorexpr report --torch`` (docs/torch.md).

    tensorexpr report --torch examples/torch_vgg.py:make_model --input 1x32x32 --templates 0,1
    tensorexpr report --torch examples/torch_vgg.py:make_strided --input 1x32x32 --templates 0,1

``make_model``: two 3x3 convolutions (16 channels) per scale, five 2x2 product poolings, a linear head: the
windows overlap. ``make_strided``: 2x2 stride-2 convolutions and product poolings, which do not overlap.
``make_small``: ``make_model`` for 8x8 inputs (three scales), small enough for quick checks.
"""

from __future__ import annotations

import torch
from torch import nn

import tensorexpr as te


def _stack(scales: int, width: int, kernel: int, stride: int) -> nn.Sequential:
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    c = 1
    for _ in range(scales):
        if stride == 1:
            for _ in range(2):
                layers.append(nn.Conv2d(c, width, kernel, padding=kernel // 2, bias=False))
                c = width
            layers.append(te.nn.ProductPool2d(2))
        else:  # a strided convolution halves, then product pooling halves again
            layers.append(nn.Conv2d(c, width, kernel, stride=stride, bias=False))
            c = width
            layers.append(te.nn.ProductPool2d(2))
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(width, 10, bias=False))


def make_model() -> nn.Sequential:
    """The overlapping VGG-like stack for 1x32x32 inputs."""
    return _stack(5, 16, 3, 1)


def make_strided() -> nn.Sequential:
    """For 1x32x32 inputs: two scales of a 2x2 stride-2 convolution (a sum of four offsets, no overlap) and a
    2x2 product pooling, then a last 2x2 stride-2 convolution to one position."""
    layers = list(_stack(2, 16, 2, 2))[:-2]
    layers.append(nn.Conv2d(16, 16, 2, stride=2, bias=False))
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(16, 10, bias=False))


def make_small() -> nn.Sequential:
    """The overlapping stack for 1x8x8 inputs (three scales, 4 channels)."""
    return _stack(3, 4, 3, 1)
