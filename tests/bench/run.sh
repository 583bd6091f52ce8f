#!/usr/bin/env bash
# tests/bench/run.sh [--check] [--quick] [--runs N] [--only ROWS]
#
# Measures sluice against its references side by side in one run and prints
# one table (what, sluice, reference, ratio, target, PASS/MISS). Every pair of
# measurements is taken back to back (A then B, then B then A on the next run,
# and so on), so both sides see the same machine load; the ratio is the median
# of the per-pair ratios. Never compare these figures with an older table.
# docs/performance.md explains every row, the method and the figures of record.
#
# Rows:
#   primes   `sluice run jobs/primes.yaml -t T` vs `primesieve 1e10 -tT -c1 -c2 -q`,
#            wall time of each whole command; ratio = reference s / sluice s.
#   ranks    `mpirun -np 2 --bind-to none sluice run jobs/primes.yaml -t 1 --schedule S`
#            (2 ranks x 1 thread) vs `sluice run jobs/primes.yaml -t 2` (1 process,
#            no mpirun), S = static and dynamic; wall time of each whole command,
#            mpirun's start included; ratio = threads s / ranks s, target 0.95.
#            An info row gives the same ratio on sluice's own `wall` lines.
#   channel  stage mode on 2 ranks: `blob` (rank 0, 1 MiB batches of one row) ->
#            `failat` (rank 1, passes them through; last stage, nothing written),
#            `mpirun -np 2 --bind-to none sluice run JOB -t 1`, GB/s = batches x
#            1 MiB / sluice's `wall` line (batches only, no MPI start), vs
#            `mpirun -np 2 bench_pingpong 1048576 ITERS` (MPI_Send/MPI_Recv round
#            trips, 2 x 1 MiB x ITERS / timed loop, no MPI start); ratio =
#            sluice GB/s / ping-pong GB/s, target 0.80.
#   matmul   `sluice run jobs/matmul.yaml -t 2` (matgen generates the inputs inside
#            the pipeline, and that time counts) in GFLOP/s = 2 n^3 count / wall
#            of the whole command, vs bench_dgemm (same matrices generated
#            beforehand, untimed; a cblas_dgemm loop on 2 OpenBLAS threads).
#   fib      `sluice run jobs/fib.yaml -t T` (F(n), its digit count and F(n) mod 2^64
#            for n < 100000, batches of 500, sum of the digits, HDF5 output) vs
#            `bench_fib 0 100000 500 T` (the same kernel calls in a plain loop, an
#            OpenMP dynamic loop of chunk 500 at T = 2), T = 1 and 2; wall time of
#            each whole command; ratio = reference s / sluice s, target 0.95.
#   overhead bench_overhead (empty in-process stages: source, K transforms, sink, all
#            in one mode) vs bench_tbb (oneTBB parallel_pipeline, the same number of
#            empty filters in the matching mode: parallel, serial_out_of_order,
#            serial_in_order; max_number_of_live_tokens = sluice's bound on live
#            batches for that configuration, threads in a task_arena), K = 1 and 4,
#            1 and 2 threads; ns per batch per stage; ratio = oneTBB ns / sluice ns,
#            target 1.00 (no slower).
#   queue    bench_queue: sl_queue try_push/try_pop MPMC vs ck_ring_enqueue_mpmc /
#            ck_ring_dequeue_mpmc, 1 producer 1 consumer and 2 and 2, 1024 slots,
#            the same items; million items/s; ratio = ours / ck's, target 1.00.
#   sched    dynamic scheduling cost per chunk: a job of tiny batches (range, batch
#            1, -> sum) on `mpirun -np 2 --bind-to none ... -t 1 --chunk 1`,
#            --schedule dynamic vs static (round-robin chunks, no communication);
#            cost per chunk = (dynamic wall line - static wall line) / (chunks / 2
#            ranks), i.e. what a rank pays per chunk it takes; next to it the bare
#            MPI_Fetch_and_op + MPI_Win_flush the scheduler issues per chunk
#            (`mpirun -np 2 bench_fetchop N`, us per claim per rank). Info, no target.
#   memory   peak RSS (/usr/bin/time -v) of `sluice run jobs/primes.yaml -t 2` with
#            intervals.stop = 1e11 vs 1e9 (1e9 vs 1e8 with --quick); ratio =
#            RSS(small) / RSS(large); target 0.90-1.10 (bounded memory: within 10%).
#
# --check  exit 1 when a row misses its target (otherwise exit 0 whatever the figures)
# --quick  tiny sizes and one run: only proves the script works (CTest bench.smoke)
# --runs N runs per side (default 5)
# --only ROWS  run only these rows, a comma-separated list of primes, ranks,
#          channel, matmul, fib, overhead, queue, sched, memory (default: all),
#          e.g. --only channel,ranks
#
# Environment: SLUICE_BUILD_DIR (default <repo>/build/bench) is configured and
# built with -j2 unless SLUICE_BENCH_NO_BUILD=1; when it builds, it first installs
# the Debian packages the selected rows need and lack (primesieve, libtbb-dev,
# libck-dev, time; apt-get, as root or through sudo). BENCH_MATMUL_N,
# BENCH_MATMUL_COUNT, BENCH_OVERHEAD_BATCHES, BENCH_CHANNEL_BATCHES,
# BENCH_PINGPONG_ITERS, BENCH_FIB_STOP, BENCH_QUEUE_ITEMS and BENCH_SCHED_BATCHES
# override the default sizes. OMPI_ALLOW_RUN_AS_ROOT, OMPI_ALLOW_RUN_AS_ROOT_CONFIRM (1)
# and OMPI_MCA_btl (self,vader: no network probing) are exported for mpirun
# when unset.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CHECK=0
QUICK=0
RUNS=5
ALL_ROWS=primes,ranks,channel,matmul,fib,overhead,queue,sched,memory
ONLY=$ALL_ROWS
while [ $# -gt 0 ]; do
    case "$1" in
    --check) CHECK=1 ;;
    --quick) QUICK=1 ;;
    --runs)
        [ $# -ge 2 ] || { echo "run.sh: --runs needs a number" >&2; exit 2; }
        RUNS=$2
        shift
        ;;
    --runs=*) RUNS=${1#--runs=} ;;
    --only)
        [ $# -ge 2 ] || { echo "run.sh: --only needs a list of rows" >&2; exit 2; }
        ONLY=$2
        shift
        ;;
    --only=*) ONLY=${1#--only=} ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$RUNS" in '' | *[!0-9]* | 0) echo "run.sh: --runs wants a positive integer" >&2; exit 2 ;; esac
[ -n "$ONLY" ] || { echo "run.sh: --only wants at least one row" >&2; exit 2; }
for w in ${ONLY//,/ }; do
    case "$w" in
    primes | ranks | channel | matmul | fib | overhead | queue | sched | memory) ;;
    *) echo "run.sh: --only: unknown row '$w' (${ALL_ROWS//,/, })" >&2; exit 2 ;;
    esac
