#!/usr/bin/env bash
# Install the built programs of this checkout, or remove them again.
#
#   scripts/install.sh              # install into /opt/dac (run npm ci && npm run build first)
#   scripts/install.sh --uninstall  # remove what the install put there; /etc/dac is kept
#
# What it installs: the programs with their production packages into the prefix (/opt/dac),
# links to the four wrappers in /usr/local/sbin (dacctl, dw_wlm_cli, dwstat, dacd), dacd's
# systemd unit in /etc/systemd/system, and /etc/dac/dacd.env, dacd's settings, unless one is
# there already (it is never overwritten or removed). An install over an earlier one replaces
# it. Every directory can be moved with an option (the tests install under a scratch directory):
#   --prefix DIR --sbin DIR --unit-dir DIR --config-dir DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

prefix=/opt/dac
sbin=/usr/local/sbin
unit_dir=/etc/systemd/system
config_dir=/etc/dac
action=install
die() { echo "install.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case $1 in
    --prefix | --sbin | --unit-dir | --config-dir)
      [ $# -ge 2 ] || die "$1 needs a directory"
      case $2 in /*) ;; *) die "$1 $2: give an absolute path" ;; esac
      case $1 in
        --prefix) prefix=$2 ;;
        --sbin) sbin=$2 ;;
        --unit-dir) unit_dir=$2 ;;
        --config-dir) config_dir=$2 ;;
      esac
      shift 2
      ;;
    --uninstall) action=uninstall; shift ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
prefix=${prefix%/}
programs=(dacctl dw_wlm_cli dwstat dacd)
manifest="$prefix/.dac-install"
systemd_running() { [ -d /run/systemd/system ] && [ "$unit_dir" = /etc/systemd/system ]; }

do_uninstall() {
  [ -e "$prefix" ] || { echo "nothing installed in $prefix"; return 0; }
  [ -f "$manifest" ] || die "$prefix was not made by this script (no $manifest); remove it by hand"
  if systemd_running && systemctl is-active --quiet dacd 2>/dev/null; then
    die "dacd is running: systemctl disable --now dacd first"
  fi
  while IFS= read -r path; do
    case $path in
      link:*)
        link=${path#link:}
        # Only links that still point into the prefix are ours.
        if [ -L "$link" ] && [ "$(readlink "$link")" = "$prefix/bin/$(basename "$link")" ]; then
          rm -f "$link"
        fi
        ;;
      unit:*) rm -f "${path#unit:}" ;;
    esac
  done < "$manifest"
  rm -rf "$prefix"
  if systemd_running; then systemctl daemon-reload; fi
  echo "removed $prefix, its links and dacd.service; kept $config_dir"
}

do_install() {
  [ -f "$root/dist/bundle/dacctl.js" ] && [ -f "$root/dist/dacd/main.js" ] ||
    die "$root is not built: run npm ci && npm run build there first"
  if [ -e "$prefix" ] && [ ! -f "$manifest" ]; then
    die "$prefix exists and was not made by this script; remove it or give another --prefix"
  fi
  command -v npm >/dev/null || die "npm is needed to list the production packages"
  stage="$prefix.new.$$"
  rm -rf "$stage"
  mkdir -p "$stage"
  trap 'rm -rf "$stage"' EXIT
  cp -a "$root/bin" "$root/dist" "$root/slurm" "$root/packaging" "$root/docs" \
    "$root/package.json" "$root/README.md" "$stage/"
  # The production packages only, as npm resolves them from the lock file (no download).
  local package
  (cd "$root" && npm ls --omit=dev --all --parseable) | while IFS= read -r package; do
    [ "$package" = "$root" ] && continue
    case $package in "$root"/node_modules/*) ;; *) die "unexpected package path $package" ;; esac
    mkdir -p "$stage/$(dirname "${package#"$root"/}")"
    cp -a "$package" "$stage/${package#"$root"/}"
  done
  [ -f "$stage/node_modules/pino/package.json" ] || die "the production packages were not copied"
  rm -f "$stage/dist/.tsbuildinfo"

  {
    for program in "${programs[@]}"; do echo "link:$sbin/$program"; done
    echo "unit:$unit_dir/dacd.service"
  } > "$stage/.dac-install"
  # Replace an earlier install in one step, as far as one directory can be.
  if [ -e "$prefix" ]; then
    mv "$prefix" "$prefix.old.$$"
    mv "$stage" "$prefix"
    rm -rf "$prefix.old.$$"
  else
    mkdir -p "$(dirname "$prefix")"
    mv "$stage" "$prefix"
  fi
  trap - EXIT

  mkdir -p "$sbin"
  for program in "${programs[@]}"; do
    ln -sfn "$prefix/bin/$program" "$sbin/$program"
  done
  mkdir -p "$unit_dir"
  sed "s#^ExecStart=/opt/dac/bin/dacd\$#ExecStart=$prefix/bin/dacd#" \
    "$root/packaging/systemd/dacd.service" > "$unit_dir/dacd.service"
  mkdir -p "$config_dir"
  if [ ! -e "$config_dir/dacd.env" ]; then
    install -m 0640 "$root/packaging/dacd.env" "$config_dir/dacd.env"
    echo "wrote $config_dir/dacd.env: set the etcd endpoints and this host's bricks there"
  fi
  if systemd_running; then systemctl daemon-reload; fi
  echo "installed $prefix; $sbin/{$(IFS=,; echo "${programs[*]}")}; $unit_dir/dacd.service"
}

"do_$action"
