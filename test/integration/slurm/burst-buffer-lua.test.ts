/**
 * slurm/burst_buffer.lua (contract §7) run by Debian's lua5.1 through test/support/lua-harness.lua,
 * the way Slurm 22.05's burst_buffer/lua plugin calls it: a fake CLI records the exact argv of
 * every function, hostile arguments reach it unchanged, exit statuses and time limits become
 * slurm.ERROR with one line; then the real CLI against the test etcd. Also checks that the
 * burst_buffer.conf files use only keys Slurm 22.05 accepts (§6).
 */
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EtcdKeystore } from '../../../src/keystore/etcd-keystore';
import type { Registry } from '../../../src/registry/registry';
import { BIN, runBinary } from '../../support/cli';
import { addHosts, openRegistry } from '../../support/registry-fixture';

const ROOT = join(__dirname, '..', '..', '..');
const SCRIPT = join(ROOT, 'slurm', 'burst_buffer.lua');
const HARNESS = join(ROOT, 'test', 'support', 'lua-harness.lua');
const GiB = 1024n ** 3n;

/** What the harness reports about one call. */
interface LuaCall {
  /** Number of values the function returned. */
  count: number;
  rc: string;
  rcType: string;
  messageType: string;
  /** The second returned value, raw. */
  message: string;
  /** slurm.log_* calls as `level:text`. */
  logs: string[];
  /** Anything else the interpreter printed (a Lua error). */
  other: string;
  code: number | null;
  elapsedMs: number;
}

/** Records argv one per line, copies a --nodehostnamefile, then sleeps, prints and exits. */
const FAKE_PROGRAM = `#!/bin/sh
: > "$FAKE_DIR/argv"
for word in "$@"; do printf '%s\\n' "$word" >> "$FAKE_DIR/argv"; done
previous=
for word in "$@"; do
  if [ "$previous" = --nodehostnamefile ]; then
    cp "$word" "$FAKE_DIR/nodes"
    printf '%s' "$word" > "$FAKE_DIR/nodes-path"
  fi
  previous=$word
done
if [ -n "\${FAKE_SLEEP:-}" ]; then sleep "$FAKE_SLEEP"; touch "$FAKE_DIR/woke"; fi
printf '%s' "\${FAKE_OUTPUT:-}"
exit "\${FAKE_EXIT:-0}"
`;

/** scontrol as pre_run uses it: `show job <id>` and `show hostnames <list>`. */
const FAKE_SCONTROL = `#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_DIR/scontrol-calls"
case "$1 $2" in
  "show job")
    printf 'JobId=%s JobName=bb\\n   UserId=alice(1001) GroupId=alice(1001) MCS_label=N/A\\n' "$3"
    printf '   ReqNodeList=(null) ExcNodeList=(null)\\n   NodeList=%s\\n   BatchHost=node1\\n' \\
      "\${FAKE_NODELIST-node[1-2]}"
    ;;
  "show hostnames")
    if [ "$3" = 'node[1-2]' ]; then printf 'node1\\nnode2\\n'; else echo "bad list $3"; exit 1; fi
    ;;
  *) echo "unexpected: $*"; exit 1 ;;
esac
`;

function parseHarness(stdout: string): Omit<LuaCall, 'code' | 'elapsedMs'> {
  const marker = stdout.indexOf('message:\n');
  const head = marker < 0 ? stdout : stdout.slice(0, marker);
  const fields = new Map<string, string>();
  const logs: string[] = [];
  const other: string[] = [];
  for (const line of head.split('\n').filter((l) => l !== '')) {
    const match = /^(count|rc|rctype|msgtype|log)=(.*)$/.exec(line);
    if (!match) other.push(line);
    else if (match[1] === 'log') logs.push(match[2]!);
    else fields.set(match[1]!, match[2]!);
  }
  return {
    count: Number(fields.get('count') ?? NaN),
    rc: fields.get('rc') ?? '',
    rcType: fields.get('rctype') ?? '',
    messageType: fields.get('msgtype') ?? '',
    message: marker < 0 ? '' : stdout.slice(marker + 'message:\n'.length),
    logs,
    other: other.join('\n'),
  };
}

