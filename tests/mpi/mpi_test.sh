#!/bin/sh
# tests/mpi/mpi_test.sh CASE - multi-rank runs of the real `sluice` under
# `mpirun -np K --oversubscribe`, compared with a run without MPI.
#
# CTest runs one CASE per entry (tests/mpi/CMakeLists.txt); MPI stays out of
# the Criterion binaries because Criterion forks every test and MPI can be
# started once per process.
#
#   equal-primes | equal-fib | equal-matmul   the job's datasets are identical
#       (h5diff) for 1 process without MPI and mpirun -np 1..4, threads 1 and
#       2, schedules static, dynamic and guided; the totals are exact.
#   edges      more ranks than batches; zero batches; static weights and
#              chunks; a job file's distribution section.
#   failure    a batch fails on one rank: every rank stops with one line and
#              exit 1, no output and no part file is left.
#   badinput   bad schedule settings: one line on rank 0, exit 2, every rank ends.
#   stage-equal   stages placed on rank groups (source and sink on rank 0, the
#              kernel on the rest; two-rank groups; every route): the same
#              datasets and totals as one process.
#   stage-credits a slow stage behind a channel: the batches in flight reach
#              the credits and never pass them, for several capacities.
#   stage-failure a batch fails on a kernel rank: one line naming rank, stage
#              and batch, exit 1 everywhere, nothing left behind.
#   stage-badinput placements that cannot run on the rank count: exit 2.
#   h5source   a file read by h5source on 1 to 4 ranks (each rank reads the
#              hyperslabs of its own batches) gives back the same datasets.
#   stats      --stats and --trace on 2 ranks (batch mode) and 3 (stage mode):
#              rank 0's file has every rank's figures, adding up to the job's,
#              and one trace joined from every rank's part.
#   watchdog   a batch of rank 1 hangs: rank 1's watchdog names itself, stage
#              and batch, and the run ends (exit 4 on every rank), whether the
#              stage stops when asked or has to be ended with its process.
#
# Environment: SLUICE (the command), WORK (a scratch directory), JOBS (jobs/),
# FIXTURES (the directory of the failat and hang test stages).
set -u
case_=${1:?usage: mpi_test.sh CASE}
: "${SLUICE:?}" "${WORK:?}" "${JOBS:?}" "${FIXTURES:?}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# No network interfaces to probe between processes of one machine.
export OMPI_MCA_btl=self,vader
rm -rf "$WORK/$case_"
mkdir -p "$WORK/$case_"
cd "$WORK/$case_" || exit 1

failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
ok() { echo "ok: $*"; }

mpi() { # mpi NP ARGS... -> runs sluice on NP ranks
    np=$1
    shift
    timeout 300 mpirun -np "$np" --bind-to none "$SLUICE" "$@"
}

# The row datasets of FILE, one per line.
datasets() { h5ls "$1" | awk '$2 == "Dataset" { print $1 }' | sort; }

# same_datasets A B WHAT: every dataset of A equals B's, and they have the same ones.
same_datasets() {
    da=$(datasets "$1")
    db=$(datasets "$2")
    if [ -z "$da" ] || [ "$da" != "$db" ]; then
        fail "$3: datasets differ: [$da] vs [$db]"
        return
    fi
    for d in $da; do
        if ! h5diff "$1" "$2" "/$d" "/$d" >/dev/null 2>&1; then
            fail "$3: dataset /$d differs (h5diff $1 $2 /$d /$d)"
            return
        fi
    done
    ok "$3: datasets [$(echo $da)] identical"
}

# attr FILE NAME: the value of a root attribute.
attr() { h5dump -a "/$2" "$1" 2>/dev/null | awk '/\(0\)/ { sub(/.*\(0\): */, ""); print; exit }'; }

# no_leftovers STEM: no part or temporary files beside STEM.
no_leftovers() {
    left=$(ls -a | grep -F "$1." | grep -E '\.part$' || true)
    [ -z "$left" ] || fail "left behind: $left"
}