done
# want ROW: true when ROW is selected (--only).
want() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

if [ "$QUICK" = 1 ]; then
    RUNS=1
    PRIMES_STOP=1e8 PRIMES_WIDTH=1e7
    MM_N=${BENCH_MATMUL_N:-128} MM_COUNT=${BENCH_MATMUL_COUNT:-4}
    OV_BATCHES=${BENCH_OVERHEAD_BATCHES:-2000}
    CH_BATCHES=${BENCH_CHANNEL_BATCHES:-50} PP_ITERS=${BENCH_PINGPONG_ITERS:-50}
    FIB_STOP=${BENCH_FIB_STOP:-20000}
    QU_ITEMS=${BENCH_QUEUE_ITEMS:-200000}
    SC_BATCHES=${BENCH_SCHED_BATCHES:-2000} FO_CLAIMS=20000
    MEM_SMALL=1e8 MEM_LARGE=1e9
else
    PRIMES_STOP=1e10 PRIMES_WIDTH=1e8
    MM_N=${BENCH_MATMUL_N:-2048} MM_COUNT=${BENCH_MATMUL_COUNT:-16}
    OV_BATCHES=${BENCH_OVERHEAD_BATCHES:-200000}
    # Both sides move 4000 MiB: 4000 batches one way, 2000 round trips of 1 MiB
    # (~0.5 s each at 8 GB/s; the copying channel takes ~2.5 s).
    CH_BATCHES=${BENCH_CHANNEL_BATCHES:-4000} PP_ITERS=${BENCH_PINGPONG_ITERS:-2000}
    # jobs/fib.yaml's own range: ~4 s per side at 1 thread here.
    FIB_STOP=${BENCH_FIB_STOP:-100000}
    QU_ITEMS=${BENCH_QUEUE_ITEMS:-10000000}
    # ~0.7 s of dynamic scheduling; the bare claims take ~0.1 s.
    SC_BATCHES=${BENCH_SCHED_BATCHES:-50000} FO_CLAIMS=200000
    # The issue's figures: 10 and 1000 intervals of 1e8 (1e11: ~15-25 s at 2 threads).
    MEM_SMALL=1e9 MEM_LARGE=1e11
fi
CH_SIZE=1048576
OV_KS="1 4"
FIB_BATCH=500
QU_CAP=1024

B=${SLUICE_BUILD_DIR:-$ROOT/build/bench}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# --- machine ------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
echo "machine: $(nproc) cpus, ${cpu:-unknown cpu}, $(uname -sr), $(awk '{printf "%.0f GiB", $2/1048576; exit}' /proc/meminfo) RAM"
echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min, before the run)"
echo "runs:    $RUNS per side$([ "$QUICK" = 1 ] && echo ' (--quick: tiny sizes, figures meaningless)')"
echo "rows:    ${ONLY//,/, }"

# --- comparison packages, then the build ------------------------------------------
# installed PKG: true when the Debian package PKG is installed.
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# The packages the selected rows need (the same names are in apps/install-deps.sh's
# base list, which CI installs): the CLI for primes, the libraries of the
# bench_tbb and bench_queue drivers (needed when CMake configures), GNU time.
need=()
if want primes && ! command -v primesieve >/dev/null 2>&1; then need+=(primesieve); fi
if want overhead && ! installed libtbb-dev; then need+=(libtbb-dev); fi
if want queue && ! installed libck-dev; then need+=(libck-dev); fi
if want memory && [ ! -x /usr/bin/time ]; then need+=(time); fi
if [ ${#need[@]} -gt 0 ]; then
    if [ "${SLUICE_BENCH_NO_BUILD:-0}" = 1 ]; then
        echo "run.sh: missing Debian packages: ${need[*]} (apps/install-deps.sh installs them)" >&2
        exit 1
    fi
    echo "install: ${need[*]} (Debian packages)"
    SUDO=
    [ "$(id -u)" = 0 ] || SUDO=sudo
    { DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}" ||
        { $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}"; }; } \
        >"$TMP/apt.log" 2>&1 || { tail -n 20 "$TMP/apt.log" >&2; echo "run.sh: cannot install ${need[*]}" >&2; exit 1; }
fi

if [ "${SLUICE_BENCH_NO_BUILD:-0}" != 1 ]; then
    echo "build:   $B"
    targets=(sluice_cmd stage_intervals stage_primes stage_sum stage_h5sink stage_matgen
        stage_matmul stage_range stage_fib bench_dgemm bench_overhead bench_pingpong
        bench_fib bench_fetchop fixture_blob fixture_failat)
    # Built only when their libraries were found (tests/bench/CMakeLists.txt).
    if want overhead; then targets+=(bench_tbb); fi
    if want queue; then targets+=(bench_queue); fi
    # Configure again: a library installed just now is found this time.
    cmake -S "$ROOT" -B "$B" -DCMAKE_BUILD_TYPE=Release -DSLUICE_BENCH=ON -DSLUICE_TESTS=ON \
        >"$TMP/cmake.log" 2>&1 || { cat "$TMP/cmake.log" >&2; exit 1; }
    cmake --build "$B" -j2 --target "${targets[@]}" \
        >"$TMP/build.log" 2>&1 || { tail -n 40 "$TMP/build.log" >&2; exit 1; }
fi
SLUICE=$B/bin/sluice
DGEMM=$B/tests/bench/bench_dgemm
OVERHEAD=$B/tests/bench/bench_overhead
PINGPONG=$B/tests/bench/bench_pingpong
FIBREF=$B/tests/bench/bench_fib
FETCHOP=$B/tests/bench/bench_fetchop
TBB=$B/tests/bench/bench_tbb
QUEUE=$B/tests/bench/bench_queue
# The blob and failat test stages (tests/fixtures, SLUICE_RUN_FIXTURE_DIR).
FIXTURES=$B/tests/fixtures/run-plugins
drivers=("$SLUICE" "$DGEMM" "$OVERHEAD" "$PINGPONG" "$FIBREF" "$FETCHOP" "$FIXTURES/blob.so"
    "$FIXTURES/failat.so")
if want overhead; then drivers+=("$TBB"); fi
if want queue; then drivers+=("$QUEUE"); fi
for f in "${drivers[@]}"; do
    [ -x "$f" ] || { echo "run.sh: $f is missing (build failed, SLUICE_BENCH=OFF, or its library" \
        "was not found when CMake configured: libtbb-dev for bench_tbb, libck-dev for bench_queue)" >&2; exit 1; }
done

# --- the reference tools --------------------------------------------------------
command -v mpirun >/dev/null 2>&1 ||
    { echo "run.sh: mpirun is missing (the ranks and channel rows need it; Debian package openmpi-bin)" >&2; exit 1; }
: "${OMPI_ALLOW_RUN_AS_ROOT:=1}" "${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:=1}" "${OMPI_MCA_btl:=self,vader}"
export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM OMPI_MCA_btl
# pkgver PKG: the installed Debian version of PKG, or "-".
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo -; }
echo "libs:    oneTBB $(pkgver libtbb-dev), Concurrency Kit $(pkgver libck-dev), GMP $(pkgver libgmp-dev), libprimesieve $(pkgver libprimesieve-dev)"
echo "tools:   $("$SLUICE" --version 2>/dev/null | head -n1 || echo sluice), $(if command -v primesieve >/dev/null 2>&1; then primesieve --version | sed -n 1p; else echo 'no primesieve CLI'; fi), $(mpirun --version 2>/dev/null | head -n1)"
echo

# --- helpers ----------------------------------------------------------------------
now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a - b }'; }
# stats < numbers: "median min max"
stats() {
    sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan nan nan"; exit }
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.6g %.6g %.6g\n", m, v[1], v[NR] }'
}
# cell MEDIAN MIN MAX FORMAT
cell() { awk -v m="$1" -v lo="$2" -v hi="$3" -v f="$4" 'BEGIN { printf f " [" f "-" f "]", m, lo, hi }'; }
ROWS=()
FAILED=0
# row WHAT SLUICE REFERENCE RATIO TARGET VERDICT
row() { ROWS+=("$(printf '%-52s|%-26s|%-26s|%-20s|%-7s|%s' "$@")"); }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t) ? "PASS" : "MISS" }'; }
die_run() {
    echo "run.sh: '$*' failed:" >&2
    cat "$TMP/out" >&2
    exit 1
}
# timed FILE CMD...: runs CMD (output to FILE), echoes its wall seconds.
timed() {
    local out=$1 t0 t1
    shift
    t0=$(now)
    "$@" >"$out" 2>&1 || { cp "$out" "$TMP/out"; die_run "$@"; }
    t1=$(now)
    sub "$t1" "$t0"
}

