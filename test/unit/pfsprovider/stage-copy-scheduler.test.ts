/**
 * The walk of a tree copy (copy-scheduler.ts) on a made-up tree, apart from any file system:
 * the order of the steps, the large copies in flight, the finishing of directories, failures
 * and aborts. stage-copy.test.ts runs it on real files.
 */
import {
  walkTree,
  type EntryStep,
  type TreeChild,
  type TreeSteps,
} from '../../../src/pfsprovider/stage/copy-scheduler';
import { rejection } from '../../support/rejection';

/** A made-up tree: a directory maps names to directories or entries. */
interface Tree {
  [name: string]: Tree | EntryKind;
}
/** `large`: a copy that ends after `largeMs`; `becomes-directory`: an empty directory now. */
type EntryKind = 'small' | 'large' | 'failing' | 'failing-large' | 'becomes-directory';

interface Dir {
  path: string;
  tree: Tree;
}
interface Entry {
  path: string;
  kind: EntryKind;
}

const join = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);

/** Steps over `root` that record what they do in `events`. */
class Recorder implements TreeSteps<Dir, Entry> {
  readonly events: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** Called after every small entry, with how many are done. */
  afterSmall: (done: number) => void = () => undefined;
  private small = 0;

  constructor(private readonly largeMs = 5) {}

  list(dir: Dir): TreeChild<Dir, Entry>[] {
    this.events.push(`list ${dir.path}`);
    return Object.entries(dir.tree).map(([name, child]) =>
      typeof child === 'string'
        ? { kind: 'entry', entry: { path: join(dir.path, name), kind: child } }
        : { kind: 'directory', dir: { path: join(dir.path, name), tree: child } },
    );
  }

  entry(entry: Entry, parent: Dir): EntryStep<Dir> {
    expect(entry.path.startsWith(parent.path)).toBe(true);
    switch (entry.kind) {
      case 'small':
        this.events.push(`small ${entry.path}`);
        this.small += 1;
        this.afterSmall(this.small);
        return { kind: 'done' };
      case 'failing':
        this.events.push(`fail ${entry.path}`);
        throw new Error(`cannot copy ${entry.path}`);
      case 'becomes-directory':
        return { kind: 'directory', dir: { path: entry.path, tree: {} } };
      default:
        return { kind: 'large', start: () => this.large(entry) };
    }
  }

  finish(dir: Dir): void {
    this.events.push(`finish ${dir.path}`);
  }

  private async large(entry: Entry): Promise<void> {
    this.events.push(`start ${entry.path}`);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((resolve) => setTimeout(resolve, this.largeMs));
    this.inFlight -= 1;
    this.events.push(`end ${entry.path}`);
    if (entry.kind === 'failing-large') throw new Error(`large copy of ${entry.path} failed`);
  }
}

function walk(
  tree: Tree,
  steps: Recorder,
  options: { concurrency?: number; signal?: AbortSignal } = {},
): Promise<void> {
  return walkTree({ path: '/', tree }, steps, {
    signal: options.signal ?? new AbortController().signal,
    concurrency: options.concurrency ?? 8,
    aborted: () => new Error('aborted'),
  });
}

