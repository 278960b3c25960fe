/**
 * Typed directives written out as job scripts the way users write them: keys in random case,
 * options in any order, runs of whitespace, `\` continuations anywhere (inside a word too),
 * comments and `#SBATCH` lines between directives, and Slurm's final NUL. Each script comes
 * with the directives, and their lines, that parsing it must give.
 */
import * as fc from 'fast-check';
import type {
  AccessMode,
  BufferRef,
  CreatePersistentDirective,
  DestroyPersistentDirective,
  Directive,
  DirectivePrefix,
  JobBufferDirective,
  PersistentUseDirective,
  StageDirective,
  StageType,
} from '../../../src/directives';
import { anyCase } from './characters';
import { capacityText } from './sizes';
import { bufferPath, filesystemPath, persistentName, poolName } from './values';

/** A directive without its line: the line is known once the script is laid out. */
export type UnlinedDirective = WithoutLine<Directive>;
type WithoutLine<T> = T extends unknown ? Omit<T, 'line'> : never;

/** A typed directive and the words that write it, command first. */
export interface DirectiveSpec {
  prefix: DirectivePrefix;
  words: string[];
  directive: UnlinedDirective;
}

/** The command, then `key=value` options (keys in random case) and bare words, shuffled. */
function wordsFor(
  command: string,
  options: ReadonlyArray<readonly [string, string]>,
  bare: readonly string[] = [],
): fc.Arbitrary<string[]> {
  return fc
    .tuple(...options.map(([key, value]) => anyCase(key).map((k) => `${k}=${value}`)))
    .chain((tokens) => {
      const all = [...tokens, ...bare];
      return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length });
    })
    .map((tokens) => [command, ...tokens]);
}

const accessMode = fc.constantFrom<AccessMode>('striped', 'private', 'striped,private');

/** How an access mode may be written: both orders for `striped,private`. */
function accessSpelling(mode: AccessMode): fc.Arbitrary<string> {
  return mode === 'striped,private'
    ? fc.constantFrom('striped,private', 'private,striped')
    : fc.constant(mode);
}

export const jobdwSpec: fc.Arbitrary<DirectiveSpec> = fc
  .record({
    capacity: capacityText,
    accessMode,
    pool: fc.option(poolName, { nil: undefined }),
    explicitAccess: fc.boolean(),
    explicitType: fc.boolean(),
  })
  .chain((spec) =>
    accessSpelling(spec.accessMode).chain((access) => {
      const options: Array<[string, string]> = [['capacity', spec.capacity.text]];
      if (spec.accessMode !== 'striped' || spec.explicitAccess) {
        options.push(['access_mode', access]);
      }
      if (spec.explicitType) options.push(['type', 'scratch']);
      if (spec.pool !== undefined) options.push(['pool', spec.pool]);
      const directive: Omit<JobBufferDirective, 'line'> = {
        kind: 'jobdw',
        capacityBytes: spec.capacity.bytes,
        accessMode: spec.accessMode,
        type: 'scratch',
        ...(spec.pool === undefined ? {} : { pool: spec.pool }),
      };
      return wordsFor('jobdw', options).map((words) => ({
        prefix: 'DW' as const,
        words,
        directive,
      }));
    }),
  );

export function persistentdwSpec(name: string): fc.Arbitrary<DirectiveSpec> {
  const directive: Omit<PersistentUseDirective, 'line'> = { kind: 'persistentdw', name };
  return wordsFor('persistentdw', [['name', name]]).map((words) => ({
    prefix: 'DW' as const,
    words,
    directive,
  }));
}

/** A stage line through `buffer`: into it for stage_in, out of it for stage_out. */
export function stageSpec(
  kind: StageDirective['kind'],
  buffer: BufferRef,
): fc.Arbitrary<DirectiveSpec> {
  return fc
    .record({
      inBuffer: bufferPath(buffer),
      outside: filesystemPath,
      type: fc.constantFrom<StageType>('file', 'directory', 'list'),
    })
    .chain(({ inBuffer, outside, type }) => {
      const source = kind === 'stage_in' ? outside : inBuffer;
      const destination = kind === 'stage_in' ? inBuffer : outside;
      const directive: Omit<StageDirective, 'line'> = { kind, source, destination, type, buffer };
      const options: Array<[string, string]> = [
        ['source', source],
        ['destination', destination],
        ['type', type],
      ];
      return wordsFor(kind, options).map((words) => ({ prefix: 'DW' as const, words, directive }));
    });
}

