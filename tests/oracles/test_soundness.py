"""Adversarial soundness suite: certificates against a brute-force oracle, over drawn architectures.

The oracle is independent of the library's evaluation and rank code: it evaluates every grid-tensor entry
from the node semantics (docs/conventions.md) with exact Python integers / Fractions, vectorized over the
entries with numpy object arrays, matricizes by its own axis permutation, and takes the exact rank over Q
with FLINT's ``fmpq_mat`` directly. It reads only the *architecture* from a network: the graph, the operator,
``F`` and the parametrization (which blocks feed which weights, through which fixed maps, and which weights
are constants). It draws its own parameter values.

For every drawn network and partition it checks:

* no upper bound is below an observed rank (any weight setting is a witness);
* no lower bound is above the best observed rank (after extra draws, and always including certify's own
  integer instance, recomputed here independently);
* a certified value equals the best observed rank (product networks: the generic rank is attained almost
  everywhere, so random draws from a wide range reach it).

Run more examples with ``pytest -m slow tests/oracles/test_soundness.py``. Named regression cases follow the
drawn suites.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import tensorexpr as te  # noqa: E402
from tensorexpr.build import common_nodes  # noqa: E402
from tensorexpr.core.operators import OPERATORS  # noqa: E402
from tensorexpr.core.denominators import clear_denominators  # noqa: E402
from tensorexpr.rank import rank_many  # noqa: E402
from tensorexpr.core.params import FIXED, Tied  # noqa: E402
from tensorexpr.testing import brute_generic_rank, brute_matricization, fraction_rank, random_tree  # noqa: E402

flint = pytest.importorskip("flint")

# -- the oracle ----------------------------------------------------------------------------------------------
_RANGE = 40  # oracle draws in [-_RANGE, _RANGE]; small enough for fast exact arithmetic


def _relu(x: Any) -> Any:
    return x if x > 0 else 0


def _op_scalar(name: str, args: list[Any]) -> Any:
    """The pooling operators of docs/conventions.md, written out independently of tensorexpr.core.operators."""
    if name == "product":
        out = 1
        for a in args:
            out = out * a
        return out
    if name == "relu-max":
        return _relu(max(args))
    if name == "relu-sum":
        return sum(_relu(a) for a in args)
    if name == "relu-avg":
        return Fraction(sum(_relu(a) for a in args), len(args))
    raise NotImplementedError(f"oracle has no operator {name!r}")


_vop = {name: np.frompyfunc(lambda *a, _n=name: _op_scalar(_n, list(a)), 2, 1) for name in
        ("relu-max", "relu-sum")}


def _combine(name: str, kids: list[np.ndarray]) -> np.ndarray:
    """Apply the operator entry-wise to arrays of the children's channel values (object dtype)."""
    if name == "product":
        out = kids[0]
        for k in kids[1:]:
            out = out * k
        return out
    if name == "relu-avg":
        s = _combine("relu-sum", kids)
        return s * Fraction(1, len(kids))
    relu = np.frompyfunc(_relu, 1, 1)
    if name == "relu-sum":
        out = relu(kids[0])
        for k in kids[1:]:
            out = out + relu(k)
        return out
    if name == "relu-max":
        out = kids[0]
        for k in kids[1:]:
            out = np.where(k > out, k, out)
        return relu(out)
    raise NotImplementedError(name)


def _exact(a: Any) -> Any:
    """Python int / Fraction for an exact scalar (numpy ints included)."""
    if isinstance(a, Fraction):
        return a
    if isinstance(a, (int, np.integer)):
        return int(a)
    if isinstance(a, (float, np.floating)) and float(a).is_integer():
        return int(a)
    raise TypeError(f"oracle needs exact scalars, got {a!r}")


def _exact_array(a: np.ndarray) -> np.ndarray:
    return np.vectorize(_exact, otypes=[object])(np.asarray(a, dtype=object)) if np.asarray(a).size else \
        np.asarray(a, dtype=object)


