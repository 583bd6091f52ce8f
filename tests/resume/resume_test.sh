#!/bin/sh
# tests/resume/resume_test.sh CASE - stopping, killing and resuming the real
# `sluice run`, each ending compared with an uninterrupted run (docs/resume.md).
#
#   stop       SIGTERM: the batches in flight go through, exit 3, the state
#              holds journalled segments; --resume with another thread count
#              ends identical, totals equal, no state left. A second signal
#              stops faster (still exit 3, still resumable). A plugin crash
#              (faulty, SIGSEGV on one batch the first time only) is resumed
#              and the crashed batch is made again.
#   refuse     a fresh run over a state is refused (exit 2); --resume with a
#              changed parameter is refused naming it (exit 2); --force
#              starts over; --resume of a finished output does nothing.
#   stop-mpi   USR1 through mpirun to 2 ranks (dynamic schedule, no periodic
#              checkpoint): both ranks journal, exit 3, resumed on 1 rank.
#   killloop   at least KILLS (default 20) SIGKILLs at random instants of
#              the primes job, resumed each time with 1 or 2 threads; after
#              each kill the output is absent or complete; every finished
#              cycle is identical to the reference.
#   killloop-mpi  the same over mpirun with 1 to 3 ranks (a different count
#              and schedule at each resume), killing one rank or all of them.
#   deadletters   dead letters survive a stop and resume; --resume
#              --retry-deadletters makes their batches again.
#   input      a job reading a file (h5source) is stopped and resumed to
#              the same output as an uninterrupted run; a resume after the
#              file changed (its time stamp) is refused naming the file,
#              and goes on once the file is back as it was.
#
# Environment: SLUICE (the command), WORK (a scratch directory), JOBS (jobs/),
# KILLS (kills per loop), SEED (of the random instants; printed).
set -u
case_=${1:?usage: resume_test.sh CASE}
: "${SLUICE:?}" "${WORK:?}" "${JOBS:?}"
KILLS=${KILLS:-20}
SEED=${SEED:-$(date +%s)}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl=self,vader
# Network file systems: the state must not need HDF5's file locks.
export HDF5_USE_FILE_LOCKING=FALSE
rm -rf "${WORK:?}/$case_"
mkdir -p "$WORK/$case_"
cd "$WORK/$case_" || exit 1
echo "seed $SEED"

failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
ok() { echo "ok: $*"; }

datasets() { h5ls "$1" | awk '$2 == "Dataset" { print $1 }' | sort; }
attr() { h5dump -a "/$2" "$1" 2>/dev/null | awk '/\(0\)/ { sub(/.*\(0\): */, ""); print; exit }'; }

# same A B WHAT: the same row datasets, identical, and the same totals.
same() {
    da=$(datasets "$1")
    db=$(datasets "$2")
    if [ -z "$da" ] || [ "$da" != "$db" ]; then
        fail "$3: datasets differ: [$da] vs [$db]"
        return 1
    fi
    for d in $da; do
        if ! h5diff "$1" "$2" "/$d" "/$d" >/dev/null 2>&1; then
            fail "$3: dataset /$d differs (h5diff $1 $2 /$d /$d)"
            return 1
        fi
    done
    for a in $TOTALS; do
        want=$(attr "$1" "$a")
        got=$(attr "$2" "$a")
        if [ -z "$want" ] || [ "$want" != "$got" ]; then
            fail "$3: $a = '$got', want '$want'"
            return 1
        fi
    done
    ok "$3: datasets [$(echo $da)] and totals identical"
}

# rand N: a pseudo-random integer in [0, N) from the seeded sequence.
rand_state=$SEED
rand() {
    rand_state=$(( (rand_state * 1103515245 + 12345) % 2147483648 ))
    echo $(( (rand_state / 65536) % $1 ))
}

# A millisecond sleep without a float-aware sleep(1) assumption.
msleep() { sleep "$(awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }')"; }

PRIMES="$JOBS/primes.yaml intervals.stop=2e10"
TOTALS="sum_count sum_twins"

