#!/usr/bin/env python3
"""Scale model of data-parallel LeNet-5 training (docs/scaling.md).

    mpirun -np 1 build/release/bench/bench_data_parallel > one.txt
    mpirun -np 2 build/release/bench/bench_data_parallel > two.txt
    python3 bench/scaling_model.py one.txt two.txt

Reads the two benchmark outputs and prints, in Markdown:
  * the inputs: compute time per step by local batch (one rank alone), the gradient size,
    the allreduce time on this machine fitted as alpha + bytes / beta;
  * the check: the 2-rank step time and images/s the model predicts beside the measured ones;
  * the projection for 8, 64 and 512 machines on 10 and 100 Gbit/s networks, ring allreduce;
  * the local batch below which a step spends more time exchanging than computing.

Model (weak scaling: every machine keeps its local batch b):
  step(P) = compute(b) + exposed allreduce, compute(b) = t0 + b * t1 (fitted at b = 16, 32)
  ring allreduce of S bytes over P machines in k buckets:
      T(P) = 2 (P - 1) k alpha + 2 (P - 1) / P * S / bandwidth
  no overlap: exposed = T(P);  full overlap (the bound): exposed = max(0, T(P) - compute(b))
  images/s(P) = P b / step(P);  efficiency = compute(b) / step(P)
Standard library only.
"""

from __future__ import annotations

import re
import sys

LINE = re.compile(r"ranks (\d+)\s+local batch\s+(\d+)\s+global batch\s+(\d+)\s+(\S+)\s+([\d.]+) images/s\s+([\d.]+) ms/step"
                  r"\s+exchange after backward\s+([\d.]+) ms/step")
ALLREDUCE = re.compile(r"allreduce of\s+(\d+) floats \(\s*(\d+) bytes\):\s+([\d.]+) us")
GRADIENT = re.compile(r"LeNet-5 gradient: (\d+) floats \((\d+) bytes\); buckets: (\d+) of 1 MB")

# Networks of the projection: bandwidth in bytes/s and the per-message latency assumed for
# MPI over them (TCP over 10 Gbit Ethernet; RDMA over 100 Gbit InfiniBand or RoCE).
NETWORKS = [("10 Gbit/s Ethernet (TCP, alpha 25 us)", 10e9 / 8, 25e-6),
            ("100 Gbit/s RDMA (alpha 3 us)", 100e9 / 8, 3e-6)]
MACHINES = [8, 64, 512]


def parse(path: str):
    runs, allreduce, gradient = {}, [], None
    with open(path) as f:
        for line in f:
            if m := LINE.search(line):
                ranks, local, _, config = int(m[1]), int(m[2]), int(m[3]), m[4]
                runs[(ranks, local, config)] = (float(m[5]), float(m[6]), float(m[7]))
            elif m := ALLREDUCE.search(line):
                allreduce.append((int(m[2]), float(m[3]) * 1e-6))
            elif m := GRADIENT.search(line):
                gradient = (int(m[2]), int(m[3]))
    return runs, allreduce, gradient


def fit(points):
    """T = alpha + S / beta from (bytes, seconds): alpha is the smallest message's time, beta the
    bandwidth between the smallest and the largest (a least-squares line would let the large
    messages' noise decide alpha)."""
    points = sorted(points)
    (s0, t0), (s1, t1) = points[0], points[-1]
    return t0, (s1 - s0) / max(t1 - t0, 1e-12)


def ring(p, size, buckets, alpha, bandwidth):
    return 2 * (p - 1) * buckets * alpha + 2 * (p - 1) / p * size / bandwidth


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    one, _, gradient = parse(argv[1])
    two, allreduce, gradient2 = parse(argv[2])
    gradient = gradient or gradient2
    if not gradient or (1, 32, "alone") not in one or (2, 32, "after") not in two or len(allreduce) < 2:
        print("scaling_model: the files lack the lines of a 1-rank and a 2-rank bench_data_parallel run")
        return 1
    size, buckets = gradient
    c16, c32 = one[(1, 16, "alone")][1] * 1e-3, one[(1, 32, "alone")][1] * 1e-3
    t1 = (c32 - c16) / 16
    t0 = c16 - 16 * t1
    alpha, beta = fit(allreduce)

    print("### Inputs\n")
    print("| quantity | value | from |\n|---|---|---|")
    print(f"| compute per step, local batch 16 / 32, one rank | {c16 * 1e3:.3f} / {c32 * 1e3:.3f} ms | `alone`, 1 rank |")
    print(f"| fitted compute(b) = t0 + b t1 | t0 {t0 * 1e3:.3f} ms, t1 {t1 * 1e6:.1f} us per image | |")
    print(f"| gradient | {size:,} bytes in {buckets} bucket(s) | |")
    print(f"| allreduce on this machine, 2 ranks | alpha {alpha * 1e6:.1f} us, beta {beta / 1e9:.2f} GB/s "
          f"(LeNet's gradient: {(alpha + size / beta) * 1e6:.0f} us) | allreduce lines: smallest and largest message |")

    print("\n### Check against the measured 2-rank point\n")
    print("| local batch | 1 rank images/s | 2 ranks, exchange after backward: predicted | measured | "
          "measured speed-up | overlapped, measured | speed-up |\n|---|---|---|---|---|---|---|")
    for b in (32, 16):
        if (2, b, "after") not in two:
            continue
        compute2 = two[(2, b, "alone")][1] * 1e-3 if (2, b, "alone") in two else t0 + b * t1
        predicted = 2 * b / (compute2 + alpha * buckets + size / beta)
        base = one[(1, b, "alone")][0]
        measured = two[(2, b, "after")][0]
        overlap = two.get((2, b, "overlap"), (float("nan"),))[0]
        print(f"| {b} | {base:,.0f} | {predicted:,.0f} | {measured:,.0f} | {measured / base:.2f}x | "
              f"{overlap:,.0f} | {overlap / base:.2f}x |")
    print("\n(predicted: compute of a step with both ranks busy, `alone` at 2 ranks, plus the fitted allreduce "
          "of the gradient)")

    for b in (32, 16):
        compute = t0 + b * t1
        print(f"\n### Projection, local batch {b} (compute {compute * 1e3:.2f} ms per step)\n")
        print("| network | machines | allreduce | images/s, no overlap | efficiency | images/s, full overlap | "
              "efficiency |\n|---|---|---|---|---|---|---|")
        for label, bandwidth, a in NETWORKS:
            for p in MACHINES:
                t = ring(p, size, buckets, a, bandwidth)
                serial = compute + t
                hidden = max(compute, t)
                print(f"| {label} | {p} | {t * 1e3:.2f} ms | {p * b / serial:,.0f} | {compute / serial:.2f} | "
                      f"{p * b / hidden:,.0f} | {compute / hidden:.2f} |")

    print("\n### Where LeNet stops scaling\n")
    print("Local batch b* at which computing a step takes as long as the ring allreduce (efficiency 0.5 "
          "without overlap; below b* adding machines buys less than half their worth), and the global batch P b*.\n")
    print("| network | machines | b* | global batch |\n|---|---|---|---|")
    for label, bandwidth, a in NETWORKS:
        for p in MACHINES:
            t = ring(p, size, buckets, a, bandwidth)
            b_star = max(1.0, (t - t0) / t1)
            print(f"| {label} | {p} | {b_star:,.0f} | {p * b_star:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
