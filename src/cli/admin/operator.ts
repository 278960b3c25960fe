/**
 * Who runs an operator's command, for the records it changes ("drained by alice"): the user
 * behind sudo if any, else the process's own user.
 */
import { userInfo } from 'node:os';

export function operatorName(env: NodeJS.ProcessEnv): string {
  const sudo = env.SUDO_USER;
  let own: string;
  try {
    own = userInfo().username;
  } catch {
    own = `uid ${process.getuid?.() ?? '?'}`;
  }
  return sudo && sudo !== own ? `${sudo} (as ${own})` : own;
}
