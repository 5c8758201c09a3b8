"""Sweep job kinds (``tensorexpr/sweep/jobs.py``): network fields go through NetworkSpec (any constructor), and a
bad spec gives the API's error class and message, on the driver (networks) or in the job's row (partitions)."""

from __future__ import annotations

import pytest

import tensorexpr as te
from tensorexpr.build.spec import NetworkSpec
from tensorexpr.core.specs import PartitionSpec
from tensorexpr.sweep import SweepSpec
from tensorexpr.sweep.jobs import execute


def _message(fn) -> tuple[type, str]:  # noqa: ANN001
    with pytest.raises(te.TensorExprError) as exc:
        fn()
    return type(exc.value), str(exc.value)


@pytest.mark.parametrize("fields, api", [
    ({"constructor": "foo"}, lambda: NetworkSpec.parse("foo line:8")),
    ({"geometry": "torus:3"}, lambda: NetworkSpec.parse("convac torus:3")),
    ({"widths": 0}, lambda: NetworkSpec.parse("convac line:8 widths=0")),
    ({"widths": [2, -1, 2]}, lambda: NetworkSpec.parse("convac line:8 widths=2,-1,2")),
])
def test_bad_network_specs_fail_on_the_driver_with_the_api_error(fields, api):
    spec = SweepSpec("certify", {"geometry": "line:8", "M": 2, **fields}, {"seed": [0]})
    assert _message(spec.jobs) == _message(api)


@pytest.mark.parametrize("partition, api", [
    ("I:0,0,3", lambda: PartitionSpec.parse("I:0,0,3")),
    ("I:1,9", lambda: PartitionSpec.parse("I:1,9").build(8)),
    ("diagonal", lambda: PartitionSpec.parse("diagonal")),
])
def test_bad_partition_specs_are_recorded_with_the_api_error(partition, api):
    row = execute("certify", {"geometry": "line:8", "M": 2, "widths": 2, "partition": partition})
    cls, msg = _message(api)
    assert row["status"] == "error" and row["error"].startswith(f"{cls.__name__}: {msg}\n")


def test_a_job_builds_any_constructor_the_spec_names():
    row = execute("certify", {"constructor": "overlapping", "geometry": "line:8", "M": 2, "layers": "2,2,2",
                              "partition": "left_right"})
    assert row["status"] == "ok", row["error"]
    net = NetworkSpec.parse("overlapping line:8 M=2 layers=2,2,2 integer=true seed=0").build()
    assert row["result"]["upper"] == te.certify(net, te.Partition.left_right(8)).upper
