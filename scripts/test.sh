#!/usr/bin/env bash
# The whole test suite, from a fresh Debian bookworm machine with Node 20.
# Installs what the tests need (npm packages; Debian's etcd-server, openssl, ansible-core,
# lua5.1 and systemd when missing), type-checks, lints, runs jest against a private etcd, and ends with
# "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

need_debian=()
command -v etcd >/dev/null 2>&1 || need_debian+=(etcd-server)
command -v openssl >/dev/null 2>&1 || need_debian+=(openssl)
# Real Slurm for the end-to-end tests (test/e2e): munge, slurmctld, slurmd, clients, plugins.
command -v munged >/dev/null 2>&1 || need_debian+=(munge)
command -v slurmctld >/dev/null 2>&1 || need_debian+=(slurmctld)
command -v slurmd >/dev/null 2>&1 || need_debian+=(slurmd)
command -v sbatch >/dev/null 2>&1 || need_debian+=(slurm-client)
dpkg -s slurm-wlm-basic-plugins >/dev/null 2>&1 || need_debian+=(slurm-wlm-basic-plugins)
command -v ansible-playbook >/dev/null 2>&1 || need_debian+=(ansible-core)
command -v docker-compose >/dev/null 2>&1 || need_debian+=(docker-compose)
command -v lua5.1 >/dev/null 2>&1 || need_debian+=(lua5.1)
# dacd's unit file is checked with systemd-analyze, and its notifications go through
# systemd-notify (systemd need not be running).
command -v systemd-analyze >/dev/null 2>&1 || need_debian+=(systemd)
if [ ${#need_debian[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need_debian[*]}"
  as_root apt-get update -qq || exit 1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${need_debian[@]}" >/dev/null || exit 1
fi

npm ci --no-audit --no-fund --loglevel=error || exit 1

failed_checks=0
echo "== tsc --noEmit"
npx tsc -p tsconfig.json --noEmit || failed_checks=1
echo "== eslint"
npx eslint . || failed_checks=1
echo "== prettier --check"
npx prettier --check --log-level warn . || failed_checks=1
echo "== import layers and cycles"
node scripts/check-imports.js || failed_checks=1

echo "== jest"
mkdir -p "$root/.run"
results="$root/.run/jest-results.json"
solo_results="$root/.run/jest-results-solo.json"
rm -f "$results" "$solo_results"
if [ $# -gt 0 ]; then
  # A selection of tests (jest's own arguments): one run.
  npx jest --json --outputFile="$results" "$@"
  jest_status=$?
  node "$root/scripts/jest-summary.js" "$results"
else
  # test/solo/ holds the tests that need the machine to themselves (one loads it with a
  # hundred processes, the others measure failover in seconds): they run after the rest,
  # one at a time.
  npx jest --json --outputFile="$results" --testPathIgnorePatterns '/node_modules/' '<rootDir>/test/solo/'
  jest_status=$?
  echo "== jest, test/solo/ one at a time"
  npx jest --json --outputFile="$solo_results" --runInBand test/solo/
  [ $? -ne 0 ] && jest_status=1
  node "$root/scripts/jest-summary.js" "$results" "$solo_results"
fi
summary_status=$?
if [ $jest_status -ne 0 ] || [ $summary_status -ne 0 ] || [ $failed_checks -ne 0 ]; then
  [ $failed_checks -ne 0 ] && echo "type check, lint, format or import check failed (see above)" >&2
  exit 1
fi