def oracle_weights(net: te.Network, theta: dict[str, np.ndarray] | None) -> dict[str, np.ndarray | None]:
    """Every node's weight at parameter values ``theta`` (``None``: the network's own), through the
    parametrization: ``reshape(basis @ theta[block])``; constants and identities as they are."""
    out: dict[str, np.ndarray | None] = {}
    for nd in net.nodes:
        if nd.weight is None:
            out[nd.id] = None
            continue
        p = nd.param
        if theta is None or not isinstance(p, Tied):
            out[nd.id] = _exact_array(nd.weight)
            continue
        th = theta[p.block]
        if p.basis is None:
            w = th.reshape(nd.weight.shape)
        else:
            B = _exact_array(p.basis)
            w = np.array([sum(B[i, k] * th[k] for k in range(th.size)) for i in range(B.shape[0])],
                         dtype=object).reshape(nd.weight.shape)
        out[nd.id] = w
    return out


def oracle_grid_tensor(net: te.Network, weights: dict[str, np.ndarray | None], output: int = 0) -> np.ndarray:
    """The grid tensor, entry by entry (vectorized over entries): row ``e`` of every node value is that node's
    channel vector on the input whose position ``m`` holds template ``digits(e)[m]`` (C order)."""
    T, N = net.n_templates, net.n_modes
    F = _exact_array(net.F)
    idx = np.indices((T,) * N).reshape(N, -1)  # idx[m, e] = template at mode m in entry e
    vals: dict[str, np.ndarray] = {}
    for nd in net.nodes:
        W = weights[nd.id]
        if nd.kind == "leaf":
            x = F[idx[nd.mode]]  # (E, M)
        elif nd.kind == "sum":
            x = vals[nd.children[0]]
            for c in nd.children[1:]:
                x = x + vals[c]
        elif nd.kind == "linear":
            x = vals[nd.children[0]]
        else:
            x = _combine(net.op.name, [vals[c] for c in nd.children])
        vals[nd.id] = x if W is None else x.dot(W)
    return vals[net.output][:, output].reshape((T,) * N)


def oracle_rank(A: np.ndarray, I: tuple[int, ...], J: tuple[int, ...]) -> int:
    """Exact rank over Q of ``[A]_{I,J}``: axes permuted to (sorted I, sorted J), C-order reshape."""
    T = A.shape[0] if A.ndim else 1
    Mx = np.transpose(A, tuple(sorted(I)) + tuple(sorted(J))).reshape(T ** len(I), T ** len(J))
    if all(isinstance(v, int) for v in Mx.flat):
        return int(flint.fmpz_mat(Mx.tolist()).rank())
    return int(flint.fmpq_mat([[flint.fmpq(Fraction(v).numerator, Fraction(v).denominator) for v in row]
                               for row in Mx.tolist()]).rank())


def _draw_theta(net: te.Network, rng: np.random.Generator, lo: int) -> dict[str, np.ndarray]:
    return {b: np.array([int(x) for x in rng.integers(lo, _RANGE + 1, size=v.size)], dtype=object)
            for b, v in net.params.items()}


def observed_ranks(net: te.Network, P: te.Partition, draws: int, seed: int, output: int = 0,
                   positive: bool = False) -> list[int]:
    """Exact ranks at ``draws`` random integer parameter points (and at the network's own exact weights)."""
    rng = np.random.default_rng(seed)
    lo = 1 if positive else -_RANGE
    I, J = tuple(P.I), tuple(P.J)
    ranks = []
    try:
        ranks.append(oracle_rank(oracle_grid_tensor(net, oracle_weights(net, None), output), I, J))
    except TypeError:  # float weights: not an exact point
        pass
    for _ in range(draws):
        ranks.append(oracle_rank(oracle_grid_tensor(net, oracle_weights(net, _draw_theta(net, rng, lo)), output),
                                 I, J))
    return ranks