# equal JOB CHECKS... : runs JOB without MPI (-t 2), then under mpirun with
# several rank counts, threads and schedules, comparing datasets and totals.
equal() {
    job=$1
    shift
    "$SLUICE" run "$JOBS/$job.yaml" -t 2 -o ref.h5 --force -q "$@" || { fail "$job: reference run"; return; }
    for np in 1 2 3 4; do
        for sched in static dynamic guided; do
            [ "$np" = 1 ] && [ "$sched" != static ] && continue
            t=1
            [ "$np" = 2 ] && t=2
            out="np$np-$sched.h5"
            if ! mpi "$np" run "$JOBS/$job.yaml" -t "$t" -o "$out" --schedule "$sched" --force "$@" >"$out.log" 2>&1; then
                fail "$job np=$np $sched: exit status (log: $(tail -3 "$out.log"))"
                continue
            fi
            same_datasets ref.h5 "$out" "$job np=$np t=$t $sched"
            for a in $CHECK_ATTRS; do
                want=$(attr ref.h5 "$a")
                got=$(attr "$out" "$a")
                [ -n "$want" ] && [ "$want" = "$got" ] || fail "$job np=$np $sched: $a = '$got', want '$want'"
            done
            ranks=$(attr "$out" ranks)
            [ "$ranks" = "\"$np\"" ] || fail "$job np=$np: attribute ranks = $ranks"
            no_leftovers "$out"
        done
    done
}

case "$case_" in
equal-primes)
    # pi(10^9) and twins below 10^9: ../shared/reference/primes.tsv
    CHECK_ATTRS="sum_count sum_twins"
    equal primes intervals.stop=1e9 intervals.width=1e7
    [ "$(attr ref.h5 sum_count)" = 50847534 ] || fail "pi(1e9) = $(attr ref.h5 sum_count)"
    [ "$(attr ref.h5 sum_twins)" = 3424506 ] || fail "twins(1e9) = $(attr ref.h5 sum_twins)"
    # The summary printed by rank 0 carries the job's totals, not rank 0's.
    mpi 3 run "$JOBS/primes.yaml" -t 1 -o p3.h5 --schedule dynamic --chunk 2 \
        intervals.stop=1e9 intervals.width=1e7 >p3.out 2>&1
    grep -qx 'sum_count = 50847534' p3.out && grep -qx 'sum_twins = 3424506' p3.out &&
        grep -qx 'batches   100' p3.out || fail "np=3 summary: $(cat p3.out)"
    [ "$(grep -c '^sum_count' p3.out)" = 1 ] || fail "summary printed by more than one rank"
    ;;
equal-fib)
    # Exact F(n) as variable-length decimal strings, merged across ranks.
    CHECK_ATTRS="sum_digits"
    equal fib range.stop=6000 range.batch=250 fib.store=full
    ;;
equal-matmul)
    CHECK_ATTRS=""
    equal matmul matgen.n=48 matgen.count=10 matmul.store=full
    ;;
edges)
    "$SLUICE" run "$JOBS/fib.yaml" -o ref3.h5 -q range.stop=3 range.batch=1 || fail "ref3"
    mpi 4 run "$JOBS/fib.yaml" -o np4.h5 --schedule dynamic range.stop=3 range.batch=1 >np4.log 2>&1 &&
        same_datasets ref3.h5 np4.h5 "4 ranks, 3 batches, dynamic" || fail "4 ranks, 3 batches: $(cat np4.log)"
    mpi 4 run "$JOBS/fib.yaml" -o np4s.h5 range.stop=3 range.batch=1 >np4s.log 2>&1 &&
        same_datasets ref3.h5 np4s.h5 "4 ranks, 3 batches, static" || fail "4 ranks static: $(cat np4s.log)"
    # Zero batches: the run succeeds and the file holds the job, no rows.
    if mpi 2 run "$JOBS/fib.yaml" -o zero.h5 range.start=5 range.stop=5 >zero.log 2>&1; then
        [ -f zero.h5 ] && grep -qx 'batches   0' zero.log && ok "zero batches" ||
            fail "zero batches: $(cat zero.log)"
    else
        fail "zero batches exit status: $(cat zero.log)"
    fi
    "$SLUICE" run "$JOBS/fib.yaml" -o ref.h5 -q range.stop=2000 range.batch=100 || fail "ref"
    mpi 2 run "$JOBS/fib.yaml" -o w.h5 --weights 1,3 range.stop=2000 range.batch=100 >w.log 2>&1 &&
        same_datasets ref.h5 w.h5 "static weights 1,3" || fail "weights: $(cat w.log)"
    mpi 3 run "$JOBS/fib.yaml" -o c.h5 --chunk 3 range.stop=2000 range.batch=100 >c.log 2>&1 &&
        same_datasets ref.h5 c.h5 "static chunks of 3 round robin" || fail "chunks: $(cat c.log)"
    # The schedule from the job file.
    { cat "$JOBS/fib.yaml"; printf 'distribution:\n  schedule: guided\n  chunk: 2\n'; } >guided.yaml
    mpi 3 run guided.yaml -o g.h5 range.stop=2000 range.batch=100 >g.log 2>&1 &&
        same_datasets ref.h5 g.h5 "job file: guided, chunk 2" || fail "job file guided: $(cat g.log)"
    no_leftovers w.h5
    ;;
