#!/bin/sh
# slurm/local-cluster.sh - a one-node Slurm cluster on this machine, to try the
# job scripts of slurm/ and to test them (tests/slurm/slurm_test.sh).
#
#   sh slurm/local-cluster.sh start [--force]   start munged, slurmctld, slurmd
#   sh slurm/local-cluster.sh stop              stop what start started
#   sh slurm/local-cluster.sh status            what runs, the node, the logs
#
# Needs root and Debian's packages slurm-wlm and munge (apps/install-deps.sh
# installs them with the "sanitizers" profile that tests/run.sh uses). There is
# no systemd here, so the daemons are started directly. start and stop are
# idempotent: starting a running cluster and stopping a stopped one succeed.
# start waits until `sinfo` shows the node idle (SLUICE_SLURM_TIMEOUT seconds,
# 60 by default) and otherwise exits 1 with the end of the daemons' logs.
#
# Where things go (SLUICE_SLURM_DIR moves the state, SLUICE_SLURM_LOGS the logs):
#   /var/lib/sluice-slurm/slurm.conf   the generated configuration
#   /var/lib/sluice-slurm/ctld, d      slurmctld's saved state, slurmd's spool
#   /var/lib/sluice-slurm/*.pid        the daemons' pid files
#   /var/log/sluice-slurm/             slurmctld.log, slurmd.log, munged.log
#   /etc/slurm/slurm.conf              a copy of the configuration, because
#       that is where Debian's sinfo, sbatch, srun and scontrol look. The copy
#       starts with the line "# sluice local cluster". A slurm.conf without
#       that line belongs to someone else: start refuses to replace it unless
#       given --force, and then keeps it as slurm.conf.sluice-backup.
#   /etc/munge/munge.key               created when missing (owner munge, mode 400)
#
# The configuration is generated from this machine: the node is `hostname -s`
# at 127.0.0.1, CPUs from `nproc`, RealMemory from `free -m` (less 5%, so that
# slurmd never finds less than configured and drains the node). A start
# that finds slurmctld stopped begins with an empty queue (slurmctld -c): the
# jobs of a stopped or killed cluster are dropped, and job ids start at 1.
# A restart for a changed configuration keeps the jobs.
set -eu
# The daemons live in /usr/sbin, which a user's PATH may lack.
PATH=$PATH:/usr/sbin:/sbin

STATE=${SLUICE_SLURM_DIR:-/var/lib/sluice-slurm}
LOGS=${SLUICE_SLURM_LOGS:-/var/log/sluice-slurm}
TIMEOUT=${SLUICE_SLURM_TIMEOUT:-60}
CONF=$STATE/slurm.conf
ETC_CONF=/etc/slurm/slurm.conf
MARK="# sluice local cluster"
MUNGE_KEY=/etc/munge/munge.key
MUNGE_SOCK=/run/munge/munge.socket.2

say() { echo "local-cluster: $*"; }
die() { echo "local-cluster: $*" >&2; exit 1; }

# alive DIR/NAME.pid: the daemon NAME runs under the pid in the file (a pid
# file left by a killed daemon may name another process by now).
alive() {
    [ -s "$1" ] || return 1
    [ "$(cat "/proc/$(cat "$1")/comm" 2>/dev/null)" = "$(basename "$1" .pid)" ]
}

need_tools() {
    for t in munged munge unmunge slurmctld slurmd sinfo scontrol; do
        command -v "$t" >/dev/null 2>&1 ||
            die "'$t' not found: install Debian's slurm-wlm and munge (sh apps/install-deps.sh sanitizers)"
    done
    [ "$(id -u)" -eq 0 ] || die "must run as root (it starts munged, slurmctld and slurmd)"
}

