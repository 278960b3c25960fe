/**
 * dacd as systemd runs it: the unit file passes `systemd-analyze verify`; a real dacd started
 * with a notify socket (a stand-in, notify-socket.pl) says READY=1 once it serves its host,
 * pings the watchdog while it runs and says STOPPING=1 on SIGTERM, each through the real
 * systemd-notify; with DAC_LOG_FILE=stdout it logs to its standard output (the journal).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DacdCluster } from '../../support/dacd-cluster';
import { DacdProcess } from '../../support/dacd-process';
import { NotifySocket } from '../../support/notify-socket';

const ROOT = join(__dirname, '..', '..', '..');
const UNIT = join(ROOT, 'packaging', 'systemd', 'dacd.service');

let cluster: DacdCluster | undefined;
let socket: NotifySocket | undefined;
afterAll(async () => {
  socket?.stop();
  await cluster?.stop();
});

it('the unit file passes systemd-analyze verify, with no warning', async () => {
  const c = (cluster ??= await DacdCluster.start('systemd', []));
  const unit = join(c.dir, 'dacd.service');
  // Installed, dacd is /opt/dac/bin/dacd; verify checks that ExecStart exists.
  const text = readFileSync(UNIT, 'utf8');
  expect(text).toContain('ExecStart=/opt/dac/bin/dacd\n');
  writeFileSync(unit, text.replace('/opt/dac/bin/dacd', join(ROOT, 'bin', 'dacd')));
  const run = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  expect({ status: run.status, output: run.stdout + run.stderr }).toEqual({
    status: 0,
    output: '',
  });
});

it('says READY=1 when it serves its host, pings the watchdog, and says STOPPING=1', async () => {
  const c = (cluster ??= await DacdCluster.start('systemd', []));
  socket = await NotifySocket.start(join(c.dir, 'notify.sock'));
  const dacd = await DacdProcess.start(
    {
      prefix: c.prefix,
      host: 'unit1',
      localRoot: join(c.dir, 'unit-bricks'),
      mountRoot: c.mountRoot,
      logFile: join(c.dir, 'unit.log'),
      env: { NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '400000' },
    },
    c.registry,
  );
  const ready = await socket.waitFor((m) => m.READY === '1');
  expect(ready).toEqual({
    READY: '1',
    STATUS: 'serving unit1: 2 bricks in pool default',
    MAINPID: String(dacd.pid),
  });
  // Every 200 ms: a few within a second.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect(socket.messages.filter((m) => m.WATCHDOG === '1').length).toBeGreaterThanOrEqual(3);
  expect(await dacd.stop()).toEqual({ code: 0, signal: null });
  expect(await socket.waitFor((m) => m.STOPPING === '1')).toMatchObject({
    STATUS: 'stopping (SIGTERM)',
  });
  const pings = socket.messages.filter((m) => m.WATCHDOG === '1').length;
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(socket.messages.filter((m) => m.WATCHDOG === '1').length).toBe(pings);
});

it('logs to its standard output with DAC_LOG_FILE=stdout, and the CLI refuses to', async () => {
  const logger = join(ROOT, 'dist', 'logging', 'logger.js');
  const script = (mustOpen: boolean) =>
    `require(${JSON.stringify(logger)}).createLogger('dacd', process.env, { mustOpen: ${mustOpen} })` +
    `.info({ a: 1 }, 'to the journal')`;
  const run = (mustOpen: boolean) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', script(mustOpen)], {
        env: { PATH: '/usr/bin:/bin', DAC_LOG_FILE: 'stdout' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.once('error', reject);
      child.once('exit', () => resolve(out));
    });
  const daemon = await run(true);
  expect(JSON.parse(daemon)).toMatchObject({ program: 'dacd', a: 1, msg: 'to the journal' });
  expect(await run(false)).toBe('');
});