def check_certificate(net: te.Network, P: te.Partition, output: int = 0) -> None:
    """The soundness contract of :func:`te.certify` against the oracle."""
    cert = te.certify(net, P, output=output)
    obs = observed_ranks(net, P, draws=2, seed=1, output=output)
    try:  # certify's own integer instance, recomputed independently
        twin = te.integer_twin(net, seed=0)
        obs.append(oracle_rank(oracle_grid_tensor(twin, oracle_weights(twin, None), output), tuple(P.I),
                               tuple(P.J)))
    except te.TensorExprError:
        pass
    best = max(obs)
    assert cert.upper >= best, f"upper bound {cert.upper} ({cert.upper_method}) < observed rank {best}: {net!r} {P!r}"
    if cert.lower > best or (cert.certified and net.op.multilinear and cert.value != best):
        best = max(best, *observed_ranks(net, P, draws=6, seed=7, output=output))  # rule out unlucky draws
    assert cert.lower <= best, (
        f"lower bound {cert.lower} ({cert.lower_method}) > best observed rank {best}: {net!r} {P!r}")
    if cert.certified and net.op.multilinear:
        assert cert.value == best, f"certified {cert.value} but the oracle's generic rank is {best}: {net!r} {P!r}"


# -- architectures ----------------------------------------------------------------------------------------
SETTINGS = settings(max_examples=500, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))
SLOW = settings(SETTINGS, max_examples=5000)


_F_KINDS = ["identity", "int", "singular", "rect", "rational"]


@st.composite
def templates(draw: Callable, M: int) -> np.ndarray | None:
    """F: identity, random integer, rank-deficient, rectangular (T != M), or rational."""
    kind = draw(st.sampled_from(_F_KINDS))
    if kind == "identity":
        return None
    T = M if kind in ("int", "singular", "rational") else draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 10**6)))
    F = rng.integers(-3, 4, size=(T, M)).astype(np.int64)
    if kind == "singular" and T >= 2:
        F[-1] = F[0] * int(rng.integers(-2, 3))
    if kind == "rational":
        den = rng.integers(1, 4, size=(T, M))
        return np.array([[Fraction(int(F[i, j]), int(den[i, j])) for j in range(M)] for i in range(T)],
                        dtype=object)
    return F


@st.composite
def partitions(draw: Callable, n: int) -> te.Partition:
    k = draw(st.integers(1, n - 1))
    I = draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k, unique=True))
    return te.Partition(sorted(I), n)


def _budget_ok(n: int, F: Any, M: int) -> bool:
    T = M if F is None else len(F)
    return T ** n <= 729


@st.composite
def tree_networks(draw: Callable) -> tuple[te.Network, te.Partition]:
    """convac on random trees (uneven, fan-in up to 4), per-level widths, shared or not, every operator, F."""
    n = draw(st.integers(2, 6))
    M = draw(st.integers(1, 3))
    F = draw(templates(M))
    if not _budget_ok(n, F, M):
        n = 3
    tree = random_tree(n, np.random.default_rng(draw(st.integers(0, 10**6))), max_fan=4)
    widths: Any = [draw(st.integers(1, 3)) for _ in range(tree.depth)]
    if draw(st.booleans()):  # per-node widths: siblings share one (they pool one channel index)
        widths = {c: w for t in tree.internal_nodes for w in [draw(st.integers(1, 3))] for c in tree.children(t)}
    op = draw(st.sampled_from(sorted(OPERATORS)))
    shared = draw(st.booleans())
    net = te.convac(tree, M, widths, shared=shared, op=op, seed=draw(st.integers(0, 10**6)), integer=True, F=F,
                    int_range=20)
    return net, draw(partitions(n))