# The configuration for this machine, on stdout.
gen_conf() {
    host=$(hostname -s)
    cpus=$(nproc)
    mem=$(free -m | awk '/^Mem:/ { print int($2 * 0.95) }')
    cat <<EOF
$MARK (slurm/local-cluster.sh) - generated, do not edit: start rewrites it.
# One node, this machine: $host, $cpus CPUs, ${mem} MB. Root runs the daemons.
ClusterName=sluice
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups needed: processes are tracked by parentage, and task/affinity
# binds tasks to their CPUs with sched_setaffinity (srun --cpu-bind works).
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
# No accounting daemon: finished jobs are known from scontrol for MinJobAge s.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=600
# Time limits: SIGTERM at the limit, SIGKILL KillWait s later (30 s is the
# default; 10 s keeps tests short and is still time to flush). No grace beyond
# the limit (OverTimeLimit), so --signal=B:USR1@N is what a job gets.
KillWait=10
OverTimeLimit=0
# Batch jobs may be requeued (scontrol requeue, sbatch --requeue). A requeued
# job waits cred_expire + 1 s before it may start again (120 s by default);
# 10 s is plenty for one machine (the credential only has to outlive a step's
# launch) and keeps requeue tests short.
JobRequeue=1
AuthInfo=cred_expire=10
# A node that was down comes back by itself once slurmd registers.
ReturnToService=2
SchedulerType=sched/backfill
# Look at pending jobs every 2 s, not every 30-60 s: a requeued job starts
# soon after it is eligible again.
SchedulerParameters=sched_interval=2,bf_interval=2
MailProg=/bin/true
NodeName=$host NodeAddr=127.0.0.1 NodeHostname=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

# Writes $CONF and the copy in /etc/slurm. CHANGED=1 when it differs from
# the previous one (running daemons then reread it).
write_conf() {
    mkdir -p "$STATE/ctld" "$STATE/d" "$LOGS" /etc/slurm
    gen_conf >"$CONF.new"
    CHANGED=1
    cmp -s "$CONF.new" "$CONF" && CHANGED=0
    mv "$CONF.new" "$CONF"
    if [ -e "$ETC_CONF" ] && ! head -n 1 "$ETC_CONF" | grep -qF "$MARK"; then
        [ "$FORCE" = 1 ] ||
            die "$ETC_CONF exists and is not ours; keep it, or start --force to set it aside as $ETC_CONF.sluice-backup"
        cp -p "$ETC_CONF" "$ETC_CONF.sluice-backup"
        say "kept the previous $ETC_CONF as $ETC_CONF.sluice-backup"
    fi
    cp "$CONF" "$ETC_CONF.new"
    mv "$ETC_CONF.new" "$ETC_CONF"
}

start_munge() {
    if [ ! -s "$MUNGE_KEY" ]; then
        mkdir -p /etc/munge
        dd if=/dev/urandom of="$MUNGE_KEY" bs=1 count=1024 2>/dev/null
        say "created $MUNGE_KEY"
    fi
    # munged refuses a key that others can read.
    chown munge:munge /etc/munge "$MUNGE_KEY"
    chmod 700 /etc/munge
    chmod 400 "$MUNGE_KEY"
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        return 0 # a munged already answers (ours, or the system's)
    fi
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge
    chmod 755 /run/munge
    touch "$LOGS/munged.log"
    chown munge:munge "$LOGS/munged.log"
    # A socket left by a killed munged makes the new one refuse to start.
    [ -S "$MUNGE_SOCK" ] && rm -f "$MUNGE_SOCK" "$MUNGE_SOCK.lock"
    runuser -u munge -- munged --log-file="$LOGS/munged.log" </dev/null >/dev/null 2>&1 ||
        die "munged did not start; see $LOGS/munged.log"
    cp /run/munge/munged.pid "$STATE/munged.pid" # ours to stop
    i=0
    until munge -n 2>/dev/null | unmunge >/dev/null 2>&1; do
        i=$((i + 1))
        [ "$i" -le 20 ] || die "munged runs but does not answer; see $LOGS/munged.log"
        sleep 0.5
    done
}

# start_daemon NAME [ARG]: starts slurmctld or slurmd unless it runs.
start_daemon() {
    alive "$STATE/$1.pid" && return 0
    # Both fork into the background; their output goes to their log files.
    # shellcheck disable=SC2086  # ARG is one word or none
    setsid "$1" -f "$CONF" ${2:-} </dev/null >>"$LOGS/$1.log" 2>&1 ||
        die "$1 did not start; the end of $LOGS/$1.log:
$(tail -n 20 "$LOGS/$1.log")"
}

node_state() { sinfo -h -N -o '%T' 2>/dev/null | head -n 1; }

wait_idle() {
    host=$(hostname -s)
    waited=0
    while :; do
        st=$(node_state)
        case "$st" in
        idle | mixed | allocated | completing) return 0 ;;
        down* | drain* | fail*)
            # Left down by an earlier stop, or drained: put it back.
            scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true ;;
        esac
        [ "$waited" -lt "$TIMEOUT" ] || die "the node is not idle after $TIMEOUT s (state '${st:-unknown}'); \
the end of $LOGS/slurmctld.log:
$(tail -n 15 "$LOGS/slurmctld.log" 2>/dev/null)
the end of $LOGS/slurmd.log:
$(tail -n 15 "$LOGS/slurmd.log" 2>/dev/null)"
        sleep 1
        waited=$((waited + 1))
    done
}