# --- primes ---------------------------------------------------------------------------
primes_row() {
    local t=$1 r sl ref f
    : >"$TMP/p_sl" >"$TMP/p_ref" >"$TMP/p_ratio" >"$TMP/p_wall"
    local scmd=("$SLUICE" run "$ROOT/jobs/primes.yaml" -t "$t" -o "$TMP/primes.h5" --force
        "intervals.stop=$PRIMES_STOP" "intervals.width=$PRIMES_WIDTH")
    local rcmd=(primesieve "$PRIMES_STOP" "-t$t" -c1 -c2 -q)
    for ((r = 1; r <= RUNS; r++)); do
        if ((r % 2)); then
            sl=$(timed "$TMP/sl.out" "${scmd[@]}")
            ref=$(timed "$TMP/ref.out" "${rcmd[@]}")
        else
            ref=$(timed "$TMP/ref.out" "${rcmd[@]}")
            sl=$(timed "$TMP/sl.out" "${scmd[@]}")
        fi
        # Same answers, or the timing means nothing.
        local sc st rc rt
        sc=$(sed -n 's/^sum_count = //p' "$TMP/sl.out")
        st=$(sed -n 's/^sum_twins = //p' "$TMP/sl.out")
        rc=$(sed -n 's/^Primes: //p' "$TMP/ref.out")
        rt=$(sed -n 's/^Twin primes: //p' "$TMP/ref.out")
        if [ -z "$sc" ] || [ "$sc" != "$rc" ] || [ "$st" != "$rt" ]; then
            echo "run.sh: primes disagree: sluice count=$sc twins=$st, primesieve count=$rc twins=$rt" >&2
            exit 1
        fi
        echo "$sl" >>"$TMP/p_sl"
        echo "$ref" >>"$TMP/p_ref"
        awk -v a="$ref" -v b="$sl" 'BEGIN { printf "%.6f\n", a / b }' >>"$TMP/p_ratio"
        sed -n 's/^wall *\([0-9.]*\) s$/\1/p' "$TMP/sl.out" >>"$TMP/p_wall"
        printf '  primes -t %s run %d: sluice %.3f s (its wall line %s s), primesieve %.3f s\n' \
            "$t" "$r" "$sl" "$(tail -n1 "$TMP/p_wall")" "$ref"
    done
    read -r sm slo shi < <(stats <"$TMP/p_sl")
    read -r rm rlo rhi < <(stats <"$TMP/p_ref")
    read -r qm qlo qhi < <(stats <"$TMP/p_ratio")
    read -r wm wlo whi < <(stats <"$TMP/p_wall")
    printf '  primes -t %s: sluice wall line median %.3f s [%.3f-%.3f]\n' "$t" "$wm" "$wlo" "$whi"
    # Issue 7's target (issue 2 asked 0.90 at 2 threads; this is the stricter one).
    f=$(verdict "$qm" 0.95)
    [ "$f" = PASS ] || FAILED=1
    row "primes <$PRIMES_STOP, $t thread(s) (s)" "$(cell "$sm" "$slo" "$shi" %.3f)" \
        "$(cell "$rm" "$rlo" "$rhi" %.3f)" "$(cell "$qm" "$qlo" "$qhi" %.3f)" ">=0.95" "$f"
}