export const createPersistentSpec: fc.Arbitrary<DirectiveSpec> = fc
  .record({
    name: persistentName,
    capacity: capacityText,
    accessMode: fc.option(accessMode, { nil: undefined }),
    accessKey: fc.constantFrom('access', 'access_mode'),
    type: fc.boolean(),
    pool: fc.option(poolName, { nil: undefined }),
  })
  .chain((spec) =>
    (spec.accessMode === undefined
      ? fc.constant(undefined)
      : accessSpelling(spec.accessMode)
    ).chain((access) => {
      const options: Array<[string, string]> = [
        ['name', spec.name],
        ['capacity', spec.capacity.text],
      ];
      if (access !== undefined) options.push([spec.accessKey, access]);
      if (spec.type) options.push(['type', 'scratch']);
      if (spec.pool !== undefined) options.push(['pool', spec.pool]);
      const directive: Omit<CreatePersistentDirective, 'line'> = {
        kind: 'create_persistent',
        name: spec.name,
        capacityBytes: spec.capacity.bytes,
        ...(spec.accessMode === undefined ? {} : { accessMode: spec.accessMode }),
        ...(spec.type ? { type: 'scratch' as const } : {}),
        ...(spec.pool === undefined ? {} : { pool: spec.pool }),
      };
      return wordsFor('create_persistent', options).map((words) => ({
        prefix: 'BB' as const,
        words,
        directive,
      }));
    }),
  );

export const destroyPersistentSpec: fc.Arbitrary<DirectiveSpec> = fc
  .tuple(persistentName, fc.nat(2))
  .chain(([name, hurries]) => {
    const directive: Omit<DestroyPersistentDirective, 'line'> = {
      kind: 'destroy_persistent',
      name,
      hurry: hurries > 0,
    };
    return wordsFor('destroy_persistent', [['name', name]], Array(hurries).fill('hurry')).map(
      (words) => ({ prefix: 'BB' as const, words, directive }),
    );
  });

/** Whitespace between words: runs of spaces and tabs, now and then a vertical tab or form feed. */
const separator = fc.string({
  unit: fc.constantFrom(' ', ' ', ' ', '\t', '\v', '\f'),
  minLength: 1,
  maxLength: 3,
});

/**
 * The physical lines of one directive: `#DW`/`#BB`, the words with whitespace between them,
 * maybe trailing whitespace, and split anywhere (inside a word too) into `\`-continued lines,
 * with now and then an empty line between them, which Slurm skips.
 */
export function physicalLines(
  prefix: DirectivePrefix,
  words: readonly string[],
): fc.Arbitrary<string[]> {
  return fc
    .record({
      separators: fc.array(separator, { minLength: words.length, maxLength: words.length }),
      trailing: fc.constantFrom('', '', ' ', '\t', '  '),
      splits: fc.oneof(
        { weight: 3, arbitrary: fc.constant<number[]>([]) },
        { weight: 1, arbitrary: fc.uniqueArray(fc.nat(), { minLength: 1, maxLength: 3 }) },
      ),
      blanks: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    })
    .map(({ separators, trailing, splits, blanks }) => {
      const body = words.map((word, i) => `${separators[i] ?? ' '}${word}`).join('') + trailing;
      // A UTF-8 script cannot split a character over two lines: never cut a surrogate pair.
      const cutAt = (split: number): number => {
        const cut = split % (body.length + 1);
        return /[\uD800-\uDBFF]/.test(body[cut - 1] ?? '') ? cut - 1 : cut;
      };
      const cuts = [...new Set(splits.map(cutAt))].sort((a, b) => a - b);
      const lines: string[] = [];
      let start = 0;
      cuts.forEach((cut, i) => {
        lines.push(`#${prefix}${body.slice(start, cut)}\\`);
        if (blanks[i]) lines.push('');
        start = cut;
      });
      lines.push(`#${prefix}${body.slice(start)}`);
      return lines;
    });
}

