/**
 * Failure behaviour with real dacd processes: kill -9 during every step and a restart, a host
 * that stays dead, teardown with --hurry during a stage-out, SIGTERM, a cleanup that fails,
 * and staging a large tree and an unreadable source as `nobody`.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { teardownSession } from '../../../src/lifecycle/teardown';
import type { SessionRecord } from '../../../src/registry/model';
import { summaryBucketOf } from '../../../src/registry/session-summary';
import { runBinary, type CliRun } from '../../support/cli';
import { DacdCluster, NOBODY, setupArgs } from '../../support/dacd-cluster';

const ok = { output: '', code: 0 };

/** `count` files in nested directories with varied sizes and modes; returns total bytes. */
function makeTree(root: string, count: number, size: (i: number) => number): number {
  let bytes = 0;
  for (let i = 0; i < count; i += 1) {
    const dir = join(root, `d${i % 10}`, `e${i % 7}`);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `f${i}.dat`);
    const content = Buffer.alloc(size(i), `${i}:`);
    writeFileSync(file, content, { mode: i % 3 === 0 ? 0o755 : 0o644 });
    utimesSync(file, 1_600_000_000 + i, 1_600_000_000 + i);
    bytes += content.length;
  }
  return bytes;
}

/** Relative path → sha256, mode and mtime of every file under `root`. */
function treeDigest(root: string): Map<string, string> {
  const digest = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        const info = statSync(path);
        const hash = createHash('sha256').update(readFileSync(path)).digest('hex');
        digest.set(relative(root, path), `${hash} ${info.mode & 0o777} ${info.mtimeMs}`);
      }
    }
  };
  walk(root);
  return digest;
}

