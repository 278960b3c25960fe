#!/usr/bin/env bash
# A private Slurm on this machine, on loopback only, everything in one run directory:
# munged (own key and socket), slurmctld and one slurmd (node "node1"), with the burst buffer
# pointing at this repository's CLI. No systemd, no file outside the run directory is touched.
#
#   scripts/native-slurm.sh start <run-dir> [datawarp|lua]
#   scripts/native-slurm.sh stop <run-dir>
#
# start writes <run-dir>/etc/slurm.conf (+ burst_buffer.conf, burst_buffer.lua), starts the
# daemons, waits until node1 is idle and the burst buffer pool is known, and prints the line
#   SLURM_CONF=<run-dir>/etc/slurm.conf
# for clients (sbatch, scontrol, ...). slurmctld passes its environment to the CLI, so export
# ETCDCTL_ENDPOINTS, DAC_ETCD_PREFIX, DAC_MOUNT_ROOT, DAC_LOG_FILE (and TLS files) first.
# Must run as root (slurmd starts jobs as their users). stop kills what start started, by pid.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
action=${1:-}
run=${2:-}
plugin=${3:-datawarp}
[ -n "$action" ] && [ -n "$run" ] || {
  echo "usage: $0 start|stop <run-dir> [datawarp|lua]" >&2
  exit 2
}
mkdir -p "$run"
run=$(cd "$run" && pwd)

stop_pid() {
  local pidfile=$1
  [ -f "$pidfile" ] || return 0
  local pid
  pid=$(cat "$pidfile")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

if [ "$action" = stop ]; then
  stop_pid "$run/pids/slurmd"
  stop_pid "$run/pids/slurmctld"
  stop_pid "$run/pids/munged"
  exit 0
fi
[ "$action" = start ] || {
  echo "unknown action $action" >&2
  exit 2
}
[ "$(id -u)" -eq 0 ] || {
  echo "$0 must run as root (slurmd runs jobs as their users)" >&2
  exit 1
}
case "$plugin" in datawarp | lua) ;; *)
  echo "plugin must be datawarp or lua" >&2
  exit 2
  ;;
esac

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
mkdir -p "$run"/{etc,munge,state,spool,log,pids}
# Clients (sbatch as the job's user) need the socket; only the key file stays private.
chmod 0755 "$run" "$run/etc" "$run/munge"

# munge: our own key and socket; munged insists on strict permissions.
if [ ! -s "$run/munge/munge.key" ]; then
  dd if=/dev/urandom of="$run/munge/munge.key" bs=1024 count=1 status=none
fi
chmod 0600 "$run/munge/munge.key"
socket="$run/munge/munge.socket"
munged --force --socket="$socket" --key-file="$run/munge/munge.key" \
  --log-file="$run/log/munged.log" --pid-file="$run/pids/munged" \
  --seed-file="$run/munge/munged.seed"
for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.1; done
[ -S "$socket" ] || {
  echo "munged did not start; see $run/log/munged.log" >&2
  exit 1
}

host=$(hostname -s)
cpus=$(nproc)
ctld_port=$(free_port)
slurmd_port=$(free_port)
conf="$run/etc/slurm.conf"
cat >"$conf" <<CONF
# Written by scripts/native-slurm.sh; loopback only.
ClusterName=dacdemo
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$run/state
SlurmdSpoolDir=$run/spool
SlurmctldPidFile=$run/pids/slurmctld
SlurmdPidFile=$run/pids/slurmd
SlurmctldLogFile=$run/log/slurmctld.log
SlurmdLogFile=$run/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_interval=1
ReturnToService=2
MinJobAge=300
KillWait=5
BurstBufferType=burst_buffer/$plugin
DebugFlags=BurstBuffer
NodeName=node1 NodeHostname=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=node1 Default=YES MaxTime=INFINITE State=UP
CONF
if [ "$plugin" = datawarp ]; then
  sed -e "s|^GetSysState=.*|GetSysState=$root/bin/dw_wlm_cli|" \
    -e "s|^GetSysStatus=.*|GetSysStatus=$root/bin/dwstat|" \
    "$root/slurm/burst_buffer.conf.datawarp" >"$run/etc/burst_buffer.conf"
else
  cp "$root/slurm/burst_buffer.conf.lua" "$run/etc/burst_buffer.conf"
  cp "$root/slurm/burst_buffer.lua" "$run/etc/burst_buffer.lua"
fi

export SLURM_CONF="$conf"
# The lua plugin finds our programs through these (its script cannot be configured otherwise).
export DAC_BB_CLI="$root/bin/dacctl" DAC_BB_DWSTAT="$root/bin/dwstat"
slurmctld -f "$conf" -i
slurmd -f "$conf" -N node1
for _ in $(seq 300); do
  state=$(sinfo -h -n node1 -o %T 2>/dev/null || true)
  burst=$(scontrol show burst 2>/dev/null || true)
  case "$state:$burst" in idle*TotalSpace=[1-9]*) break ;; esac
  sleep 0.2
done
case "$state:$burst" in idle*TotalSpace=[1-9]*) ;; *)
  echo "Slurm did not come up (node1 is '$state'; burst buffer: ${burst:-none})." >&2
  echo "See $run/log/slurmctld.log and $run/log/slurmd.log" >&2
  exit 1
  ;;
esac
echo "SLURM_CONF=$conf"
