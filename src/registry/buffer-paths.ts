/**
 * Where buffers appear on compute nodes. The CLI (`paths`) and dacd (which makes the paths
 * exist, itself or through a provider's Ansible inventory) must agree, so all compute them here
 * from `DAC_MOUNT_ROOT` (default `/mnt/dac`).
 * Paths end with `/`, as Cray's did, and hold nothing from user input but validated tokens.
 */
import { ConfigError } from '../errors/errors';

/** Default of `DAC_MOUNT_ROOT`. */
export const DEFAULT_MOUNT_ROOT = '/mnt/dac';

/** `DAC_MOUNT_ROOT` from the environment: an absolute path without a trailing slash. */
export function mountRootFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const value = env.DAC_MOUNT_ROOT ?? DEFAULT_MOUNT_ROOT;
  if (!/^\/[A-Za-z0-9._/-]*$/.test(value) || value.split('/').includes('..')) {
    throw new ConfigError(
      `DAC_MOUNT_ROOT="${value}" must be an absolute path of letters, digits, . _ - /`,
    );
  }
  return value.length > 1 ? value.replace(/\/+$/, '') : value;
}

/** The job buffer's shared namespace: `<root>/job/<token>/striped/`. */
export function jobStripedPath(mountRoot: string, token: string): string {
  return `${mountRoot}/job/${token}/striped/`;
}

/** The job buffer's per-node namespace: `<root>/job/<token>/private/`. */
export function jobPrivatePath(mountRoot: string, token: string): string {
  return `${mountRoot}/job/${token}/private/`;
}

/** A persistent buffer's shared namespace: `<root>/persistent/<name>/striped/`. */
export function persistentStripedPath(mountRoot: string, name: string): string {
  return `${mountRoot}/persistent/${name}/striped/`;
}
