/**
 * The order and pace of a tree copy, apart from what is copied (copy-tree.ts says that).
 *
 * Work items sit on a stack, so the walk goes depth first, in directory order, and the backlog
 * stays small. A directory is finished (its mode and times set) by an item pushed when its last
 * child is done, large copies included. Small work runs synchronously on the main thread in
 * slices of {@link SLICE_MS}, between which the event loop gets a turn (abort, stdin, the large
 * copies ending); large copies run in the thread pool, up to `concurrency` at a time, while the
 * walk goes on. When no slot is free the walk waits until a large copy ends.
 *
 * After a failure or an abort nothing new starts, and the walk settles only once the large
 * copies in flight have ended: they cannot be interrupted, and the counts reported after a
 * failure must include them.
 */

/** The longest stretch of synchronous work before the event loop gets a turn. */
export const SLICE_MS = 20;

export const yieldToEventLoop = (): Promise<void> =>
  new Promise((resolve) => setImmediate(resolve));

/**
 * The pace of a sequence of steps outside a tree walk (transfers, a list's entries): between
 * two steps the event loop gets a turn when the last one was at least {@link SLICE_MS} ago, and
 * an abort stops the sequence.
 */
export class StepPacer {
  private sliceStart = Date.now();

  constructor(
    private readonly signal: AbortSignal,
    /** The error to fail with when `signal` is aborted. */
    private readonly aborted: () => Error,
  ) {}

  /** Before the next step: give the event loop a turn now and then; throw when aborted. */
  async next(): Promise<void> {
    if (Date.now() - this.sliceStart >= SLICE_MS) {
      await yieldToEventLoop();
      this.sliceStart = Date.now();
    }
    if (this.signal.aborted) throw this.aborted();
  }
}

/** A child of a listed directory. */
export type TreeChild<Dir, Entry> =
  { kind: 'directory'; dir: Dir } | { kind: 'entry'; entry: Entry };

/** What became of an entry handed to {@link TreeSteps.entry}. */
export type EntryStep<Dir> =
  /** Copied (or found complete) at once. */
  | { kind: 'done' }
  /** It is a directory now (it was listed as something else): walk it. */
  | { kind: 'directory'; dir: Dir }
  /** A copy to run in the thread pool once a slot is free. */
  | { kind: 'large'; start(): Promise<void> };

/** The copying, as the walk sees it. A step that throws fails the walk. */
export interface TreeSteps<Dir, Entry> {
  /** Make `dir`'s destination if needed and list its source, in the order to copy. */
  list(dir: Dir): TreeChild<Dir, Entry>[];
  /** Copy `entry` (not a directory, when it was listed) of `parent`, or say what it needs. */
  entry(entry: Entry, parent: Dir): EntryStep<Dir>;
  /** Every child of `dir` is done. */
  finish(dir: Dir): void;
}

export interface WalkOptions {
  signal: AbortSignal;
  /** Large copies in flight at once (at least 1). */
  concurrency: number;
  /** The error to fail with when `signal` is aborted. */
  aborted(): Error;
}

interface Node<Dir> {
  dir: Dir;
  /** Children not finished yet. */
  pending: number;
  parent: Node<Dir> | undefined;
}

type Item<Dir, Entry> =
  | { kind: 'list'; node: Node<Dir> }
  | { kind: 'entry'; entry: Entry; parent: Node<Dir> }
  | { kind: 'large'; start(): Promise<void>; parent: Node<Dir> }
  | { kind: 'finish'; node: Node<Dir> };

/** Walk the tree under `root`; resolves when every directory is finished. */
export function walkTree<Dir, Entry>(
  root: Dir,
  steps: TreeSteps<Dir, Entry>,
  options: WalkOptions,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const stack: Item<Dir, Entry>[] = [
      { kind: 'list', node: { dir: root, pending: 0, parent: undefined } },
    ];
    let inFlight = 0;
    let failed = false;
    let failure: unknown;
    let woken = false;

    const fail = (error: unknown): void => {
      if (!failed) {
        failed = true;
        failure = error;
      }
      stack.length = 0;
    };
    const finished = (node: Node<Dir>): void => {
      node.pending -= 1;
      if (node.pending === 0) stack.push({ kind: 'finish', node });
    };
    const wake = (): void => {
      if (woken) return;
      woken = true;
      setImmediate(drive);
    };
    const startLarge = (start: () => Promise<void>, parent: Node<Dir>): void => {
      inFlight += 1;
      start().then(
        () => {
          inFlight -= 1;
          finished(parent);
          wake();
        },
        (error: unknown) => {
          inFlight -= 1;
          fail(error);
          wake();
        },
      );
    };

    /** Do one item; returns the item to retry when it must wait for a free large-copy slot. */
    const step = (item: Item<Dir, Entry>): Item<Dir, Entry> | undefined => {
      switch (item.kind) {
        case 'finish':
          steps.finish(item.node.dir);
          if (item.node.parent) finished(item.node.parent);
          return undefined;
        case 'list': {
          const { node } = item;
          const children = steps.list(node.dir);
          node.pending = children.length;
          if (children.length === 0) stack.push({ kind: 'finish', node });
          // Pushed in reverse so that the stack hands them out in directory order.
          for (let index = children.length - 1; index >= 0; index -= 1) {
            const child = children[index]!;
            stack.push(
              child.kind === 'directory'
                ? { kind: 'list', node: { dir: child.dir, pending: 0, parent: node } }
                : { kind: 'entry', entry: child.entry, parent: node },
            );
          }
          return undefined;
        }
        case 'entry': {
          const next = steps.entry(item.entry, item.parent.dir);
          if (next.kind === 'done') {
            finished(item.parent);
            return undefined;
          }
          if (next.kind === 'directory') {
            stack.push({ kind: 'list', node: { dir: next.dir, pending: 0, parent: item.parent } });
            return undefined;
          }
          return step({ kind: 'large', start: next.start, parent: item.parent });
        }
        case 'large':
          if (inFlight >= options.concurrency) return item;
          startLarge(item.start, item.parent);
          return undefined;
      }
    };

    const drive = (): void => {
      woken = false;
      const sliceEnd = Date.now() + SLICE_MS;
      let items = 0;
      try {
        while (!failed && stack.length > 0) {
          // Date.now() is cheap, but not free: look at the clock every few items.
          items += 1;
          if (items % 16 === 0 && Date.now() >= sliceEnd) {
            wake();
            return;
          }
          if (options.signal.aborted) {
            fail(options.aborted());
            break;
          }
          const waiting = step(stack.pop()!);
          if (waiting) {
            stack.push(waiting);
            break; // a large copy ending wakes us
          }
        }
      } catch (error) {
        fail(error);
      }
      if (inFlight === 0 && (failed || stack.length === 0)) {
        if (failed) reject(failure);
        else resolve();
      }
    };
    drive();
  });
}
