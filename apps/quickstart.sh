#!/bin/sh
# Quick start: install what is missing, build sluice, run the default job
# (pi(10^10) and the twin primes below it) and print its summary.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sh "$top/apps/install-deps.sh"
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$top/build" -j "$(nproc)"
echo
echo "sluice run jobs/primes.yaml -o build/primes.h5 --force"
"$top/build/bin/sluice" run "$top/jobs/primes.yaml" -o "$top/build/primes.h5" --force