/** Run `fn(...args)` of burst_buffer.lua in a fresh lua5.1 with `env` only. */
function callLua(fn: string, args: string[], env: NodeJS.ProcessEnv): Promise<LuaCall> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('lua5.1', [HARNESS, SCRIPT, fn, ...args], {
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const parsed = parseHarness(stdout);
      resolve({
        ...parsed,
        other: [parsed.other, stderr].filter((s) => s !== '').join('\n'),
        code,
        elapsedMs: Date.now() - started,
      });
    });
  });
}

const succeeded = (call: LuaCall) =>
  expect({ rc: call.rc, count: call.count, other: call.other }).toEqual({
    rc: '0',
    count: 1,
    other: '',
  });

const failedWith = (call: LuaCall, message: string) =>
  expect({ rc: call.rc, count: call.count, type: call.messageType, message: call.message }).toEqual(
    { rc: '-1', count: 2, type: 'string', message },
  );

describe('burst_buffer.lua with a fake CLI', () => {
  let suiteDir: string;
  /** The directory of the current test: the fake programs write their records here. */
  let caseDir: string;
  let fakeCli: string;
  let fakeDwstat: string;

  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    PATH: `${join(suiteDir, 'bin')}:/usr/sbin:/usr/bin:/sbin:/bin`,
    DAC_BB_CLI: fakeCli,
    DAC_BB_DWSTAT: fakeDwstat,
    FAKE_DIR: caseDir,
    ...extra,
  });

  const call = (fn: string, args: string[], extra: NodeJS.ProcessEnv = {}) =>
    callLua(fn, args, env(extra));

  /** The argv the fake CLI received, or undefined if it was not run. */
  const cliArgv = (): string[] | undefined => {
    const path = join(caseDir, 'argv');
    if (!existsSync(path)) return undefined;
    return readFileSync(path, 'utf8').split('\n').slice(0, -1);
  };

  const script = (name = 'script') => join(caseDir, name);

  beforeAll(() => {
    suiteDir = mkdtempSync(join(tmpdir(), 'bb-lua-'));
    mkdirSync(join(suiteDir, 'bin'));
    fakeCli = join(suiteDir, 'dacctl');
    fakeDwstat = join(suiteDir, 'dwstat');
    for (const [path, text] of [
      [fakeCli, FAKE_PROGRAM],
      [fakeDwstat, FAKE_PROGRAM],
      [join(suiteDir, 'bin', 'scontrol'), FAKE_SCONTROL],
    ] as const) {
      writeFileSync(path, text);
      chmodSync(path, 0o755);
    }
  });

  let caseNumber = 0;
  beforeEach(() => {
    caseNumber += 1;
    caseDir = join(suiteDir, `case-${caseNumber}`);
    mkdirSync(caseDir);
  });

  afterAll(() => {
    rmSync(suiteDir, { recursive: true, force: true });
  });

  it('defines every function Slurm 22.05 requires', async () => {
    const run = await callLua('--missing', [], env());
    expect(run.other).toBe('');
    expect(run.code).toBe(0);
  });

  describe('passes each function exactly the arguments of the datawarp plugin', () => {
    it('job_process: --job <script>', async () => {
      succeeded(await call('slurm_bb_job_process', [script()]));
      expect(cliArgv()).toEqual(['--function', 'job_process', '--job', script()]);
    });

    it('job_process ignores the uid and gid later Slurm versions add', async () => {
      succeeded(await call('slurm_bb_job_process', [script(), '1001', '1001']));
      expect(cliArgv()).toEqual(['--function', 'job_process', '--job', script()]);
    });

    it('pools: no arguments', async () => {
      await call('slurm_bb_pools', [], { FAKE_OUTPUT: '{"pools":[]}' });
      expect(cliArgv()).toEqual(['--function', 'pools']);
    });

    it('setup: the default pool for "(null)"', async () => {
      succeeded(
        await call('slurm_bb_setup', ['42', '1001', '1002', '(null)', '1073741824', script()]),
      );
      expect(cliArgv()).toEqual([
        '--function',
        'setup',
        '--token',
        '42',
        '--caller',
        'SLURM',
        '--user',
        '1001',
        '--groupid',
        '1002',
        '--capacity',
        'default:1073741824',
        '--job',
        script(),
      ]);
    });

    it('setup: DAC_BB_DEFAULT_POOL, and a pool the job named', async () => {
      await call('slurm_bb_setup', ['42', '1001', '1002', '(null)', '0', script()], {
        DAC_BB_DEFAULT_POOL: 'wlm_pool',
      });
      expect(cliArgv()).toContain('wlm_pool:0');
      await call('slurm_bb_setup', ['42', '1001', '1002', 'fast', '9007199254740993', script()]);
      expect(cliArgv()).toContain('fast:9007199254740993');
    });

    it('data_in, post_run, data_out: --token <id> --job <script>', async () => {
      for (const name of ['data_in', 'post_run', 'data_out']) {
        succeeded(await call(`slurm_bb_${name}`, ['42', script(), '1001', '1002']));
        expect(cliArgv()).toEqual(['--function', name, '--token', '42', '--job', script()]);
      }
    });

    it('teardown: --hurry only when hurry is "true"', async () => {
      succeeded(await call('slurm_bb_job_teardown', ['42', script(), 'false']));
      expect(cliArgv()).toEqual(['--function', 'teardown', '--token', '42', '--job', script()]);
      succeeded(await call('slurm_bb_job_teardown', ['42', script(), 'true', '1001', '1002']));
      expect(cliArgv()).toEqual([
        '--function',
        'teardown',
        '--token',
        '42',
        '--job',
        script(),
        '--hurry',
      ]);
    });

    it('real_size: --token <id>', async () => {
      await call('slurm_bb_real_size', ['42'], {
        FAKE_OUTPUT: '{"token":"42","capacity":1,"units":"bytes"}',
      });
      expect(cliArgv()).toEqual(['--function', 'real_size', '--token', '42']);
    });

    it('paths: --job <script> --token <id> --pathfile <file>', async () => {
      const pathFile = join(caseDir, 'path');
      succeeded(await call('slurm_bb_paths', ['42', script(), pathFile]));
      expect(cliArgv()).toEqual([
        '--function',
        'paths',
        '--job',
        script(),
        '--token',
        '42',
        '--pathfile',
        pathFile,
      ]);
    });

    it('pre_run: the job nodes from scontrol in a node file, removed afterwards', async () => {
      succeeded(await call('slurm_bb_pre_run', ['42', script()]));
      const nodeFile = readFileSync(join(caseDir, 'nodes-path'), 'utf8');
      expect(cliArgv()).toEqual([
        '--function',
        'pre_run',
        '--token',
        '42',
        '--job',
        script(),
        '--nodehostnamefile',
        nodeFile,
      ]);
      expect(readFileSync(join(caseDir, 'nodes'), 'utf8')).toBe('node1\nnode2\n');
      expect(existsSync(nodeFile)).toBe(false);
      expect(readFileSync(join(caseDir, 'scontrol-calls'), 'utf8')).toBe(
        'show job 42\nshow hostnames node[1-2]\n',
      );
    });

    it('pre_run: a job without nodes fails without calling the CLI', async () => {
      const run = await call('slurm_bb_pre_run', ['42', script()], { FAKE_NODELIST: '(null)' });
      failedWith(run, 'pre_run: job 42 has no nodes allocated');
      expect(cliArgv()).toBeUndefined();
    });

    it('pre_run: a failed scontrol is the message', async () => {
      const run = await call('slurm_bb_pre_run', ['42', script()], {
        FAKE_NODELIST: 'other[1-3]',
      });
      failedWith(
        run,
        'pre_run: cannot expand the node list other[1-3] of job 42: bad list other[1-3]',
      );
      expect(cliArgv()).toBeUndefined();
    });

    it('get_status: dwstat with the scontrol arguments, its text returned as is', async () => {
      const table = 'pool units quantity free gran\ndefault bytes 4GiB 4GiB 1GiB\n';
      const run = await call('slurm_bb_get_status', ['sessions', 'a b'], { FAKE_OUTPUT: table });
      expect({ rc: run.rc, message: run.message }).toEqual({ rc: '0', message: table });
      expect(cliArgv()).toEqual(['sessions', 'a b']);
    });
  });

  describe('quoting', () => {
    it('a hostile job script path reaches the CLI as one unchanged argument', async () => {
      const pwned = join(caseDir, 'pwned');
      const hostile = `${caseDir}/job'$(touch ${pwned})'; touch ${pwned}2 \`touch ${pwned}3\` "x" \\ $HOME.sh`;
      for (const [fn, args, at] of [
        ['slurm_bb_job_process', [hostile], 3],
        ['slurm_bb_setup', ['42', '1001', '1001', '(null)', '0', hostile], 13],
        ['slurm_bb_data_in', ['42', hostile], 5],
        ['slurm_bb_paths', ['42', hostile, hostile], 3],
        ['slurm_bb_job_teardown', ['42', hostile, 'true'], 5],
      ] as const) {
        succeeded(await call(fn, [...args]));
        expect(cliArgv()?.[at]).toBe(hostile);
      }
      expect(existsSync(pwned)).toBe(false);
      expect(existsSync(`${pwned}2`)).toBe(false);
      expect(existsSync(`${pwned}3`)).toBe(false);
    });

    it('a hostile pool name and status arguments are passed unchanged too', async () => {
      const pwned = join(caseDir, 'pwned');
      const pool = `p'$(touch ${pwned})'`;
      succeeded(await call('slurm_bb_setup', ['42', '1001', '1001', pool, '1024', script()]));
      expect(cliArgv()).toContain(`${pool}:1024`);
      await call('slurm_bb_get_status', [`'; touch ${pwned}; '`, '$(id)']);
      expect(cliArgv()).toEqual([`'; touch ${pwned}; '`, '$(id)']);
      expect(existsSync(pwned)).toBe(false);
    });
  });

  describe('exit status and message', () => {
    it('exit 0: slurm.SUCCESS and nothing else', async () => {
      const run = await call('slurm_bb_data_in', ['42', script()], { FAKE_OUTPUT: '' });
      succeeded(run);
      expect(run.messageType).toBe('nil');
    });

    it('exit 1: slurm.ERROR with the CLI line', async () => {
      const line = 'line 2 (#DW jobdw): capacity=1.5GiB: fractional sizes are not supported';
      const run = await call('slurm_bb_job_process', [script()], {
        FAKE_OUTPUT: `${line}\n`,
        FAKE_EXIT: '1',
      });
      failedWith(run, line);
      expect(run.logs.some((l) => l.startsWith('error:') && l.includes('exit status 1'))).toBe(
        true,
      );
    });

    it('exit 3: slurm.ERROR, several lines joined into one', async () => {
      const run = await call('slurm_bb_setup', ['42', '1', '1', 'p', '0', script()], {
        FAKE_OUTPUT: '  etcd unreachable (127.0.0.1:1)\n  try again later\n',
        FAKE_EXIT: '3',
      });
      failedWith(run, 'etcd unreachable (127.0.0.1:1); try again later');
    });

    it('a failure without output names the function and the status', async () => {
      const run = await call('slurm_bb_post_run', ['42', script()], { FAKE_EXIT: '4' });
      failedWith(run, 'dacctl post_run failed with exit status 4');
    });

    it('output with a percent sign is logged and returned intact', async () => {
      const run = await call('slurm_bb_data_out', ['42', script()], {
        FAKE_OUTPUT: 'cannot copy /home/a/out_%j: 100% full',
        FAKE_EXIT: '1',
      });
      failedWith(run, 'cannot copy /home/a/out_%j: 100% full');
    });

    it('a missing CLI is a failure with the shell message', async () => {
      const run = await call('slurm_bb_data_in', ['42', script()], {
        DAC_BB_CLI: join(caseDir, 'no-such-cli'),
      });
      expect(run.rc).toBe('-1');
      expect(run.message).toContain('no-such-cli');
    });

    it('teardown of an unknown token succeeds, even with a non-zero exit', async () => {
      const text = 'No matching session for token 42 (token not found)\n';
      succeeded(
        await call('slurm_bb_job_teardown', ['42', script(), 'false'], { FAKE_OUTPUT: text }),
      );
      succeeded(
        await call('slurm_bb_job_teardown', ['42', script(), 'true'], {
          FAKE_OUTPUT: text,
          FAKE_EXIT: '1',
        }),
      );
      failedWith(
        await call('slurm_bb_job_teardown', ['42', script(), 'true'], {
          FAKE_OUTPUT: 'etcd unreachable',
          FAKE_EXIT: '3',
        }),
        'etcd unreachable',
      );
    });
  });

  describe('answers', () => {
    it('real_size returns a big capacity as the same digits', async () => {
      const run = await call('slurm_bb_real_size', ['42'], {
        FAKE_OUTPUT: '{"token":"42","capacity":9007199254740993,"units":"bytes"}\n',
      });
      expect({ rc: run.rc, type: run.messageType, message: run.message }).toEqual({
        rc: '0',
        type: 'string',
        message: '9007199254740993',
      });
    });

    it('real_size tolerates spaces and fails on an answer without capacity', async () => {
      const spaced = await call('slurm_bb_real_size', ['42'], {
        FAKE_OUTPUT: '{"token": "42", "capacity": 123456789012345678, "units": "bytes"}',
      });
      expect(spaced.message).toBe('123456789012345678');
      failedWith(
        await call('slurm_bb_real_size', ['42'], { FAKE_OUTPUT: '{"token":"42"}' }),
        'real_size: no capacity in the answer: {"token":"42"}',
      );
    });

    it('real_size: a CLI failure is slurm.ERROR', async () => {
      failedWith(
        await call('slurm_bb_real_size', ['42'], {
          FAKE_OUTPUT: 'No matching session for token 42',
          FAKE_EXIT: '1',
        }),
        'No matching session for token 42',
      );
    });

    it('pools returns the JSON verbatim', async () => {
      const json =
        '{"pools":[{"id":"default","units":"bytes","granularity":1073741824,"quantity":4,"free":3}]}\n';
      const run = await call('slurm_bb_pools', [], { FAKE_OUTPUT: json });
      expect({ rc: run.rc, count: run.count, message: run.message }).toEqual({
        rc: '0',
        count: 2,
        message: json,
      });
    });

    it('pools fails on an error or an empty answer', async () => {
      failedWith(
        await call('slurm_bb_pools', [], { FAKE_OUTPUT: 'etcd unreachable\n', FAKE_EXIT: '3' }),
        'etcd unreachable',
      );
      failedWith(await call('slurm_bb_pools', []), 'dacctl pools printed nothing');
    });
  });

  describe('time limits', () => {
    it('an inline call that hangs is stopped and reported', async () => {
      const run = await call('slurm_bb_job_process', [script()], {
        FAKE_SLEEP: '3',
        DAC_BB_INLINE_TIMEOUT: '1',
      });
      failedWith(run, 'dacctl job_process timed out after 1 s');
      expect(run.elapsedMs).toBeLessThan(2900);
      // The CLI was killed, not left running: it never gets to the end of its sleep.
      await new Promise((resolve) => setTimeout(resolve, 3500 - run.elapsedMs));
      expect(existsSync(join(caseDir, 'woke'))).toBe(false);
    });

    it('the inline limit is at most 4 s', async () => {
      const run = await call('slurm_bb_paths', ['42', script(), join(caseDir, 'path')], {
        FAKE_SLEEP: '20',
        DAC_BB_INLINE_TIMEOUT: '60',
      });
      failedWith(run, 'dacctl paths timed out after 4 s');
      expect(run.elapsedMs).toBeLessThan(9000);
      expect(run.logs).toContain(
        'error:burst_buffer.lua: DAC_BB_INLINE_TIMEOUT=60 is above 4 s; using 4',
      );
    });

    it('the other calls have their own limits', async () => {
      failedWith(
        await call('slurm_bb_setup', ['42', '1', '1', 'p', '0', script()], {
          FAKE_SLEEP: '20',
          DAC_BB_OTHER_TIMEOUT: '1',
        }),
        'dacctl setup timed out after 1 s',
      );
      failedWith(
        await call('slurm_bb_data_in', ['42', script()], {
          FAKE_SLEEP: '20',
          DAC_BB_STAGE_IN_TIMEOUT: '0.5',
        }),
        'dacctl data_in timed out after 0.5 s',
      );
    });
  });

  describe('invalid arguments', () => {
    it('a job id that is not a number is slurm.ERROR, and the CLI is not run', async () => {
      for (const [fn, args] of [
        ['slurm_bb_setup', ['42; id', '1', '1', 'p', '0', script()]],
        ['slurm_bb_data_in', ['', script()]],
        ['slurm_bb_real_size', ['-1']],
        ['slurm_bb_paths', ['4 2', script(), 'x']],
        ['slurm_bb_pre_run', ['abc', script()]],
        ['slurm_bb_post_run', ['1e3', script()]],
        ['slurm_bb_data_out', ['0x10', script()]],
        ['slurm_bb_job_teardown', ['$(id)', script(), 'true']],
      ] as const) {
        const run = await call(fn, [...args]);
        expect(run.rc).toBe('-1');
        expect(run.message).toMatch(/: invalid job id "/);
      }
      expect(cliArgv()).toBeUndefined();
    });

    it('setup checks the uid, gid and size', async () => {
      failedWith(
        await call('slurm_bb_setup', ['42', 'root', '1', 'p', '0', script()]),
        'setup: invalid user id "root"',
      );
      failedWith(
        await call('slurm_bb_setup', ['42', '1', '-1', 'p', '0', script()]),
        'setup: invalid group id "-1"',
      );
      failedWith(
        await call('slurm_bb_setup', ['42', '1', '1', 'p', '1e9', script()]),
        'setup: invalid size "1e9"',
      );
      expect(cliArgv()).toBeUndefined();
    });
  });
});

