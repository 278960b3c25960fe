#!/usr/bin/env bash
# The demo, from a fresh Debian bookworm machine with Node 20:
#   scripts/demo.sh          install what is missing, start etcd, two dacd, munged, slurmctld and
#                            slurmd on loopback, submit a burst-buffer job as user nobody, show it
#                            run, stop everything
#   scripts/demo.sh --keep   the same, but leave everything running (state in .run/demo)
#   scripts/demo.sh stop     stop what a --keep run started, by pid
# Runs as root (slurmd starts jobs as their users). Everything it writes stays in .run/demo; it
# starts no system service and edits no system file.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
run="$root/.run/demo"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

stop_all() {
  [ -d "$run/pids" ] || return 0
  [ -d "$run/slurm" ] && "$root/scripts/native-slurm.sh" stop "$run/slurm" || true
  # dacd first (it revokes its lease), then etcd.
  for name in dacd-storage1 dacd-storage2 etcd; do
    pidfile="$run/pids/$name"
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
  echo "stopped the demo's processes"
}

if [ "${1:-}" = "stop" ]; then stop_all; exit 0; fi
keep=false
[ "${1:-}" = "--keep" ] && keep=true

[ "$(id -u)" -eq 0 ] || { echo "run the demo as root (slurmd starts jobs as their users)"; exit 1; }
say "installing what is missing"
need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v munged >/dev/null 2>&1 || need+=(munge)
command -v slurmctld >/dev/null 2>&1 || need+=(slurmctld)
command -v slurmd >/dev/null 2>&1 || need+=(slurmd)
command -v sbatch >/dev/null 2>&1 || need+=(slurm-client)
dpkg -s slurm-wlm-basic-plugins >/dev/null 2>&1 || need+=(slurm-wlm-basic-plugins)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error
npm run --silent build

stop_all >/dev/null
rm -rf "$run"
mkdir -p "$run/pids" "$run/logs"
$keep || trap stop_all EXIT

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
client_port=$(free_port)
peer_port=$(free_port)
export ETCDCTL_ENDPOINTS="http://127.0.0.1:$client_port"

say "starting etcd on $ETCDCTL_ENDPOINTS"
etcd --name demo --data-dir "$run/etcd" \
  --listen-client-urls "$ETCDCTL_ENDPOINTS" --advertise-client-urls "$ETCDCTL_ENDPOINTS" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "demo=http://127.0.0.1:$peer_port" >"$run/logs/etcd.log" 2>&1 &
echo $! >"$run/pids/etcd"
for _ in $(seq 100); do
  curl_ok=$(node -e 'fetch(process.argv[1]+"/health").then(r=>r.json()).then(j=>console.log(j.health)).catch(()=>console.log("no"))' "$ETCDCTL_ENDPOINTS")
  [ "$curl_ok" = "true" ] && break
  sleep 0.2
done
[ "$curl_ok" = "true" ] || { echo "etcd did not start; see $run/logs/etcd.log"; exit 1; }

say "starting two brick host managers (dacd), 4 bricks of 100 GiB each, with metrics"
free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
}
for host in storage1 storage2; do
  port=$(free_port)
  echo "127.0.0.1:$port" >"$run/metrics-$host"
  DAC_HOST_NAME=$host DAC_POOL_NAME=default DAC_BRICK_COUNT=4 DAC_BRICK_CAPACITY_GB=100 \
    DAC_LOCAL_ROOT="$run/bricks" DAC_MOUNT_ROOT="$run/mnt" \
    DAC_LOG_FILE="$run/logs/dacd-$host.log" DAC_METRICS_ADDRESS="127.0.0.1:$port" \
    "$root/bin/dacd" >>"$run/logs/dacd-$host.out" 2>&1 &
  echo $! >"$run/pids/dacd-$host"
done

export DAC_LOG_FILE="$run/logs/dacctl.log"
# The CLI prints the job paths dacd makes: both must use the same mount root.
export DAC_MOUNT_ROOT="$run/mnt"
say "waiting until both hosts are registered and alive"
for _ in $(seq 50); do
  answer=$("$root/bin/dw_wlm_cli" --function pools || true)
  case "$answer" in *'"free":8'*) break ;; esac
  sleep 0.2
done

say "what Slurm sees: dw_wlm_cli --function pools"
echo "$answer"
case "$answer" in *'"free":8'*) ;; *) echo "the pool did not reach 8 free bricks"; exit 1 ;; esac

say "what operators see: dwstat and dwstat nodes"
"$root/bin/dwstat"
echo
"$root/bin/dwstat" nodes