failure)
    # The fixture stage failat fails on one batch seq; with static blocks of
    # 10 batches on 3 ranks, batch 25 is rank 2's and batch 3 is rank 0's.
    cat >fail.yaml <<'YAML'
job: fail
output: bad.h5
stages:
  - stage: range
    params: {start: 0, stop: 3000, batch: 100}
  - stage: failat
    params: {seq: 25}
  - stage: fib
  - stage: sum
    params: {columns: [digits]}
  - stage: h5sink
YAML
    for spec in "static 25 2" "static 3 0" "dynamic 25 [0-9]" "guided 7 [0-9]"; do
        set -- $spec
        rm -f bad.h5
        SLUICE_STAGE_PATH=$FIXTURES mpi 3 run fail.yaml --schedule "$1" failat.seq="$2" \
            >bad.out 2>bad.err
        rc=$?
        [ "$rc" = 1 ] || fail "$1 seq $2: exit status $rc, want 1: $(cat bad.err)"
        n=$(grep -c '^sluice: ' bad.err)
        [ "$n" = 1 ] || fail "$1 seq $2: $n error lines from sluice, want 1: $(cat bad.err)"
        grep -q "^sluice: rank $3: stage 'failat', batch $2: failat: told to fail on batch $2\$" bad.err ||
            fail "$1 seq $2: message does not name rank $3, stage and batch: $(cat bad.err)"
        [ ! -e bad.h5 ] || fail "$1: output left after a failed run"
        [ -z "$(ls | grep part)" ] || fail "$1: part files left: $(ls)"
        [ -s bad.out ] && fail "$1: a failed run printed a summary: $(cat bad.out)"
    done
    ok "a failure on one rank ends every rank with one line"
    ;;
badinput)
    mpi 2 run "$JOBS/fib.yaml" -o x.h5 --weights 1,2,3 >b1.out 2>b1.err
    rc=$?
    [ "$rc" = 2 ] || fail "weights for 3 ranks on 2: exit $rc, want 2"
    [ "$(grep -c '^sluice: ' b1.err)" = 1 ] && grep -q "3 entries, but the job runs on 2 ranks" b1.err ||
        fail "weights: $(cat b1.err)"
    mpi 2 run "$JOBS/fib.yaml" -o x.h5 --schedule dynmic >b2.out 2>b2.err
    rc=$?
    [ "$rc" = 2 ] && grep -q "dynamic" b2.err || fail "bad schedule: exit $rc: $(cat b2.err)"
    echo keep >exists.h5
    mpi 2 run "$JOBS/fib.yaml" -o exists.h5 >b3.out 2>b3.err
    rc=$?
    [ "$rc" = 2 ] && [ "$(cat exists.h5)" = keep ] || fail "existing output: exit $rc: $(cat b3.err)"
    [ ! -e x.h5 ] || fail "output written after bad input"
    ;;