/** Lines that may sit between directives without ending the directive block. */
const fillerLine = fc.constantFrom(
  '#SBATCH -N 2',
  '#SBATCH --time=10',
  '## notes',
  '#',
  '',
  '# DW jobdw capacity=1TiB',
  '#dw jobdw capacity=1TiB',
  '#!',
);

/** A script with typed directives, and what parsing it must give. */
export interface ScriptCase {
  script: string;
  directives: Directive[];
}

/** Everything a valid job can hold: at most one jobdw, and stages only through its buffers. */
const directiveSet: fc.Arbitrary<DirectiveSpec[]> = fc
  .record({
    jobdw: fc.option(jobdwSpec, { nil: undefined }),
    persistent: fc.array(persistentName, { maxLength: 3 }),
    creates: fc.array(createPersistentSpec, { maxLength: 2 }),
    destroys: fc.array(destroyPersistentSpec, { maxLength: 2 }),
  })
  .chain((set) => {
    const buffers: BufferRef[] = [];
    const jobdw = set.jobdw?.directive;
    if (jobdw?.kind === 'jobdw' && jobdw.accessMode !== 'private') buffers.push({ kind: 'job' });
    for (const name of new Set(set.persistent)) buffers.push({ kind: 'persistent', name });
    // fc.constantFrom() needs at least one value: no buffer, no stage line.
    const stages =
      buffers.length === 0
        ? fc.constant([])
        : fc.array(
            fc
              .tuple(
                fc.constantFrom('stage_in' as const, 'stage_out' as const),
                fc.constantFrom(...buffers),
              )
              .chain(([kind, buffer]) => stageSpec(kind, buffer)),
            { maxLength: 5 },
          );
    return fc.tuple(fc.constant(set), stages, fc.tuple(...set.persistent.map(persistentdwSpec)));
  })
  .chain(([set, stages, persistents]) => {
    const all = [
      ...(set.jobdw === undefined ? [] : [set.jobdw]),
      ...persistents,
      ...set.creates,
      ...set.destroys,
      ...stages,
    ];
    return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length });
  });

/** How a script may start and end: a shebang or not, a command, and Slurm's final NUL. */
const header = fc.constantFrom<string[]>(['#!/bin/bash'], ['#!/bin/sh', '#SBATCH -N 2'], []);
const footer = fc.constantFrom<string[]>(
  ['srun ./app'],
  ['echo $DW_JOB_STRIPED', '#DW jobdw capacity=1GiB', 'srun ./app'],
  ['   ', '#DW persistentdw name=ignored'],
  [],
);
export const ending = fc.constantFrom(
  '',
  '\n',
  '\n\0',
  '\n\0\0\0',
  '\n\0#DW jobdw capacity=1GiB\n',
);

/** A job script written from typed directives, and the directives (with lines) it holds. */
export const scriptCase: fc.Arbitrary<ScriptCase> = directiveSet.chain((specs) =>
  fc
    .record({
      physical: fc.tuple(...specs.map((spec) => physicalLines(spec.prefix, spec.words))),
      fillers: fc.array(fc.array(fillerLine, { maxLength: 2 }), {
        minLength: specs.length + 1,
        maxLength: specs.length + 1,
      }),
      header,
      footer,
      ending,
    })
    .map(({ physical, fillers, header: top, footer: bottom, ending: end }) => {
      const lines = [...top];
      const directives: Directive[] = [];
      const used = new Set<string>();
      specs.forEach((spec, i) => {
        lines.push(...(fillers[i] ?? []));
        const line = lines.length + 1;
        lines.push(...(physical[i] ?? []));
        const typed = spec.directive;
        if (typed.kind === 'persistentdw') {
          if (used.has(typed.name)) return; // a repeated persistentdw is kept once
          used.add(typed.name);
        }
        directives.push({ ...typed, line } as Directive);
      });
      lines.push(...(fillers[specs.length] ?? []), ...bottom);
      return { script: lines.join('\n') + end, directives };
    }),
);
