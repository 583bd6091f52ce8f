#!/bin/sh
# Runs a libFuzzer harness once over every file in some directories (the
# regression cases and the seeds), which is how CTest re-checks them.
#   run_inputs.sh HARNESS [ARG...]
# An ARG starting with '-' is passed to libFuzzer as is (-rss_limit_mb=2048);
# any other names a directory whose files are run (a missing or empty one is
# skipped). Exit status: the harness's (non-zero on the first crash).
set -eu
harness=$1
shift
flags=""
files=""
for a in "$@"; do
  case $a in
    -*) flags="$flags
$a" ;;
    *)
      [ -d "$a" ] || continue
      for f in "$a"/* "$a"/.[!.]*; do
        [ -f "$f" ] && files="$files
$f"
      done
      ;;
  esac
done
if [ -z "$files" ]; then
  echo "run_inputs: no inputs for $harness"
  exit 0
fi
# Newline-separated, so paths with spaces survive; no path holds a newline.
IFS='
'
# shellcheck disable=SC2086
exec "$harness" $flags $files