case "$case_" in
stop)
    "$SLUICE" run $PRIMES -t 2 -o ref.h5 -q || fail "reference run"
    "$SLUICE" run $PRIMES -t 2 -o a.h5 -q --checkpoint 0.1 &
    pid=$!
    msleep 1200
    kill -TERM $pid
    wait $pid
    rc=$?
    [ "$rc" = 3 ] || fail "SIGTERM: exit $rc, want 3"
    [ -e a.h5 ] && fail "a stopped run published a.h5"
    [ -d a.h5.sluice ] || fail "no state kept"
    recs=$(grep -c '^J1 ' a.h5.sluice/journal.r0 2>/dev/null || echo 0)
    [ "$recs" -ge 2 ] || fail "journal has $recs records, want periodic checkpoints"
    # The first signal lets the batches in flight through: every row range
    # the journal names is a whole number of batches, none is left in tmp.
    ls a.h5.sluice | grep -q '\.tmp$' && fail "a segment is left half-written: $(ls a.h5.sluice)"
    "$SLUICE" run $PRIMES -t 1 -o a.h5 --resume --checkpoint 0.1 >resume.log 2>&1 ||
        fail "resume: exit $? ($(tail -2 resume.log))"
    grep -q "^resumed " resume.log || fail "the summary does not say what was resumed"
    same ref.h5 a.h5 "stop at 1.2 s, resume with 1 thread"
    [ -e a.h5.sluice ] && fail "state left after the resumed run finished"
    # Two signals: the second abandons the batches in flight.
    "$SLUICE" run $PRIMES -t 2 -o b.h5 -q --checkpoint 0.1 primes.twins=true &
    pid=$!
    msleep 800
    kill -TERM $pid
    kill -INT $pid
    wait $pid
    rc=$?
    [ "$rc" = 3 ] || fail "two signals: exit $rc, want 3"
    "$SLUICE" run $PRIMES -t 2 -o b.h5 -q --resume || fail "resume after two signals"
    same ref.h5 b.h5 "two signals, resumed"
    # A crash inside a plugin: the process dies by SIGSEGV on batch 37 the
    # first time (faulty's once_dir), the resume makes it again.
    cat >crash.yaml <<EOF
job: crash
stages:
  - stage: intervals
    params: {start: 0, stop: 2e10, width: 1e8, batch: 1}
  - stage: primes
    params: {twins: true}
  - stage: faulty
    params: {crash_seqs: "37", once_dir: "$PWD/once"}
  - stage: sum
    params: {columns: [count, twins]}
  - stage: h5sink
EOF
    mkdir -p once
    "$SLUICE" run crash.yaml -t 2 -o c.h5 -q --checkpoint 0.05 2>crash.err
    rc=$?
    [ "$rc" -gt 128 ] || fail "crash: exit $rc, want death by signal"
    grep -q "batch 37" crash.err || fail "crash message does not name batch 37: $(head -2 crash.err)"
    "$SLUICE" run crash.yaml -t 2 -o c.h5 -q --resume || fail "resume after the crash"
    same ref.h5 c.h5 "crash on batch 37, resumed"
    ;;