stage-equal)
    # placed JOB NP ROUTE STAGE=RANKS... : writes NAME.yaml from jobs/JOB.yaml with
    # `ranks:` added to the named stages, runs it on NP ranks, compares.
    placed() {
        job=$1 np=$2 route=$3
        shift 3
        name="$job-np$np-$route-$(echo "$*" | tr ' =,' '_+.')"
        awk -v spec="$*" '
            BEGIN { n = split(spec, kv, " "); for (i = 1; i <= n; i++) { split(kv[i], p, "="); r[p[1]] = p[2] } }
            { print }
            /^  - stage: / { st = $3; if (st in r) print "    ranks: \"" r[st] "\"" }
        ' "$JOBS/$job.yaml" >"$name.yaml"
        printf 'distribution:\n  route: %s\n' "$route" >>"$name.yaml"
        [ "$route" = weighted ] && printf '  route_weights: [1, 3]\n' >>"$name.yaml"
        if ! mpi "$np" run "$name.yaml" -t 1 -o "$name.h5" --force $ARGS >"$name.log" 2>&1; then
            fail "$name: exit status: $(tail -5 "$name.log")"
            return
        fi
        same_datasets "ref-$job.h5" "$name.h5" "$name"
        for a in $CHECK_ATTRS; do
            [ "$(attr "ref-$job.h5" "$a")" = "$(attr "$name.h5" "$a")" ] ||
                fail "$name: $a = $(attr "$name.h5" "$a"), want $(attr "ref-$job.h5" "$a")"
        done
        no_leftovers "$name.h5"
    }
    ARGS="intervals.stop=1e9 intervals.width=1e7"
    CHECK_ATTRS="sum_count sum_twins"
    "$SLUICE" run "$JOBS/primes.yaml" -o ref-primes.h5 -q $ARGS || fail "reference primes"
    for np in 2 3 4; do
        placed primes "$np" round_robin intervals=0 primes=rest sum=0
    done
    placed primes 4 least_outstanding intervals=0 primes=rest sum=0
    placed primes 3 weighted intervals=0 primes=1-2 sum=0
    # Two-rank source and sink group (the sink's part files are merged).
    placed primes 4 round_robin intervals=0-1 primes=2-3 sum=0-1
    ARGS="range.stop=3000 range.batch=100 fib.store=full"
    CHECK_ATTRS="sum_digits"
    "$SLUICE" run "$JOBS/fib.yaml" -o ref-fib.h5 -q $ARGS || fail "reference fib"
    placed fib 3 round_robin range=0 fib=rest sum=0
    ARGS="matgen.n=32 matgen.count=12 matmul.store=full"
    CHECK_ATTRS=""
    "$SLUICE" run "$JOBS/matmul.yaml" -o ref-matmul.h5 -q $ARGS || fail "reference matmul"
    placed matmul 3 least_outstanding matgen=0 matmul=rest sum=0
    # Fewer batches than kernel ranks, and no batch at all.
    ARGS="intervals.stop=2e7 intervals.width=1e7"
    CHECK_ATTRS="sum_count sum_twins"
    "$SLUICE" run "$JOBS/primes.yaml" -o ref-primes.h5 --force -q $ARGS || fail "reference 2 batches"
    placed primes 4 round_robin intervals=0 primes=rest sum=0
    [ "$(attr ref-primes.h5 sum_count)" = 1270607 ] || fail "pi(2e7) = $(attr ref-primes.h5 sum_count)"
    cp "$JOBS/primes.yaml" zero.yaml
    sed -i -e 's/^  - stage: primes$/  - stage: primes\n    ranks: rest/' \
        -e 's/^  - stage: sum$/  - stage: sum\n    ranks: 0/' zero.yaml
    if mpi 3 run zero.yaml -t 1 -o zero.h5 intervals.stop=0 >zero.log 2>&1; then
        grep -qx 'batches   0' zero.log && [ -f zero.h5 ] && ok "placed, zero batches" ||
            fail "placed, zero batches: $(cat zero.log)"
    else
        fail "placed, zero batches: exit status: $(tail -3 zero.log)"
    fi
    ;;
stage-credits)
    # The slow stage (failat sleeping 20 ms a batch) on ranks 1-2, fed from
    # rank 0 by a fast source: the source's rank fills every credit and
    # waits; the peak in flight must reach the credits and never pass them.
    for q in 1 2 5; do
        cat >slow$q.yaml <<YAML
job: slow
output: slow$q.h5
stages:
  - stage: range
    ranks: 0
    params: {start: 0, stop: 4000, batch: 100}
  - stage: failat
    ranks: rest
    queue: $q
    params: {sleep_ms: 20}
  - stage: sum
    ranks: 0
    params: {columns: [n]}
  - stage: h5sink
