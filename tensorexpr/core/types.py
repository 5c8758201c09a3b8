"""Type aliases shared across the package (one place, per docs/design.md, "House style")."""

from __future__ import annotations

from typing import Mapping, Sequence, Union

import numpy as np
import numpy.typing as npt

Mode = int
NodeKey = frozenset  # canonical node identity: the frozenset of modes below it
Window = tuple[int, ...]
Nested = Union[int, Sequence["Nested"]]
Widths = Union[int, Sequence[int], Mapping[frozenset, int]]
Array = npt.NDArray[np.generic]
