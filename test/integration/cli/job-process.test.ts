/**
 * `job_process --job S` through the built binary, with job files written the way slurmctld
 * writes them (contract §4.1): silent success, one line of every problem on failure, pool
 * checks from one etcd read, and no failed submission when etcd is down.
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EtcdKeystore } from '../../../src/keystore/etcd-keystore';
import { KeyLayout } from '../../../src/registry/keys';
import { Registry } from '../../../src/registry/registry';
import { runBinary, type CliRun } from '../../support/cli';
import { freePort } from '../../support/etcd-server';
import { startSilentServer, type SilentServer } from '../../support/silent-server';
import { testEtcdStore } from '../../support/test-etcd';

const GiB = 1024n ** 3n;

/** A batch script as sbatch leaves it: shebang, #SBATCH, directives, commands, then NUL. */
const batch = (...directives: string[]): string =>
  `#!/bin/bash\n#SBATCH -N 2\n${directives.map((d) => `${d}\n`).join('')}srun ./app\n\0`;

/** An interactive (salloc/srun --bb) job file: directives only, no final newline. */
const interactive = (...directives: string[]): string => `#!/bin/bash\n${directives.join('\n')}`;

const GOOD = batch(
  '#DW jobdw capacity=2GiB access_mode=striped,private type=scratch',
  '#DW persistentdw name=p1',
  '#DW stage_in source=/home/alice/in_%j.dat destination=$DW_JOB_STRIPED/in.dat type=file',
  '#DW stage_out source=$DW_PERSISTENT_STRIPED_p1/out destination=/home/alice/out_%j type=directory',
  '#BB destroy_persistent name=old hurry',
);

