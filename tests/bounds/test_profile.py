"""Profiles: per-partition certificates, name resolution on grids, table, JSON and PNG plots."""

from __future__ import annotations

import pytest

import tensorexpr as te


def test_profile_grid_names_and_values(tmp_path):
    net = te.convac(te.ModeTree.grid(4, 4, geometry="square"), M=2, widths=2, seed=0)
    prof = te.profile(net, ["left_right", "checkerboard", te.Partition.grid(4, 4, "top_bottom")], progress=False)
    assert [P.name for P in prof.partitions] == ["left_right", "checkerboard", "top_bottom"]
    assert prof.shape == (4, 4)
    for P, c in zip(prof.partitions, prof.certificates):  # oracle: exact rank of an integer instance
        exact = te.rank(te.convac(net.tree, 2, 2, seed=9, integer=True, int_range=10**6), P, method="exact").rank
        assert c.lower <= exact <= c.upper
    assert prof.max_log2[0] == 8.0
    assert "left_right" in str(prof) and "certified" in prof.table()
    d = prof.to_dict()
    assert d["shape"] == [4, 4] and len(d["rows"]) == 3 and "log2_upper" in d["rows"][0]
    out = te.plot_profiles([prof], str(tmp_path / "p.png"))
    assert (tmp_path / "p.png").stat().st_size > 1000 and out.endswith("p.png")


def test_plot_two_profiles_side_by_side(tmp_path):
    profs = [te.profile(te.convac(te.ModeTree.grid(4, 4, geometry=g), M=2, widths=2, seed=0),
                        ["left_right", "checkerboard"], progress=False) for g in ("square", "mirror")]
    path = te.plot_profiles(profs, str(tmp_path / "sq_vs_mirror.png"), titles=["square", "mirror"])
    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_profile_line_and_errors():
    net = te.convac(te.ModeTree.line(8), M=2, widths=2, seed=0)
    prof = te.profile(net, ["odd_even", "left_right"], progress=False)
    assert prof.shape is None
    assert [c.value for c in prof.certificates] == [16, 2]  # [derived] min(r0,M)^{N/2}; r_{L-1}
    with pytest.raises(te.PartitionError, match="2-D families need a grid"):
        te.profile(net, ["checkerboard"], progress=False)
    with pytest.raises(te.PartitionError, match="modes 0..3"):
        te.profile(net, [te.Partition.odd_even(4)], progress=False)
    with pytest.raises(te.PartitionError, match="at least one"):
        te.profile(net, [], progress=False)