describe('burst_buffer.lua with the real CLI', () => {
  let store: EtcdKeystore;
  let registry: Registry;
  let prefix: string;
  let dir: string;

  const call = (fn: string, args: string[]) =>
    callLua(fn, args, {
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      DAC_BB_CLI: join(BIN, 'dacctl'),
      ETCDCTL_ENDPOINTS: process.env.ETCDCTL_ENDPOINTS,
      DAC_ETCD_PREFIX: prefix,
      DAC_LOG_FILE: 'none',
    });

  beforeAll(async () => {
    const fixture = openRegistry('bb-lua');
    ({ store, registry, prefix } = fixture);
    await addHosts(fixture, {
      pool: 'default',
      granularity: GiB,
      hosts: ['storage1'],
      bricksPerHost: 4,
    });
    dir = mkdtempSync(join(tmpdir(), 'bb-lua-real-'));
  });

  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('slurm_bb_pools returns what dacctl pools prints', async () => {
    const run = await call('slurm_bb_pools', []);
    const direct = await runBinary('dacctl', ['pools'], { prefix });
    expect(direct.code).toBe(0);
    expect({ rc: run.rc, message: run.message }).toEqual({ rc: '0', message: direct.stdout });
    expect(JSON.parse(run.message)).toEqual({
      pools: [{ id: 'default', units: 'bytes', granularity: 1073741824, quantity: 4, free: 4 }],
    });
  });

  it('slurm_bb_job_process accepts a good script and rejects a bad one with its line', async () => {
    const good = join(dir, 'good');
    writeFileSync(good, '#!/bin/bash\n#DW jobdw capacity=1GiB pool=default\nsrun ./app\n\0', {
      mode: 0o700,
    });
    succeeded(await call('slurm_bb_job_process', [good]));

    const bad = join(dir, 'bad');
    writeFileSync(bad, '#!/bin/bash\n#DW jobdw capacity=1.5GiB pool=default\nsrun ./app\n\0', {
      mode: 0o700,
    });
    const direct = await runBinary('dacctl', ['job_process', '--job', bad], { prefix });
    expect(direct.code).toBe(1);
    const run = await call('slurm_bb_job_process', [bad]);
    failedWith(run, direct.output.trim());
    expect(run.message).toContain('line 2');
  });

  it('slurm_bb_real_size reports the allocated bytes', async () => {
    await registry.createSession({
      token: '4242',
      kind: 'job',
      owner: { uid: 1001, gid: 1001 },
      pool: 'default',
      requestedBytes: GiB + 1n,
    });
    const run = await call('slurm_bb_real_size', ['4242']);
    expect({ rc: run.rc, message: run.message }).toEqual({ rc: '0', message: String(2n * GiB) });
  });

  it('slurm_bb_job_teardown of an unknown job succeeds', async () => {
    succeeded(await call('slurm_bb_job_teardown', ['999999', join(dir, 'none'), 'true']));
  });
});