@st.composite
def explicit_networks(draw: Callable) -> tuple[te.Network, te.Partition]:
    """hierarchical() with identity (None) and constant weights, shared or free, on random trees."""
    n = draw(st.integers(2, 5))
    M = draw(st.integers(1, 3))
    F = draw(templates(M))
    tree = random_tree(n, np.random.default_rng(draw(st.integers(0, 10**6))), max_fan=3)
    rng = np.random.default_rng(draw(st.integers(0, 10**6)))
    r = draw(st.integers(1, 3))
    weights: dict[frozenset, Any] = {}
    # widths: leaves output r (or M when None); internal nodes keep their input width unless weighted
    none_leaves = draw(st.booleans())
    shared = draw(st.booleans())
    leaf_w = None if none_leaves else rng.integers(-5, 6, size=(M, r))
    per_level: dict[tuple, np.ndarray] = {}

    def mat(shape: tuple[int, int], level: int) -> np.ndarray:
        if not shared:
            return rng.integers(-5, 6, size=shape)
        return per_level.setdefault((level, shape), rng.integers(-5, 6, size=shape))

    width_in = {}
    for node in sorted(tree.nodes, key=len):
        if tree.is_leaf(node):
            weights[node] = leaf_w
            width_in[node] = M if leaf_w is None else r
            continue
        w_in = width_in[tree.children(node)[0]]
        if node == tree.root:
            weights[node] = rng.integers(-5, 6, size=(w_in, 1))
            width_in[node] = 1
        elif draw(st.booleans()):
            weights[node] = None  # identity
            width_in[node] = w_in
        else:
            weights[node] = mat((w_in, w_in), tree.levels[node])
            width_in[node] = w_in
    net = te.hierarchical(tree, weights, M, F=F, integer=True, shared=shared)
    if draw(st.booleans()):  # declare some weights constant
        fixed = {nd.id for nd in net.nodes if nd.weight is not None and draw(st.booleans())}
        nodes = tuple(te.Node(nd.id, nd.kind, nd.children, nd.weight, nd.mode,
                              FIXED if nd.id in fixed else None) for nd in net.nodes)
        net = te.Network(nodes, net.output, net.M, net.op, net.F, True, net.tree, {}, "fixed-mix")
    return net, draw(partitions(n))


@st.composite
def dag_networks(draw: Callable) -> tuple[te.Network, te.Partition]:
    """Overlapping (stride < window, a mode read several times) and mixed decompositions."""
    M = draw(st.integers(1, 3))
    F = draw(templates(M))
    seed = draw(st.integers(0, 10**6))
    if draw(st.booleans()):
        n = draw(st.integers(3, 5))
        w = draw(st.integers(2, 3))
        stride = draw(st.sampled_from([s for s in range(1, w + 1) if (n - w) % s == 0]))
        layers = [(w, stride, draw(st.integers(1, 3)))]
        net = te.overlapping(n, layers, M, seed=seed, integer=True, shared=draw(st.booleans()), F=F, int_range=20)
    else:
        n = draw(st.sampled_from([4, 6]))
        ta = te.ModeTree.line(n) if n == 4 else te.ModeTree.from_nested(((0, 1), (2, 3), (4, 5)))
        tb = te.ModeTree.from_nested(((0, 2), (1, 3))) if n == 4 else te.ModeTree.from_nested(((0, 3), (1, 4),
                                                                                               (2, 5)))
        convention = draw(st.sampled_from(["swap", "sum"]))
        r = draw(st.sampled_from([2, 4])) if convention == "sum" else 2
        if convention == "swap":  # M discretizers in R^r (docs/theory.md, eq. 4); mixture nodes common to both
            M = draw(st.integers(r, 3))
            F = None if draw(st.booleans()) else draw(_discretizers(M, r))
            common = [m for m in common_nodes(ta, tb) if 1 < len(m) < n] if n == 4 else []
            mix = [common[0]] if common and draw(st.booleans()) else []
            net = te.mixed(ta, tb, mix, M, widths=r, seed=seed, integer=True, F=F, int_range=20, convention="swap")
            return net, draw(partitions(n))
        net = te.mixed(ta, tb, [], M, widths=r, seed=seed, integer=True, F=F, int_range=20, convention="sum")
    if not _budget_ok(net.n_modes, F, M):
        return draw(tree_networks())
    return net, draw(partitions(net.n_modes))


