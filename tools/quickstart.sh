#!/usr/bin/env bash
# spore quickstart. Works on a fresh, minimal Debian 12 (as root) or any
# Debian/Ubuntu box with the packages below already installed.
#
#   bash tools/quickstart.sh main      # build + run the example (spore_example_main)
#   bash tools/quickstart.sh test      # cmake --workflow --preset test
#   bash tools/quickstart.sh sanitize  # cmake --workflow --preset sanitize (ASan+UBSan)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

PACKAGES=(g++ cmake make libxsimd-dev libboost1.81-dev catch2 libbenchmark-dev python3 zlib1g-dev)

stage() { printf '\n==== [quickstart] %s ====\n' "$*"; }
die()   { printf 'quickstart: error: %s\n' "$*" >&2; exit 1; }

usage() {
  cat >&2 <<'USAGE'
usage: bash tools/quickstart.sh <main|test|sanitize>
  main      configure the release preset, build and run spore_example_main
  test      cmake --workflow --preset test      (release build + all tests)
  sanitize  cmake --workflow --preset sanitize  (ASan+UBSan build + tests)
USAGE
  exit 2
}

install_deps() {
  stage "checking system packages"
  local missing=() pkg
  for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    echo "all packages present: ${PACKAGES[*]}"
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
  [[ -f examples/value_and_grad.cpp ]] || die "examples/value_and_grad.cpp does not exist yet"
  stage "configure (preset: release)"
  cmake --preset release
  stage "build spore_example_main"
  cmake --build --preset release --target spore_example_main
  stage "run build/release/examples/spore_example_main"
  ./build/release/examples/spore_example_main
}

cmd_test() {
  stage "cmake --workflow --preset test"
  cmake --workflow --preset test
}

cmd_sanitize() {
  stage "cmake --workflow --preset sanitize"
  cmake --workflow --preset sanitize
}

(($# == 1)) || usage
case "$1" in
  main|test|sanitize) ;;
  *) usage ;;
esac

install_deps
"cmd_$1"
stage "done: $1"
