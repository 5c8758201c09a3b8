import os
import sys

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# test-only helpers (_bounds_helpers, _mincut_oracle) live beside the tests
sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