YAML
        SLUICE_STAGE_PATH=$FIXTURES mpi 3 run slow$q.yaml -t 1 --force >slow$q.out 2>slow$q.err ||
            { fail "queue $q: exit status: $(cat slow$q.err)"; continue; }
        credits=$(awk '$1 == "channel_1_credits" { print $3 }' slow$q.out)
        peak=$(awk '$1 == "channel_1_peak_in_flight" { print $3 }' slow$q.out)
        # Each of the 2 receivers grants its q slots (at least 1 per sender).
        [ "$credits" = $((2 * q)) ] || fail "queue $q: credits $credits, want $((2 * q))"
        [ -n "$peak" ] && [ "$peak" -le "$credits" ] || fail "queue $q: peak $peak above credits $credits"
        [ "$peak" = "$credits" ] || fail "queue $q: peak $peak never reached the credits $credits"
        grep -qx 'sum_n = 7998000' slow$q.out || fail "queue $q: sum of n: $(grep sum_n slow$q.out)"
        ok "queue $q: $peak batches in flight at most, on $credits credits"
    done
    ;;
stage-failure)
    cat >sfail.yaml <<'YAML'
job: sfail
output: sbad.h5
stages:
  - stage: range
    ranks: 0
    params: {start: 0, stop: 3000, batch: 100}
  - stage: failat
    ranks: rest
    params: {seq: 17}
  - stage: fib
  - stage: sum
    ranks: 0
    params: {columns: [digits]}
  - stage: h5sink
YAML
    for np in 2 4; do
        SLUICE_STAGE_PATH=$FIXTURES mpi "$np" run sfail.yaml -t 1 >sf.out 2>sf.err
        rc=$?
        [ "$rc" = 1 ] || fail "np $np: exit status $rc, want 1: $(cat sf.err)"
        [ "$(grep -c '^sluice: ' sf.err)" = 1 ] || fail "np $np: not one error line: $(cat sf.err)"
        grep -q "^sluice: rank [1-9][0-9]*: stage 'failat', batch 17: failat: told to fail on batch 17\$" sf.err ||
            fail "np $np: message: $(cat sf.err)"
        [ ! -e sbad.h5 ] && [ -z "$(ls | grep part)" ] || fail "np $np: files left: $(ls)"
    done
    ok "a failing kernel rank stops the placed pipeline cleanly"
    ;;
stage-badinput)
    # expect_bad NP WANT YAML-FILE: exit 2 and one line containing WANT.
    expect_bad() {
        mpi "$1" run "$3" -o never.h5 >bad.out 2>bad.err
        rc=$?
        [ "$rc" = 2 ] && [ "$(grep -c '^sluice: ' bad.err)" = 1 ] && grep -qF "$2" bad.err ||
            fail "$3 on $1 ranks: exit $rc, want 2 and '$2': $(head -2 bad.err)"
        [ ! -e never.h5 ] || fail "$3: output written"
    }
    mk() { # mk NAME R_SOURCE R_KERNEL R_SINK
        cat >"$1.yaml" <<YAML
job: $1
stages:
  - stage: range
    ranks: "$2"
  - stage: fib
    ranks: "$3"
  - stage: sum
    params: {columns: [digits]}
  - stage: h5sink
    ranks: "$4"
YAML
    }
    mk norank 0 1-5 0
    expect_bad 3 "$(printf 'norank.yaml:6:12')" norank.yaml
    mk overlap 0-1 1-2 0-1
    expect_bad 3 "overlap" overlap.yaml
    mk empty 0 1 rest
    expect_bad 2 "empty" empty.yaml
    mk sinkaway 0 1 2
    expect_bad 3 "rank 0" sinkaway.yaml
    ok "bad placements refused"
    ;;
h5source)
    # Variable-length values, u64 columns and matrices, read back on many ranks.
    "$SLUICE" run "$JOBS/fib.yaml" -o fib.h5 -q range.stop=3000 range.batch=100 fib.store=full ||
        fail "fib file"
    "$SLUICE" run "$JOBS/matgen-store.yaml" -o mat.h5 -q matgen.n=16 matgen.count=40 ||
        fail "matrix file"
    for src in fib mat; do
        printf 'job: copy\nstages:\n  - stage: h5source\n    params: {file: %s.h5, batch: 7}\n  - stage: h5sink\n' \
            "$src" >"copy-$src.yaml"
        for np in 1 3 4; do
            for sched in static dynamic; do
                out="copy-$src-$np-$sched.h5"
                mpi "$np" run "copy-$src.yaml" -t 1 -o "$out" --schedule "$sched" >"$out.log" 2>&1 ||
                    { fail "$src np=$np $sched: $(tail -3 "$out.log")"; continue; }
                same_datasets "$src.h5" "$out" "h5source $src np=$np $sched"
            done
        done
    done
    ;;
