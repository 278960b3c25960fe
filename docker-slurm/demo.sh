#!/usr/bin/env bash
# The docker-slurm demo: a real Slurm 22.05 drives our burst buffers. Needs a Docker engine and
# `docker compose` (or docker-compose 1.29).
#   docker-slurm/demo.sh          build the image, start etcd, slurmctld, two compute nodes (c1, c2)
#                                 and three storage hosts (dac1-3), wait until Slurm sees the pool
#                                 and idle nodes, then run a job with a burst buffer as user demo
#                                 and show each step; the cluster is left running
#   docker-slurm/demo.sh logs [service...]   the containers' output
#   docker-slurm/demo.sh down     stop and remove the containers, their network and volumes
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
else
  echo "neither 'docker compose' nor 'docker-compose' is installed" >&2
  exit 1
fi
compose+=(-f "$here/docker-compose.yml")
# docker-compose 1.x builds with the classic builder, which ignores Dockerfile.dockerignore and
# sends the whole repository as the build context. Where BuildKit is there, use it instead.
if [ "${compose[0]}" = docker-compose ] && docker buildx version >/dev/null 2>&1; then
  export COMPOSE_DOCKER_CLI_BUILD=1 DOCKER_BUILDKIT=1
fi

# Commands in the slurmctld container, as root or as the job user demo (uid 1001).
ctl() { "${compose[@]}" exec -T slurmctld "$@"; }
as_demo() { "${compose[@]}" exec -T -u demo slurmctld "$@"; }

show_logs() {
  "${compose[@]}" ps || true
  "${compose[@]}" logs --tail=30 slurmctld dac1 || true
}

case "${1:-up}" in
  up) ;;
  down)
    "${compose[@]}" down --volumes --remove-orphans
    exit 0
    ;;
  logs)
    shift
    exec "${compose[@]}" logs "$@"
    ;;
  *)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac

say "building the image and starting the cluster"
"${compose[@]}" up -d --build

say "waiting until Slurm sees the burst-buffer pool (TotalSpace > 0) and both nodes are idle"
# slurmctld asks dw_wlm_cli for the pools at start and then every 30 s.
deadline=$((SECONDS + 300))
until burst=$(ctl scontrol show burst 2>/dev/null) && grep -q 'TotalSpace=[1-9]' <<<"$burst" &&
  [ "$(ctl sinfo -h -N -o '%t' 2>/dev/null | grep -c '^idle')" -ge 2 ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "the cluster did not come up within 300 s" >&2
    show_logs
    exit 1
  fi
  sleep 3
done

say "what Slurm sees: scontrol show burst, sinfo"
ctl scontrol show burst
ctl sinfo
say "what operators see: scontrol show bbstat (dwstat), scontrol show bbstat nodes"
ctl scontrol show bbstat
echo
ctl scontrol show bbstat nodes

say "user demo writes the job's input into /data/in"
as_demo bash -c 'rm -rf /data/in /data/out &&
  mkdir -p /data/in/run1 &&
  echo temperature,pressure >/data/in/run1/params.csv &&
  head -c 1048576 /dev/urandom >/data/in/run1/mesh.bin &&
  ls -lnR /data/in'

job=$(
  cat <<'JOB'
#!/bin/bash
#SBATCH --job-name=dac-demo
#SBATCH --nodes=1
#SBATCH --output=/data/demo-job-%j.out
#DW jobdw capacity=100GiB access_mode=striped type=scratch
#DW stage_in source=/data/in destination=$DW_JOB_STRIPED/in type=directory
#DW stage_out source=$DW_JOB_STRIPED/out destination=/data/out type=directory
echo "job $SLURM_JOB_ID on $(hostname) as $(id -un)"
echo "DW_JOB_STRIPED=$DW_JOB_STRIPED"
echo "-- the input, staged in by dacd:"
ls -lnR "$DW_JOB_STRIPED/in"
mkdir -p "$DW_JOB_STRIPED/out"
(cd "$DW_JOB_STRIPED/in" && sha256sum run1/*) >"$DW_JOB_STRIPED/out/checksums.txt"
cp "$DW_JOB_STRIPED/in/run1/params.csv" "$DW_JOB_STRIPED/out/summary.csv"
echo "-- the output, left in the buffer for stage-out:"
ls -ln "$DW_JOB_STRIPED/out"
sleep 10
JOB
)
bad_job=$(
  cat <<'JOB'
#!/bin/bash
#DW jobdw capacity=1.5TB access_mode=stripped
#DW stage_in source=input.dat destination=$DW_JOB_STRIPED/input.dat type=file
hostname
JOB
)
as_demo bash -c 'printf "%s\n" "$1" >/data/demo-job.sh && printf "%s\n" "$2" >/data/bad-job.sh' \
  _ "$job" "$bad_job"

say "sbatch runs dw_wlm_cli job_process: a script with mistakes is refused at once"
echo "\$ sbatch /data/bad-job.sh"
as_demo sbatch --chdir=/data /data/bad-job.sh || echo "(refused, exit $?)"

say "user demo submits the job: sbatch /data/demo-job.sh"
cat <<<"$job"
jobid=$(as_demo sbatch --parsable --chdir=/data /data/demo-job.sh)
jobid=${jobid%%;*}
jobid=${jobid//[!0-9]/}
echo "submitted job $jobid"
ctl squeue

say "job $jobid: setup, data_in, paths, pre_run, run, post_run, data_out, teardown"
last=''
shown_running=false
deadline=$((SECONDS + 600))
while :; do
  info=$(ctl scontrol show job "$jobid" 2>/dev/null || true)
  state=$(sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' <<<"$info" | head -n 1)
  reason=$(sed -n 's/.*Reason=\(.*\) Dependency=.*/\1/p' <<<"$info" | head -n 1)
  bb=$(sed -n 's/.*BurstBufferState=\([a-z-]*\).*/\1/p' <<<"$info" | head -n 1)
  line="JobState=$state Reason=$reason BurstBufferState=${bb:-none}"
  if [ "$line" != "$last" ]; then
    printf '%s  %s\n' "$(date +%T)" "$line"
    last=$line
  fi
  if [ "$state" = RUNNING ] && ! $shown_running; then
    shown_running=true
    ctl squeue
    echo "-- the job's buffer, as Slurm and as dwstat see it:"
    ctl scontrol show burst
    ctl scontrol show bbstat sessions
  fi
  case "$state" in
    COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE)
      case "$bb" in complete | '') break ;; esac
      ;;
    PENDING)
      case "$reason" in *burst_buffer*)
        echo "the burst buffer failed; the job is held" >&2
        echo "$info" >&2
        exit 1
        ;;
      esac
      ;;
  esac
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "job $jobid did not finish within 600 s" >&2
    echo "$info" >&2
    exit 1
  fi
  sleep 1
done
ctl scontrol show job "$jobid"

say "the job's output (/data/demo-job-$jobid.out)"
ctl cat "/data/demo-job-$jobid.out"

say "the staged-out result in /data/out, owned by demo (uid 1001)"
ctl ls -lnR /data/out
ctl cat /data/out/checksums.txt

say "the buffer is released: scontrol show burst, scontrol show bbstat"
ctl scontrol show burst
ctl scontrol show bbstat
echo
ctl scontrol show bbstat sessions

[ "$state" = COMPLETED ] || {
  echo "job $jobid ended in state $state" >&2
  exit 1
}
say "done; the cluster is still running"
echo "explore:  ${compose[*]} exec slurmctld bash   (then e.g. su demo, sbatch, scontrol show burst)"
echo "logs:     $0 logs slurmctld dac1"
echo "stop:     $0 down"
