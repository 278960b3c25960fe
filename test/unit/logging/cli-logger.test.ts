/** The CLI's logger writes pino lines at the enabled levels only, and nothing when it is off. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCliLogger } from '../../../src/logging/cli-logger';

describe('createCliLogger', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cli-logger-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const lines = (file: string) =>
    existsSync(file)
      ? readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as { level: number; msg: string; program: string })
      : [];

  it('writes info and above by default, and creates no file for a debug line', () => {
    const file = join(dir, 'dacctl.log');
    const log = createCliLogger('dacctl', { DAC_LOG_FILE: file });
    log.debug({ a: 1 }, 'quiet success');
    expect(existsSync(file)).toBe(false);
    log.warn({ b: 2 }, 'a warning');
    log.at('info', {}, 'done');
    expect(lines(file).map((l) => [l.level, l.msg, l.program])).toEqual([
      [40, 'a warning', 'dacctl'],
      [30, 'done', 'dacctl'],
    ]);
  });

  it('writes debug lines when DAC_LOG_LEVEL=debug', () => {
    const file = join(dir, 'debug.log');
    createCliLogger('dwstat', { DAC_LOG_FILE: file, DAC_LOG_LEVEL: 'debug' }).debug({}, 'seen');
    expect(lines(file).map((l) => l.msg)).toEqual(['seen']);
  });

  it('falls back to info for a level it does not know', () => {
    const file = join(dir, 'odd.log');
    const log = createCliLogger('dacctl', { DAC_LOG_FILE: file, DAC_LOG_LEVEL: 'constructor' });
    log.debug({}, 'hidden');
    log.info({}, 'shown');
    expect(lines(file).map((l) => l.msg)).toEqual(['shown']);
  });

  it('writes nothing with DAC_LOG_FILE=none', () => {
    const log = createCliLogger('dacctl', { DAC_LOG_FILE: 'none' });
    expect(() => log.error({}, 'nowhere')).not.toThrow();
    expect(existsSync(join(process.cwd(), 'none'))).toBe(false);
  });
});