deadletters)
    # faulty gives up 4 batches: the rest of the output, the dead letters
    # (gathered to rank 0, sorted by seq) and the totals are the same for any
    # rank count and schedule, in batch and in stage mode.
    printf 'job: dl\nstages:\n  - stage: range\n    params: {stop: 10000, batch: 10}\n  - stage: faulty\n    retries: 1\n    backoff: 1ms\n    on_error: deadletter\n    params: {fail_seqs: [0, 13, 500, 999]}\n  - stage: sum\n    params: {columns: [n]}\n  - stage: h5sink\n' >dl.yaml
    printf 'job: dl\nstages:\n  - stage: range\n    ranks: 0\n    params: {stop: 10000, batch: 10}\n  - stage: faulty\n    ranks: rest\n    retries: 1\n    backoff: 1ms\n    on_error: deadletter\n    params: {fail_seqs: [0, 13, 500, 999]}\n  - stage: sum\n    ranks: 0\n    params: {columns: [n]}\n  - stage: h5sink\n    ranks: 0\n' >dl-placed.yaml
    "$SLUICE" run dl.yaml -t 2 -o dl-ref.h5 --force >dl-ref.log 2>&1 || fail "reference: $(tail -3 dl-ref.log)"
    grep -q '^dead letters 4 ' dl-ref.log || fail "reference summary: $(cat dl-ref.log)"
    want=$(attr dl-ref.h5 sum_n)
    [ "$want" = 49843620 ] || fail "reference sum_n = $want, want 49843620 (rows 0..9999 but those of batches 0, 13, 500, 999)"
    check_dl() { # OUT LOG WHAT
        same_datasets dl-ref.h5 "$1" "$3"
        h5diff dl-ref.h5 "$1" /deadletters /deadletters >/dev/null 2>&1 ||
            fail "$3: /deadletters differs (h5diff dl-ref.h5 $1 /deadletters /deadletters)"
        [ "$(attr "$1" sum_n)" = "$want" ] || fail "$3: sum_n = $(attr "$1" sum_n), want $want"
        grep -q '^dead letters 4 ' "$2" || fail "$3: summary: $(cat "$2")"
        no_leftovers "$1"
    }
    for np in 2 3 4; do
        for sched in static dynamic; do
            out="dl-np$np-$sched.h5"
            mpi "$np" run dl.yaml -t 1 -o "$out" --schedule "$sched" --force >"$out.log" 2>&1 ||
                { fail "np=$np $sched: $(tail -3 "$out.log")"; continue; }
            check_dl "$out" "$out.log" "deadletters np=$np $sched"
        done
    done
    for np in 2 3; do
        out="dl-placed-np$np.h5"
        mpi "$np" run dl-placed.yaml -t 1 -o "$out" --force >"$out.log" 2>&1 ||
            { fail "placed np=$np: $(tail -3 "$out.log")"; continue; }
        check_dl "$out" "$out.log" "deadletters placed np=$np"
    done
    ;;
