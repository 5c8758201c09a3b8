"""Network specs (``tensorexpr/build/spec.py``): the text form round-trips, every constructor builds what the
direct call builds, and bad specs name what is wrong."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorexpr as te
from tensorexpr.build.spec import NetworkSpec
from tensorexpr.core.operators import OPERATORS


def _same(a: te.Network, b: te.Network) -> None:
    """Same graph, same weights node by node, same template matrix (so the same function)."""
    assert repr(a) == repr(b) and [n.id for n in a.live_nodes] == [n.id for n in b.live_nodes]
    for x, y in zip(a.live_nodes, b.live_nodes):
        assert (x.kind, x.children, x.mode) == (y.kind, y.children, y.mode)
        assert (x.weight is None) == (y.weight is None)
        if x.weight is not None:
            np.testing.assert_array_equal(x.weight, y.weight)
    np.testing.assert_array_equal(a.F, b.F)


def test_the_brief_example_builds_the_direct_network():
    spec = NetworkSpec.parse("convac grid:4x4:square M=2 widths=3 tied=conv seed=0")
    assert str(spec) == "convac grid:4x4:square M=2 widths=3 tied=conv seed=0"
    direct = te.convac(te.ModeTree.grid(4, 4), 2, 3, shared=True, seed=0)
    _same(spec.build(), direct)
    np.testing.assert_array_equal(te.grid_tensor(spec.build()), te.grid_tensor(direct))


@pytest.mark.parametrize("text, direct", [
    ("convac grid:6x2:square:3x1,2x2 M=2 widths=2,3 seed=1",
     lambda: te.convac(te.ModeTree.grid(6, 2, [(3, 1), (2, 2)]), 2, [2, 3], seed=1)),
    ("convac line:8 M=2 widths=2 op=relu-max integer=true seed=2",
     lambda: te.convac(te.ModeTree.line(8), 2, 2, op="relu-max", integer=True, seed=2)),
    ("p4 grid:4x4:square M=1 widths=2 seed=0", lambda: te.group_convac(te.ModeTree.grid(4, 4), 1, 2, seed=0)),
    ("attribute grid:4x4:square M=2 widths=3 support=2 seed=0",
     lambda: te.attribute_convac(te.ModeTree.grid(4, 4), 2, 3, support=2, seed=0)),
    ("overlapping line:8 M=2 layers=3,1,2;2,2,2 seed=0", lambda: te.overlapping(8, [(3, 1, 2), (2, 2, 2)], 2, seed=0)),
    ("mixed dilated:8:contiguous M=4 widths=4 mix_with=dilated:8:reversed seed=0",
     lambda: te.mixed(te.ModeTree.dilated(8, "contiguous"), te.ModeTree.dilated(8, "reversed"), [], 4, 4, seed=0)),
])
def test_each_constructor_builds_the_direct_call(text, direct):
    spec = NetworkSpec.parse(text)
    assert NetworkSpec.parse(str(spec)) == spec
    _same(spec.build(), direct())


def test_from_mapping_is_the_toml_table():
    d = {"geometry": "line:8", "M": 2, "widths": [2, 2, 2], "shared": True, "seed": 3}
    spec = NetworkSpec.from_mapping(d)
    assert spec == NetworkSpec.parse("convac line:8 M=2 widths=2,2,2 tied=conv seed=3")
    assert NetworkSpec.from_mapping(spec.to_dict()) == spec
    with pytest.raises(te.NetworkError, match="not both"):
        NetworkSpec.from_mapping({**d, "tied": "conv"})


_SPECS = st.builds(
    NetworkSpec, constructor=st.just("convac"),
    geometry=st.sampled_from(["line:8", "grid:4x4:square", "grid:4x4:mirror", "shallow:6", "grid:6x6:square:3,2",
                              "nested:((0,1),(2,3))", "dilated:8:2,1,4"]),
    M=st.integers(1, 5), widths=st.one_of(st.integers(1, 9), st.lists(st.integers(1, 9), min_size=1, max_size=3)),
    outputs=st.integers(1, 3), op=st.sampled_from(sorted(OPERATORS)),
    tied=st.sampled_from(["none", "conv"]), seed=st.integers(0, 10**6), integer=st.booleans())


@settings(max_examples=60, deadline=None)
@given(_SPECS)
def test_text_form_round_trips(spec):
    assert NetworkSpec.parse(str(spec)) == spec
    assert NetworkSpec.from_mapping(spec.to_dict()) == spec


@pytest.mark.parametrize("text, error, message", [
    ("foo line:8", te.NetworkError, "Unknown network constructor 'foo'"),
    ("convac torus:3", te.GeometryError, "Unknown geometry 'torus'"),
    ("convac grid:4xq", te.GeometryError, "Bad grid shape"),
    ("convac line:8 widths=0", te.NetworkError, "widths must be positive"),
    ("convac line:8 widths=2,-1", te.NetworkError, "widths must be positive"),
    ("convac line:8 kernel=3", te.NetworkError, "does not apply to a convac network"),
    ("convac line:8 bogus=1", te.NetworkError, "Unknown network spec fields"),
    ("convac line:8 M=0", te.NetworkError, "M must be an integer >= 1"),
    ("convac line:8 op=sum", te.NetworkError, "op='sum' is unknown"),
    ("convac line:8 M", te.NetworkError, "not key=value"),
    ("convac line:8 M=2 M=3", te.NetworkError, "twice"),
    ("overlapping shallow:8 layers=2,2,2", te.NetworkError, "line:N or grid:HxW"),
    ("overlapping line:8", te.NetworkError, "needs layers"),
    ("mixed line:8", te.NetworkError, "needs mix_with"),
])
def test_bad_specs_name_what_is_wrong(text, error, message):
    with pytest.raises(error, match=message):
        NetworkSpec.parse(text)


def test_partitions_on_the_spec_geometry():
    spec = NetworkSpec.parse("convac grid:4x4:square M=2 widths=2 seed=0")
    assert spec.partitions("left_right,I:0,5") == [te.Partition.grid(4, 4, "left_right"), te.Partition([0, 5], 16)]
