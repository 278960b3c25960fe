/**
 * Which command lines are operators' commands (admin.ts), decided without loading them: the
 * Slurm functions must not pay for yargs.
 */

/** The first words of an operator's command; `pools` alone is Slurm's `pools` function. */
export const ADMIN_WORDS = ['pools', 'hosts', 'bricks', 'sessions', 'df'] as const;

/** Whether `args` (as given, before Slurm's `--function` is taken off) is an operator's command. */
export function isAdminCommand(args: readonly string[]): boolean {
  const [first] = args;
  if (first === 'pools') return args.length > 1;
  return (ADMIN_WORDS as readonly string[]).includes(first ?? '');
}