# --- primes: 2 ranks x 1 thread vs 1 rank x 2 threads ----------------------------------
# ranks_row SCHEDULE: A (reference) = one process, 2 threads, no mpirun; B = mpirun -np 2,
# 1 thread per rank. Whole-command wall times (B pays mpirun's start and end, MPI_Init,
# the part files and their merge); sluice's own wall line of each side is kept too.
ranks_row() {
    local sched=$1 r a b aw bw f
    for f in k_a k_b k_ratio k_aw k_bw k_wratio; do : >"$TMP/$f"; done
    local acmd=("$SLUICE" run "$ROOT/jobs/primes.yaml" -t 2 -o "$TMP/ranks_a.h5" --force
        "intervals.stop=$PRIMES_STOP" "intervals.width=$PRIMES_WIDTH")
    local bcmd=(mpirun -np 2 --bind-to none "$SLUICE" run "$ROOT/jobs/primes.yaml" -t 1
        --schedule "$sched" -o "$TMP/ranks_b.h5" --force
        "intervals.stop=$PRIMES_STOP" "intervals.width=$PRIMES_WIDTH")
    for ((r = 1; r <= RUNS; r++)); do
        rm -f "$TMP/ranks_b.h5"
        if ((r % 2)); then
            b=$(timed "$TMP/b.out" "${bcmd[@]}")
            a=$(timed "$TMP/a.out" "${acmd[@]}")
        else
            a=$(timed "$TMP/a.out" "${acmd[@]}")
            b=$(timed "$TMP/b.out" "${bcmd[@]}")
        fi
        # Same answers from one job over 2 ranks (not two independent runs), or the
        # timing means nothing.
        local ac at bc bt bn
        ac=$(sed -n 's/^sum_count = //p' "$TMP/a.out")
        at=$(sed -n 's/^sum_twins = //p' "$TMP/a.out")
        bc=$(sed -n 's/^sum_count = //p' "$TMP/b.out")
        bt=$(sed -n 's/^sum_twins = //p' "$TMP/b.out")
        bn=$(sed -n 's/^ranks *//p' "$TMP/b.out")
        if [ -z "$ac" ] || [ -z "$at" ] || [ "$ac" != "$bc" ] || [ "$at" != "$bt" ] ||
            [ "$bn" != 2 ] || [ ! -s "$TMP/ranks_b.h5" ]; then
            echo "run.sh: ranks ($sched) disagree: 1x2 threads count=$ac twins=$at;" \
                "2 ranks count=$bc twins=$bt ranks='$bn' output $([ -s "$TMP/ranks_b.h5" ] && echo present || echo missing)" >&2
            cat "$TMP/b.out" >&2
            exit 1
        fi
        aw=$(sed -n 's/^wall *\([0-9.]*\) s$/\1/p' "$TMP/a.out")
        bw=$(sed -n 's/^wall *\([0-9.]*\) s$/\1/p' "$TMP/b.out")
        echo "$a" >>"$TMP/k_a"
        echo "$b" >>"$TMP/k_b"
        echo "$aw" >>"$TMP/k_aw"
        echo "$bw" >>"$TMP/k_bw"
        awk -v a="$a" -v b="$b" 'BEGIN { printf "%.6f\n", a / b }' >>"$TMP/k_ratio"
        awk -v a="$aw" -v b="$bw" 'BEGIN { printf "%.6f\n", (b > 0) ? a / b : 0 }' >>"$TMP/k_wratio"
        printf '  ranks %s run %d: 2 ranks x 1 thread %.3f s (its wall line %s s), 1 rank x 2 threads %.3f s (its wall line %s s)\n' \
            "$sched" "$r" "$b" "$bw" "$a" "$aw"
    done
    read -r bm blo bhi < <(stats <"$TMP/k_b")
    read -r am alo ahi < <(stats <"$TMP/k_a")
    read -r qm qlo qhi < <(stats <"$TMP/k_ratio")
    read -r bwm bwlo bwhi < <(stats <"$TMP/k_bw")
    read -r awm awlo awhi < <(stats <"$TMP/k_aw")
    read -r wm wlo whi < <(stats <"$TMP/k_wratio")
    printf '  ranks %s: outside the wall line (whole command - wall line, medians) 2 ranks %.3f s, 1 rank %.3f s\n' \
        "$sched" "$(sub "$bm" "$bwm")" "$(sub "$am" "$awm")"
    # The target is on the pipelines' own wall lines: the whole command also
    # holds Open MPI's start (~0.4 s here, mostly MPI_Init), a fixed cost
    # that is not sluice's and that a longer job makes negligible; it is
    # shown on the info row (docs/performance.md, "Targets and decisions").
    f=$(verdict "$wm" 0.95)
    [ "$f" = PASS ] || FAILED=1
    row "primes <$PRIMES_STOP, 2 ranks x1 vs 1x2 thr, $sched (s)" "$(cell "$bwm" "$bwlo" "$bwhi" %.3f)" \
        "$(cell "$awm" "$awlo" "$awhi" %.3f)" "$(cell "$wm" "$wlo" "$whi" %.3f)" ">=0.95" "$f"
    row "  same, $sched, whole commands, mpirun incl. (s)" "$(cell "$bm" "$blo" "$bhi" %.3f)" \
        "$(cell "$am" "$alo" "$ahi" %.3f)" "$(cell "$qm" "$qlo" "$qhi" %.3f)" "-" "info"
}

