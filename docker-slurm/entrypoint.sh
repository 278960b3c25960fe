#!/bin/bash
# Entrypoint of the docker-slurm image: the container's command names its role.
#
#   slurmctld [args]   munged, then slurmctld -D (runs dw_wlm_cli and dwstat as SlurmUser slurm)
#   slurmd [args]      munged, then slurmd -D -N <node name> (SLURMD_NODENAME, else the host name)
#   dacd               the brick host manager, configured by the DAC_* environment variables
#   <anything else>    run as a command (e.g. bash)
#
# The munge key: all Slurm containers mount the named volume `munge-key` at /etc/munge-key. The
# slurmctld container writes a random key there if there is none yet (atomically, by rename); the
# others wait for it. Each container then installs its own copy as /etc/munge/munge.key, owned by
# the munge user with mode 0400, as munged requires. dacd does not use Slurm and needs no munge.
set -euo pipefail

role=${1:-help}
[ $# -gt 0 ] && shift

shared_key=/etc/munge-key/munge.key
key_wait_seconds=${MUNGE_KEY_WAIT_SECONDS:-120}

say() { echo "entrypoint ($role): $*" >&2; }

make_shared_key() {
  [ -s "$shared_key" ] && return 0
  say "no munge key in the munge-key volume yet: making one"
  local temporary="$shared_key.$$.tmp"
  (umask 077 && dd if=/dev/urandom of="$temporary" bs=1024 count=1 status=none)
  mv -f "$temporary" "$shared_key"
}

wait_for_shared_key() {
  local waited=0
  until [ -s "$shared_key" ]; do
    if [ "$waited" -ge "$key_wait_seconds" ]; then
      say "no munge key appeared in $shared_key after ${key_wait_seconds}s (is slurmctld running?)"
      exit 1
    fi
    [ "$waited" -eq 0 ] && say "waiting for slurmctld to make the munge key"
    sleep 1
    waited=$((waited + 1))
  done
}

start_munged() {
  install -o munge -g munge -m 0400 "$shared_key" /etc/munge/munge.key
  install -d -o munge -g munge -m 0755 /run/munge
  # A restarted container keeps its file system: remove the last run's socket and pid file.
  rm -f /run/munge/munged.pid /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
  runuser -u munge -- /usr/sbin/munged
  local tries=0
  until munge -n </dev/null | unmunge >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 50 ]; then
      say "munged does not answer"
      exit 1
    fi
    sleep 0.1
  done
}

# Users' input and output (stage_in sources, stage_out destinations): like /tmp.
prepare_data() {
  if [ -d /data ]; then chmod 1777 /data; fi
}

case "$role" in
  slurmctld)
    make_shared_key
    start_munged
    prepare_data
    # SlurmUser (slurm) owns the state directory; the CLI, run as slurm, logs to /var/log/dac.
    install -d -o slurm -g slurm -m 0755 /var/lib/slurm/slurmctld /var/log/dac /run/slurm
    say "starting slurmctld (burst buffer CLI at ETCDCTL_ENDPOINTS=${ETCDCTL_ENDPOINTS:-unset})"
    exec /usr/sbin/slurmctld -D "$@"
    ;;
  slurmd)
    wait_for_shared_key
    start_munged
    prepare_data
    install -d -m 0755 /var/lib/slurm/slurmd /run/slurm
    node_name=${SLURMD_NODENAME:-$(hostname -s)}
    say "starting slurmd as node $node_name"
    exec /usr/sbin/slurmd -D -N "$node_name" "$@"
    ;;
  dacd)
    prepare_data
    install -d -m 0755 /var/log/dac "${DAC_LOCAL_ROOT:-/var/lib/dac/bricks}" \
      "${DAC_MOUNT_ROOT:-/mnt/dac}"
    say "starting dacd for host ${DAC_HOST_NAME:-$(hostname -s)}"
    exec /opt/dac/bin/dacd "$@"
    ;;
  help | --help | -h)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
