#!/usr/bin/env python3
"""Scale model of data-parallel LeNet-5 training (docs/scaling.md).

    mpirun -np 2 build/release/bench/bench_data_parallel > run1.txt    # as many runs as you like
    python3 bench/scaling_model.py run1.txt [run2.txt ...]

Reads 2-rank bench_data_parallel outputs (medians over the files) and prints, in Markdown:
  * the inputs: compute time per step by local batch (rank 0 alone, `solo`), the gradient
    size, the allreduce time on this machine (alpha + bytes / beta), and the step-time jitter;
  * the check: the 2-rank images/s the model predicts beside the measured ones;
  * the projection to 8, 64 and 512 machines on 10 and 100 Gbit/s networks, ring allreduce;
  * the local batch below which a step spends more time exchanging than computing.

Model (weak scaling: every machine keeps its local batch b):
  step(P) = compute(b) + T(P) + jitter(P)
  compute(b) = t0 + b t1, fitted to `solo` at b = 16 and 32 (b t1 with t1 = compute(32) / 32
      if the fit's t0 comes out negative)
  T(P) = 2 (P - 1) k alpha + 2 (P - 1) / P * S / bandwidth     ring allreduce of S bytes, k buckets
  jitter(P) = sigma * E[max of P standard normals] - sigma * E[max of 1]: every step waits for
      the slowest rank. sigma comes from the 2-rank run: the exchange time it measured minus the
      allreduce alone is sigma * E[max of 2] = 0.564 sigma.
  images/s = P b / step(P); efficiency = compute(b) / step(P). With overlap the allreduce hides
  behind the backward pass at best: step = max(compute, T) + jitter.
Standard library only.
"""

from __future__ import annotations

import math
import re
import statistics
import sys

LINE = re.compile(r"ranks (\d+)\s+local batch\s+(\d+)\s+global batch\s+(\d+)\s+(\S+)\s+([\d.]+) images/s\s+([\d.]+) ms/step"
                  r"\s+exchange after backward\s+([\d.]+) ms/step(?:\s+([\d.]+)x solo)?")
ALLREDUCE = re.compile(r"allreduce of\s+(\d+) floats \(\s*(\d+) bytes\):\s+([\d.]+) us")
GRADIENT = re.compile(r"LeNet-5 gradient: (\d+) floats \((\d+) bytes\); buckets: (\d+) of 1 MB")

# Networks of the projection: bandwidth in bytes/s and the per-message latency assumed for
# MPI over them (TCP over 10 Gbit Ethernet; RDMA over 100 Gbit InfiniBand or RoCE).
NETWORKS = [("10 Gbit/s, TCP (alpha 25 us)", 10e9 / 8, 25e-6),
            ("100 Gbit/s, RDMA (alpha 3 us)", 100e9 / 8, 3e-6)]
MACHINES = [8, 64, 512]


def expected_max_normal(p: int) -> float:
    """E[max of p independent standard normals], by numerical integration."""
    if p == 1:
        return 0.0
    total, step = 0.0, 1e-3
    x = -8.0
    while x < 8.0:
        cdf = 0.5 * (1 + math.erf(x / math.sqrt(2)))
        pdf = math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
        total += x * p * pdf * cdf ** (p - 1) * step
        x += step
    return total


def parse(paths):
    runs, allreduce, gradient = {}, {}, None
    for path in paths:
        with open(path) as f:
            for line in f:
                if m := LINE.search(line):
                    key = (int(m[1]), int(m[2]), m[4])
                    runs.setdefault(key, []).append((float(m[5]), float(m[6]) * 1e-3, float(m[7]) * 1e-3,
                                                     float(m[8]) if m[8] else float("nan")))
                elif m := ALLREDUCE.search(line):
                    allreduce.setdefault(int(m[2]), []).append(float(m[3]) * 1e-6)
                elif m := GRADIENT.search(line):
                    gradient = (int(m[2]), int(m[3]))
    med = {k: tuple(statistics.median(v[i] for v in vs) for i in range(4)) for k, vs in runs.items()}
    return med, sorted((s, statistics.median(t)) for s, t in allreduce.items()), gradient