describe('burst_buffer.conf files', () => {
  /** Keys Slurm 22.05 accepts in burst_buffer.conf (contract §6); any other is fatal. */
  const ACCEPTED = new Set(
    [
      'AllowUsers',
      'CreateBuffer',
      'DefaultPool',
      'DenyUsers',
      'DestroyBuffer',
      'Directive',
      'Flags',
      'GetSysState',
      'GetSysStatus',
      'Granularity',
      'OtherTimeout',
      'Pools',
      'StageInTimeout',
      'StageOutTimeout',
      'StartStageIn',
      'StartStageOut',
      'StopStageIn',
      'StopStageOut',
      'ValidateTimeout',
    ].map((k) => k.toLowerCase()),
  );
  const FLAGS = [
    'EnablePersistent',
    'DisablePersistent',
    'TeardownFailure',
    'PrivateData',
    'EmulateCray',
  ];

  function settings(name: string): Map<string, string> {
    const text = readFileSync(join(ROOT, 'slurm', name), 'utf8');
    const map = new Map<string, string>();
    for (const raw of text.split('\n')) {
      const line = raw.replace(/#.*$/, '').trim();
      if (line === '') continue;
      const match = /^([A-Za-z]+)=(\S+)$/.exec(line);
      expect(match).not.toBeNull();
      const key = match![1]!.toLowerCase();
      expect(ACCEPTED.has(key) ? key : `unknown key ${key}`).toBe(key);
      expect(map.has(key)).toBe(false);
      map.set(key, match![2]!);
    }
    for (const flag of (map.get('flags') ?? '').split(',').filter((f) => f !== '')) {
      expect(FLAGS).toContain(flag);
    }
    for (const key of ['validatetimeout', 'othertimeout', 'stageintimeout', 'stageouttimeout']) {
      if (map.has(key)) expect(map.get(key)).toMatch(/^[1-9][0-9]*$/);
    }
    return map;
  }

  it('datawarp: our CLI and dwstat, the default pool, persistent buffers', () => {
    const conf = settings('burst_buffer.conf.datawarp');
    expect(conf.get('getsysstate')).toBe('/usr/local/sbin/dw_wlm_cli');
    expect(conf.get('getsysstatus')).toBe('/usr/local/sbin/dwstat');
    expect(conf.get('defaultpool')).toBe('default');
    expect(conf.get('flags')!.split(',').sort()).toEqual(['EnablePersistent', 'TeardownFailure']);
    expect(conf.get('validatetimeout')).toBe('5');
    expect(Number(conf.get('validatetimeout'))).toBeLessThan(10); // below MessageTimeout
    expect(conf.has('directive')).toBe(false);
  });

  it('lua: #DW directives, and nothing the lua plugin resets', () => {
    const conf = settings('burst_buffer.conf.lua');
    expect(conf.get('directive')).toBe('DW');
    for (const key of ['getsysstate', 'getsysstatus', 'defaultpool']) {
      expect(conf.has(key) ? key : undefined).toBeUndefined();
    }
    for (const flag of ['EnablePersistent', 'EmulateCray']) {
      expect(conf.get('flags') ?? '').not.toContain(flag);
    }
    for (const key of ['othertimeout', 'stageintimeout', 'stageouttimeout']) {
      expect(Number(conf.get(key))).toBeLessThanOrEqual(2073600);
    }
  });
});
