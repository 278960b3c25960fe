# Sourced by the wrappers in this folder with ENTRY set to a file under dist/, self to the
# wrapper's real path and, optionally, FLAGS to node options of its own. Slurm runs dw_wlm_cli
# every 30 s: no command here forks.
# Slurm execs the wrappers directly with a minimal PATH and no HOME, so node is found at an
# absolute path first (DAC_NODE overrides), and Node's warnings are turned off: Slurm reads
# stdout and stderr together as the answer.
here=${self%/*}
node=${DAC_NODE:-}
if [ -z "$node" ]; then
  for candidate in /usr/bin/node /usr/local/bin/node; do
    if [ -x "$candidate" ]; then node=$candidate; break; fi
  done
fi
if [ -z "$node" ]; then node=$(command -v node) || { echo "node not found; set DAC_NODE to its absolute path"; exit 127; }; fi
if [ ! -f "$here/../dist/$ENTRY" ]; then
  echo "dacctl is not built; run npm run build in $(dirname "$here")"
  exit 127
fi
NODE_NO_WARNINGS=1
export NODE_NO_WARNINGS
# FLAGS: node options of the wrapper (dacd keeps its young generation small).
exec "$node" --no-warnings ${FLAGS:-} "$here/../dist/$ENTRY" "$@"
