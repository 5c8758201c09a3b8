"""Certificates: lower == upper only when justified; DAGs and ReLU networks handled without crashing."""

from __future__ import annotations

import numpy as np
import pytest

import tensorexpr as te

from tensorexpr.testing import overlap_net


def test_odd_even_line_16_certifies_6561():
    net = te.convac(te.ModeTree.line(16), M=3, widths=3, seed=0)
    cert = te.certify(net, te.Partition.odd_even(16))
    assert cert.certified and cert.lower == cert.upper == 6561 == 3**8  # [derived] min(r_0, M)^{N/2}
    assert cert.value == 6561
    assert "rank = 6561 (certified:" in repr(cert)
    d = cert.to_dict()
    assert d["certified"] is True and d["lower"] == 6561 and "details" in d


@pytest.mark.parametrize("kind", ["left_right", "top_bottom"])
def test_blob_net_square_coarse_certifies_16(kind):
    net = te.convac(te.ModeTree.grid(32, 32, geometry="square"), M=2, widths=16, seed=0)
    cert = te.certify(net, te.Partition.grid(32, 32, kind))
    assert cert.certified and cert.lower == 16  # [derived] <= r_{L-1}; lower from an exact GF(p) instance rank


def test_blob_net_mirror_left_right_exponential():
    net = te.convac(te.ModeTree.grid(32, 32, geometry="mirror"), M=2, widths=16, seed=0)
    cert = te.certify(net, te.Partition.grid(32, 32, "left_right"))
    # every first-level window is mixed (2 in I, 2 in J): specialization gives min(16, 2^2)^256 = 2^512,
    # which meets the trivial/geometry cap M^{N/2} = 2^512
    assert cert.certified and cert.lower == 2**512


def test_small_certificates_agree_with_exact_rank():
    rng = np.random.default_rng(3)
    from tensorexpr.testing import random_tree

    for _ in range(10):
        n = int(rng.integers(3, 7))
        tree = random_tree(n, rng)
        widths = [int(rng.integers(1, 4)) for _ in range(tree.depth)]
        P = te.Partition(rng.choice(n, size=int(rng.integers(1, n)), replace=False).tolist(), n)
        cert = te.certify(te.convac(tree, 2, widths, seed=0), P)
        exact = te.rank(te.convac(tree, 2, widths, seed=5, integer=True, int_range=10**6), P, method="exact").rank
        assert cert.certified and cert.value == exact  # small enough for the dense exact fallback


def test_dag_certificate_reports_what_applies():
    net = overlap_net(4, 2, 2, 2, 0, window=3, integer=False)
    cert = te.certify(net, te.Partition([1, 2], 4))
    assert "skipped" in cert.details["geometry"] and "skipped" in cert.details["specialization"]
    assert cert.details["mincut"]["value"] == 4
    assert (cert.lower, cert.upper, cert.certified) == (3, 4, False)  # the pinned min-cut exception
    assert "3 <= rank <= 4" in str(cert)


def test_relu_network_gets_an_interval():
    from tensorexpr.testing import brute_matricization, fraction_rank

    net = te.convac(te.ModeTree.line(4), M=2, widths=2, op="relu-max", seed=0)
    P = te.Partition.odd_even(4)
    cert = te.certify(net, P)
    assert "skipped" in cert.details["mincut"] and cert.upper == 4  # only the trivial T^|I| bound applies
    assert "rank_F" not in cert.results["trivial"].details  # the rank-F cap needs the product operator
    # lower = the rank of the seeded integer instance, recomputed entry by entry over Q
    assert cert.lower == fraction_rank(brute_matricization(te.integer_twin(net, 0), P))
    # upper holds for every weight setting: random float draws of the same architecture never exceed it
    for seed in range(5):
        assert te.rank(te.convac(te.ModeTree.line(4), M=2, widths=2, op="relu-max", seed=seed), P).rank <= cert.upper


def test_certify_errors():
    net = te.convac(te.ModeTree.line(4), M=2, widths=2, seed=0)
    with pytest.raises(te.PartitionError, match="modes 0..7"):
        te.certify(net, te.Partition.odd_even(8))
    with pytest.raises(te.NetworkError, match="Unknown certify method"):
        te.certify(net, te.Partition.odd_even(4), methods=["magic"])
    with pytest.raises(te.PartitionError, match="Partition"):
        te.certify(net, [0, 1])


def test_budget_skips_instance_rank():
    net = te.convac(te.ModeTree.line(8), M=3, widths=2, seed=0)
    cert = te.certify(net, te.Partition.left_right(8), methods=["exact"], budget_seconds=0.0)
    assert "budget" in cert.details["exact"]["skipped"] and not cert.certified


def test_shared_weights_interval_contains_instance_rank():
    for tree, P in [(te.ModeTree.line(8), te.Partition.odd_even(8)),
                    (te.ModeTree.grid(4, 4, geometry="mirror"), te.Partition.grid(4, 4, "left_right"))]:
        cert = te.certify(te.convac(tree, 2, 3, shared=True, seed=0), P)
        exact = te.rank(te.convac(tree, 2, 3, shared=True, seed=4, integer=True, int_range=10**6), P,
                        method="exact").rank
        assert cert.lower <= exact <= cert.upper
