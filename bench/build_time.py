#!/usr/bin/env python3
"""Build time of a LeNet-5 program: spore's examples/lenet beside a minimal LibTorch one
(bench/torch_lenet.cpp), and the single-header predict program of issue 5
(bench/predict_single_header.cpp, target < 15 s).

Each is compiled --repeat times (default 3) the same way, g++ -std=c++20 -O2 -march=native,
one compiler at a time; the median wall time, CPU time and peak memory of the compiler (the
largest process of the g++ driver's tree, from os.wait4) are printed, with the ratios to
spore's examples/lenet. The target is on wall time on an idle machine; on a busy one the CPU
time says more. The predict program is then run once on Fashion-MNIST as a check.
Exit status 1 when the predict program misses its target.

usage: python3 bench/build_time.py [--cxx g++] [--repeat 3] [--only lenet,torch,predict]
                                   [--torch-include DIR] [--torch-libs "-ltorch ..."]
"""
import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = ["-std=c++20", "-O2", "-march=native"]
PREDICT_TARGET_SECONDS = 15.0


def compile_once(cmd):
    """Wall seconds, CPU seconds and peak resident MB of one compile (the g++ driver and every
    child it waited for: cc1plus, as, ld). CPU time is what a busy machine inflates least."""
    with tempfile.TemporaryFile(mode="w+") as log:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, not all children's so far
        seconds = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            log.seek(0)
            sys.exit(f"compile failed ({proc.returncode}): {shlex.join(cmd)}\n{log.read()[:4000]}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def programs(args, workdir):
    torch_flags = [f"-I{args.torch_include}", "-D_GLIBCXX_USE_CXX11_ABI=1"]
    return {
        "lenet": ("spore examples/lenet",
                  [args.cxx, *FLAGS, "-I", os.path.join(ROOT, "include"), os.path.join(ROOT, "examples/lenet/main.cpp"),
                   "-o", os.path.join(workdir, "lenet_spore"), "-lz"]),
        "torch": ("LibTorch LeNet (bench/torch_lenet.cpp)",
                  [args.cxx, *FLAGS, *torch_flags, os.path.join(ROOT, "bench/torch_lenet.cpp"),
                   "-o", os.path.join(workdir, "lenet_torch"), *args.torch_libs.split()]),
        "predict": ("single-header predict (bench/predict_single_header.cpp)",
                    [args.cxx, *FLAGS, "-I", os.path.join(ROOT, "single_include"),
                     os.path.join(ROOT, "bench/predict_single_header.cpp"), "-o", os.path.join(workdir, "predict"), "-lz"]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cxx", default=os.environ.get("CXX", "g++"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="lenet,torch,predict")
    parser.add_argument("--torch-include", default="/usr/include/torch/csrc/api/include")
    parser.add_argument("--torch-libs", default="-ltorch -ltorch_cpu -lc10")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    chosen = [name for name in args.only.split(",") if name]
    if args.repeat < 1:
        sys.exit("--repeat must be at least 1")
    if "torch" in chosen and not os.path.exists(os.path.join(args.torch_include, "torch", "torch.h")):
        print(f"LibTorch skipped: no torch/torch.h under {args.torch_include} (Debian: apt-get install libtorch-dev)")
        chosen.remove("torch")

    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        table = programs(args, workdir)
        unknown = [name for name in chosen if name not in table]
        if unknown:
            sys.exit(f"--only: unknown {', '.join(unknown)} (choose from {', '.join(table)})")
        print(f"{args.cxx} {' '.join(FLAGS)}; median of {args.repeat}")
        print(f"{'program':<58} {'wall s':>7} {'(min-max)':>13} {'CPU s':>6} {'peak MB':>8}")
        for name in chosen:
            label, cmd = table[name]
            runs = [compile_once(cmd) for _ in range(args.repeat)]
            seconds = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            peak = statistics.median(r[2] for r in runs)
            results[name] = (seconds, cpu, peak)
            spread = f"({min(r[0] for r in runs):.1f}-{max(r[0] for r in runs):.1f})"
            print(f"{label:<58} {seconds:7.1f} {spread:>13} {cpu:6.1f} {peak:8.0f}", flush=True)
        if "lenet" in results:
            base_s, base_cpu, base_mb = results["lenet"]
            for name in results:
                if name != "lenet":
                    s, cpu, mb = results[name]
                    print(f"  {table[name][0]} / spore examples/lenet: {s / base_s:.2f}x wall time, "
                          f"{cpu / base_cpu:.2f}x CPU time, {mb / base_mb:.2f}x memory")
        status = 0
        if "predict" in results:
            run = subprocess.run([os.path.join(workdir, "predict"), "-", args.data], capture_output=True, text=True)
            if run.returncode != 0:
                sys.exit(f"the predict program failed:\n{run.stdout}{run.stderr}")
            print(f"  predict ran: {run.stdout.strip()}")
            met = results["predict"][0] < PREDICT_TARGET_SECONDS
            print(f"  single-header predict: {results['predict'][0]:.1f} s wall ({results['predict'][1]:.1f} s CPU), "
                  f"target < {PREDICT_TARGET_SECONDS:.0f} s: {'met' if met else 'MISSED'}")
            status = 0 if met else 1
    return status


if __name__ == "__main__":
    sys.exit(main())
