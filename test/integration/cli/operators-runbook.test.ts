/**
 * Every `dacctl` command line of docs/operators.md, run in the order written through the
 * built binary against the test etcd and two real dacd (dac1, dac2): each must succeed, or,
 * where the runbook says `# refused: ...`, be refused with exit 1 and a one-line reason. The
 * sessions it names are made first, through Slurm's functions, on dac2 (dac1's dacd starts
 * after them): 4001, and 4002, whose stage-in fails.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBinary } from '../../support/cli';
import { DacdCluster, setupArgs } from '../../support/dacd-cluster';

const RUNBOOK = join(__dirname, '..', '..', '..', 'docs', 'operators.md');

interface Step {
  line: string;
  args: string[];
  refused: boolean;
}

/** The words of a command line as a POSIX shell splits them (double quotes only). */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** The dacctl lines of the runbook's `sh` blocks. */
function steps(markdown: string): Step[] {
  const blocks = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.flatMap((block) =>
    block
      .split('\n')
      .filter((line) => line.startsWith('dacctl '))
      .map((line) => {
        const [command = '', comment = ''] = line.split(/\s+#\s*/, 2);
        return {
          line,
          args: words(command).slice(1),
          refused: comment.startsWith('refused'),
        };
      }),
  );
}

describe('docs/operators.md', () => {
  let cluster: DacdCluster;
  const all = steps(readFileSync(RUNBOOK, 'utf8'));

  beforeAll(async () => {
    cluster = await DacdCluster.start('runbook', ['dac2']);
    const job = (token: string, directives = '') =>
      cluster.file(`job${token}.sh`, `#!/bin/bash\n#DW jobdw capacity=1GiB\n${directives}`);
    const held = job(
      '4002',
      `#DW stage_in source=${cluster.dir}/missing destination=$DW_JOB_STRIPED/in type=file\n`,
    );
    for (const [token, script] of [
      ['4001', job('4001')],
      ['4002', held],
    ] as const) {
      const run = await cluster.cli(setupArgs(token, script, 'default:1GiB'));
      expect({ token, code: run.code, output: run.output }).toEqual({ token, code: 0, output: '' });
    }
    const stageIn = await cluster.cli(['--function', 'data_in', '--token', '4002', '--job', held]);
    expect(stageIn.code).toBe(1);
    expect(stageIn.output).toMatch(/^stage-in failed on dac2: /);
    await cluster.startDacd('dac1');
  }, 90000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('has command lines to run, of every operators command group', () => {
    expect(all.length).toBeGreaterThan(10);
    expect(new Set(all.map((s) => s.args[0]))).toEqual(
      new Set(['df', 'pools', 'hosts', 'bricks', 'sessions', 'events']),
    );
  });

  it('runs each of them as it says', async () => {
    for (const step of all) {
      const run = await runBinary('dacctl', step.args, { prefix: cluster.prefix });
      const expected = step.refused ? 1 : 0;
      expect({ line: step.line, code: run.code, stderr: run.stderr }).toEqual({
        line: step.line,
        code: expected,
        stderr: '',
      });
      if (step.refused) expect(run.output.trimEnd().split('\n')).toHaveLength(1);
      else expect(run.output.length).toBeGreaterThan(0);
    }
  }, 120000);

  it('leaves what the runbook says: 4001 gone and its brick freed, 4002 held with its error', async () => {
    const json = async (args: string[]) => {
      const run = await runBinary('dacctl', [...args, '--json'], { prefix: cluster.prefix });
      expect({ args, code: run.code }).toEqual({ args, code: 0 });
      return JSON.parse(run.output) as {
        sessions?: { token: string; state: string }[];
        bricks?: { session?: { token: string } }[];
      };
    };
    const { sessions } = await json(['sessions', 'list']);
    expect(sessions?.map((s) => s.token)).toEqual(['4002']);
    expect(sessions?.[0]?.state).toBe('DataIn Error: stage_in source <path> does not exist');
    const shown = await runBinary('dacctl', ['sessions', 'show', '4002'], {
      prefix: cluster.prefix,
    });
    expect(shown.output).toContain('served by: dac2\n');
    expect(shown.output).toMatch(
      new RegExp(`\nobserved:  DataIn Error at [^\n]*: [^\n]*${cluster.dir}/missing`),
    );
    expect(shown.output).toMatch(/\nerror: {5}\S/);
    expect(shown.output).not.toContain('error:     none');
    // dac2's dacd runs, so it has wiped 4001's brick and freed it (or does so shortly).
    const end = Date.now() + 20000;
    let holders: (string | undefined)[] = [];
    do {
      const { bricks } = await json(['bricks', 'list', '--host', 'dac2']);
      holders = (bricks ?? []).map((b) => b.session?.token);
      if (!holders.includes('4001')) break;
      await new Promise((r) => setTimeout(r, 200));
    } while (Date.now() < end);
    expect(holders.sort()).toEqual(['4002', undefined]);
  }, 60000);
});