# --- channel: stage-mode transfer of 1 MiB batches between 2 ranks vs an MPI ping-pong ----
# A (sluice) = blob on rank 0 -> failat on rank 1, GB/s from the pipeline's own `wall`
# line (batches only: mpirun, MPI_Init and plugin loading excluded); B (reference) =
# bench_pingpong's timed loop (also without MPI_Init). The channel moves one batch per
# message one way, under credits; the ping-pong moves its message both ways, one at a time.
channel_row() {
    local r a b aw sl ref f bytes
    for f in c_sl c_ref c_ratio c_aw; do : >"$TMP/$f"; done
    bytes=$(awk -v n="$CH_BATCHES" -v s="$CH_SIZE" 'BEGIN { printf "%.0f", n * s }')
    cat >"$TMP/channel.yaml" <<YAML
job: channel
stages:
  - stage: blob
    ranks: 0
    params: {size: $CH_SIZE, count: $CH_BATCHES}
  - stage: failat
    ranks: 1
YAML
    local scmd=(env "SLUICE_STAGE_PATH=$FIXTURES" mpirun -np 2 --bind-to none "$SLUICE" run
        "$TMP/channel.yaml" -t 1)
    local rcmd=(mpirun -np 2 --bind-to none "$PINGPONG" "$CH_SIZE" "$PP_ITERS")
    # The same ping-pong cycling through 16 buffers, as the channel cycles
    # through pooled batches (info row): separates MPI's cache-hot figure
    # from what any transfer of fresh data gets.
    local ccmd=(mpirun -np 2 --bind-to none "$PINGPONG" "$CH_SIZE" "$PP_ITERS" 16)
    : >"$TMP/c_cold" >"$TMP/c_cratio"
    for ((r = 1; r <= RUNS; r++)); do
        if ((r % 2)); then
            a=$(timed "$TMP/a.out" "${scmd[@]}")
            b=$(timed "$TMP/b.out" "${rcmd[@]}")
            timed "$TMP/c.out" "${ccmd[@]}" >/dev/null
        else
            timed "$TMP/c.out" "${ccmd[@]}" >/dev/null
            b=$(timed "$TMP/b.out" "${rcmd[@]}")
            a=$(timed "$TMP/a.out" "${scmd[@]}")
        fi
        # Every batch went through, on 2 ranks, or the figure means nothing.
        local an bn
        an=$(sed -n 's/^batches *//p' "$TMP/a.out")
        bn=$(sed -n 's/^ranks *//p' "$TMP/a.out")
        aw=$(sed -n 's/^wall *\([0-9.]*\) s$/\1/p' "$TMP/a.out")
        ref=$(sed -n 's/^pingpong .* GBps=\([0-9.]*\)$/\1/p' "$TMP/b.out")
        if [ "$an" != "$CH_BATCHES" ] || [ "$bn" != 2 ] || [ -z "$aw" ] || [ -z "$ref" ]; then
            echo "run.sh: channel: sluice passed batches='$an' on ranks='$bn' (want $CH_BATCHES on 2)," \
                "wall '$aw'; ping-pong GB/s '$ref'" >&2
            cat "$TMP/a.out" "$TMP/b.out" >&2
            exit 1
        fi
        sl=$(awk -v n="$bytes" -v t="$aw" 'BEGIN { printf "%.4f", (t > 0) ? n / t * 1e-9 : 0 }')
        local cold
        cold=$(sed -n 's/^pingpong .* GBps=\([0-9.]*\)$/\1/p' "$TMP/c.out")
        echo "$cold" >>"$TMP/c_cold"
        awk -v a="$sl" -v b="$cold" 'BEGIN { printf "%.6f\n", (b > 0) ? a / b : 0 }' >>"$TMP/c_cratio"
        echo "$sl" >>"$TMP/c_sl"
        echo "$ref" >>"$TMP/c_ref"
        echo "$aw" >>"$TMP/c_aw"
        awk -v a="$sl" -v b="$ref" 'BEGIN { printf "%.6f\n", (b > 0) ? a / b : 0 }' >>"$TMP/c_ratio"
        printf '  channel run %d: sluice %.3f GB/s (wall line %s s, whole command %.3f s), ping-pong %.3f GB/s (whole command %.3f s), over 16 buffers %.3f GB/s\n' \
            "$r" "$sl" "$aw" "$a" "$ref" "$b" "$cold"
    done
    read -r sm slo shi < <(stats <"$TMP/c_sl")
    read -r rm rlo rhi < <(stats <"$TMP/c_ref")
    read -r qm qlo qhi < <(stats <"$TMP/c_ratio")
    f=$(verdict "$qm" 0.80)
    [ "$f" = PASS ] || FAILED=1
    row "channel 1 MiB batches, 2 ranks (GB/s)" "$(cell "$sm" "$slo" "$shi" %.2f)" \
        "$(cell "$rm" "$rlo" "$rhi" %.2f)" "$(cell "$qm" "$qlo" "$qhi" %.3f)" ">=0.80" "$f"
    read -r cm clo chi < <(stats <"$TMP/c_cold")
    read -r km klo khi < <(stats <"$TMP/c_cratio")
    row "  same, ping-pong over 16 buffers (GB/s)" "$(cell "$sm" "$slo" "$shi" %.2f)" \
        "$(cell "$cm" "$clo" "$chi" %.2f)" "$(cell "$km" "$klo" "$khi" %.3f)" "-" "info"
}

# --- matmul ---------------------------------------------------------------------------
matmul_row() {
    local r sl ref t flops f
    : >"$TMP/m_sl" >"$TMP/m_ref" >"$TMP/m_ratio" >"$TMP/m_wall"
    flops=$(awk -v n="$MM_N" -v c="$MM_COUNT" 'BEGIN { printf "%.0f", 2 * n * n * n * c }')
    local scmd=("$SLUICE" run "$ROOT/jobs/matmul.yaml" -t 2 -o "$TMP/matmul.h5" --force
        "matgen.n=$MM_N" "matgen.count=$MM_COUNT")
    local rcmd=("$DGEMM" "$MM_N" "$MM_COUNT" 2 42)
    for ((r = 1; r <= RUNS; r++)); do
        if ((r % 2)); then
            t=$(timed "$TMP/sl.out" "${scmd[@]}")
            timed "$TMP/ref.out" "${rcmd[@]}" >/dev/null
        else
            timed "$TMP/ref.out" "${rcmd[@]}" >/dev/null
            t=$(timed "$TMP/sl.out" "${scmd[@]}")
        fi
        local st rt
        st=$(sed -n 's/^sum_trace = //p' "$TMP/sl.out")
        rt=$(awk '{ for (i = 1; i < NF; i++) if ($i == "sum_trace") print $(i + 1) }' "$TMP/ref.out")
        if ! awk -v a="$st" -v b="$rt" 'BEGIN { d = a - b; if (d < 0) d = -d; s = (b < 0 ? -b : b) + 1
                                         exit !(a != "" && d <= 1e-9 * s) }'; then
            echo "run.sh: matmul traces disagree: sluice $st, bench_dgemm $rt" >&2
            exit 1
        fi
        sl=$(awk -v f="$flops" -v t="$t" 'BEGIN { printf "%.3f", f / t * 1e-9 }')
        ref=$(awk '{ for (i = 1; i < NF; i++) if ($i == "gflops") print $(i + 1) }' "$TMP/ref.out")
        echo "$sl" >>"$TMP/m_sl"
        echo "$ref" >>"$TMP/m_ref"
        awk -v a="$sl" -v b="$ref" 'BEGIN { printf "%.6f\n", a / b }' >>"$TMP/m_ratio"
        sed -n 's/^wall *\([0-9.]*\) s$/\1/p' "$TMP/sl.out" >>"$TMP/m_wall"
        printf '  matmul run %d: sluice %.3f s = %.1f GFLOP/s (its wall line %s s), bench_dgemm %.1f GFLOP/s\n' \
            "$r" "$t" "$sl" "$(tail -n1 "$TMP/m_wall")" "$ref"
    done
    read -r sm slo shi < <(stats <"$TMP/m_sl")
    read -r rm rlo rhi < <(stats <"$TMP/m_ref")
    read -r qm qlo qhi < <(stats <"$TMP/m_ratio")
    read -r wm wlo whi < <(stats <"$TMP/m_wall")
    printf '  matmul: sluice wall line median %.3f s [%.3f-%.3f] = %.1f GFLOP/s\n' "$wm" "$wlo" "$whi" \
        "$(awk -v f="$flops" -v t="$wm" 'BEGIN { print f / t * 1e-9 }')"
    # Issue 7's target (issue 2 asked 0.85).
    f=$(verdict "$qm" 0.90)
    [ "$f" = PASS ] || FAILED=1
    row "matmul n=$MM_N x$MM_COUNT, 2 threads (GFLOP/s)" "$(cell "$sm" "$slo" "$shi" %.1f)" \
        "$(cell "$rm" "$rlo" "$rhi" %.1f)" "$(cell "$qm" "$qlo" "$qhi" %.3f)" ">=0.90" "$f"
}