@st.composite
def _discretizers(draw: Callable, M: int, r: int) -> np.ndarray:
    rng = np.random.default_rng(draw(st.integers(0, 10**6)))
    V = rng.integers(-3, 4, size=(M, r)).astype(np.int64)
    if draw(st.booleans()):
        den = rng.integers(1, 4, size=(M, r))
        return np.array([[Fraction(int(V[i, j]), int(den[i, j])) for j in range(r)] for i in range(M)], dtype=object)
    return V


@st.composite
def tree_decompositions(draw: Callable) -> tuple[te.Network, te.Partition]:
    """The dilated tree decomposition of eq. 3: per-child linear maps, an identity pool, discretizers as F."""
    n = draw(st.integers(2, 6))
    r = draw(st.integers(1, 3))
    M = draw(st.integers(1, 3))
    if M ** n > 729:
        n = 4
    tree = random_tree(n, np.random.default_rng(draw(st.integers(0, 10**6))), max_fan=2)
    op = draw(st.sampled_from(sorted(OPERATORS)))
    net = te.tree_decomposition(tree, r, M=M, op=op, seed=draw(st.integers(0, 10**6)), integer=True,
                                F=draw(_discretizers(M, r)), int_range=20)
    return net, draw(partitions(n))


@st.composite
def extracted_networks(draw: Callable) -> tuple[te.Network, te.Partition]:
    """Trained-model form: a torch ConvAC or ReLU net on a random tree, handed back with ``to_network()``
    (positive log-space ConvAC weights, tied per level when shared); certify bounds its architecture."""
    n = draw(st.integers(2, 5))
    M = draw(st.integers(2, 3))
    tree = random_tree(n, np.random.default_rng(draw(st.integers(0, 10**6))), max_fan=3)
    widths = [draw(st.integers(1, 3)) for _ in range(tree.depth)]
    seed = draw(st.integers(0, 10**6))
    shared = draw(st.booleans())
    if draw(st.booleans()):
        model = te.models.ConvAC(tree, M, widths, shared=shared, seed=seed, device="cpu")
    else:
        model = te.models.ReLUNet(tree, M, widths, pooling=draw(st.sampled_from(["max", "avg"])), shared=shared,
                                  seed=seed, device="cpu")
    return model.to_network(), draw(partitions(n))


@given(extracted_networks())
@settings(SETTINGS, max_examples=150)
def test_certify_is_sound_on_extracted_models(case: tuple[te.Network, te.Partition]) -> None:
    check_certificate(*case)


@given(tree_networks())
@SETTINGS
def test_certify_is_sound_on_tree_networks(case: tuple[te.Network, te.Partition]) -> None:
    check_certificate(*case)


@given(explicit_networks())
@SETTINGS
def test_certify_is_sound_with_identity_fixed_and_shared_weights(case: tuple[te.Network, te.Partition]) -> None:
    check_certificate(*case)


@given(dag_networks())
@SETTINGS
def test_certify_is_sound_on_dags(case: tuple[te.Network, te.Partition]) -> None:
    check_certificate(*case)


@given(tree_decompositions())
@SETTINGS
def test_certify_is_sound_on_tree_decompositions(case: tuple[te.Network, te.Partition]) -> None:
    check_certificate(*case)


@pytest.mark.slow
@given(st.one_of(tree_networks(), explicit_networks(), dag_networks(), tree_decompositions(), extracted_networks()))
@SLOW
def test_certify_is_sound_many(case: tuple[te.Network, te.Partition]) -> None:
    check_certificate(*case)


# -- the oracle itself is checked against a closed form ------------------------------------------------------
def test_oracle_matches_theorem_1_closed_form() -> None:
    """Odd/even rank of an HT ConvAC is min(r_0, M)^{N/2} (docs/theory.md, Theorem 1 [derived exact])."""
    net = te.convac(te.ModeTree.line(4), M=3, widths=2, seed=0, integer=True, int_range=20)
    assert max(observed_ranks(net, te.Partition.odd_even(4), draws=2, seed=0)) == 2 ** 2