rebatch)
    # 7-row batches joined into 1000-row ones: under MPI a rank's chunks
    # break the runs (more, shorter batches), never the output.
    printf 'job: rb\nstages:\n  - stage: range\n    params: {stop: 100000, batch: 1000}\n  - stage: sum\n    params: {columns: [n]}\n  - stage: h5sink\n' >rb-ref.yaml
    printf 'job: rb\nstages:\n  - stage: range\n    params: {stop: 100000, batch: 7}\n  - stage: rebatch\n    params: {rows: 1000}\n  - stage: sum\n    params: {columns: [n]}\n  - stage: h5sink\n' >rb.yaml
    printf 'job: rb\nstages:\n  - stage: range\n    ranks: 0\n    params: {stop: 100000, batch: 7}\n  - stage: rebatch\n    ranks: 0\n    params: {rows: 1000}\n  - stage: sum\n    ranks: rest\n    params: {columns: [n]}\n  - stage: h5sink\n    ranks: 0\n' >rb-placed.yaml
    "$SLUICE" run rb-ref.yaml -t 1 -o rb-ref.h5 --force -q || fail "reference"
    for np in 2 3; do
        for sched in static dynamic; do
            out="rb-np$np-$sched.h5"
            mpi "$np" run rb.yaml -t 1 -o "$out" --schedule "$sched" --force >"$out.log" 2>&1 ||
                { fail "np=$np $sched: $(tail -3 "$out.log")"; continue; }
            same_datasets rb-ref.h5 "$out" "rebatch np=$np $sched"
            [ "$(attr "$out" sum_n)" = 4999950000 ] || fail "np=$np $sched: sum_n = $(attr "$out" sum_n)"
            no_leftovers "$out"
        done
    done
    mpi 3 run rb-placed.yaml -t 1 -o rb-placed.h5 --force >rb-placed.log 2>&1 ||
        fail "placed: $(tail -3 rb-placed.log)"
    same_datasets rb-ref.h5 rb-placed.h5 "rebatch placed np=3"
    grep -q '^  rebatch  *100 ' rb-placed.log || fail "placed: not 100 batches after the rebatch: $(cat rb-placed.log)"
    ;;
stats)
    # Rank 0's stats file and trace speak for the job: per_rank has one
    # entry per rank whose batch counts add up to the job's, the trace has a
    # span per batch per stage from every rank, only rank 0 prints the
    # bottleneck; batch mode on 2 ranks, then stages on rank groups (3 ranks).
    jsn() { python3 -c "import json, sys; d = json.load(open(sys.argv[1])); print($2)" "$1"; }
    ARGS="intervals.stop=1e8 intervals.width=1e6"
    mpi 2 run "$JOBS/primes.yaml" -t 1 -o st.h5 --force $ARGS --stats st.json --trace tr.json \
        >st.log 2>&1 || fail "batch mode: $(tail -3 st.log)"
    [ "$(jsn st.json 'd["ranks"]')" = 2 ] || fail "batch mode: ranks = $(jsn st.json 'd["ranks"]')"
    [ "$(jsn st.json 'sorted({len(s["per_rank"]) for s in d["stages"]})')" = "[2]" ] ||
        fail "batch mode: per_rank entries: $(jsn st.json '[len(s["per_rank"]) for s in d["stages"]]')"
    [ "$(jsn st.json 'all(s["batches_out"] == 100 == sum(r["batches_out"] for r in s["per_rank"]) for s in d["stages"])')" = True ] ||
        fail "batch mode: per-rank batches do not add up to 100: $(jsn st.json '[[r["batches_out"] for r in s["per_rank"]] for s in d["stages"]]')"
    [ "$(jsn tr.json 'len([e for e in d["traceEvents"] if e["ph"] == "X"])')" = 400 ] ||
        fail "batch mode: trace spans: $(jsn tr.json 'len([e for e in d["traceEvents"] if e["ph"] == "X"])')"
    [ "$(jsn tr.json 'sorted({e["pid"] for e in d["traceEvents"] if e["ph"] == "X"})')" = "[0, 1]" ] ||
        fail "batch mode: trace pids $(jsn tr.json 'sorted({e["pid"] for e in d["traceEvents"]})')"
    ls tr.json.r* >/dev/null 2>&1 && fail "batch mode: trace parts left: $(ls tr.json.r*)"
    [ "$(grep -c '^bottleneck: ' st.log)" = 1 ] || fail "batch mode: not one bottleneck line: $(cat st.log)"
    awk '{ print } /^  - stage: / { s = $3; print "    ranks: \"" (s == "primes" ? "rest" : "0") "\"" }' \
        "$JOBS/primes.yaml" >st-placed.yaml
    mpi 3 run st-placed.yaml -t 1 -o sp.h5 --force $ARGS --stats sp.json --trace sp-tr.json \
        >sp.log 2>&1 || fail "stage mode: $(tail -3 sp.log)"
    [ "$(jsn sp.json '[len(s["per_rank"]) for s in d["stages"]]')" = "[3, 3, 3, 3]" ] ||
        fail "stage mode: per_rank entries"
    [ "$(jsn sp.json '[s["ranks"] for s in d["stages"]]')" = "[1, 2, 1, 1]" ] ||
        fail "stage mode: ranks per stage $(jsn sp.json '[s["ranks"] for s in d["stages"]]')"
    [ "$(jsn sp.json 'all(s["batches_out"] == 100 == sum(r["batches_out"] for r in s["per_rank"]) for s in d["stages"])')" = True ] ||
        fail "stage mode: per-rank batches do not add up to 100"
    [ "$(jsn sp.json '[r["hosted"] for r in d["stages"][1]["per_rank"]]')" = "[False, True, True]" ] ||
        fail "stage mode: primes hosted $(jsn sp.json '[r["hosted"] for r in d["stages"][1]["per_rank"]]')"
    [ "$(jsn sp-tr.json 'sorted({e["pid"] for e in d["traceEvents"] if e["ph"] == "X"})')" = "[0, 1, 2]" ] ||
        fail "stage mode: trace pids"
    [ "$(jsn sp-tr.json 'len([e for e in d["traceEvents"] if e["ph"] == "X" and e["name"] == "primes"])')" = 100 ] ||
        fail "stage mode: primes spans"
    ls sp-tr.json.r* >/dev/null 2>&1 && fail "stage mode: trace parts left: $(ls sp-tr.json.r*)"
    h5dump -a /stats_json sp.h5 >/dev/null 2>&1 || fail "stage mode: no stats_json in the output"
    ok "per-rank figures add up on rank 0, one joined trace, in batch and stage mode"
    ;;