# --- fib --------------------------------------------------------------------------------
# fib_row T: A = `sluice run jobs/fib.yaml -t T` (range -> fib -> sum -> h5sink), B =
# bench_fib (the fib kernel in a plain loop, OpenMP dynamic chunks of one batch at T = 2);
# whole-command wall times, same n range, checked on the sum of digit counts.
fib_row() {
    local t=$1 r sl ref f
    for f in f_sl f_ref f_ratio f_wall f_inner; do : >"$TMP/$f"; done
    local scmd=("$SLUICE" run "$ROOT/jobs/fib.yaml" -t "$t" -o "$TMP/fib.h5" --force
        "range.stop=$FIB_STOP" "range.batch=$FIB_BATCH")
    local rcmd=("$FIBREF" 0 "$FIB_STOP" "$FIB_BATCH" "$t")
    for ((r = 1; r <= RUNS; r++)); do
        if ((r % 2)); then
            sl=$(timed "$TMP/sl.out" "${scmd[@]}")
            ref=$(timed "$TMP/ref.out" "${rcmd[@]}")
        else
            ref=$(timed "$TMP/ref.out" "${rcmd[@]}")
            sl=$(timed "$TMP/sl.out" "${scmd[@]}")
        fi
        local sd rd
        sd=$(sed -n 's/^sum_digits = //p' "$TMP/sl.out")
        rd=$(awk '{ for (i = 1; i < NF; i++) if ($i == "sum_digits") print $(i + 1) }' "$TMP/ref.out")
        if [ -z "$sd" ] || [ "$sd" != "$rd" ]; then
            echo "run.sh: fib disagrees: sluice sum_digits=$sd, bench_fib sum_digits=$rd" >&2
            exit 1
        fi
        echo "$sl" >>"$TMP/f_sl"
        echo "$ref" >>"$TMP/f_ref"
        awk -v a="$ref" -v b="$sl" 'BEGIN { printf "%.6f\n", a / b }' >>"$TMP/f_ratio"
        sed -n 's/^wall *\([0-9.]*\) s$/\1/p' "$TMP/sl.out" >>"$TMP/f_wall"
        awk '{ for (i = 1; i < NF; i++) if ($i == "seconds") print $(i + 1) }' "$TMP/ref.out" >>"$TMP/f_inner"
        printf '  fib -t %s run %d: sluice %.3f s (its wall line %s s), bench_fib %.3f s (its loop %s s)\n' \
            "$t" "$r" "$sl" "$(tail -n1 "$TMP/f_wall")" "$ref" "$(tail -n1 "$TMP/f_inner")"
    done
    read -r sm slo shi < <(stats <"$TMP/f_sl")
    read -r rm rlo rhi < <(stats <"$TMP/f_ref")
    read -r qm qlo qhi < <(stats <"$TMP/f_ratio")
    read -r wm wlo whi < <(stats <"$TMP/f_wall")
    read -r im ilo ihi < <(stats <"$TMP/f_inner")
    printf '  fib -t %s: sluice wall line median %.3f s [%.3f-%.3f], bench_fib loop median %.3f s [%.3f-%.3f]\n' \
        "$t" "$wm" "$wlo" "$whi" "$im" "$ilo" "$ihi"
    f=$(verdict "$qm" 0.95)
    [ "$f" = PASS ] || FAILED=1
    row "fib n<$FIB_STOP, $t thread(s) (s)" "$(cell "$sm" "$slo" "$shi" %.3f)" \
        "$(cell "$rm" "$rlo" "$rhi" %.3f)" "$(cell "$qm" "$qlo" "$qhi" %.3f)" ">=0.95" "$f"
}

# --- overhead: empty stages, sluice vs oneTBB -------------------------------------------------
# Per configuration (K transforms, threads, mode) and run, one bench_overhead process and one
# bench_tbb process back to back, in alternating order; each does an untimed warm-up first
# (-w). oneTBB's token count is sluice's bound on live batches for the same configuration.
overhead_rows() {
    local k t mode r sl ref tok key f
    declare -A TOK=()
    for k in $OV_KS; do
        "$OVERHEAD" -n 1 -k "$k" -r 1 -t 1,2 -m parallel,serial,ordered >"$TMP/ov.out" 2>&1 ||
            { cp "$TMP/ov.out" "$TMP/out"; die_run "$OVERHEAD"; }
        while read -r m th tk; do TOK[$k.$th.$m]=$tk; done < <(awk '{ for (i = 1; i < NF; i++) if ($i == "tokens") print $4, $6, $(i + 1) }' "$TMP/ov.out")
    done
    # ns_of FILE: the ns_batch_stage figure of a driver's one line.
    ns_of() { awk '{ print $NF }' "$1"; }
    for ((r = 1; r <= RUNS; r++)); do
        for k in $OV_KS; do
            for t in 1 2; do
                for mode in parallel serial ordered; do
                    key=$k.$t.$mode
                    tok=${TOK[$key]}
                    local scmd=("$OVERHEAD" -n "$OV_BATCHES" -k "$k" -r 1 -t "$t" -m "$mode" -w)
                    local rcmd=("$TBB" -n "$OV_BATCHES" -k "$k" -r 1 -t "$t" -m "$mode" -T "$tok" -w)
                    if ((r % 2)); then
                        timed "$TMP/sl.out" "${scmd[@]}" >/dev/null
                        timed "$TMP/ref.out" "${rcmd[@]}" >/dev/null
                    else
                        timed "$TMP/ref.out" "${rcmd[@]}" >/dev/null
                        timed "$TMP/sl.out" "${scmd[@]}" >/dev/null
                    fi
                    sl=$(ns_of "$TMP/sl.out")
                    ref=$(ns_of "$TMP/ref.out")
                    echo "$sl" >>"$TMP/ov_sl.$key"
                    echo "$ref" >>"$TMP/ov_ref.$key"
                    awk -v a="$ref" -v b="$sl" 'BEGIN { printf "%.6f\n", (b > 0) ? a / b : 0 }' >>"$TMP/ov_q.$key"
                done
            done
            printf '  overhead run %d, %d stages: ns/batch/stage sluice | oneTBB: %s\n' "$r" "$((k + 2))" \
                "$(for t in 1 2; do for mode in parallel serial ordered; do
                    printf '%s t%s %s | %s; ' "$mode" "$t" "$(tail -n1 "$TMP/ov_sl.$k.$t.$mode")" \
                        "$(tail -n1 "$TMP/ov_ref.$k.$t.$mode")"; done; done)"
        done
    done
    for k in $OV_KS; do
        for t in 1 2; do
            for mode in parallel serial ordered; do
                key=$k.$t.$mode
                read -r sm slo shi < <(stats <"$TMP/ov_sl.$key")
                read -r rm rlo rhi < <(stats <"$TMP/ov_ref.$key")
                read -r qm qlo qhi < <(stats <"$TMP/ov_q.$key")
                f=$(verdict "$qm" 1.00)
                [ "$f" = PASS ] || FAILED=1
                row "overhead $mode, $t thr, $((k + 2)) stages, ${TOK[$key]} tok (ns)" \
                    "$(cell "$sm" "$slo" "$shi" %.0f)" "$(cell "$rm" "$rlo" "$rhi" %.0f)" \
                    "$(cell "$qm" "$qlo" "$qhi" %.3f)" ">=1.00" "$f"
            done
        done
    done
}

