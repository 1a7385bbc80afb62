#!/usr/bin/env bash
# spore quickstart. Works on a fresh, minimal Debian 12 (as root) or any
# Debian/Ubuntu box with the packages below already installed.
#
#   bash tools/quickstart.sh main      # build examples/lenet and train LeNet-5 on Fashion-MNIST
#   bash tools/quickstart.sh test      # cmake --workflow --preset test
#   bash tools/quickstart.sh sanitize  # cmake --workflow --preset sanitize (ASan+UBSan)
#   bash tools/quickstart.sh clang     # cmake --workflow --preset clang (Clang 16, libstdc++)
#   bash tools/quickstart.sh fuzz [s]  # tests/fuzz/run.sh: the libFuzzer harnesses, s seconds a target
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

PACKAGES=(g++ cmake make libxsimd-dev libboost1.81-dev catch2 libbenchmark-dev python3 zlib1g-dev dataset-fashion-mnist
          libopencv-dnn-dev python3-onnx  # these two check the ONNX export (tests/onnx)
          libopenmpi-dev openmpi-bin)     # MPI: the data-parallel tests, benchmark and example

stage() { printf '\n==== [quickstart] %s ====\n' "$*"; }
die()   { printf 'quickstart: error: %s\n' "$*" >&2; exit 1; }

usage() {
  cat >&2 <<'USAGE'
usage: bash tools/quickstart.sh <main [lenet flags]|test|sanitize|clang|fuzz [seconds]>
  main      build the LeNet-5 example and train it on Fashion-MNIST (extra arguments go to it,
            e.g. --epochs 10; the data come from Debian's dataset-fashion-mnist)
  test      cmake --workflow --preset test      (release build + all tests)
  sanitize  cmake --workflow --preset sanitize  (ASan+UBSan build + tests)
  clang     cmake --workflow --preset clang     (Release build with clang++-16 + tests; installs clang-16)
  fuzz      bash tests/fuzz/run.sh [seconds]    (libFuzzer harnesses: corpus replay, then fuzzing
            each reader for the seconds given, 20 unless told; installs clang-16 and libFuzzer)
USAGE
  exit 2
}

# Installs, with apt-get, those of the named Debian packages that are missing.
install_packages() {
  stage "checking system packages: $*"
  local missing=() pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    echo "all present"
    return
  fi
  echo "missing packages: ${missing[*]}"
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 || die "not root and sudo not available; install: ${missing[*]}"
    sudo=(sudo)
  fi
  stage "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}

cmd_main() {
  stage "configure (preset: release)"
  cmake --preset release
  stage "build spore_example_lenet"
  cmake --build --preset release --target spore_example_lenet
  stage "train LeNet-5 on Fashion-MNIST: build/release/examples/spore_example_lenet"
  ./build/release/examples/spore_example_lenet "$@"
}

cmd_test() {
  stage "cmake --workflow --preset test"
  cmake --workflow --preset test
}

cmd_sanitize() {
  stage "cmake --workflow --preset sanitize"
  cmake --workflow --preset sanitize
}

cmd_clang() {
  stage "cmake --workflow --preset clang"
  cmake --workflow --preset clang
}

cmd_fuzz() {
  stage "bash tests/fuzz/run.sh $*"
  bash tests/fuzz/run.sh "$@"
}

(($# >= 1)) || usage
command="$1"
shift
case "$command" in
  main) ;;
  test|sanitize|clang) (($# == 0)) || usage ;;
  fuzz) (($# <= 1)) || usage ;;
  *) usage ;;
esac

case "$command" in
  clang) install_packages "${PACKAGES[@]}" clang-16 ;;  # Debian 12's clang 16, on GCC 12's libstdc++
  fuzz) install_packages "${PACKAGES[@]}" clang-16 libclang-rt-16-dev ;;  # libFuzzer and the sanitizers' runtimes
  *) install_packages "${PACKAGES[@]}" ;;
esac
"cmd_$command" "$@"
stage "done: $command"