say "starting Slurm on loopback: munged, slurmctld, slurmd (node1), burst_buffer/datawarp"
"$root/scripts/native-slurm.sh" start "$run/slurm" datawarp | tail -1
export SLURM_CONF="$run/slurm/etc/slurm.conf"
scontrol show burst

# The job's user (nobody) must reach the input, its buffer and the results.
chmod 0755 "$run"
if ! runuser -u nobody -- test -x "$run"; then
  echo "user nobody cannot reach $run (a parent directory is private); clone the repository"
  echo "to a directory others can enter (e.g. /opt or /srv) to run the demo."
  exit 1
fi
home="$run/home"
mkdir -p "$home/input/run1" "$home/results"
echo "temperature,pressure" >"$home/input/run1/params.csv"
head -c 1048576 /dev/urandom >"$home/input/run1/mesh.bin"
chown -R nobody:nogroup "$home"

say "sbatch refuses a job script with mistakes, with our one-line message"
cat >"$home/bad-job.sh" <<'JOB'
#!/bin/bash
#DW jobdw capacity=1.5TB access_mode=stripped
#DW stage_in source=input.dat destination=$DW_JOB_STRIPED/input.dat type=file
hostname
JOB
chown nobody:nogroup "$home/bad-job.sh"
echo "\$ sbatch bad-job.sh"
(cd "$home" && runuser -u nobody -- env SLURM_CONF="$SLURM_CONF" sbatch bad-job.sh) || true

say "submitting a job as user nobody: jobdw + stage_in + stage_out"
cat >"$home/job.sh" <<JOB
#!/bin/bash
#SBATCH --job-name=dac-demo
#DW jobdw capacity=150GiB access_mode=striped type=scratch
#DW stage_in source=$home/input destination=\$DW_JOB_STRIPED/input type=directory
#DW stage_out source=\$DW_JOB_STRIPED/output destination=$home/results type=directory
echo "running on \$(hostname) as \$(id -un); DW_JOB_STRIPED=\$DW_JOB_STRIPED"
ls -l "\$DW_JOB_STRIPED/input/run1"
mkdir "\$DW_JOB_STRIPED/output"
wc -c "\$DW_JOB_STRIPED/input/run1/mesh.bin" >"\$DW_JOB_STRIPED/output/summary.txt"
JOB
chown nobody:nogroup "$home/job.sh"
cat "$home/job.sh"
job=$(cd "$home" && runuser -u nobody -- env SLURM_CONF="$SLURM_CONF" sbatch --parsable -o "$home/job.out" job.sh)
echo "submitted job $job"

say "its progress (burst buffer state as Slurm sees it, and our session)"
last=""
for _ in $(seq 300); do
  line=$(scontrol show job "$job" | tr ' ' '\n' | grep -E '^(JobState|BurstBufferState|Reason)=' | tr '\n' ' ')
  if [ "$line" != "$last" ]; then echo "$line"; last=$line; fi
  case "$line" in *JobState=COMPLETED* | *JobState=FAILED* | *JobState=CANCELLED*)
    # Done once the buffer is torn down: our session for the job is gone.
    "$root/bin/dw_wlm_cli" --function show_sessions | grep -q "\"token\":\"$job\"" || break
    ;;
  esac
  sleep 0.5
done
echo "-- our sessions now (none: the buffer was torn down and its bricks freed):"
"$root/bin/dwstat" sessions

say "the job's output (it used \$DW_JOB_STRIPED)"
cat "$home/job.out"

say "the staged-out result, owned by the job's user"
ls -ln "$home/results"
cat "$home/results/summary.txt"

say "scontrol show burst, and scontrol show bbstat (our dwstat)"
scontrol show burst
scontrol show bbstat
scontrol show bbstat nodes

say "what each dacd counted (Prometheus metrics, GET /metrics on DAC_METRICS_ADDRESS)"
for host in storage1 storage2; do
  address=$(cat "$run/metrics-$host")
  echo "-- $host, http://$address/metrics:"
  node -e 'fetch(process.argv[1]).then((r) => r.text()).then((t) => console.log(t.split("\n").filter((l) => /^dac_(bricks|steps_total|staged_(bytes|files)_total|lease_renewals_total)/.test(l)).join("\n")))' \
    "http://$address/metrics"
done
echo "-- the whole system, from the registry (dacctl metrics):"
"$root/bin/dacctl" metrics | grep -E '^dac_(pool_bricks|hosts|cluster_sessions)'

if $keep; then
  say "left running; ETCDCTL_ENDPOINTS=$ETCDCTL_ENDPOINTS; stop with: scripts/demo.sh stop"
fi
