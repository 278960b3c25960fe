#!/usr/bin/env bash
# The demo, from a fresh Debian bookworm machine with Node 20:
#   scripts/demo.sh          set up, start etcd and two dacd on loopback, show the pool, run a
#                            job buffer through every step Slurm drives (as user nobody), stop
#   scripts/demo.sh --keep   the same, but leave everything running (state in .run/demo)
#   scripts/demo.sh stop     stop what a --keep run started, by pid
# Everything it writes stays in .run/demo; it starts nothing outside it and edits no system file.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
run="$root/.run/demo"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

stop_all() {
  [ -d "$run/pids" ] || return 0
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

say "installing what is missing"
command -v etcd >/dev/null 2>&1 || {
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server >/dev/null
}
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

say "starting two brick host managers (dacd), 4 bricks of 100 GiB each"
for host in storage1 storage2; do
  DAC_HOST_NAME=$host DAC_POOL_NAME=default DAC_BRICK_COUNT=4 DAC_BRICK_CAPACITY_GB=100 \
    DAC_LOCAL_ROOT="$run/bricks" DAC_MOUNT_ROOT="$run/mnt" \
    DAC_LOG_FILE="$run/logs/dacd-$host.log" \
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

say "job_process, as sbatch runs it: a valid script, then one with mistakes"
cat >"$run/good-job.sh" <<'JOB'
#!/bin/bash
#SBATCH -N 1
#DW jobdw capacity=150GiB access_mode=striped type=scratch
#DW stage_in source=/home/alice/input.dat destination=$DW_JOB_STRIPED/input.dat type=file
#DW stage_out source=$DW_JOB_STRIPED/results destination=/home/alice/results type=directory
srun ./simulate
JOB
cat >"$run/bad-job.sh" <<'JOB'
#!/bin/bash
#DW jobdw capacity=1.5TB access_mode=stripped
#DW stage_in source=input.dat destination=$DW_JOB_STRIPED/input.dat type=file
JOB
for job in good-job.sh bad-job.sh; do
  echo "\$ dw_wlm_cli --function job_process --job $job"
  set +e
  "$root/bin/dw_wlm_cli" --function job_process --job "$run/$job"
  echo "(exit $?)"
  set -e
done

say "a job buffer's life, step by step as slurmctld drives it (job 1001 of user nobody)"
# The job's user reads the input and its buffer through these directories.
chmod 0755 "$run"
if ! runuser -u nobody -- test -x "$run"; then
  echo "user nobody cannot reach $run (a parent directory is private); clone the repository"
  echo "to a directory others can enter (e.g. /opt or /srv) to see staging as the job's user."
  exit 1
fi
mkdir -p "$run/alice/input/run1" "$run/alice/results"
echo "temperature,pressure" >"$run/alice/input/run1/params.csv"
head -c 1048576 /dev/urandom >"$run/alice/input/run1/mesh.bin"
chmod -R a+rX "$run/alice/input"
chown nobody:nogroup "$run/alice/results"
cat >"$run/job-1001.sh" <<JOB
#!/bin/bash
#SBATCH -N 2
#DW jobdw capacity=150GiB access_mode=striped,private type=scratch
#DW stage_in source=$run/alice/input destination=\$DW_JOB_STRIPED/input type=directory
#DW stage_out source=\$DW_JOB_STRIPED/output destination=$run/alice/results type=directory
srun ./simulate
JOB
printf 'node1\nnode2\n' >"$run/nodes-1001"
cli() {
  echo "\$ dw_wlm_cli --function $*"
  "$root/bin/dw_wlm_cli" --function "$@"
}
cli setup --token 1001 --caller SLURM --user 65534 --groupid 65534 --capacity default:150GiB \
  --job "$run/job-1001.sh"
cli data_in --token 1001 --job "$run/job-1001.sh"
cli real_size --token 1001
cli paths --token 1001 --job "$run/job-1001.sh" --pathfile "$run/paths-1001"
cat "$run/paths-1001"
cli pre_run --token 1001 --job "$run/job-1001.sh" --nodehostnamefile "$run/nodes-1001"
"$root/bin/dwstat" sessions
striped=$(sed -n 's/^DW_JOB_STRIPED=//p' "$run/paths-1001")
echo "-- the job runs as nobody: it finds its input in \$DW_JOB_STRIPED and writes its output there"
runuser -u nobody -- ls -ln "${striped}input/run1"
runuser -u nobody -- mkdir "${striped}output"
runuser -u nobody -- cp "${striped}input/run1/params.csv" "${striped}output/summary.csv"
cli post_run --token 1001 --job "$run/job-1001.sh"
cli data_out --token 1001 --job "$run/job-1001.sh"
echo "-- the staged-out results, owned by the job's user:"
ls -ln "$run/alice/results"
cli teardown --token 1001 --job "$run/job-1001.sh"
echo "-- the bricks are free again:"
"$root/bin/dwstat" pools

if $keep; then
  say "left running; ETCDCTL_ENDPOINTS=$ETCDCTL_ENDPOINTS; stop with: scripts/demo.sh stop"
fi
