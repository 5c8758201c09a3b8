"""The ``report`` command (``tensorexpr/cli/report.py``): windows, number format, random partitions and per-level
windows, each cell checked against te.certify."""

from __future__ import annotations

import json
import math

import tensorexpr as te
from tensorexpr.cli import main


def test_report_window_and_format(run_cli):
    rc, out, _ = run_cli("report", "--grid", "8x8", "--M", "3", "--widths", "2")
    assert rc == 0 and "3^32" in out  # max possible min(3^32, 3^32), an exact power of 3


def test_report_random_partitions_fraction(run_cli):
    """--random K adds K seeded random balanced partitions; the printed count is what te.certify gives."""
    rc, out, _ = run_cli("report", "--grid", "8x8", "--random", "3", "--weights", "untied", "--widths", "4")
    assert rc == 0
    want = 0
    for g in ("square", "mirror"):
        net = te.convac(te.ModeTree.grid(8, 8, geometry=g), 2, 4, seed=0)
        want += sum(te.certify(net, te.Partition.random(64, seed=s)).certified for s in range(3))
    assert f"random balanced partitions certified: {want} of 6" in out
    assert "random(seed=2)" in out and want == 6  # untied, widths a power of 2: flow = min-cut
    rc, _, err = run_cli("report", "--grid", "8x8", "--random", "-1")
    assert rc != 0 and "--random" in err


def test_report_with_per_level_windows(run_cli):
    """--window 3,2 builds a 6x6 grid (no 2x2 pooling, so the shape cannot be recognised from the tree); the
    report resolves the 2-D families on the grid it built, and each cell is what te.certify gives."""
    rc, out, err = run_cli("report", "--grid", "6x6", "--window", "3,2", "--weights", "untied", "--json")
    assert rc == 0, err
    rows = json.loads(out)["square"]["rows"]
    net = te.convac(te.ModeTree.grid(6, 6, window=[3, 2]), 2, 16, seed=0)
    assert [r["name"] for r in rows] == ["left_right", "top_bottom", "checkerboard", "interleaved_rows",
                                         "interleaved_cols"]
    for r in rows:
        c = te.certify(net, te.Partition.grid(6, 6, r["name"]))
        assert (r["lower"], r["upper"], r["certified"]) == (c.lower, c.upper, c.certified)