def test_oracle_sees_symmetric_windows() -> None:
    """A tied 2x2 window at M=2 has rank dim Sym^2(Q^2) = 3, an untied one 4."""
    tree = te.ModeTree.shallow(4)
    P = te.Partition([0, 1], 4)
    tied = te.convac(tree, 2, [4], shared=True, seed=0, integer=True, int_range=20)
    free = te.convac(tree, 2, [4], shared=False, seed=0, integer=True, int_range=20)
    assert max(observed_ranks(tied, P, 3, 0)) == 3
    assert max(observed_ranks(free, P, 3, 0)) == 4


# Named regression cases: each once gave a wrong number or a crash far from the cause.


def test_declared_tying_is_seen_by_the_lower_bound():
    """One array on every leaf of a CP network, declared shared: the window tensor is symmetric (Sym^2 of R^2
    has dim 3), so no lower bound may exceed 3. Ties are declared, never read from array identity."""
    tree = te.ModeTree.shallow(4)
    U = np.array([[1, 2, 3, 4], [5, 6, 7, 9]])
    weights = {n: (U if tree.is_leaf(n) else np.ones((4, 1), dtype=np.int64)) for n in tree.nodes}
    P = te.Partition([0, 1], 4)
    tied = te.hierarchical(tree, weights, M=2, integer=True, shared=True)
    assert len({tied.tie_key(f"x{m}") for m in range(4)}) == 1
    cert = te.certify(tied, P)
    assert cert.lower <= 3 < 4  # [derived] rank <= dim Sym^2(R^2) = 3 for every tied weight setting
    assert te.rank(tied, P, method="exact").rank == 3
    # undeclared: four free leaf blocks that happen to be equal here; the architecture's generic rank is 4
    free = te.hierarchical(tree, weights, M=2, integer=True)
    assert {free.weight_kind(f"x{m}") for m in range(4)} == {"free"}
    assert te.rank(te.integer_twin(free), P, method="exact").rank == 4


def test_zero_templates_certify_rank_zero():
    net = te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0, integer=True, F=np.zeros((2, 2), dtype=np.int64))
    P = te.Partition([0, 1], 4)
    cert = te.certify(net, P)
    assert cert.certified and cert.lower == 0 == te.rank(net, P, method="exact").rank


def test_singular_integer_F_caps_the_upper_bound():
    F = np.array([[1, 2, 0], [2, 4, 0], [0, 0, 1]])  # rank 2
    net = te.convac(te.ModeTree.line(8), M=3, widths=3, seed=0, integer=True, F=F)
    P = te.Partition.odd_even(8)
    cert = te.certify(net, P)
    assert cert.upper <= 2**4 and cert.lower <= te.rank(net, P, method="exact").rank <= cert.upper


# The four reproducers of issue 8, each against an oracle independent of the bounds under test:
# tensorexpr.testing.brute_generic_rank (entry-by-entry grid tensor, rank over Q by fraction elimination,
# maximised over random integer draws of the free parameters) and fraction_rank. A certificate must never state
# a value the oracle contradicts: lower <= the oracle's generic rank (at least every observed rank) <= upper,
# and certified means equal.


def _check_sound(net: te.Network, P: te.Partition, generic: int) -> te.Certificate:
    cert = te.certify(net, P)
    assert cert.lower <= generic <= cert.upper, (cert, generic)
    if cert.certified:
        assert cert.value == generic
    return cert