# --- queue: sl_queue vs ck_ring ----------------------------------------------------------------
# bench_queue alternates the two rings itself (ours first on even runs); each run gives one
# pair per producer/consumer count.
queue_rows() {
    local p f
    "$QUEUE" -n "$QU_ITEMS" -c "$QU_CAP" -r "$RUNS" -p 1,2 >"$TMP/qu.out" 2>&1 ||
        { cp "$TMP/qu.out" "$TMP/out"; die_run "$QUEUE"; }
    for p in 1 2; do
        awk -v p="$p" '$6 == p && $4 == "sl" { print $NF }' "$TMP/qu.out" >"$TMP/qu_sl"
        awk -v p="$p" '$6 == p && $4 == "ck" { print $NF }' "$TMP/qu.out" >"$TMP/qu_ck"
        # Pairs by run number: the two lines of run R for p.
        awk -v p="$p" '$6 == p { v[$2 "." $4] = $NF; runs[$2] = 1 }
            END { for (r in runs) printf "%.6f\n", v[r ".sl"] / v[r ".ck"] }' "$TMP/qu.out" >"$TMP/qu_q"
        printf '  queue %dP%dC runs (Mitems/s): sluice %s | ck %s\n' "$p" "$p" \
            "$(paste -sd' ' "$TMP/qu_sl")" "$(paste -sd' ' "$TMP/qu_ck")"
        read -r sm slo shi < <(stats <"$TMP/qu_sl")
        read -r rm rlo rhi < <(stats <"$TMP/qu_ck")
        read -r qm qlo qhi < <(stats <"$TMP/qu_q")
        f=$(verdict "$qm" 1.00)
        [ "$f" = PASS ] || FAILED=1
        row "queue MPMC ${p}P${p}C, $QU_CAP slots (Mitems/s)" "$(cell "$sm" "$slo" "$shi" %.1f)" \
            "$(cell "$rm" "$rlo" "$rhi" %.1f)" "$(cell "$qm" "$qlo" "$qhi" %.3f)" ">=1.00" "$f"
    done
}

# --- sched: the dynamic schedule's cost per chunk -----------------------------------------------
# A job of SC_BATCHES batches of one row (range -> sum) on 2 ranks x 1 thread, chunk 1:
# dynamic (one MPI_Fetch_and_op per batch) vs static (round robin, no MPI); per run one
# pair in alternating order, then the bare claim loop. Wall lines (batches only).
sched_row() {
    local r a b c cost sd st
    for f in s_dyn s_sta s_cost s_raw s_q; do : >"$TMP/$f"; done
    cat >"$TMP/sched.yaml" <<YAML
job: sched
stages:
  - stage: range
    params: {start: 0, stop: $SC_BATCHES, batch: 1}
  - stage: sum
    params: {columns: [n]}
YAML
    local dcmd=(mpirun -np 2 --bind-to none "$SLUICE" run "$TMP/sched.yaml" -t 1 --schedule dynamic --chunk 1)
    local scmd=(mpirun -np 2 --bind-to none "$SLUICE" run "$TMP/sched.yaml" -t 1 --schedule static --chunk 1)
    local fcmd=(mpirun -np 2 --bind-to none "$FETCHOP" "$FO_CLAIMS")
    local want_sum
    want_sum=$(awk -v n="$SC_BATCHES" 'BEGIN { printf "%.0f", n * (n - 1) / 2 }')
    for ((r = 1; r <= RUNS; r++)); do
        if ((r % 2)); then
            timed "$TMP/a.out" "${dcmd[@]}" >/dev/null
            timed "$TMP/b.out" "${scmd[@]}" >/dev/null
            timed "$TMP/c.out" "${fcmd[@]}" >/dev/null
        else
            timed "$TMP/c.out" "${fcmd[@]}" >/dev/null
            timed "$TMP/b.out" "${scmd[@]}" >/dev/null
            timed "$TMP/a.out" "${dcmd[@]}" >/dev/null
        fi
        sd=$(sed -n 's/^sum_n = //p' "$TMP/a.out")
        st=$(sed -n 's/^sum_n = //p' "$TMP/b.out")
        if [ "$sd" != "$want_sum" ] || [ "$st" != "$want_sum" ] ||
            [ "$(sed -n 's/^ranks *//p' "$TMP/a.out")" != 2 ]; then
            echo "run.sh: sched: sum_n dynamic '$sd', static '$st', want $want_sum on 2 ranks" >&2
            cat "$TMP/a.out" >&2
            exit 1
        fi
        a=$(sed -n 's/^wall *\([0-9.]*\) s$/\1/p' "$TMP/a.out")
        b=$(sed -n 's/^wall *\([0-9.]*\) s$/\1/p' "$TMP/b.out")
        c=$(awk '{ for (i = 1; i < NF; i++) if ($i == "us_per_claim") print $(i + 1) }' "$TMP/c.out")
        cost=$(awk -v a="$a" -v b="$b" -v n="$SC_BATCHES" 'BEGIN { printf "%.4f", (a - b) * 1e6 / (n / 2) }')
        echo "$a" >>"$TMP/s_dyn"
        echo "$b" >>"$TMP/s_sta"
        echo "$cost" >>"$TMP/s_cost"
        echo "$c" >>"$TMP/s_raw"
        awk -v a="$c" -v b="$cost" 'BEGIN { printf "%.6f\n", (b > 0) ? a / b : 0 }' >>"$TMP/s_q"
        printf '  sched run %d: %d chunks of 1 batch, wall lines dynamic %s s, static %s s -> %.2f us per chunk per rank; bare MPI_Fetch_and_op %s us per claim\n' \
            "$r" "$SC_BATCHES" "$a" "$b" "$cost" "$c"
    done
    read -r dm dlo dhi < <(stats <"$TMP/s_dyn")
    read -r tm tlo thi < <(stats <"$TMP/s_sta")
    printf '  sched: wall lines dynamic median %.3f s [%.3f-%.3f], static %.3f s [%.3f-%.3f]\n' \
        "$dm" "$dlo" "$dhi" "$tm" "$tlo" "$thi"
    read -r sm slo shi < <(stats <"$TMP/s_cost")
    read -r rm rlo rhi < <(stats <"$TMP/s_raw")
    read -r qm qlo qhi < <(stats <"$TMP/s_q")
    row "sched dynamic, 2 ranks, cost per chunk (us)" "$(cell "$sm" "$slo" "$shi" %.2f)" \
        "$(cell "$rm" "$rlo" "$rhi" %.2f)" "$(cell "$qm" "$qlo" "$qhi" %.3f)" "-" "info"
}

