#!/usr/bin/env python3
"""Compile-time scaling of spore's static graphs.

Generates a program with a chain of N layers, h = tanh(matmul(h, W_i) + b_i), takes
value_and_grad of sum(h) with respect to every W_i and b_i, and compiles it with the
compiler's peak memory measured. Prints a table; exit status 1 if N=64 takes more than
10x the time of N=8 (the target in issue 2).

usage: python3 bench/compile_time.py [--cxx g++] [--flags "-O2"] [--sizes 8,16,32,64]
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def source(n):
    lines = ["#include <spore/spore.hpp>", "#include <cstdio>", "using spore::shape; using spore::tensor;",
             "int main() {", "    tensor<float, shape<4, 8>> x; x.fill_uniform(1);"]
    for i in range(n):
        lines.append(f"    tensor<float, shape<8, 8>> w{i}; w{i}.fill_uniform({i + 2}, -0.3f, 0.3f);")
        lines.append(f"    tensor<float, shape<8>> b{i}; b{i}.fill_uniform({i + 1000});")
    lines.append("    auto h0 = x;")
    expr = "x"
    for i in range(n):
        lines.append(f"    auto h{i + 1} = spore::tanh(spore::matmul({expr}, w{i}) + b{i});")
        expr = f"h{i + 1}"
    args = ", ".join(f"w{i}, b{i}" for i in range(n))
    lines.append(f"    auto program = spore::compile_grad(spore::sum({expr}), {args});")
    lines.append("    float value = program.run();")
    lines.append("    std::printf(\"%g %g\\n\", value, program.gradient<0>()[0]);")
    lines.append("}")
    return "\n".join(lines) + "\n"


def compile_once(cxx, flags, n, workdir):
    path = os.path.join(workdir, f"chain{n}.cpp")
    with open(path, "w") as f:
        f.write(source(n))
    out = os.path.join(workdir, f"chain{n}")
    cmd = [cxx, "-std=c++20", *flags.split(), "-I", os.path.join(ROOT, "include"), path, "-o", out]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    result = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"compiling N={n} failed:\n{result.stderr[:3000]}")
    run = subprocess.run([out], capture_output=True, text=True, check=True)
    # ru_maxrss of children is the largest child so far (kB): the compiler proper (cc1plus)
    return seconds, after.ru_maxrss, run.stdout.strip()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cxx", default=os.environ.get("CXX", "g++"))
    parser.add_argument("--flags", default="-O2")
    parser.add_argument("--sizes", default="8,16,32,64")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"compiler: {args.cxx} {args.flags}")
    print(f"{'N':>4} {'seconds':>8} {'peak MB':>8}  output")
    times = {}
    with tempfile.TemporaryDirectory() as workdir:
        for n in sizes:  # increasing N, so the running maximum RSS is this N's
            seconds, peak_kb, output = compile_once(args.cxx, args.flags, n, workdir)
            times[n] = seconds
            print(f"{n:>4} {seconds:8.2f} {peak_kb / 1024:8.0f}  {output}", flush=True)
    if 8 in times and 64 in times:
        ratio = times[64] / times[8]
        print(f"N=64 / N=8 compile time: {ratio:.2f}x (target <= 10x)")
        return 0 if ratio <= 10 else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
