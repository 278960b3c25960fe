/**
 * Every `dacctl` command line of docs/operators.md, run in the order written through the
 * built binary against the test etcd and two real dacd (dac1, dac2): each must succeed, or,
 * where the runbook says `# refused: ...`, be refused with exit 1 and a one-line reason.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBinary } from '../../support/cli';
import { DacdCluster } from '../../support/dacd-cluster';

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
    cluster = await DacdCluster.start('runbook', ['dac1', 'dac2']);
  }, 60000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('has command lines to run, of every operators command group', () => {
    expect(all.length).toBeGreaterThan(10);
    expect(new Set(all.map((s) => s.args[0]))).toEqual(
      new Set(['df', 'pools', 'hosts', 'bricks', 'events']),
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
});