do_start() {
    need_tools
    write_conf
    start_munge
    if [ "$CHANGED" = 1 ] && { alive "$STATE/slurmctld.pid" || alive "$STATE/slurmd.pid"; }; then
        # scontrol reconfigure does not apply every setting (cred_expire);
        # a restart does, and running jobs survive it.
        say "configuration changed: restarting slurmctld and slurmd"
        stop_daemon slurmd
        stop_daemon slurmctld
        start_daemon slurmctld
    fi
    # A cold start clears the saved jobs (-c): jobs recovered from a cluster
    # that was killed would hold CPUs on a node that no longer runs them.
    start_daemon slurmctld -c
    start_daemon slurmd
    wait_idle
    say "running: node $(hostname -s), $(nproc) CPUs, state $(node_state); logs in $LOGS"
}

# stop_daemon NAME: ends the daemon of NAME.pid, waiting up to 15 s.
stop_daemon() {
    pidf=$STATE/$1.pid
    if ! alive "$pidf"; then
        rm -f "$pidf"
        return 0
    fi
    pid=$(cat "$pidf")
    kill -TERM "$pid" 2>/dev/null || true
    i=0
    while kill -0 "$pid" 2>/dev/null; do
        i=$((i + 1))
        if [ "$i" -gt 30 ]; then
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.5
    done
    rm -f "$pidf"
    say "stopped $1 (pid $pid)"
}

do_stop() {
    # slurmd first: slurmctld then notes the node down, not lost.
    stop_daemon slurmd
    stop_daemon slurmctld
    # Only a munged this script started; a system munged stays.
    stop_daemon munged
}

do_status() {
    rc=0
    for d in munged slurmctld slurmd; do
        if alive "$STATE/$d.pid"; then
            echo "$d: running, pid $(cat "$STATE/$d.pid")"
        elif [ "$d" = munged ] && munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
            echo "munged: running (not started by this script)"
        else
            echo "$d: not running"
            rc=3
        fi
    done
    echo "config: $CONF (copied to $ETC_CONF)"
    echo "state:  $STATE"
    echo "logs:   $LOGS/slurmctld.log $LOGS/slurmd.log $LOGS/munged.log"
    if [ "$rc" = 0 ]; then
        sinfo -N -o '%N %P %T %c %m' 2>/dev/null || rc=3
    fi
    return $rc
}

FORCE=0 CHANGED=0
cmd=${1:-}
[ $# -gt 0 ] && shift
for a in "$@"; do
    case "$a" in
    --force) FORCE=1 ;;
    *) die "unknown option '$a' (usage: local-cluster.sh start [--force] | stop | status)" ;;
    esac
done
case "$cmd" in
start) do_start ;;
stop) do_stop ;;
status) do_status ;;
*)
    echo "usage: local-cluster.sh start [--force] | stop | status" >&2
    exit 2
    ;;
esac