def test_identity_inner_nodes_are_not_free_weights():
    """Issue 8 #1: weight=None at both inner nodes is the identity: A = sum of 2 rank-one terms."""
    rng = np.random.default_rng(0)
    tree = te.ModeTree.from_nested(((0, 1), (2, 3)))
    W = {n: (rng.integers(-9, 10, size=(2, 2)) if tree.is_leaf(n) else
             rng.integers(-9, 10, size=(2, 1)) if n == tree.root else None) for n in tree.nodes}
    net = te.hierarchical(tree, W, 2, integer=True)
    P = te.Partition([0, 2], 4)
    assert net.weight_kind("t0-1") == "identity"
    generic = brute_generic_rank(net, P, draws=4)
    assert generic == 2  # two rank-one terms: at most 2 for every weight setting; 2 is attained
    cert = _check_sound(net, P, generic)
    assert cert.certified and cert.value == 2
    assert cert.details["specialization"]["skip_kind"] == "not applicable"
    assert "identity" in cert.details["specialization"]["skipped"]
    with pytest.raises(te.NotApplicable, match="identity"):
        te.specialization_bound(net, P)


def test_identity_leaves_with_rank_deficient_F():
    """Issue 8 #1 (variant): None leaves and F = [[1,0,2],[0,1,0]] on shallow(4), I = {0, 1}: every draw gives 2."""
    rng = np.random.default_rng(1)
    tree = te.ModeTree.shallow(4)
    W = {n: (None if tree.is_leaf(n) else rng.integers(-9, 10, size=(3, 1))) for n in tree.nodes}
    net = te.hierarchical(tree, W, 3, integer=True, F=np.array([[1, 0, 2], [0, 1, 0]]))
    P = te.Partition([0, 1], 4)
    generic = brute_generic_rank(net, P, draws=4)
    assert generic == 2
    cert = _check_sound(net, P, generic)
    assert cert.lower == 2
    assert "skipped" in cert.details["specialization"]


def test_declared_ties_respected_by_every_lower_bound():
    """Issue 8 #2: one array U for every leaf with shared=True: the window is symmetric, rank 3, not 4."""
    rng = np.random.default_rng(2)
    tree = te.ModeTree.shallow(4)
    U = rng.integers(-9, 10, size=(2, 4))
    W = {n: (U if tree.is_leaf(n) else rng.integers(-9, 10, size=(4, 1))) for n in tree.nodes}
    net = te.hierarchical(tree, W, 2, integer=True, shared=True)
    P = te.Partition([0, 1], 4)
    assert {net.tie_key(f"x{m}") for m in range(4)} == {net.tie_key("x0")} and net.weight_kind("x0") == "tied"
    generic = brute_generic_rank(net, P, draws=4)
    assert generic == 3  # sym^2(Q^2) has dimension 3
    cert = _check_sound(net, P, generic)
    for name, d in cert.details.items():
        if isinstance(d, dict) and d.get("role") == "lower" and "value" in d:
            assert d["value"] <= 3, (name, d)
    # the same architecture from convac(shared=True) gives the same honest interval
    cert2 = te.certify(te.convac(tree, 2, 4, shared=True, seed=0), P)
    assert cert2.lower <= 3 <= cert2.upper
    # untied, the same arrays are four free blocks and rank 4 is generic
    free = te.hierarchical(tree, W, 2, integer=True)
    assert brute_generic_rank(free, P, draws=2) == 4 == te.certify(free, P).value


def test_fractions_are_exact_never_truncated():
    """Issue 8 #3: F = [[1/2, 1], [1, 2]] has rank 1 over Q, so the grid tensor has rank 1."""
    F = np.array([[Fraction(1, 2), 1], [1, 2]], dtype=object)
    net = te.convac(te.ModeTree.line(4), 2, 2, seed=0, integer=True, F=F)
    P = te.Partition.odd_even(4)
    oracle = fraction_rank(brute_matricization(net, P))
    assert oracle == 1
    for method in ("exact", "structured"):
        assert te.rank(net, P, method=method).rank == 1, method
    assert te.rank(net, P, method="exact", field="prime").rank == 1
    assert te.rank(net, P, method="exact", field="rational").rank == 1
    assert [r.rank for r in rank_many(net, [P, te.Partition.left_right(4)], method="exact")][0] == 1
    cert = _check_sound(net, P, brute_generic_rank(net, P, draws=3))
    assert cert.certified and cert.value == 1