watchdog)
    # Static blocks of 2 ranks over 100 batches: batch 60 is rank 1's.
    # stage: faulty sleeps and stops when asked; hang sleeps and does not
    # (rank 1 then ends its process, and mpirun the others).
    for stage in faulty hang; do
        if [ "$stage" = faulty ]; then params="{sleep_ms: 60000, sleep_seqs: 60}"; else params="{seq: 60}"; fi
        printf 'job: wd\nstages:\n  - stage: range\n    params: {stop: 1000, batch: 10}\n  - stage: %s\n    params: %s\n  - stage: sum\n    params: {columns: [n]}\n  - stage: h5sink\n' \
            "$stage" "$params" >wd-$stage.yaml
        t0=$(date +%s)
        SLUICE_STAGE_PATH=$FIXTURES timeout 60 mpirun -np 2 --bind-to none "$SLUICE" run wd-$stage.yaml \
            -t 2 -o wd-$stage.h5 --watchdog 2 >wd.out 2>wd.err
        rc=$?
        took=$(($(date +%s) - t0))
        [ "$rc" = 4 ] || fail "$stage: exit status $rc, want 4: $(cat wd.err)"
        [ "$took" -lt 30 ] || fail "$stage: the run took $took s"
        grep -q "^sluice: watchdog: no batch finished for [0-9.]* s (--watchdog 2); rank 1 is stuck:\$" wd.err &&
            grep -q "^sluice: watchdog:   stage '$stage' batch 60 on thread [0-9] of rank 1, running for " wd.err ||
            fail "$stage: the watchdog did not name rank 1, stage and batch: $(cat wd.err)"
        grep -q "rank 0 is stuck" wd.err && fail "$stage: rank 0 was called stuck: $(cat wd.err)"
        [ ! -e wd-$stage.h5 ] || fail "$stage: output left at the user's path"
        if [ "$stage" = faulty ]; then
            no_leftovers wd-$stage.h5
        else
            # Rank 1 removes its own part file; rank 0's may stay (mpirun
            # kills rank 0 while it waits for rank 1; docs/failures.md).
            grep -q "^sluice: watchdog: rank 1 did not stop within 2 s of the request; removed wd-hang.h5.sluice/r1-0.h5.tmp, exiting with status 4\$" wd.err ||
                fail "hang: no line about ending rank 1: $(cat wd.err)"
            [ ! -e wd-hang.h5.r1.part ] || fail "hang: rank 1's part file was left"
        fi
    done
    ok "a hung batch on rank 1 ends the run with exit 4, named by rank 1's watchdog"
    ;;
*)
    echo "mpi_test.sh: unknown case '$case_'" >&2
    exit 2
    ;;
esac
[ "$failures" = 0 ] && echo "PASS $case_" && exit 0
echo "$failures failure(s) in $case_"
exit 1
