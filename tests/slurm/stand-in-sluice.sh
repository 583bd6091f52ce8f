#!/bin/sh
# tests/slurm/stand-in-sluice.sh - stands in for `sluice` to test the job
# scripts' requeue loop before sluice can stop resumable (the "requeue" case
# of slurm_test.sh). It behaves as the scripts expect sluice to:
#   run --help        lists --resume
#   run ... --resume  exits 0 at once (the resumed run finishes)
#   run ...           runs until SIGUSR1 or SIGTERM, then exits 3 (resumable)
# Every run appends its arguments to $STAND_IN_LOG.
[ "${1:-}" = run ] || exit 2
shift
case " $* " in
*" --help "*)
    echo "usage: sluice run JOB [options]"
    echo "      --resume       go on from the last checkpoint"
    exit 0
    ;;
esac
echo "run $*" >>"${STAND_IN_LOG:?}"
case " $* " in
*" --resume "*) exit 0 ;;
esac
trap 'echo "stand-in: stopping resumable"; exit 3' USR1 TERM
i=0
while [ "$i" -lt 600 ]; do
    sleep 0.2
    i=$((i + 1))
done
exit 1