refuse)
    "$SLUICE" run $PRIMES -t 2 -o r.h5 -q --checkpoint 0.1 &
    pid=$!
    msleep 700
    kill -TERM $pid
    wait $pid
    [ -d r.h5.sluice ] || fail "no state"
    "$SLUICE" run $PRIMES -o r.h5 -q 2>err.txt
    rc=$?
    [ "$rc" = 2 ] && grep -q "r.h5.sluice exists" err.txt || fail "fresh run over a state: exit $rc: $(cat err.txt)"
    "$SLUICE" run "$JOBS/primes.yaml" intervals.stop=3e10 -o r.h5 -q --resume 2>err.txt
    rc=$?
    [ "$rc" = 2 ] && grep -q "stage 'intervals' parameter 'stop' was" err.txt ||
        fail "changed stop: exit $rc: $(cat err.txt)"
    [ "$(wc -l <err.txt)" -le 1 ] || fail "refusal is not one line: $(cat err.txt)"
    "$SLUICE" run $PRIMES primes.twins=false -o r.h5 -q --resume 2>err.txt
    rc=$?
    [ "$rc" = 2 ] && grep -q "twins" err.txt || fail "changed twins: exit $rc: $(cat err.txt)"
    [ -d r.h5.sluice ] || fail "a refused resume removed the state"
    for bad in "--resume --force" "--retry-deadletters" "--checkpoint soon"; do
        # shellcheck disable=SC2086
        "$SLUICE" run $PRIMES -o r.h5 -q $bad 2>err.txt
        rc=$?
        [ "$rc" = 2 ] && [ "$(wc -l <err.txt)" = 1 ] || fail "'$bad': exit $rc: $(cat err.txt)"
    done
    grep -q "checkpoint wants seconds" err.txt || fail "--checkpoint soon: $(cat err.txt)"
    "$SLUICE" run $PRIMES -t 1 -o r.h5 -q --resume || fail "resume with the same job"
    "$SLUICE" run $PRIMES -t 2 -o ref.h5 -q || fail "reference run"
    same ref.h5 r.h5 "refused twice, then resumed"
    out=$("$SLUICE" run $PRIMES -o r.h5 --resume 2>&1)
    [ "$?" = 0 ] && echo "$out" | grep -q "nothing to resume" || fail "resume of a finished output: $out"
    "$SLUICE" run $PRIMES -o r.h5 -q --force --checkpoint 0.1 &
    pid=$!
    msleep 500
    kill -TERM $pid
    wait $pid
    "$SLUICE" run $PRIMES -o r.h5 -q --force || fail "--force over a state"
    [ -e r.h5.sluice ] && fail "--force left the old state"
    same ref.h5 r.h5 "--force over a state"
    ;;
input)
    "$SLUICE" run $PRIMES -t 2 -o in.h5 -q || fail "the input file"
    cp -p in.h5 keep.h5
    printf '%s\n' "job: from-file" "stages:" "  - stage: h5source" \
        "    params: {file: in.h5, columns: {lo: /lo, hi: /hi}, batch: 1}" \
        "  - stage: primes" "    params: {twins: true}" \
        "  - stage: sum" "    params: {columns: [count, twins]}" "  - stage: h5sink" >fromfile.yaml
    "$SLUICE" run fromfile.yaml -t 2 -o ref.h5 -q || fail "reference run"
    "$SLUICE" run fromfile.yaml -t 1 -o r.h5 -q --checkpoint 0.1 &
    pid=$!
    msleep 700
    kill -TERM $pid
    wait $pid
    rc=$?
    [ "$rc" = 3 ] && [ -d r.h5.sluice ] || fail "stop: exit $rc, state: $(ls -d r.h5.sluice 2>&1)"
    touch in.h5
    "$SLUICE" run fromfile.yaml -t 2 -o r.h5 -q --resume 2>err.txt
    rc=$?
    [ "$rc" = 2 ] && [ "$(wc -l <err.txt)" = 1 ] &&
        grep -q "stage 'h5source' input 'in.h5' was size [0-9]* bytes, modified .*, is now size" err.txt ||
        fail "resume over a changed input: exit $rc: $(cat err.txt)"
    [ -d r.h5.sluice ] || fail "the refused resume removed the state"
    cp -p keep.h5 in.h5
    "$SLUICE" run fromfile.yaml -t 2 -o r.h5 -q --resume || fail "resume with the input as it was"
    same ref.h5 r.h5 "stopped, refused over a changed input, resumed"
    [ -e r.h5.sluice ] && fail "state left after the resume"
    ;;
