#!/bin/sh
# Installs what sluice needs to build, test and run, from Debian's packages.
# Idempotent: installs only what is missing. Needs root (or sudo).
set -eu

# The last line is for tests/bench (built in every test build, run by
# bench.smoke): oneTBB and Concurrency Kit are the references of the overhead
# and queue rows, GNU time measures the memory row's peak RSS.

PACKAGES="gcc g++ make cmake pkg-config
libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools
libyaml-dev libgmp-dev libprimesieve-dev primesieve libopenblas-dev libjansson-dev zlib1g-dev
libcriterion-dev
libtbb-dev libck-dev time"

# Extra packages for a purpose: "$0 sanitizers" (what tests/run.sh and CI use)
# adds clang and LLVM's OpenMP runtime (ThreadSanitizer understands it, GCC's
# libgomp it does not), chromium, in which a test opens the page of
# `sluice report` headless (docs/report.md), and Slurm with munge, for the
# one-node cluster the tests submit the slurm/ job scripts to
# (slurm/local-cluster.sh, docs/slurm.md).
case "${1:-}" in
  sanitizers) PACKAGES="$PACKAGES clang libomp-dev libclang-rt-14-dev chromium slurm-wlm munge" ;;
esac

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
