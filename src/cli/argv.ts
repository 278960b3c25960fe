/**
 * Slurm calls `dw_wlm_cli --function <name> ...`; people call `dacctl <name> ...`. Both become
 * `<name> ...` for the command parser. argv[0] is never read (Slurm passes a literal name, and
 * for scripts the kernel replaces it).
 */
export function normaliseArgv(args: readonly string[]): string[] {
  const [first, second, ...rest] = args;
  if ((first === '--function' || first === '-f') && second !== undefined) return [second, ...rest];
  if (first?.startsWith('--function='))
    return [first.slice('--function='.length), ...args.slice(1)];
  return [...args];
}