stop-mpi)
    # USR1 through mpirun (it forwards it to every rank), dynamic schedule,
    # no periodic checkpoint: every rank journals what it finished, exit 3;
    # resumed on one rank with two threads.
    "$SLUICE" run $PRIMES -t 2 -o ref.h5 -q || fail "reference run"
    timeout 120 mpirun -np 2 --bind-to none "$SLUICE" run $PRIMES -t 1 -o m.h5 -q \
        --checkpoint 0 --schedule dynamic >mpi.log 2>&1 &
    pid=$!
    msleep 1500
    # To mpirun itself (timeout would die of USR1).
    kill -USR1 "$(pgrep -P $pid mpirun)"
    wait $pid
    rc=$?
    [ "$rc" = 3 ] || fail "mpirun: exit $rc, want 3 ($(grep sluice mpi.log))"
    for r in 0 1; do
        [ "$(grep -c '^J1 ' m.h5.sluice/journal.r$r 2>/dev/null)" = 1 ] ||
            fail "rank $r journalled no last checkpoint: $(ls m.h5.sluice)"
    done
    [ "$(grep -c 'stopping: letting' mpi.log)" = 1 ] || fail "not one stopping line: $(cat mpi.log)"
    "$SLUICE" run $PRIMES -t 2 -o m.h5 --resume >resume.log 2>&1 || fail "resume: $(tail -2 resume.log)"
    grep -q "^resumed " resume.log || fail "nothing was resumed: $(head -3 resume.log)"
    same ref.h5 m.h5 "2 ranks stopped by USR1, resumed on 1"
    ;;
killloop)
    "$SLUICE" run $PRIMES -t 2 -o ref.h5 -q || fail "reference run"
    kills=0 cycles=0 runs=0
    while [ "$kills" -lt "$KILLS" ]; do
        t=$(( $(rand 2) + 1 ))
        "$SLUICE" run $PRIMES -t "$t" -o k.h5 -q --resume --checkpoint 0.05 --progress never \
            >>runs.log 2>&1 &
        pid=$!
        runs=$((runs + 1))
        msleep $(( 30 + $(rand 600) ))
        if kill -KILL $pid 2>/dev/null; then
            kills=$((kills + 1))
        fi
        wait $pid
        rc=$?
        # Never a half-written output under the user's name.
        if [ -e k.h5 ]; then
            if [ -d k.h5.sluice ]; then
                echo "kill $kills landed between the rename and the state's removal"
            fi
            if [ "$rc" = 0 ] || [ "$rc" = 137 ]; then
                same ref.h5 k.h5 "cycle $cycles after $kills kills" || break
                cycles=$((cycles + 1))
                rm -f k.h5
            fi
        elif [ "$rc" != 137 ]; then
            fail "run $runs: exit $rc without an output ($(tail -2 runs.log))"
            break
        fi
    done
    # Finish the last cycle without a kill.
    "$SLUICE" run $PRIMES -t 2 -o k.h5 -q --resume >>runs.log 2>&1 || fail "last resume: $(tail -2 runs.log)"
    same ref.h5 k.h5 "last cycle after $kills kills in all"
    cycles=$((cycles + 1))
    [ "$kills" -ge "$KILLS" ] || fail "only $kills kills"
    echo "$kills SIGKILLs, $runs runs, $cycles complete cycles"
    ;;