def test_report_small_grid(capsys):
    assert main(["report", "--grid", "8x8", "--widths", "4", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    rows = {r["name"]: r for r in d["square"]["rows"]}
    assert rows["left_right"]["certified"] and rows["left_right"]["lower"] == 4  # r_{L-1} = 4


# --- big numbers in --json: every rank decodes to its closed form ----------------------------------------------

import pytest

from tensorexpr.core.numbers import decode_counts

_LOW = {"square": {"left_right", "top_bottom"}, "mirror": {"mirror_left_right", "mirror_top_bottom"}}


def _check_report_json(out: str, n: int, M: int = 2, r_top: int = 16) -> None:
    """Each cell of the default report against its closed form (docs/tied_networks.md, README): the cells the
    geometry cannot correlate are ``r_{L-1}``; the rest are ``(M(M+1)/2)^{N/4}`` for the convolution and
    ``M^{N/2}`` (the matrix shape) for the locally connected network."""
    raw = json.loads(out)
    d = decode_counts(raw)
    N = n * n
    for block, high in ((d, (M * (M + 1) // 2) ** (N // 4)), (d["locally_connected"], M ** (N // 2))):
        for g in ("square", "mirror"):
            rows = block[g]["rows"]
            assert len(rows) == 7
            for r in rows:
                want = r_top if r["name"] in _LOW[g] else high
                assert r["certified"] and r["lower"] == r["upper"] == r["value"] == want, (g, r["name"])
                assert r["log2_upper"] == pytest.approx(math.log2(want) if want < 2**1000 else
                                                        (N // 4) * math.log2(M * (M + 1) // 2)
                                                        if block is d else (N // 2) * math.log2(M))
    # the encoded form itself, as a reader in another language sees it
    cell = next(r for r in raw["locally_connected"]["square"]["rows"] if r["name"] == "checkerboard")
    if M ** (N // 2) >= 2**53:
        assert cell["upper"] == {"base": M, "exponent": N // 2, "log2": float(N // 2)}


def test_report_json_64x64_exact_counts(run_cli):
    rc, out, err = run_cli("report", "--grid", "64x64", "--json")
    assert rc == 0, err
    _check_report_json(out, 64)


def test_dump_json_of_a_certificate_past_the_digit_limit(capsys):
    """A certificate whose ends have ~10^4 digits prints as JSON that decodes to the same ints."""
    from tensorexpr.bounds.certificate import Certificate
    from tensorexpr.cli.common import dump_json

    c = Certificate(lower=3**16384, upper=2**32768, certified=False, lower_method="a", upper_method="b", seconds=0.0,
                    details={"b": {"value": 2**32768}})
    dump_json({"c": c.to_dict(), "raw": [2**40000 + 1]})
    d = decode_counts(json.loads(capsys.readouterr().out))
    assert (d["c"]["lower"], d["c"]["upper"], d["c"]["details"]["b"]["value"]) == (3**16384, 2**32768, 2**32768)
    assert d["raw"] == [2**40000 + 1] and d["c"]["value"] is None


@pytest.mark.slow
@pytest.mark.parametrize("n", [256, 512, 1024])
def test_report_json_big_grids(run_cli, n):
    """The sizes whose ranks pass Python's 4300-digit str() limit (2^32768 at 256x256)."""
    rc, out, err = run_cli("report", "--grid", f"{n}x{n}", "--json")
    assert rc == 0, err
    _check_report_json(out, n)


def test_report_restores_the_garbage_collector(run_cli):
    """The report pauses the cyclic collector for speed; it is enabled again afterwards, even after an error."""
    import gc

    assert gc.isenabled()
    assert run_cli("report", "--grid", "4x4", "--widths", "2")[0] == 0
    assert gc.isenabled()
    assert run_cli("report", "--grid", "8x8", "--random", "-1")[0] != 0
    assert gc.isenabled()


def test_report_certifies_a_torch_network(tmp_path, capsys):
    """`report --torch FILE.py:FUNCTION`: the traced network's intervals; each upper end is at least the rank of the
    module's own grid tensor (oracle: the numeric rank of the dense matricization of the traced tensor)."""
    pytest.importorskip("torch")
    import json

    import torch

    import tensorexpr as te
    from tensorexpr.cli import main

    src = tmp_path / "model.py"
    src.write_text("import torch, tensorexpr as te\n"
                   "def make_model():\n"
                   "    torch.manual_seed(0)\n"
                   "    nn = torch.nn\n"
                   "    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, bias=False), te.nn.ProductPool2d(2),\n"
                   "                         nn.Conv2d(2, 2, 1, bias=False), te.nn.ProductPool2d(2), nn.Flatten(),\n"
                   "                         nn.Linear(2, 1, bias=False))\n")
    assert main(["report", "--torch", f"{src}:make_model", "--input", "1x4x4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    certs = out["profile"]["rows"]
    assert [c["partition"] for c in certs][:3] == ["left_right", "top_bottom", "checkerboard"]
    import importlib.util

    spec = importlib.util.spec_from_file_location("m", src)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    net = te.from_torch(mod.make_model().double(), (1, 4, 4), torch.tensor([[0.0], [1.0]]))
    for c in certs:
        P = te.Partition.grid(4, 4, c["partition"])
        assert c["upper"] >= te.rank(net, P, method="numeric").rank  # upper bounds hold for these weights
    assert main(["report", "--torch", f"{src}:nope"]) == 2
    assert "no function 'nope'" in capsys.readouterr().err


def test_report_on_the_strided_example_closes_left_right(capsys):
    """examples/torch_vgg.py:make_strided (sums and products, no overlap, 32x32): on left/right the top
    convolution adds a function of each half, so the circuit upper end (2) meets the restriction lower end (the
    exact GF(p) rank of a sub-matrix of an instance: an independent evaluation); elsewhere the upper ends stay
    far below the trivial 2^512."""
    pytest.importorskip("torch")
    import json
    from pathlib import Path

    from tensorexpr.cli import main
    from tensorexpr.core.numbers import decode_counts

    src = Path(__file__).resolve().parents[2] / "examples" / "torch_vgg.py"
    assert main(["report", "--torch", f"{src}:make_strided", "--input", "1x32x32", "--json"]) == 0
    rows = {r["partition"]: r for r in decode_counts(json.loads(capsys.readouterr().out))["profile"]["rows"]}
    assert rows["left_right"]["lower"] == rows["left_right"]["upper"] == 2
    assert all(1 <= r["lower"] <= r["upper"] < 2 ** 64 for r in rows.values())


def _without_seconds(d):
    """``d`` with every timing field dropped (the only thing allowed to differ between two runs)."""
    if isinstance(d, dict):
        return {k: _without_seconds(v) for k, v in d.items() if k not in ("seconds", "certify_seconds")}
    if isinstance(d, list):
        return [_without_seconds(v) for v in d]
    return d


def test_report_in_worker_processes_equals_one_process(run_cli):
    """--jobs 2 certifies the four networks in worker processes: the JSON is the serial run's, cell for cell."""
    args = ("report", "--grid", "8x8", "--widths", "4", "--random", "2", "--json")
    rc1, out1, err1 = run_cli(*args, "--jobs", "1")
    rc2, out2, err2 = run_cli(*args, "--jobs", "2")
    assert rc1 == rc2 == 0, err1 + err2
    one, two = json.loads(out1), json.loads(out2)
    assert _without_seconds(one) == _without_seconds(two)
    assert one["square"]["rows"][0]["lower"] == 4  # left_right under square pooling: r_{L-1}


def test_report_jobs_refuses_a_negative_count(run_cli):
    rc, _, err = run_cli("report", "--grid", "4x4", "--jobs", "-1")
    assert rc != 0 and "--jobs" in err and "Traceback" not in err


def test_report_worker_errors_keep_their_class():
    """An error raised inside a worker process reaches the caller with its own class and message."""
    from tensorexpr.build.spec import NetworkSpec
    from tensorexpr.cli.report import _profile_all
    from tensorexpr.core.errors import PartitionError

    spec = NetworkSpec("convac", "grid:4x4:square", M=2, widths=2, seed=0)
    with pytest.raises(PartitionError, match="modes"):
        _profile_all([spec, spec], [te.Partition([0, 1], 8)], (4, 4), jobs=2)  # 8 modes, the net has 16