describe('dw_wlm_cli job_process', () => {
  let store: EtcdKeystore;
  let prefix: string;
  let dir: string;

  /** Write a job file as slurmctld does (mode 0700) and run job_process on it. */
  function jobProcess(text: string, env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
    const path = join(dir, `script-${Math.random().toString(36).slice(2)}`);
    writeFileSync(path, text, { mode: 0o700 });
    return runPath(path, env);
  }

  const runPath = (path: string, env: NodeJS.ProcessEnv = {}): Promise<CliRun> =>
    runBinary('dw_wlm_cli', ['--function', 'job_process', '--job', path], { prefix, env });

  const accepted = (run: CliRun) =>
    expect(run).toEqual({ output: '', stdout: '', stderr: '', code: 0 });

  const rejected = (run: CliRun, line: string) =>
    expect(run).toEqual({ output: `${line}\n`, stdout: `${line}\n`, stderr: '', code: 1 });

  beforeAll(async () => {
    const created = testEtcdStore('job-process');
    store = created.store;
    prefix = created.config.prefix;
    const registry = new Registry(store, new KeyLayout(prefix));
    // Two pools: wlm_pool (4 x 1 GiB) comes first by name, so it is the default pool.
    await registry.ensurePool('wlm_pool', GiB);
    await registry.ensurePool('zeta', GiB);
    await registry.registerHost({
      name: 'storage1',
      bricks: [
        ...[0, 1, 2, 3].map((i) => ({
          device: `nvme${i}n1`,
          capacityBytes: GiB,
          pool: 'wlm_pool',
        })),
        { device: 'nvme9n1', capacityBytes: GiB, pool: 'zeta' },
      ],
    });
    dir = mkdtempSync(join(tmpdir(), 'dac-job-process-'));
  });

  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts a valid batch script that ends with a NUL byte, printing nothing', async () => {
    accepted(await jobProcess(GOOD));
  });

  it('accepts an interactive job file without a final newline', async () => {
    accepted(await jobProcess(interactive('#DW jobdw capacity=1GiB')));
  });

  it('reads the job file through a /proc/<pid>/fd/<n> path, as for a memfd', async () => {
    const path = join(dir, 'memfd-like');
    writeFileSync(path, '#!/bin/sh\n#DW jobdw capacity=3GiB pool=wlm_pool\n');
    const fd = openSync(path, 'r');
    unlinkSync(path); // like a memfd, the file has no name left; only the descriptor reaches it
    try {
      accepted(await runPath(`/proc/${process.pid}/fd/${fd}`));
    } finally {
      closeSync(fd);
    }
  });

  it('rejects a bad batch script with every problem on one line', async () => {
    rejected(
      await jobProcess(
        batch(
          '#DW jobdw capacity=1.5TiB access_mode=striped',
          '#DW stage_in source=/a destination=$DW_JOB_STRIPED/a type=bogus',
        ),
      ),
      'line 3 (#DW jobdw): capacity=1.5TiB: fractional sizes are not supported; use 1536GiB; ' +
        'line 4 (#DW stage_in): type=bogus: use type=file, type=directory or type=list',
    );
  });

  it('rejects a second jobdw and swap in an interactive job file', async () => {
    rejected(
      await jobProcess(
        interactive('#DW jobdw capacity=1GiB', '#DW jobdw capacity=1GiB', '#DW swap 1GiB'),
      ),
      'line 3 (#DW jobdw): only one #DW jobdw is allowed per job; the first is on line 2; ' +
        'line 4 (#DW swap): swap is not supported; request space with #DW jobdw capacity=<size>',
    );
  });

  it('rejects an unknown pool, naming the known ones', async () => {
    rejected(
      await jobProcess(interactive('#DW jobdw capacity=1GiB pool=nosuch')),
      'line 2 (#DW jobdw): pool=nosuch: unknown pool; known pools: wlm_pool, zeta',
    );
  });

  it('rejects a capacity larger than the whole pool', async () => {
    rejected(
      await jobProcess(batch('#DW jobdw capacity=5GiB')),
      'line 3 (#DW jobdw): capacity 5 GiB is more than pool wlm_pool holds in total (4 GiB)',
    );
  });

  it('rejects a capacity larger than one buffer can have, however large the pool', async () => {
    // 60 hosts of one brick: a buffer of 43 bricks would need 43 hosts, more than one etcd
    // transaction can hold with the bricks' allocation records.
    const wide = testEtcdStore('job-process-wide');
    try {
      const registry = new Registry(wide.store, new KeyLayout(wide.config.prefix));
      await registry.ensurePool('wide', GiB);
      for (let i = 0; i < 60; i += 1) {
        await registry.registerHost({
          name: `s${i}`,
          bricks: [{ device: 'nvme0n1', capacityBytes: GiB, pool: 'wide' }],
        });
      }
      const path = join(dir, 'wide-job');
      writeFileSync(path, batch('#DW jobdw capacity=43GiB'), { mode: 0o700 });
      const run = (): Promise<CliRun> =>
        runBinary('dw_wlm_cli', ['--function', 'job_process', '--job', path], {
          prefix: wide.config.prefix,
        });
      rejected(
        await run(),
        'line 3 (#DW jobdw): capacity 43 GiB is more than one buffer of pool wide can have ' +
          '(42 GiB: a buffer is one etcd transaction, which bounds its number of bricks); ask ' +
          'for at most that',
      );
      writeFileSync(path, batch('#DW jobdw capacity=42GiB'), { mode: 0o700 });
      accepted(await run());
    } finally {
      await wide.store.close();
    }
  });

  it('checks sizes against the first pool unless DAC_DEFAULT_POOL names another', async () => {
    const script = interactive('#DW jobdw capacity=2GiB');
    accepted(await jobProcess(script));
    rejected(
      await jobProcess(script, { DAC_DEFAULT_POOL: 'zeta' }),
      'line 2 (#DW jobdw): capacity 2 GiB is more than pool zeta holds in total (1 GiB)',
    );
  });

  it('fails with one line naming the job file when it cannot be read', async () => {
    const path = join(dir, 'no-such-script');
    rejected(await runPath(path), `cannot read the job script ${path}: ENOENT`);
  });

  it('refuses a job file that is a FIFO, a device or a directory, without waiting on it', async () => {
    const fifo = join(dir, 'script-fifo');
    execFileSync('mkfifo', [fifo]);
    for (const path of [fifo, '/dev/zero', dir]) {
      rejected(await runPath(path), `the job script ${path} is not a regular file`);
    }
  });

  describe('when etcd cannot be reached', () => {
    let down: NodeJS.ProcessEnv;
    let logFile: string;

    beforeAll(async () => {
      down = { ETCDCTL_ENDPOINTS: `127.0.0.1:${await freePort()}` };
      logFile = join(dir, 'dacctl.log');
    });

    it('still accepts a valid script, quickly, and logs a warning', async () => {
      const started = Date.now();
      const path = join(dir, 'down-good');
      writeFileSync(path, GOOD, { mode: 0o700 });
      const run = await runBinary('dw_wlm_cli', ['--function', 'job_process', '--job', path], {
        prefix,
        env: down,
        logFile,
      });
      accepted(run);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(readFileSync(logFile, 'utf8')).toContain('validating without pool checks');
    });

    it('leaves pool names and sizes to Slurm', async () => {
      accepted(await jobProcess(interactive('#DW jobdw capacity=100GiB pool=nosuch'), down));
    });

    it('still rejects directive errors', async () => {
      rejected(
        await jobProcess(interactive('#DW jobdw capacity=10X'), down),
        'line 2 (#DW jobdw): capacity=10X: unknown unit "X"; use K, KiB, KB, M, MiB, MB, G, ' +
          'GiB, GB, T, TiB, TB, P, PiB, PB (any case), N for nodes, or none for bytes',
      );
    });
  });

  describe('when etcd accepts connections but never answers', () => {
    let server: SilentServer;

    beforeAll(async () => {
      server = await startSilentServer();
    });

    afterAll(() => server.close());

    it('gives up on the pools and answers well before Slurm gives up (5 s)', async () => {
      const { port } = server;
      const started = Date.now();
      const run = await jobProcess(GOOD, { ETCDCTL_ENDPOINTS: `127.0.0.1:${port}` });
      accepted(run);
      expect(Date.now() - started).toBeLessThan(3500);
    });
  });
});
