"""One mistake, one error class: every public entry point raises the same class for the same mistake."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import tensorexpr as te
from tensorexpr.bounds import DEFAULT_PROVIDERS, BoundContext
from tensorexpr.rank import rank_many
from tensorexpr.core.specs import PartitionSpec
import tensorexpr.core.errors as errors


def _entry_points(net, P):
    return {
        "rank": lambda: te.rank(net, P),
        "rank exact": lambda: te.rank(net, P, method="exact"),
        "rank structured": lambda: te.rank(net, P, method="structured"),
        "rank_many": lambda: rank_many(net, [P]),
        "certify": lambda: te.certify(net, P),
        "specialization_bound": lambda: te.specialization_bound(net, P),
        "geometry_bound": lambda: te.geometry_bound(net, P),
        "mincut_bound": lambda: te.mincut_bound(net, P),
        "closed_form": lambda: te.closed_form(net, P),
        "profile": lambda: te.profile(net, [P]),
        **{f"provider {p.name}": (lambda p=p: p.compute(net, P, BoundContext(te.analyze(net)))) for p in DEFAULT_PROVIDERS},
    }


@pytest.mark.parametrize("wrong", [te.Partition.odd_even(8), te.Partition([0], 2), "odd_even?", [0, 1]])
def test_partition_size_mismatch_is_partition_error_everywhere(wrong):
    net = te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0, integer=True)
    for name, call in _entry_points(net, wrong).items():
        if name == "profile" and isinstance(wrong, str):
            continue  # a string is a family name to profile
        if name.startswith("provider") and not isinstance(wrong, te.Partition):
            continue  # providers are called by certify with a checked partition
        with pytest.raises(te.PartitionError):
            call()
            pytest.fail(f"{name} accepted {wrong!r}")


def test_repeated_modes_are_an_error():
    with pytest.raises(te.PartitionError, match="more than once"):
        te.Partition([0, 2, 2], 4)
    with pytest.raises(te.PartitionError, match="more than once"):
        te.Partition([0], 4, J=[1, 1, 2, 3])
    assert te.Partition((0, 2), 4).J == frozenset({1, 3})


def test_every_error_class_lives_in_errors_module():
    import tensorexpr.experiments.config as config
    import tensorexpr.experiments.data as data
    import tensorexpr.models.layers as layers
    rank_result = importlib.import_module("tensorexpr.rank.result")  # te.rank is also a function

    assert config.ConfigError is errors.ConfigError and data.DataError is errors.DataError
    assert layers.ModelInputError is errors.ModelInputError and rank_result.RankWarning is errors.RankWarning
    pkg = importlib.import_module("tensorexpr")
    for mod in pkgutil.walk_packages(pkg.__path__, "tensorexpr."):
        if mod.name.startswith(("tensorexpr.cli", "tensorexpr.__main__")):
            continue
        m = importlib.import_module(mod.name)
        for name, obj in vars(m).items():
            if inspect.isclass(obj) and issubclass(obj, (Exception, Warning)) and obj.__module__ == mod.name:
                assert mod.name == "tensorexpr.core.errors", f"{name} is defined in {mod.name}, not tensorexpr.core.errors"


def test_closed_form_takes_a_network_or_says_what_it_needs():
    net = te.convac(te.ModeTree.line(8), M=2, widths=3, seed=0)
    P = te.Partition.odd_even(8)
    cf = te.closed_form(net, P)
    assert cf is not None and cf == te.closed_form(te.ModeTree.line(8), P)
    # the oracle: the published closed form min(r_0, M)^{N/2} equals the certified rank
    assert int(cf.expr.subs({"M": 2, "r_0": 3}.items() and {s: v for s in cf.expr.free_symbols
                                                            for k, v in {"M": 2, "r_0": 3}.items() if s.name == k})) \
        == te.certify(net, P).value == 2**4
    dag = te.overlapping(4, [(2, 1, 1)], M=2, seed=0)
    with pytest.raises(te.NetworkError, match="needs a mode tree"):
        te.closed_form(dag, te.Partition.odd_even(4))
    with pytest.raises(te.NetworkError, match="ModeTree or a tree"):
        te.closed_form("line:8", P)


def test_closed_form_reads_structure_not_names():
    line = te.ModeTree.line(8)
    renamed = te.ModeTree(line.root, line.edges, name="grid:2x4:square")  # a lying name
    assert te.closed_form(renamed, te.Partition.odd_even(8)) is not None
    other = te.ModeTree.from_nested(((0, 2), (1, 3)), name="line:4")  # not a line, named like one
    assert te.closed_form(other, te.Partition.odd_even(4)) is None


def test_non_integral_float_in_integer_network_is_refused_with_the_value():
    W = np.array([[0.5, 1.0], [1.0, 2.0]])
    tree = te.ModeTree.line(2)
    with pytest.raises(te.NetworkError, match=r"non-integral entry 0\.5.*integer=True"):
        te.hierarchical(tree, {n: W if len(n) == 1 else np.ones((2, 1)) for n in tree.nodes}, 2, integer=True)


@pytest.mark.parametrize(
    "call, err, msg",
    [
        (lambda: te.convac(te.ModeTree.line(4), 2, 2, F=[["a", "b"], ["c", "d"]]), te.NetworkError, "numeric"),
        (lambda: te.convac(te.ModeTree.line(4), 2, 2, F=np.full((2, 2), np.nan)), te.NetworkError, "NaN"),
        (lambda: te.convac(te.ModeTree.line(4), 2, 2, F=np.zeros((0, 2))), te.NetworkError, "T >= 1"),
        (lambda: te.convac(te.ModeTree.line(4), 2, 2, seed=-1), te.NetworkError, "seed"),
        (lambda: te.convac(te.ModeTree.line(4), 2, 2, integer=True, int_range=0), te.NetworkError, "int_range"),
        (lambda: list(te.Partition.all_balanced(1)), te.PartitionError, "n >= 2"),
        (lambda: te.cp(1, 2, 2), te.NetworkError, "n >= 2"),
        (lambda: te.rank(np.eye(4).reshape(2, 2, 2, 2), te.Partition.odd_even(4), tol="a"), te.RankError, "tol"),
        (lambda: te.rank(np.eye(4).reshape(2, 2, 2, 2), te.Partition.odd_even(4), tol=-1), te.RankError, "tol"),
        (lambda: te.rank(np.eye(4).reshape(2, 2, 2, 2), te.Partition.odd_even(4), bogus=1), te.RankError, "bogus"),
        (lambda: te.rank(None, te.Partition.odd_even(4)), te.RankError, "NoneType"),
        (lambda: te.grid_tensor(te.convac(te.ModeTree.line(4), 2, 2), memory_budget=-1), te.BudgetError, "memory_budget"),
    ],
)
def test_bad_inputs_get_clear_errors(call, err, msg):
    with pytest.raises(err, match=msg):
        call()


def test_integer_network_refuses_non_integral_floats():
    with pytest.raises(te.NetworkError, match="non-integral"):
        te.convac(te.ModeTree.line(4), 2, 2, seed=0, integer=True, F=np.array([[0.5, 1.0], [1.0, 2.0]]))
    with pytest.raises(te.NetworkError, match="non-integral"):
        te.convac(te.ModeTree.line(4), 2, 2, seed=0, integer=True, F=np.array([[0.5, 1], [1, 2]], dtype=object))
    net = te.convac(te.ModeTree.line(4), 2, 2, seed=0, integer=True, F=np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert net.F.dtype.kind == "i"  # integral floats become exact integers


# -- the table of mistakes, Python API rows (docs/errors.md: class and message start live on the page) -------------
def _net4(**kw):
    return te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0, integer=True, **kw)


def _nan_weight_network():
    tree = te.ModeTree.line(2)
    return te.hierarchical(tree, {n: np.full((2, 2), np.nan) if len(n) == 1 else np.ones((2, 1)) for n in tree.nodes}, 2)


def _register_exact_twice():
    from tensorexpr.rank import register_rank_method

    return register_rank_method("exact")


ERROR_ROWS = [
    ("partition-empty-side", lambda: te.Partition([], 4)),
    ("partition-empty-J", lambda: te.Partition([0, 1, 2, 3], 4)),
    ("partition-repeated-mode", lambda: te.Partition([0, 2, 2], 4)),
    ("partition-out-of-range", lambda: te.Partition([0, 7], 4)),
    ("partition-non-integer-mode", lambda: te.Partition([0.5], 4)),
    ("partition-overlap", lambda: te.Partition([0, 1], 4, J=[1, 2, 3])),
    ("partition-size-mismatch", lambda: te.rank(_net4(), te.Partition.odd_even(8))),
    ("partition-spec-malformed", lambda: PartitionSpec.parse("I:0,x")),
    ("partition-family-unknown", lambda: te.Partition.family("zigzag", 4)),
    ("partition-random-one-mode", lambda: te.Partition.random(1)),
    ("partition-not-a-partition", lambda: te.certify(_net4(), "odd_even")),
    ("widths-zero", lambda: te.convac(te.ModeTree.line(4), 2, 0)),
    ("widths-negative", lambda: te.convac(te.ModeTree.line(4), 2, -2)),
    ("widths-non-integer", lambda: te.convac(te.ModeTree.line(4), 2, 2.5)),
    ("widths-too-many", lambda: te.convac(te.ModeTree.line(4), 2, [2, 2, 2, 2])),
    ("M-below-1", lambda: te.convac(te.ModeTree.line(4), 0, 2)),
    ("templates-nan", lambda: te.convac(te.ModeTree.line(4), 2, 2, F=np.array([[np.nan, 0], [0, 1]]))),
    ("templates-wrong-shape", lambda: te.convac(te.ModeTree.line(4), 2, 2, F=np.eye(3))),
    ("weights-nan", _nan_weight_network),
    ("grid-tensor-over-budget", lambda: te.grid_tensor(te.convac(te.ModeTree.grid(8, 8), 2, 2))),
    ("grid-tensor-too-many-axes", lambda: te.rank(te.convac(te.ModeTree.grid(16, 16), 2, 2),
                                                   te.Partition.left_right(256), method="numeric")),
    ("constructor-unknown", lambda: te.NetworkSpec.parse("foo line:8")),
    ("geometry-unknown", lambda: te.NetworkSpec.parse("convac torus:8")),
    ("grid-geometry-unknown", lambda: te.ModeTree.grid(4, 4, geometry="hex")),
    ("grid-not-divisible", lambda: te.ModeTree.grid(6, 6, window=4)),
    ("spec-field-unknown", lambda: te.NetworkSpec.parse("convac line:8 foo=3")),
    ("unbalanced-tree-attribute", lambda: te.attribute_convac(te.ModeTree.from_nested(((0, 1), ((2, 3), (4, 5)))), 2, 2)),
    ("unbalanced-tree-p4", lambda: te.NetworkSpec.parse("p4 nested:((0,1),((2,3),(4,5)))").build()),
    ("operator-unknown", lambda: te.convac(te.ModeTree.line(4), 2, 2, op="magic")),
    ("output-out-of-range", lambda: te.certify(_net4(), te.Partition.odd_even(4), output=3)),
    ("rank-method-unknown", lambda: te.rank(_net4(), te.Partition.odd_even(4), method="magic")),
    ("rank-method-duplicate", _register_exact_twice),
    ("prime-not-prime", lambda: te.rank(_net4(), te.Partition.odd_even(4), method="exact", prime=12)),
    ("exact-rank-float-network", lambda: te.rank(te.convac(te.ModeTree.line(4), 2, 2, seed=0),
                                                  te.Partition.odd_even(4), method="exact")),
    ("rank-tensor-nan", lambda: te.rank(np.full((2, 2, 2, 2), np.nan), te.Partition.odd_even(4))),
    ("rank-tensor-inf", lambda: te.rank(np.full((2, 2, 2, 2), np.inf), te.Partition.odd_even(4))),
    ("certify-not-a-network", lambda: te.certify("hello", te.Partition.odd_even(4))),
    ("certify-method-unknown", lambda: te.certify(_net4(), te.Partition.odd_even(4), methods=["magic"])),
    ("grid-tensor-not-a-network", lambda: te.grid_tensor("hello")),
    ("spectrum-not-a-network", lambda: te.spectrum(42, te.Partition.odd_even(4))),
    ("profile-family-unknown", lambda: te.profile(_net4(), ["zigzag"])),
]


@pytest.mark.parametrize("row, call", ERROR_ROWS, ids=[r for r, _ in ERROR_ROWS])
def test_api_mistakes_of_the_errors_page(row, call, check_error_row):
    check_error_row(row, call)


def test_an_empty_side_is_refused_by_every_partition_entry_point():
    """The empty side is the one convention the constructor used to let through: [A]_{0,J} is a vector of rank 1
    for any nonzero network, which reads as a certified separation rank of 1. Every way of naming it now fails."""

    for call in (lambda: PartitionSpec.parse("I:").build(4), lambda: te.Partition.from_mask([0, 0, 0, 0]),
                 lambda: te.Partition.left_right(1), lambda: te.Partition([0, 1, 2, 3], 4).swapped()):
        with pytest.raises(te.PartitionError, match="is empty"):
            call()