def ring(p, size, buckets, alpha, bandwidth):
    return 2 * (p - 1) * buckets * alpha + 2 * (p - 1) / p * size / bandwidth


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    runs, allreduce, gradient = parse(argv[1:])
    need = [(2, 32, "solo"), (2, 16, "solo"), (2, 32, "after"), (2, 32, "alone")]
    if not gradient or any(k not in runs for k in need) or len(allreduce) < 2:
        print("scaling_model: these files lack the lines of a 2-rank bench_data_parallel run")
        return 1
    size, buckets = gradient
    c16, c32 = runs[(2, 16, "solo")][1], runs[(2, 32, "solo")][1]
    t1 = (c32 - c16) / 16
    t0 = c16 - 16 * t1
    if t0 < 0:
        t0, t1 = 0.0, c32 / 32

    def compute(b):
        return t0 + b * t1

    (s0, a0), (s1, a1) = allreduce[0], allreduce[-1]
    alpha, beta = a0, (s1 - s0) / max(a1 - a0, 1e-12)
    measured_here = dict(allreduce).get(size)  # the gradient's own size, when it was measured
    local_allreduce = measured_here if measured_here else buckets * alpha + size / beta
    waited = runs[(2, 32, "after")][2]
    skew2 = max(0.0, waited - local_allreduce)
    sigma = skew2 / expected_max_normal(2)

    print("### Inputs\n")
    print("| quantity | value | from |\n|---|---|---|")
    print(f"| compute per step, local batch 16 / 32 | {c16 * 1e3:.3f} / {c32 * 1e3:.3f} ms | `solo` (rank 0 alone) |")
    print(f"| compute(b) = t0 + b t1 | t0 {t0 * 1e3:.3f} ms, t1 {t1 * 1e6:.1f} us per image | fitted |")
    print(f"| gradient | {size:,} bytes, {buckets} bucket(s) | |")
    print(f"| allreduce between the 2 ranks (shared memory) | alpha {alpha * 1e6:.1f} us, beta {beta / 1e9:.2f} GB/s; "
          f"LeNet's gradient {local_allreduce * 1e6:.0f} us | allreduce lines (median) |")
    print(f"| exchange wait per step, 2 ranks, local batch 32, after the backward pass | {waited * 1e3:.3f} ms | `after` |")
    print(f"| of which waiting for the slower rank | {skew2 * 1e3:.3f} ms: step-time jitter sigma {sigma * 1e3:.3f} ms "
          f"({sigma / c32 * 100:.0f}% of a step) | wait minus allreduce |")

    print("\n### Check against the measured 2-rank point\n")
    print("| local batch | 1 rank (`solo`) | 2 ranks predicted, without jitter | with the jitter | measured "
          "(`after`) | speed-up, measured | measured, overlapped (`overlap-3`) | speed-up |\n|---|---|---|---|---|---|---|---|")
    for b in (32, 16):
        solo = runs[(2, b, "solo")][0]
        both = runs.get((2, b, "alone"), (0, compute(b)))[1]  # compute with both ranks busy
        plain = 2 * b / (both + local_allreduce)
        jittered = 2 * b / (both + local_allreduce + sigma * expected_max_normal(2))
        measured, ratio = runs[(2, b, "after")][0], runs[(2, b, "after")][3]
        over, over_ratio = runs.get((2, b, "overlap-3"), (float("nan"),) * 4)[0], runs.get((2, b, "overlap-3"), (float("nan"),) * 4)[3]
        print(f"| {b} | {solo:,.0f} | {plain:,.0f} ({plain / solo:.2f}x) | {jittered:,.0f} ({jittered / solo:.2f}x) | "
              f"{measured:,.0f} | {ratio:.2f}x | {over:,.0f} | {over_ratio:.2f}x |")
    print("\n(speed-ups are medians of the per-round ratios to `solo` in the same run; predictions use the compute time "
          "measured with both ranks busy, `alone`)")

    for b in (32, 16):
        c = compute(b)
        print(f"\n### Projection, local batch {b} (compute {c * 1e3:.2f} ms per step)\n")
        print("| network | machines | allreduce | images/s, no overlap, no jitter | efficiency | with this machine's "
              "jitter | efficiency | overlap bound, with jitter | efficiency |\n|---|---|---|---|---|---|---|---|---|")
        for label, bandwidth, a in NETWORKS:
            for p in MACHINES:
                t = ring(p, size, buckets, a, bandwidth)
                j = sigma * expected_max_normal(p)
                plain, jittered, hidden = c + t, c + t + j, max(c, t) + j
                print(f"| {label} | {p} | {t * 1e3:.2f} ms | {p * b / plain:,.0f} | {c / plain:.2f} | "
                      f"{p * b / jittered:,.0f} | {c / jittered:.2f} | {p * b / hidden:,.0f} | {c / hidden:.2f} |")

    print("\n### Where LeNet stops scaling\n")
    print("The local batch b* at which a step computes as long as it exchanges (efficiency 0.5 without overlap "
          "or jitter; below it a machine adds less than half its worth), and the global batch P b*.\n")
    print("| network | machines | b* | global batch |\n|---|---|---|---|")
    for label, bandwidth, a in NETWORKS:
        for p in MACHINES:
            t = ring(p, size, buckets, a, bandwidth)
            b_star = max(1.0, (t - t0) / t1)
            print(f"| {label} | {p} | {b_star:,.0f} | {p * b_star:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
