#!/usr/bin/env bash
# Installs the Debian 12 packages maple needs (build, tests, benchmarks,
# fuzzing) when any is missing. Nothing is downloaded when all are present.
# MAPLE_SKIP_DEPS=1 skips the check (e.g. on a non-Debian system).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The one list of system packages the project uses.
PACKAGES=(
  cmake g++ make pkg-config liburcu-dev          # build (liburcu: the RCU layer)
  liblzma-dev                                    # maple-vma: .xz traces
  strace                                         # maple-vma record (and its tests)
  libgtest-dev libgmock-dev                      # tests
  libbenchmark-dev libabsl-dev llvm-14-dev       # benchmarks and their peers
  libboost-dev                                   #   (boost::icl)
  valgrind libtsan2                              # memory checks; ThreadSanitizer (g++)
  clang libclang-rt-14-dev                       # fuzzing (libFuzzer, sanitizers)
  clang-tidy clang-format                        # static checks (tidy.sh, format.sh)
  graphviz                                       # tree pictures (docs/images)
  python3-matplotlib                             # benchmark plots (bench/plot.py)
  chromium                                       # the HTML report's browser test
)

if [[ "${MAPLE_SKIP_DEPS:-0}" == 1 ]]; then
  exit 0
fi
if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "deps.sh: not a Debian system; install the equivalents of: ${PACKAGES[*]}" >&2
  exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
  # Same check as dpkg -s, but a removed package whose config files remain
  # counts as missing.
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "deps.sh: installing ${missing[*]}" >&2
sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "deps.sh: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  fi
  sudo=(sudo)
fi
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends "${missing[@]}"