killloop-mpi)
    "$SLUICE" run $PRIMES -t 2 -o ref.h5 -q || fail "reference run"
    kills=0 cycles=0 runs=0
    while [ "$kills" -lt "$KILLS" ]; do
        np=$(( $(rand 3) + 1 ))
        sched=static
        [ "$(rand 2)" = 1 ] && sched=dynamic
        if [ "$np" = 1 ]; then
            "$SLUICE" run $PRIMES -t 1 -o m.h5 -q --resume --checkpoint 0.05 --progress never \
                >>runs.log 2>&1 &
        else
            timeout 120 mpirun -np "$np" --bind-to none "$SLUICE" run $PRIMES -t 1 -o m.h5 -q \
                --resume --checkpoint 0.05 --schedule "$sched" --progress never >>runs.log 2>&1 &
        fi
        pid=$!
        runs=$((runs + 1))
        msleep $(( 150 + $(rand 900) ))
        victims=$(pgrep -f "sluice run .*-o m.h5" | grep -v "^$pid\$" || true)
        [ "$np" = 1 ] && victims=$pid
        if [ -n "$victims" ]; then
            if [ "$np" -gt 1 ] && [ "$(rand 2)" = 1 ]; then
                victims=$(echo "$victims" | head -n $(( $(rand "$np") + 1 )) | tail -n 1)
            fi
            kill -KILL $victims 2>/dev/null && kills=$((kills + 1))
        fi
        wait $pid
        # Whatever is left of a killed job ends before the next one starts.
        sleep 0.2
        pkill -KILL -f "sluice run .*-o m.h5" 2>/dev/null
        if [ -e m.h5 ]; then
            same ref.h5 m.h5 "cycle $cycles (np $np) after $kills kills" || break
            cycles=$((cycles + 1))
            rm -f m.h5
        fi
    done
    timeout 120 mpirun -np 2 --bind-to none "$SLUICE" run $PRIMES -t 1 -o m.h5 -q --resume \
        >>runs.log 2>&1 || fail "last resume: $(tail -3 runs.log)"
    same ref.h5 m.h5 "last cycle after $kills kills in all"
    cycles=$((cycles + 1))
    echo "$kills SIGKILLs, $runs runs, $cycles complete cycles"
    ;;
deadletters)
    cat >dl.yaml <<EOF
job: dl
stages:
  - stage: intervals
    params: {start: 0, stop: 1e10, width: 1e8, batch: 1}
  - stage: primes
  - stage: faulty
    params: {fail_seqs: "5,50,95", sleep_ms: 40, sleep_rate: 1.0, once_dir: "$PWD/once"}
    on_error: deadletter
  - stage: sum
    params: {columns: [count]}
  - stage: h5sink
EOF
    TOTALS=""
    mkdir -p once
    "$SLUICE" run dl.yaml -t 2 -o d.h5 -q --checkpoint 0.05 &
    pid=$!
    msleep 1000
    kill -TERM $pid
    wait $pid
    [ "$?" = 3 ] || fail "stop: not exit 3"
    grep -q "dead=" d.h5.sluice/journal.r0 || fail "no dead letter journalled: $(cut -c1-200 d.h5.sluice/journal.r0)"
    "$SLUICE" run dl.yaml -t 2 -o d.h5 --resume >resume.log 2>&1 || fail "resume: $(tail -2 resume.log)"
    grep -q "dead letters 3" resume.log || fail "summary after the resume: $(grep -i dead resume.log)"
    n=$(h5dump -d /deadletters/seq d.h5 2>/dev/null | grep -c '(.*): 5, 50, 95' || true)
    [ "$n" = 1 ] || fail "/deadletters/seq is not 5, 50, 95: $(h5dump -d /deadletters/seq d.h5 | tail -4)"
    grep -v "faulty\|fail_seqs\|on_error" dl.yaml >ref.yaml
    "$SLUICE" run ref.yaml -t 2 -o ref.h5 -q || fail "reference run"
    [ "$(attr ref.h5 sum_count)" = 455052511 ] || fail "reference: pi(10^10) = $(attr ref.h5 sum_count)"
    [ -d d.h5.sluice ] || fail "no state kept for the dead letters"
    # Retry: the batches failed only the first time (once_dir).
    "$SLUICE" run dl.yaml -t 2 -o d.h5 --resume --retry-deadletters >retry.log 2>&1 ||
        fail "retry: $(tail -2 retry.log)"
    grep -q "dead letters" retry.log && fail "dead letters after the retry: $(grep -A3 dead retry.log)"
    h5ls d.h5 | grep -q deadletters && fail "/deadletters still in the output"
    [ -e d.h5.sluice ] && fail "state left after every dead letter was retried"
    h5diff ref.h5 d.h5 /count /count >/dev/null || fail "retried output differs from the reference"
    [ "$(attr ref.h5 sum_count)" = "$(attr d.h5 sum_count)" ] || fail "sum_count after the retry"
    ok "dead letters resumed and retried"
    ;;
*)
    echo "unknown case $case_"
    exit 2
    ;;
esac
[ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all ok"
