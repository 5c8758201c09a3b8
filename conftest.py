"""Doctests see ``te`` (``import tensorexpr as te``), the name every example in the docs uses."""

import pytest


@pytest.fixture(autouse=True)
def _doctest_te(doctest_namespace):  # noqa: ANN001
    import tensorexpr

    doctest_namespace["te"] = tensorexpr
