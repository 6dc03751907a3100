#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for testing `mcmr slurm` (issue 21): installs
# Debian's slurmctld, slurmd, slurm-client and munge when missing (as root), writes a slurm.conf
# for this host into DIR, and starts munged, slurmctld and slurmd. Prints the `export` line that
# points Slurm's commands at DIR/slurm.conf.
#
#   eval "$(bash tools/slurm/one-node.sh start DIR)"   # then sbatch, squeue, mcmr slurm --submit
#   bash tools/slurm/one-node.sh stop DIR
#
# It runs every daemon as root with no cgroups (proctrack/linuxproc, task/none): a test bed,
# not a production cluster.
set -euo pipefail

cmd="${1:-}"
dir="${2:-}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

stop() {
  local pids=()
  for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munged.pid"; do
    if [ -s "$pidfile" ]; then
      pids+=("$(cat "$pidfile")")
    fi
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 20); do   # bounded: 10 s, then SIGKILL
    kill -0 "${pids[@]}" 2>/dev/null || return 0
    sleep 0.5
  done
  kill -9 "${pids[@]}" 2>/dev/null || true
}

if [ "$cmd" = stop ]; then
  stop
  exit 0
fi
if [ "$cmd" != start ]; then
  echo "error: unknown command '$cmd' (expected start or stop)" >&2
  exit 2
fi

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null \
  || ! command -v munged >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: Slurm is not installed and installing it needs root (apt-get install slurmctld slurmd slurm-client munge)" >&2
    exit 1
  fi
  echo "installing slurmctld, slurmd, slurm-client and munge" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    slurmctld slurmd slurm-client munge >"$dir/apt.log" 2>&1 \
    || { apt-get update -q >>"$dir/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      --no-install-recommends slurmctld slurmd slurm-client munge >>"$dir/apt.log" 2>&1; } \
    || { echo "error: apt-get could not install Slurm (log: $dir/apt.log)" >&2; exit 1; }
fi

# munge: a key of our own and a socket in DIR.
mkdir -p "$dir/munge"
chmod 700 "$dir/munge"
if [ ! -s "$dir/munge/munge.key" ]; then
  dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$dir/munge/munge.key"
fi
socket="$dir/munge/munge.socket"
munged --force --key-file="$dir/munge/munge.key" --socket="$socket" \
  --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munge/seed"

host="$(hostname -s)"   # addressed as 127.0.0.1: the name need not resolve
node="$(slurmd -C | head -n 1)"   # NodeName=HOST CPUs=... RealMemory=... as slurmd sees them
mkdir -p "$dir/state" "$dir/spool"
cat >"$dir/slurm.conf" <<CONF
ClusterName=mcmrtest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
slurmctld -c -f "$SLURM_CONF"   # -c: a clean state
slurmd -f "$SLURM_CONF"

# Up when the node is idle (bounded: 60 s).
for _ in $(seq 60); do
  if sinfo -h -o %t 2>/dev/null | grep -q idle; then
    echo "export SLURM_CONF=$dir/slurm.conf"
    exit 0
  fi
  sleep 1
done
echo "error: the one-node Slurm did not come up in 60 s (logs in $dir)" >&2
sinfo >&2 || true
stop
exit 1
