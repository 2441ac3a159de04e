#!/usr/bin/env bash
# A real one-node Slurm cluster in a private folder, for the job-array test and for trying `--slurm` locally
# (recipe: the team's reference slurm-local.md). Needs root and Debian's slurmctld slurmd slurm-client munge.
#   bash scripts/slurm-local.sh start DIR   writes DIR/slurm.conf, starts munged (unless one runs already), slurmctld
#                                           and slurmd, waits until the node is idle, prints `export SLURM_CONF=…`
#   bash scripts/slurm-local.sh stop DIR    stops, by PID, the daemons `start` started (recorded in DIR/*.pid)
# The cluster listens on ports $SLURM_LOCAL_PORT and +1 (default 16817, 16818), not Slurm's defaults, and keeps
# its config, state, spool and logs under DIR, so /etc/slurm and a cluster already on the machine are left alone.
set -euo pipefail
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

stop_pidfile() {  # stop_pidfile FILE NAME: kill the recorded pid if it is still that daemon, wait for it to exit
  local f=$1 name=$2 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if [ -n "$pid" ] && [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = "$name" ]; then
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "stopped $name (pid $pid)"
  fi
  rm -f "$f"
}

case "$cmd" in
stop)
  stop_pidfile "$dir/slurmd.pid" slurmd
  stop_pidfile "$dir/slurmctld.pid" slurmctld
  stop_pidfile "$dir/munged.started.pid" munged
  exit 0
  ;;
start) ;;
*) echo "unknown command $cmd; use start or stop" >&2; exit 2 ;;
esac

[ "$(id -u)" = 0 ] || { echo "slurm-local: needs root (the daemons run as root here)" >&2; exit 3; }
for b in munged slurmctld slurmd sbatch squeue sinfo; do
  command -v "$b" >/dev/null || [ -x "/usr/sbin/$b" ] || { echo "slurm-local: $b not found; install: apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge" >&2; exit 3; }
done
port=${SLURM_LOCAL_PORT:-16817}
host=$(hostname -s)
mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
mkdir -p "$dir/state" "$dir/spool"
cat >"$dir/slurm.conf" <<CONF
ClusterName=ifsqlocal
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
NodeName=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

# munge: reuse a running munged (its key is the machine's), else start one as the munge user
if ! pgrep -x munged >/dev/null; then
  mkdir -p /run/munge
  [ -f /etc/munge/munge.key ] || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
  chown -R munge:munge /etc/munge /run/munge
  chmod 400 /etc/munge/munge.key
  su -s /bin/sh munge -c /usr/sbin/munged
  for _ in $(seq 50); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
  cp /run/munge/munged.pid "$dir/munged.started.pid"
fi
/usr/sbin/slurmctld -f "$dir/slurm.conf"
/usr/sbin/slurmd -f "$dir/slurm.conf"
export SLURM_CONF=$dir/slurm.conf
for _ in $(seq 150); do
  state=$(sinfo -h -o %t 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 0.2
done
if [ "$state" != idle ]; then
  echo "slurm-local: the node did not become idle (sinfo: ${state:-no answer}); logs: $dir/slurmctld.log $dir/slurmd.log" >&2
  exit 1
fi
echo "export SLURM_CONF=$dir/slurm.conf"
