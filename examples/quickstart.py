"""Quickstart: build a ConvAC on a pooling geometry, compute ranks three ways, and certify them.

Run: ``python examples/quickstart.py`` (a few seconds).
"""

from __future__ import annotations

import tensorexpr as te


def main() -> dict:
    out = {}
    for geometry in ("square", "mirror"):
        tree = te.ModeTree.grid(4, 4, geometry=geometry)
        net = te.convac(tree, M=2, widths=[2, 3], seed=0, integer=True)
        for kind in ("left_right", "checkerboard", "mirror_left_right"):
            P = te.Partition.grid(4, 4, kind)
            numeric = te.rank(net, P, method="numeric")       # float64 SVD: an estimate
            exact = te.rank(net, P, method="exact")           # over GF(p) on the dense tensor
            structured = te.rank(net, P, method="structured")  # over GF(p), never dense
            cert = te.certify(net, P)                         # generic rank: lower = upper, or an interval
            print(f"{geometry:6s} {kind:18s} numeric={numeric.rank:3d} exact={exact.rank:3d} "
                  f"structured={structured.rank:3d}  {cert.summary()}")
            out[(geometry, kind)] = (numeric.rank, exact.rank, structured.rank, cert)
    # at a scale no dense tensor reaches: the ICLR 2017 blob network (32x32 inputs, 5 levels of 16 channels)
    blob = te.convac(te.ModeTree.grid(32, 32), M=2, widths=16, seed=0)
    print(te.certify(blob, te.Partition.grid(32, 32, "left_right")))
    return out


if __name__ == "__main__":
    main()
