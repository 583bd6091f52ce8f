#!/bin/sh
# tests/install/stages_json_test.sh - `sluice stages --json` is valid JSON and
# describes primes with its bool parameter twins (default false).
#   usage: stages_json_test.sh PATH/TO/sluice
set -eu
sluice=${1:?usage: stages_json_test.sh PATH/TO/sluice}
out=$("$sluice" stages --json)
if command -v python3 >/dev/null 2>&1; then
  printf '%s\n' "$out" | python3 -c '
import json, sys
stages = json.load(sys.stdin)
primes = [s for s in stages if s["name"] == "primes"]
assert primes, "no stage primes"
p = primes[0]
assert p["kind"] == "transform" and p["abi"] >= 1 and p["file"].endswith("/primes.so"), p
twins = [q for q in p["params"] if q["name"] == "twins"]
assert twins and twins[0]["type"] == "bool" and twins[0]["default"] is False, p["params"]
keys = {"name", "kind", "mode", "summary", "version", "abi", "file", "params"}
pkeys = {"name", "type", "default", "min", "max", "help", "choices"}
for s in stages:
    assert keys <= s.keys(), s
    for q in s["params"]:
        assert pkeys <= q.keys(), q
print("stages --json: %d stages, valid" % len(stages))
'
else
  printf '%s\n' "$out" | grep -q '"name":"primes"' || { echo "no primes in stages --json"; exit 1; }
  printf '%s\n' "$out" | grep -q '{"name":"twins","type":"bool","default":false' \
    || { echo "no twins parameter in stages --json"; exit 1; }
  echo "stages --json: primes and twins present (python3 missing: not parsed)"
fi
