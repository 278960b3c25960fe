/**
 * `paths --job S --token T --pathfile F` through the built binary (contract §4.3, §4.4): the
 * file holds exactly the job's `NAME=value` lines, Slurm's argument order, one etcd read.
 */
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EtcdKeystore } from '../../../src/keystore/etcd-keystore';
import type { AccessMode } from '../../../src/registry/model';
import { Registry } from '../../../src/registry/registry';
import { runBinary, type CliRun } from '../../support/cli';
import { addHosts, openRegistry } from '../../support/registry-fixture';

const GiB = 1024n ** 3n;
const ROOT = '/mnt/dw';

describe('dw_wlm_cli paths', () => {
  let store: EtcdKeystore;
  let registry: Registry;
  let prefix: string;
  let dir: string;
  let job: string;
  let pathFile: string;

  /** As slurmctld calls it: `--job` first, then `--token` and `--pathfile`. */
  const paths = (token: string, env: NodeJS.ProcessEnv = { DAC_MOUNT_ROOT: ROOT }) =>
    runBinary(
      'dw_wlm_cli',
      ['--function', 'paths', '--job', job, '--token', token, '--pathfile', pathFile],
      { prefix, env },
    );

  const silentSuccess = (run: CliRun) =>
    expect(run).toEqual({ output: '', stdout: '', stderr: '', code: 0 });

  async function session(
    token: string,
    bytes: bigint,
    accessMode: AccessMode,
    persistentAttachments: string[] = [],
  ): Promise<void> {
    await registry.createSession({
      token,
      kind: 'job',
      owner: { uid: 1001, gid: 1001 },
      pool: 'wlm_pool',
      requestedBytes: bytes,
      accessMode,
      persistentAttachments,
    });
  }

  beforeEach(async () => {
    const fixture = openRegistry('paths');
    ({ store, registry, prefix } = fixture);
    await addHosts(fixture, {
      pool: 'wlm_pool',
      granularity: GiB,
      hosts: ['storage1'],
      bricksPerHost: 4,
    });
    dir = mkdtempSync(join(tmpdir(), 'dac-paths-'));
    job = join(dir, 'script');
    writeFileSync(job, '#!/bin/bash\n#DW jobdw capacity=1GiB\nsrun app\n\0', { mode: 0o600 });
    pathFile = join(dir, 'path');
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes DW_JOB_STRIPED for a striped job buffer', async () => {
    await session('1234', GiB, 'striped');
    silentSuccess(await paths('1234'));
    expect(readFileSync(pathFile, 'utf8')).toBe('DW_JOB_STRIPED=/mnt/dw/job/1234/striped/\n');
    expect(statSync(pathFile).mode & 0o777).toBe(0o644);
  });

  it('writes DW_JOB_PRIVATE for a private job buffer', async () => {
    await session('1234', GiB, 'private');
    silentSuccess(await paths('1234'));
    expect(readFileSync(pathFile, 'utf8')).toBe('DW_JOB_PRIVATE=/mnt/dw/job/1234/private/\n');
  });

  it('writes both for striped,private', async () => {
    await session('1234', 2n * GiB, 'striped,private');
    silentSuccess(await paths('1234'));
    expect(readFileSync(pathFile, 'utf8')).toBe(
      'DW_JOB_STRIPED=/mnt/dw/job/1234/striped/\nDW_JOB_PRIVATE=/mnt/dw/job/1234/private/\n',
    );
  });

  it('writes a line per persistent buffer after the job buffer lines', async () => {
    await session('1234', GiB, 'striped', ['p1', 'scratch_2']);
    silentSuccess(await paths('1234'));
    expect(readFileSync(pathFile, 'utf8')).toBe(
      'DW_JOB_STRIPED=/mnt/dw/job/1234/striped/\n' +
        'DW_PERSISTENT_STRIPED_p1=/mnt/dw/persistent/p1/striped/\n' +
        'DW_PERSISTENT_STRIPED_scratch_2=/mnt/dw/persistent/scratch_2/striped/\n',
    );
  });

  it('writes only the persistent lines for a job without a buffer of its own', async () => {
    await session('1236', 0n, 'striped', ['p1']);
    silentSuccess(await paths('1236'));
    expect(readFileSync(pathFile, 'utf8')).toBe(
      'DW_PERSISTENT_STRIPED_p1=/mnt/dw/persistent/p1/striped/\n',
    );
  });

  it('uses /mnt/dac when DAC_MOUNT_ROOT is not set', async () => {
    await session('1234', GiB, 'striped');
    silentSuccess(await paths('1234', {}));
    expect(readFileSync(pathFile, 'utf8')).toBe('DW_JOB_STRIPED=/mnt/dac/job/1234/striped/\n');
  });

  it('replaces an existing file whole, with mode 0644, leaving no temporary file', async () => {
    await session('1234', GiB, 'striped');
    writeFileSync(pathFile, 'STALE=1\nSTALE_TOO=2\nSTALE_AS_WELL=3\n', { mode: 0o600 });
    silentSuccess(await paths('1234'));
    expect(readFileSync(pathFile, 'utf8')).toBe('DW_JOB_STRIPED=/mnt/dw/job/1234/striped/\n');
    expect(statSync(pathFile).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir).sort()).toEqual(['path', 'script']);
  });

  it('fails with one line and writes no file for an unknown token', async () => {
    const run = await paths('4321');
    expect(run).toEqual({
      output: 'No matching session for token 4321 (token not found)\n',
      stdout: 'No matching session for token 4321 (token not found)\n',
      stderr: '',
      code: 1,
    });
    expect(existsSync(pathFile)).toBe(false);
  });

  it('fails with one line naming the file when it cannot be written', async () => {
    await session('1234', GiB, 'striped');
    pathFile = join(dir, 'no-such-dir', 'path');
    const run = await paths('1234');
    expect(run.code).not.toBe(0);
    expect(run.stderr).toBe('');
    expect(run.output).toBe(`cannot write the path file ${pathFile}: ENOENT\n`);
  });

  it('fails with one line on a bad DAC_MOUNT_ROOT, before writing anything', async () => {
    await session('1234', GiB, 'striped');
    const run = await paths('1234', { DAC_MOUNT_ROOT: 'relative/dir' });
    expect(run.code).not.toBe(0);
    expect(run.output).toBe(
      'DAC_MOUNT_ROOT="relative/dir" must be an absolute path of letters, digits, . _ - /\n',
    );
    expect(existsSync(pathFile)).toBe(false);
  });
});