describe('walkTree', () => {
  it('goes depth first in directory order and finishes each directory after its children', async () => {
    const steps = new Recorder();
    await walk({ a: 'small', d: { x: 'small', y: { z: 'small' }, empty: {} }, e: 'small' }, steps);
    expect(steps.events).toEqual([
      'list /',
      'small /a',
      'list /d',
      'small /d/x',
      'list /d/y',
      'small /d/y/z',
      'finish /d/y',
      'list /d/empty',
      'finish /d/empty',
      'finish /d',
      'small /e',
      'finish /',
    ]);
  });

  it('finishes an empty root', async () => {
    const steps = new Recorder();
    await walk({}, steps);
    expect(steps.events).toEqual(['list /', 'finish /']);
  });

  it('goes on with the walk while a large copy runs, and finishes its directory after it', async () => {
    const steps = new Recorder(50);
    await walk({ d: { big: 'large', s: 'small' }, t: 'small' }, steps);
    expect(steps.events).toEqual([
      'list /',
      'list /d',
      'start /d/big',
      'small /d/s',
      'small /t',
      'end /d/big',
      'finish /d',
      'finish /',
    ]);
  });

  it('runs at most `concurrency` large copies at once, and waits for a slot in order', async () => {
    const steps = new Recorder();
    await walk({ l1: 'large', l2: 'large', l3: 'large', s: 'small', l4: 'large' }, steps, {
      concurrency: 2,
    });
    expect(steps.maxInFlight).toBe(2);
    const at = (event: string) => steps.events.indexOf(event);
    // l3 waits for a slot, and the walk waits with it: s comes only after a copy has ended.
    expect(at('start /l3')).toBeGreaterThan(Math.min(at('end /l1'), at('end /l2')));
    expect(at('small /s')).toBeGreaterThan(at('start /l3'));
    for (const name of ['l1', 'l2', 'l3', 'l4']) expect(at(`end /${name}`)).toBeGreaterThan(0);
    expect(steps.events.at(-1)).toBe('finish /');
  });

  it('walks an entry that has become a directory, before finishing its parent', async () => {
    const steps = new Recorder();
    await walk({ d: { now: 'becomes-directory' } }, steps);
    expect(steps.events).toEqual([
      'list /',
      'list /d',
      'list /d/now',
      'finish /d/now',
      'finish /d',
      'finish /',
    ]);
  });

  it('after a failing step starts nothing new, and settles once the large copies have ended', async () => {
    const steps = new Recorder(100);
    const error = await rejection(walk({ big: 'large', bad: 'failing', after: 'small' }, steps));
    expect(error.message).toBe('cannot copy /bad');
    expect(steps.events).toEqual(['list /', 'start /big', 'fail /bad', 'end /big']);
  });

  it('fails with the error of a large copy, finishing nothing', async () => {
    const steps = new Recorder(20);
    const error = await rejection(walk({ d: { big: 'failing-large' }, s: 'small' }, steps));
    expect(error.message).toBe('large copy of /d/big failed');
    expect(steps.events.filter((event) => event.startsWith('finish'))).toEqual([]);
  });

  it('does nothing when aborted before it starts', async () => {
    const controller = new AbortController();
    controller.abort();
    const steps = new Recorder();
    const error = await rejection(walk({ a: 'small' }, steps, { signal: controller.signal }));
    expect(error.message).toBe('aborted');
    expect(steps.events).toEqual([]);
  });

  it('stops at the next item when aborted', async () => {
    const controller = new AbortController();
    const steps = new Recorder();
    steps.afterSmall = (done) => {
      if (done === 2) controller.abort();
    };
    const error = await rejection(
      walk({ a: 'small', b: 'small', c: 'small', d: { e: 'small' } }, steps, {
        signal: controller.signal,
      }),
    );
    expect(error.message).toBe('aborted');
    expect(steps.events).toEqual(['list /', 'small /a', 'small /b']);
  });

  it('gives the event loop a turn during a long stretch of small entries', async () => {
    const tree: Tree = {};
    for (let index = 0; index < 200; index += 1) tree[`f${index}`] = 'small';
    const steps = new Recorder();
    // Each small entry takes a millisecond, so the walk takes about 200 ms.
    steps.afterSmall = () => {
      const until = Date.now() + 1;
      while (Date.now() < until) {
        // busy, as a synchronous copy is
      }
    };
    let doneWhenYielded: number | undefined;
    setImmediate(() => {
      doneWhenYielded = steps.events.length - 1;
    });
    await walk(tree, steps);
    expect(doneWhenYielded).toBeGreaterThan(0);
    expect(doneWhenYielded).toBeLessThan(100);
  });
});