# --- memory: peak RSS of the primes job, small vs large range -----------------------------------
memory_row() {
    local r lo hi f stop
    : >"$TMP/r_lo" >"$TMP/r_hi" >"$TMP/r_q"
    # rss STOP: runs the job under GNU time, echoes its peak RSS in MiB.
    rss() {
        local out=$TMP/rss.out
        /usr/bin/time -v "$SLUICE" run "$ROOT/jobs/primes.yaml" -t 2 -o "$TMP/mem.h5" --force \
            "intervals.stop=$1" >"$out" 2>&1 || { cp "$out" "$TMP/out"; die_run sluice run primes "stop=$1"; }
        [ -n "$(sed -n 's/^sum_count = //p' "$out")" ] ||
            { cp "$out" "$TMP/out"; die_run sluice run primes "stop=$1" '(no sum_count)'; }
        awk -F: '/Maximum resident set size/ { printf "%.2f\n", $2 / 1024 }' "$out"
    }
    for ((r = 1; r <= RUNS; r++)); do
        if ((r % 2)); then
            hi=$(rss "$MEM_LARGE")
            lo=$(rss "$MEM_SMALL")
        else
            lo=$(rss "$MEM_SMALL")
            hi=$(rss "$MEM_LARGE")
        fi
        echo "$lo" >>"$TMP/r_lo"
        echo "$hi" >>"$TMP/r_hi"
        awk -v a="$lo" -v b="$hi" 'BEGIN { printf "%.6f\n", a / b }' >>"$TMP/r_q"
        printf '  memory run %d: peak RSS stop=%s %.1f MiB, stop=%s %.1f MiB\n' "$r" "$MEM_LARGE" "$hi" \
            "$MEM_SMALL" "$lo"
    done
    read -r sm slo shi < <(stats <"$TMP/r_hi")
    read -r rm rlo rhi < <(stats <"$TMP/r_lo")
    read -r qm qlo qhi < <(stats <"$TMP/r_q")
    f=$(awk -v r="$qm" 'BEGIN { print (r >= 0.90 && r <= 1.10) ? "PASS" : "MISS" }')
    [ "$f" = PASS ] || FAILED=1
    row "memory primes -t 2, stop $MEM_LARGE vs $MEM_SMALL (MiB)" "$(cell "$sm" "$slo" "$shi" %.1f)" \
        "$(cell "$rm" "$rlo" "$rhi" %.1f)" "$(cell "$qm" "$qlo" "$qhi" %.3f)" "0.9-1.1" "$f"
}

echo "raw runs (whole-command wall times; sluice's own wall line in parentheses):"
if want primes; then
    primes_row 2
    primes_row 1
fi
if want ranks; then
    ranks_row static
    ranks_row dynamic
fi
if want channel; then channel_row; fi
if want matmul; then matmul_row; fi
if want fib; then
    fib_row 1
    fib_row 2
fi
if want overhead; then overhead_rows; fi
if want queue; then queue_rows; fi
if want sched; then sched_row; fi
if want memory; then memory_row; fi
echo
printf '%-52s|%-26s|%-26s|%-20s|%-7s|%s\n' what "sluice med [min-max]" "reference med [min-max]" \
    "ratio med [min-max]" target PASS/MISS
printf '%s\n' "${ROWS[@]}"
echo
echo "primes: ratio = primesieve s / sluice s (throughput); matmul: ratio = sluice GFLOP/s / bench_dgemm GFLOP/s."
echo "ranks: sluice = mpirun -np 2 ... -t 1, reference = the same job in one process with -t 2; ratio ="
echo "reference s / ranks s on the pipelines' wall lines. Its info row: whole commands, mpirun included."
echo "channel: sluice = 1 MiB batches rank 0 -> rank 1 over its wall line, reference = bench_pingpong (both"
echo "directions counted); ratio = sluice GB/s / ping-pong GB/s."
echo "fib: ratio = bench_fib s / sluice s. overhead: ratio = oneTBB ns / sluice ns per batch per stage"
echo "(tok = tokens: sluice's bound on live batches, oneTBB's max_number_of_live_tokens). queue: ratio ="
echo "ours / ck_ring's items/s. sched: sluice = (dynamic - static wall line) per chunk a rank takes,"
echo "reference = one bare MPI_Fetch_and_op + flush per claim; ratio = bare / sluice. memory: sluice ="
echo "the large range, reference = the small one; ratio = small / large peak RSS, PASS within 10%."
echo "Each ratio is the median of per-run pairs measured back to back; PASS when it meets the target."
if [ "$CHECK" = 1 ] && [ "$FAILED" = 1 ]; then
    echo "run.sh --check: at least one row missed its target" >&2
    exit 1
fi
exit 0
