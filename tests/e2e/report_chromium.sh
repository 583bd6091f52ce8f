#!/bin/sh
# tests/e2e/report_chromium.sh - the page of `sluice report` in a real browser.
#
#   sh report_chromium.sh SLUICE SOURCE_DIR BUILD_DIR
#
# Writes pages with `sluice report`, opens each in headless Chromium (Debian's
# chromium package) with --dump-dom, which prints the DOM after the page's
# script ran, and counts what the script drew (the ids and classes are listed
# in docs/report.md). Pages: tests/fixtures/stats-example.json; a partial file
# (a stage without series, no per_rank, no bottleneck, a name with markup in
# it); and, when `sluice run` has --stats, the stats of a real run. Saves a
# screenshot of the example's page as BUILD_DIR/report.png.
#
# Without chromium it exits 77, which CTest shows as skipped - except under
# CI (CI=true), where chromium must be there (apps/install-deps.sh sanitizers).
set -eu
sluice=$1 src=$2 build=$3

chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
  if [ "${CI:-}" = true ]; then
    echo "FAIL: chromium is not installed; CI installs it (sh apps/install-deps.sh sanitizers)"
    exit 1
  fi
  echo "SKIP: chromium is not installed (apt-get install chromium, or sh apps/install-deps.sh sanitizers)"
  exit 77
fi
echo "using $("$chromium" --version 2>/dev/null | head -n 1)"

work="$build/report-test"
rm -rf "$work"
mkdir -p "$work/profile"
fail=0

# --no-sandbox: Chromium refuses to run as root without it (CI runs as root).
# --disable-dev-shm-usage: containers often have a tiny /dev/shm.
# A profile of its own under the build tree, so nothing touches $HOME.
browse() {
  timeout 90 "$chromium" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --no-default-browser-check --disable-extensions --hide-scrollbars \
    --user-data-dir="$work/profile" "$@" 2>>"$work/chromium.log"
}

# count FILE ELEMENT CLASS: elements <ELEMENT ... class="CLASS" in the DOM.
count() {
  grep -oE "<$2( [^>]*)? class=\"$3\"" "$1" | wc -l | tr -d ' '
}

# expect WHAT GOT WANT
expect() {
  if [ "$2" = "$3" ]; then
    echo "ok   $1: $2"
  else
    echo "FAIL $1: got $2, want $3"
    fail=1
  fi
}

# page NAME STATS: writes NAME.html and its DOM as NAME.dom.
page() {
  "$sluice" report "$2" -o "$work/$1.html" --force >/dev/null
  browse --dump-dom "file://$work/$1.html" >"$work/$1.dom"
  expect "$1: the script ran" "$(grep -c 'data-rendered="ok"' "$work/$1.dom")" 1
}

echo "== tests/fixtures/stats-example.json: 4 stages, 2 ranks, series for all"
page example "$src/tests/fixtures/stats-example.json"
d="$work/example.dom"
expect "utilisation bars (busy)" "$(count "$d" rect bar)" 4
expect "utilisation bars (starved)" "$(count "$d" rect bar-starved)" 4
expect "utilisation bars (blocked)" "$(count "$d" rect bar-blocked)" 4
expect "throughput + queue lines (4 + 3: the source has no queue)" "$(count "$d" path line)" 7
expect "timeline lanes" "$(count "$d" g lane)" 4
expect "timeline cells (4 lanes x 25 samples)" "$(count "$d" rect cell)" 100
expect "table rows" "$(count "$d" tr stage-row)" 4
expect "per-rank rows" "$(count "$d" tr rank-row)" 8
expect "bottleneck names primes" "$(grep -c '<p id="bottleneck" data-stage="primes">Bottleneck: primes' "$d")" 1

echo "== a partial file"
cat >"$work/partial.json" <<'EOF'
{"schema": "sluice-stats/1", "job": "partial", "wall_s": 2,
 "stages": [
   {"name": "src", "utilisation": 0.5, "queue": 0},
   {"name": "</script><b id=\"injected\">x</b>", "utilisation": 0.25, "queue": 4,
    "latency_ms": {"p50": 1}}],
 "series": {"interval_s": 1, "t_s": [1, 2],
            "stages": {"src": {"batches_done": [3, 6], "busy": [1, 1]}}}}
EOF
page partial "$work/partial.json"
d="$work/partial.dom"
expect "bars" "$(count "$d" rect bar)" 2
expect "lines (only src has series; no queue series)" "$(count "$d" path line)" 1
expect "lanes" "$(count "$d" g lane)" 1
expect "table rows" "$(count "$d" tr stage-row)" 2
expect "no per-rank table" "$(grep -c 'id="rank-table"' "$d" || true)" 0
expect "the markup in a name stays text" "$(grep -c '<b id="injected"' "$d" || true)" 0
expect "a sentence without a bottleneck" \
  "$(grep -c '<p id="bottleneck">No bottleneck named in this file; the busiest stage is src' "$d")" 1

if "$sluice" run --help | grep -q -- --stats; then
  echo "== a real run: jobs/primes.yaml up to 1e8 (100 batches) with --stats"
  (cd "$src" && "$sluice" run jobs/primes.yaml intervals.stop=1e8 intervals.width=1e6 -q \
    -o "$work/primes.h5" --force --stats "$work/run.json")
  page run "$work/run.json"
  d="$work/run.dom"
  expect "bars, one per stage" "$(count "$d" rect bar)" 4
  expect "table rows" "$(count "$d" tr stage-row)" 4
  lines=$(count "$d" path line)
  [ "$lines" -le 7 ] || { echo "FAIL lines: $lines, at most 7"; fail=1; }
else
  echo "== (sluice run has no --stats yet: no real run)"
fi

echo "== screenshot"
rm -f "$build/report.png"
browse --window-size=1280,2000 --screenshot="$build/report.png" "file://$work/example.html" \
  >/dev/null
if [ -s "$build/report.png" ] && [ "$(head -c 4 "$build/report.png" | tail -c 3)" = PNG ]; then
  echo "ok   screenshot: $build/report.png ($(wc -c <"$build/report.png") bytes)"
else
  echo "FAIL screenshot: $build/report.png is missing or not a PNG"
  fail=1
fi

[ $fail -eq 0 ] || echo "pages, DOMs and chromium.log are in $work"
exit $fail
