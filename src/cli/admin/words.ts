/**
 * Which command lines are operators' commands (admin.ts), decided without loading them: the
 * Slurm functions must not pay for yargs.
 */

/** The first words of an operator's command; `pools` is also Slurm's `pools` function. */
export const ADMIN_WORDS = [
  'pools',
  'hosts',
  'bricks',
  'sessions',
  'df',
  'events',
  'metrics',
] as const;

/** What may follow `pools` in an operator's command; anything else is Slurm's function. */
const POOL_WORDS = ['list', 'show', 'remove', '--help', '-h'];

/** Whether `args` (as given, before Slurm's `--function` is taken off) is an operator's command. */
export function isAdminCommand(args: readonly string[]): boolean {
  const [first, second] = args;
  if (first === 'pools') return POOL_WORDS.includes(second ?? '');
  return (ADMIN_WORDS as readonly string[]).includes(first ?? '');
}
