/**
 * Whether a process is still there, for tests that kill processes: from /proc, where a zombie
 * (dead, not yet reaped by its parent, or by nobody in a container without an init) still has
 * an entry but no longer runs.
 */
import { readFileSync } from 'node:fs';

/** True while the process exists and is not a zombie. */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