/** Every file and directory under `root` (itself included) owned by `owner`? */
function ownersUnder(root: string): Set<string> {
  const owners = new Set<string>();
  const walk = (path: string) => {
    const info = statSync(path);
    owners.add(`${info.uid}:${info.gid}`);
    if (info.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
  };
  walk(root);
  return owners;
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The local provider's volume directory of a session: on its primary brick. */
async function volumeOf(cluster: DacdCluster, token: string): Promise<string> {
  const primary = (await cluster.registry.getSession(token))!.record.bricks[0]!;
  return join(cluster.localRoot, primary.host, primary.device, token);
}

describe('dacd failure behaviour', () => {
  let cluster: DacdCluster | undefined;

  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  const STEPS = [
    ['create', 'setup'],
    ['stageIn', 'data_in'],
    ['mount', 'pre_run'],
    ['unmount', 'post_run'],
    ['stageOut', 'data_out'],
    ['delete', 'teardown'],
  ] as const;

  it.each(STEPS)(
    'kill -9 during %s (%s), then a restart: the session converges, nothing leaks',
    async (operation, fn) => {
      const token = '5001';
      const c = (cluster = await DacdCluster.start(`kill-${operation}`, ['dac1'], {
        faults: `${operation}:${token}:stall`,
      }));
      const input = join(c.dir, 'input');
      makeTree(input, 20, (i) => i * 100);
      const results = c.nobodyDir('results');
      const job = c.file(
        'job.sh',
        '#!/bin/bash\n#DW jobdw capacity=1GiB access_mode=striped\n' +
          `#DW stage_in source=${input} destination=$DW_JOB_STRIPED/data type=directory\n` +
          `#DW stage_out source=$DW_JOB_STRIPED/data destination=${results} type=directory\n`,
      );
      const nodes = c.file('nodes', 'cn1\n');
      const calls: Record<string, string[]> = {
        setup: setupArgs(token, job, 'default:1GiB'),
        data_in: ['--function', 'data_in', '--token', token, '--job', job],
        pre_run: [
          '--function',
          'pre_run',
          '--token',
          token,
          '--job',
          job,
          '--nodehostnamefile',
          nodes,
        ],
        post_run: ['--function', 'post_run', '--token', token, '--job', job],
        data_out: ['--function', 'data_out', '--token', token, '--job', job],
        teardown: ['--function', 'teardown', '--token', token, '--job', job],
      };
      for (const [name, args] of Object.entries(calls)) {
        if (name === fn) {
          const pending = c.cli(args);
          await until('the stalled step', () => c.dacd('dac1').log().includes('injected fault'));
          await c.dacd('dac1').kill();
          await c.startDacd('dac1', { faults: '' });
          expect({ name, ...(await pending) }).toMatchObject({ name, ...ok });
        } else {
          expect({ name, ...(await c.cli(args)) }).toMatchObject({ name, ...ok });
        }
        if (name === 'data_out') expect(treeDigest(results)).toEqual(treeDigest(input));
      }
      expect(await c.registry.sessions()).toEqual([]);
      expect((await c.registry.pools())[0]).toMatchObject({ free: 2, allocated: 0 });
      expect(c.leftovers()).toEqual([]);
    },
  );

  it('kill -9 in the middle of a stage-in: after the restart the tree is complete and identical', async () => {
    const token = '5002';
    const c = (cluster = await DacdCluster.start('kill-copy', ['dac1'], { brickCapacityGb: 4 }));
    const input = join(c.dir, 'input');
    const files = 1500;
    makeTree(input, files, () => 128 * 1024);
    const job = c.file(
      'job.sh',
      '#!/bin/bash\n#DW jobdw capacity=4GiB access_mode=striped\n' +
        `#DW stage_in source=${input} destination=$DW_JOB_STRIPED/data type=directory\n`,
    );
    expect(await c.cli(setupArgs(token, job, 'default:4GiB'))).toMatchObject(ok);
    const volume = join(await volumeOf(c, token), 'striped', 'data');
    const copied = () => {
      try {
        return readdirSync(volume, { recursive: true }).length;
      } catch {
        return 0;
      }
    };
    const pending = c.cli(['--function', 'data_in', '--token', token, '--job', job]);
    await until('the copy to start', () => copied() > 0);
    await c.dacd('dac1').kill();
    const atKill = copied();
    await c.startDacd('dac1');
    expect(await pending).toMatchObject(ok);
    // A complete tree has 1,500 files in 10 + 70 directories: the kill came before the end.
    expect(atKill).toBeLessThan(files + 80);
    expect(treeDigest(volume)).toEqual(treeDigest(input));
    expect(ownersUnder(volume)).toEqual(new Set([`${NOBODY.uid}:${NOBODY.gid}`]));
    expect((await c.registry.getSession(token))!.record.transfer).toMatchObject({
      files,
      bytes: BigInt(files * 128 * 1024),
      done: true,
    });
  });

  it('stages a 1,000-file tree as the job user and refuses a root-only source', async () => {
    const c = (cluster = await DacdCluster.start('tree', ['dac1']));
    const input = join(c.dir, 'input');
    const bytes = makeTree(input, 1000, (i) => (i % 50) * 37);
    const secret = c.file('secret.dat', 'root only');
    chmodSync(secret, 0o600);
    const job = c.file(
      'job.sh',
      '#!/bin/bash\n#DW jobdw capacity=1GiB access_mode=striped\n' +
        `#DW stage_in source=${input} destination=$DW_JOB_STRIPED/tree type=directory\n`,
    );
    expect(await c.cli(setupArgs('5003', job, 'default:1GiB'))).toMatchObject(ok);
    // Every version of the session's record from here on: the counts dacd writes as it copies.
    const transfers: NonNullable<SessionRecord['transfer']>[] = [];
    const watch = await c.registry.watchSession(
      '5003',
      (await c.registry.getSession('5003'))!.modRevision + 1,
      (stored) => {
        if (stored?.record.transfer) transfers.push(stored.record.transfer);
      },
      () => undefined,
    );
    expect(await c.cli(['--function', 'data_in', '--token', '5003', '--job', job])).toMatchObject(
      ok,
    );
    const tree = join(await volumeOf(c, '5003'), 'striped', 'tree');
    expect(treeDigest(tree)).toEqual(treeDigest(input));
    expect(ownersUnder(tree)).toEqual(new Set([`${NOBODY.uid}:${NOBODY.gid}`]));
    expect((await c.registry.getSession('5003'))!.record.transfer).toMatchObject({
      files: 1000,
      bytes: BigInt(bytes),
    });
    // While it copied, the counts came with the totals measured before the copy, and the step's
    // outcome keeps them.
    await until('the outcome in the watch', () => transfers.at(-1)?.done === true);
    await watch.close();
    const totals = { totalFiles: 1000, totalBytes: BigInt(bytes) };
    const copying = transfers.filter((transfer) => !transfer.done);
    expect(copying.length).toBeGreaterThan(0);
    expect(copying[0]).toMatchObject({ phase: 'DataIn', bytes: 0n, files: 0, ...totals });
    for (const transfer of copying) expect(transfer).toMatchObject(totals);
    const final = (await c.registry.getSession('5003'))!.record;
    expect(final.transfer).toMatchObject({ files: 1000, bytes: BigInt(bytes), ...totals });
    expect(final.transfer!.startedAt).toBe(copying[0]!.startedAt);
    expect(final.transfer!.startedAt).toBeGreaterThanOrEqual(final.timings.DataIn!.startedAt!);
    expect(final.transfer!.startedAt).toBeLessThanOrEqual(final.timings.DataIn!.finishedAt!);
    // dwstat gives them too, after the step.
    const dwstat = await runBinary('dwstat', ['sessions', '--json'], { prefix: c.prefix });
    expect(dwstat).toMatchObject({ code: 0, stderr: '' });
    const listed = (JSON.parse(dwstat.stdout) as { sessions: { token: string }[] }).sessions;
    expect(listed.find((session) => session.token === '5003')).toMatchObject({
      state: 'DataIn Completed',
      transfer: {
        phase: 'DataIn',
        done: true,
        bytes,
        files: 1000,
        totalBytes: bytes,
        totalFiles: 1000,
        percent: 100,
        started: Math.floor(final.transfer!.startedAt! / 1000),
        updated: final.transfer!.updatedAt,
      },
    });

    const bad = c.file(
      'bad.sh',
      '#!/bin/bash\n#DW jobdw capacity=1GiB access_mode=striped\n' +
        `#DW stage_in source=${secret} destination=$DW_JOB_STRIPED/secret type=file\n`,
    );
    expect(await c.cli(setupArgs('5004', bad, 'default:1GiB'))).toMatchObject(ok);
    const run = await c.cli(['--function', 'data_in', '--token', '5004', '--job', bad]);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(new RegExp(`^stage-in failed on dac1: .*${secret}.*\\n$`));
    expect(run.output).toMatch(/not readable|permission/i);
    expect(run.output.split('\n')).toHaveLength(2);
  });

  it('a host that stays dead makes the CLI fail within its deadline, naming the host', async () => {
    const c = (cluster = await DacdCluster.start('dead', ['dac1'], { leaseTtlSeconds: 2 }));
    const job = c.file('job.sh', '#!/bin/bash\n#DW jobdw capacity=1GiB\n');
    expect(await c.cli(setupArgs('5005', job, 'default:1GiB'))).toMatchObject(ok);
    const volume = await volumeOf(c, '5005');
    await c.dacd('dac1').kill();
    const started = Date.now();
    const run = await c.cli(['--function', 'data_in', '--token', '5005', '--job', job], {
      DAC_HOST_GRACE_SECONDS: '1',
    });
    expect(run).toEqual({
      output: 'storage host dac1 is down (no liveness lease for 1 s), so stage-in cannot finish\n',
      stdout: 'storage host dac1 is down (no liveness lease for 1 s), so stage-in cannot finish\n',
      stderr: '',
      code: 3,
    });
    // Lease TTL (2 s) + grace (1 s), well inside the stage-in deadline.
    expect(Date.now() - started).toBeLessThan(10000);
    // Teardown still ends: the bricks are released and the host drained for an operator.
    const teardown = await c.cli(['--function', 'teardown', '--token', '5005', '--job', job], {
      DAC_HOST_GRACE_SECONDS: '1',
    });
    expect(teardown).toMatchObject(ok);
    expect(await c.registry.getSession('5005')).toBeUndefined();
    const host = (await c.registry.readInventory()).hosts.get('dac1')!.record;
    expect(host).toMatchObject({ enabled: false });
    expect(host.drainReason).toContain('session 5005 was released while this host was down');
    expect(c.leftovers()).toEqual([relative(c.dir, volume)]);
    // Back up, the daemon removes what the released session left on its bricks.
    await c.startDacd('dac1');
    expect(c.leftovers()).toEqual([]);
  });

  it('teardown --hurry stops a running stage-out and removes the buffer', async () => {
    const c = (cluster = await DacdCluster.start('hurry', ['dac1'], { brickCapacityGb: 4 }));
    const input = join(c.dir, 'input');
    const files = 4000;
    makeTree(input, files, () => 128 * 1024);
    const results = c.nobodyDir('results');
    const job = c.file(
      'job.sh',
      '#!/bin/bash\n#DW jobdw capacity=4GiB access_mode=striped\n' +
        `#DW stage_in source=${input} destination=$DW_JOB_STRIPED/data type=directory\n` +
        `#DW stage_out source=$DW_JOB_STRIPED/data destination=${results} type=directory\n`,
    );
    const call = (fn: string, ...extra: string[]): Promise<CliRun> =>
      c.cli(['--function', fn, '--token', '5006', '--job', job, ...extra]);
    expect(await c.cli(setupArgs('5006', job, 'default:4GiB'))).toMatchObject(ok);
    expect(await call('data_in')).toMatchObject(ok);
    const stageOut = call('data_out');
    const count = () => readdirSync(results, { recursive: true }).length;
    await until('the stage-out to start', () => count() > 0);
    // The hurry request goes in from this process: a CLI process would first spend most of a
    // second starting, long enough for the copy to finish on a fast machine. (teardown --hurry
    // through the CLI is covered by test/integration/cli and test/e2e.)
    expect(
      await teardownSession(c.registry, '5006', {
        deadlineMs: 30_000,
        hostGraceMs: 30_000,
        hurry: true,
      }),
    ).toBe('released');
    await stageOut;
    const afterTeardown = count();
    await new Promise((r) => setTimeout(r, 500));
    // The copy was stopped, not left running.
    expect(count()).toBe(afterTeardown);
    // A complete copy has the files and 10 + 70 directories.
    expect(afterTeardown).toBeLessThan(files + 80);
    expect(await c.registry.getSession('5006')).toBeUndefined();
    expect(c.leftovers()).toEqual([]);
  });

  it('a summary bucket overwritten with garbage is rebuilt at once by dacd', async () => {
    const c = (cluster = await DacdCluster.start('bucket', ['dac1']));
    const job = c.file('job.sh', '#!/bin/bash\n#DW jobdw capacity=1GiB\n');
    expect(await c.cli(setupArgs('5011', job, 'default:1GiB'))).toMatchObject(ok);
    const before = await c.cli(['--function', 'show_sessions']);
    expect(before.code).toBe(0);
    await c.store.put(c.registry.keys.summaryBucket(summaryBucketOf('5011')), '{garbage');
    await until('the rebuilt bucket', async () => {
      const run = await c.cli(['--function', 'show_sessions']);
      return run.code === 0 && run.output === before.output;
    });
    expect(c.dacd('dac1').log()).toContain('summary bucket cannot be read; rebuilding the buckets');
  });

  it('SIGTERM: dacd exits 0, its lease is gone, and the next start finishes the step', async () => {
    const c = (cluster = await DacdCluster.start('sigterm', ['dac1'], {
      faults: 'mount:5007:stall',
    }));
    const job = c.file('job.sh', '#!/bin/bash\n#DW jobdw capacity=1GiB\n');
    const nodes = c.file('nodes', 'cn1\n');
    expect(await c.cli(setupArgs('5007', job, 'default:1GiB'))).toMatchObject(ok);
    const preRun = c.cli([
      '--function',
      'pre_run',
      '--token',
      '5007',
      '--job',
      job,
      '--nodehostnamefile',
      nodes,
    ]);
    await until('the stalled mount', () => c.dacd('dac1').log().includes('injected fault'));
    expect(await c.dacd('dac1').stop()).toEqual({ code: 0, signal: null });
    expect((await c.registry.hostAlive('dac1')).alive).toBe(false);
    expect((await c.registry.getSession('5007'))!.record.observed?.phase).toBe('Setup');
    await c.startDacd('dac1', { faults: '' });
    expect(await preRun).toMatchObject(ok);
    expect(readdirSync(join(c.mountRoot, 'job', '5007'))).toEqual(['striped']);
  });

  it('a cleanup that fails still releases the buffer and drains the host with the reason', async () => {
    const c = (cluster = await DacdCluster.start('cleanup', ['dac1'], {
      faults: 'delete:5008:fail:wipe failed on nvme0n1',
    }));
    const job = c.file('job.sh', '#!/bin/bash\n#DW jobdw capacity=1GiB\n');
    expect(await c.cli(setupArgs('5008', job, 'default:1GiB'))).toMatchObject(ok);
    const teardown = await c.cli(['--function', 'teardown', '--token', '5008', '--job', job]);
    expect(teardown).toMatchObject(ok);
    expect(await c.registry.getSession('5008')).toBeUndefined();
    const host = (await c.registry.readInventory()).hosts.get('dac1')!.record;
    expect(host).toMatchObject({
      enabled: false,
      drainReason: 'cleanup of session 5008 failed: wipe failed on nvme0n1',
    });
  });
});