def test_fraction_weights_cleared_keep_every_rank():
    """Clearing denominators scales the tensor by a positive integer: GF(p) and Q ranks match the oracle."""
    rng = np.random.default_rng(5)
    tree = te.ModeTree.line(4)
    W = {n: np.array([[Fraction(int(rng.integers(-5, 6)), int(rng.integers(1, 4))) for _ in range(2 if n != tree.root else 1)]
                      for _ in range(2)], dtype=object) for n in tree.nodes}
    net = te.hierarchical(tree, W, 2, integer=True)
    cleared = clear_denominators(net)
    assert cleared.integer and all(np.asarray(nd.weight).dtype.kind in "iu" for nd in cleared.nodes if nd.weight is not None)
    A, B = brute_matricization(net, te.Partition.odd_even(4)), brute_matricization(cleared, te.Partition.odd_even(4))
    ratio = {Fraction(b) / Fraction(a) for ra, rb in zip(A, B) for a, b in zip(ra, rb) if a != 0}
    assert len(ratio) == 1 and next(iter(ratio)) > 0  # one positive scalar
    for P in (te.Partition.odd_even(4), te.Partition.left_right(4), te.Partition([0], 4)):
        want = fraction_rank(brute_matricization(net, P))
        assert te.rank(net, P, method="exact", field="prime").rank == want
        assert te.rank(net, P, method="structured").rank == want


def test_F_rank_bound_only_where_modes_are_read_once():
    """Issue 8 #4: position 1 feeds two windows; the tensor is quadratic in F[d1], rank 3 > rank(F)^1 = 2."""
    F = np.array([[1, 0], [0, 1], [1, 1]])
    net = te.overlapping(3, [(2, 1, 3)], M=2, seed=0, integer=True, F=F)
    P = te.Partition([1], 3)
    generic = brute_generic_rank(net, P, draws=3)
    assert generic == 3 == fraction_rank(brute_matricization(net, P))
    cert = _check_sound(net, P, generic)
    assert cert.certified and cert.value == 3
    triv = cert.results["trivial"]
    assert "modes-read-once" not in triv.assumptions and "rank_F" not in triv.details
    lazy = te.certify(net, P, budget_seconds=0)
    assert lazy.lower <= 3 <= lazy.upper


def test_clearing_denominators_through_sum_nodes_keeps_ranks():
    """Sum nodes need equal scalars on their children: the transform adds fixed (L / s_c) I linear nodes."""
    from tensorexpr.core.network import Network, Node

    q = lambda *v: np.array(v, dtype=object).reshape(2, -1)  # noqa: E731
    leaves = [Node(f"x{m}", "leaf", (), q(Fraction(1, 2), 1, 3, Fraction(-2, 3)), mode=m) for m in range(3)]
    nodes = leaves + [
        Node("a", "pool", ("x0", "x1", "x2"), q(1, Fraction(1, 5), 2, 1)),
        Node("b", "pool", ("x0", "x1", "x2"), q(Fraction(3, 7), 1, -1, 2)),
        Node("s", "sum", ("a", "b")),
        Node("out", "linear", ("s",), q(1, Fraction(1, 3))),
    ]
    net = Network(tuple(nodes), "out", 2, integer=True, F=np.array([[1, 0], [0, 1], [1, Fraction(1, 2)]], dtype=object))
    cleared = clear_denominators(net)
    assert any(nd.kind == "linear" and nd.id != "out" for nd in cleared.nodes)
    for P in (te.Partition([0], 3), te.Partition([1], 3), te.Partition([0, 2], 3)):
        want = fraction_rank(brute_matricization(net, P))
        assert fraction_rank(brute_matricization(cleared, P)) == want
        assert te.rank(net, P, method="exact", field="prime").rank == want
        assert te.rank(net, P, method="structured").rank == want
