/**
 * The one top-level handler of every CLI program: runs a command, prints its answer or one
 * error line, sets the exit code, and logs details to the log file (never to stdout/stderr).
 */
import { EXIT, exitCodeFor, userMessage } from '../errors/exit-codes';
import { createCliLogger, type CliLogger } from '../logging/cli-logger';
import { checkLogLevel } from '../logging/log-level';
import { createContext, type CliContext } from './context';
import type { EarlyRead } from './early-read';
import { printAnswer } from './output';

/** A command's result: the answer to print (if any) and an optional non-zero exit code. */
export type CommandResult = string | undefined | { answer?: string; exitCode: number };

/** Run `command` as program `program`; never throws, never calls process.exit. */
export async function runCli(
  program: string,
  args: readonly string[],
  command: (context: CliContext, args: readonly string[]) => Promise<CommandResult>,
  early?: EarlyRead,
): Promise<void> {
  const log = createCliLogger(program);
  const context = createContext(log, process.env, early);
  const started = Date.now();
  log.debug({ args }, 'invoked');
  try {
    checkLogLevel(process.env);
    const result = await command(context, args);
    const { answer, exitCode } =
      typeof result === 'object' ? result : { answer: result, exitCode: EXIT.ok };
    if (answer !== undefined) printAnswer(answer);
    process.exitCode = exitCode;
    log.at(context.successLogLevel, { args, exitCode, ms: Date.now() - started }, 'done');
  } catch (error) {
    const exitCode = exitCodeFor(error);
    log.error({ args, err: error, exitCode, ms: Date.now() - started }, 'failed');
    printAnswer(userMessage(error));
    process.exitCode = exitCode;
  } finally {
    await context.close().catch((error: unknown) => log.warn({ err: error }, 'close failed'));
  }
  exitSoon(log);
}

/**
 * The answer is written (synchronously: stdout is a pipe or file) and connections are closed,
 * so the process should end now. If a library still holds a handle (the etcd client can leave
 * a reconnect timer or stream behind), end it shortly anyway: Slurm waits for EOF, and a
 * lingering CLI would hold the step until Slurm's timeout.
 */
function exitSoon(log: CliLogger): void {
  setTimeout(() => {
    const handles = (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles();
    log.warn(
      { handles: handles.map((h) => h.constructor.name) },
      'still running after the answer; exiting',
    );
    process.exit();
  }, 250).unref();
}
