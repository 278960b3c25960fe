/**
 * etcd deadline for `job_process` and `paths`, which run inside slurmctld while it holds its
 * locks (ValidateTimeout, 5 s): an etcd that accepts connections but never answers must not
 * cost the whole default deadline (3 s) on every submission or launch. In a module of its own
 * because the early read (`early-read.ts`) uses it without loading the context.
 */
export const INLINE_ETCD_TIMEOUT_MS = 1000;
