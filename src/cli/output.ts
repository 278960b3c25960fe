/**
 * Writing the answer. On Linux, writes to pipes and files from process.stdout are synchronous,
 * so setting `process.exitCode` (never calling process.exit) is enough for nothing to be lost.
 */

/** Print the answer (adds the final newline). */
export function printAnswer(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
