/**
 * scripts/check-imports.js, the CI check of src/'s import layers and cycles: what it counts as
 * an import, how it resolves one, which folder may import which, and the cycles it reports.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

interface CheckImports {
  LAYERS: string[][];
  checkImports(root: string, layers?: string[][]): string[];
  findCycles(graph: Map<string, string[]>): string[][];
  importsOf(fileName: string, text: string): { specifier: string; line: number }[];
  layerViolation(from: string, to: string, ranks: Map<string, number>): string | undefined;
  ranksOf(layers: string[][]): Map<string, number>;
  resolveImport(
    fromFile: string,
    specifier: string,
    isFile: (path: string) => boolean,
  ): string | undefined;
}

// A plain CommonJS script (CI runs it with node), so required rather than imported.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const check = require('../../../scripts/check-imports') as CheckImports;

describe('importsOf', () => {
  it('finds every kind of import, static, lazy and type-only, with its line', () => {
    const text = [
      "import { a } from './a';",
      "import type { B } from '../b';",
      "export { c } from './c';",
      "export * from './d';",
      "import e = require('./e');",
      "const f = require('./f');",
      "const g = await import('./g');",
      "let h: typeof import('./h');",
      "import './i';",
      "import { readFileSync } from 'node:fs';",
    ].join('\n');
    expect(check.importsOf('x.ts', text)).toEqual([
      { specifier: './a', line: 1 },
      { specifier: '../b', line: 2 },
      { specifier: './c', line: 3 },
      { specifier: './d', line: 4 },
      { specifier: './e', line: 5 },
      { specifier: './f', line: 6 },
      { specifier: './g', line: 7 },
      { specifier: './h', line: 8 },
      { specifier: './i', line: 9 },
      { specifier: 'node:fs', line: 10 },
    ]);
  });

  it('ignores imports written in comments and strings', () => {
    const text = [
      "// import { a } from './a';",
      "/** Use `require('./b')` for that. */",
      'const text = "import { c } from \'./c\'";',
      "const template = `require('./d')`;",
    ].join('\n');
    expect(check.importsOf('x.ts', text)).toEqual([]);
  });
});

describe('resolveImport', () => {
  const files = new Set(['/r/src/a/b.ts', '/r/src/a/c/index.ts', '/r/src/d.ts']);
  const isFile = (path: string) => files.has(path);

  it('resolves a relative specifier as TypeScript does', () => {
    expect(check.resolveImport('/r/src/a/x.ts', './b', isFile)).toBe('/r/src/a/b.ts');
    expect(check.resolveImport('/r/src/a/x.ts', './b.js', isFile)).toBe('/r/src/a/b.ts');
    expect(check.resolveImport('/r/src/a/x.ts', './c', isFile)).toBe('/r/src/a/c/index.ts');
    expect(check.resolveImport('/r/src/a/c/x.ts', '../../d', isFile)).toBe('/r/src/d.ts');
  });

  it('leaves out packages and missing files', () => {
    expect(check.resolveImport('/r/src/a/x.ts', 'zod', isFile)).toBeUndefined();
    expect(check.resolveImport('/r/src/a/x.ts', 'node:fs', isFile)).toBeUndefined();
    expect(check.resolveImport('/r/src/a/x.ts', './missing', isFile)).toBeUndefined();
  });
});

describe('layerViolation', () => {
  const ranks = check.ranksOf(check.LAYERS);

  it('lets a folder import lower layers and itself', () => {
    expect(check.layerViolation('cli', 'errors', ranks)).toBeUndefined();
    expect(check.layerViolation('pfsprovider', 'registry', ranks)).toBeUndefined();
    expect(check.layerViolation('keystore', 'logging', ranks)).toBeUndefined();
    expect(check.layerViolation('registry', 'registry', ranks)).toBeUndefined();
  });

  it('refuses an upward import and one between folders of the same layer', () => {
    expect(check.layerViolation('dacd', 'cli', ranks)).toBe('dacd may not import cli');
    expect(check.layerViolation('pfsprovider', 'lifecycle', ranks)).toBe(
      'pfsprovider may not import lifecycle',
    );
    expect(check.layerViolation('errors', 'config', ranks)).toBe('errors may not import config');
    expect(check.layerViolation('directives', 'logging', ranks)).toBe(
      'directives may not import logging',
    );
  });
});

describe('findCycles', () => {
  const graph = (edges: Record<string, string[]>) => new Map(Object.entries(edges));

  it('finds none in a tree of imports', () => {
    expect(check.findCycles(graph({ a: ['b', 'c'], b: ['c'], c: [] }))).toEqual([]);
  });

  it('reports each cycle once, from its first file in sort order', () => {
    expect(check.findCycles(graph({ c: ['a'], a: ['b'], b: ['c'], d: ['d'] }))).toEqual([
      ['a', 'b', 'c', 'a'],
      ['d', 'd'],
    ]);
  });

  it('reports every import that lies on a cycle, on the shortest cycle through it', () => {
    // One hub and two files that import it back, plus a longer way round.
    const cycles = check.findCycles(
      graph({ hub: ['x', 'y'], x: ['hub'], y: ['z', 'hub'], z: ['hub'] }),
    );
    expect(cycles).toEqual([
      ['hub', 'x', 'hub'],
      ['hub', 'y', 'hub'],
      ['hub', 'y', 'z', 'hub'],
    ]);
  });
});

describe('checkImports', () => {
  let root: string;
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'check-imports-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('accepts a tree that imports only downwards', () => {
    write('src/errors/errors.ts', 'export class E extends Error {}\n');
    write('src/cli/run.ts', "import { E } from '../errors/errors';\nexport const e = E;\n");
    write('src/cli/commands/x.ts', "import { e } from '../run';\nexport const x = e;\n");
    expect(check.checkImports(root)).toEqual([]);
  });

  it('names each upward import, unresolved import, unknown folder and cycle', () => {
    write('src/dacd/main.ts', "import { EXIT } from '../cli/exit-codes';\n");
    write('src/cli/exit-codes.ts', 'export const EXIT = {};\n');
    write('src/registry/a.ts', "import type { B } from './b';\nexport type A = B;\n");
    write('src/registry/b.ts', "export type B = import('./a').A;\n");
    write('src/errors/e.ts', "const lazy = () => require('../units/nowhere');\n");
    write('src/stray.ts', '');
    write('src/extras/x.ts', '');
    expect(check.checkImports(root)).toEqual([
      'src/dacd/main.ts -> src/cli/exit-codes.ts: dacd may not import cli',
      "src/errors/e.ts:1: cannot resolve '../units/nowhere'",
      'src/extras/x.ts: folder extras has no layer in the layer table',
      'src/stray.ts: a file directly in src/ has no layer in the layer table',
      'cycle: src/registry/a.ts -> src/registry/b.ts -> src/registry/a.ts',
    ]);
  });

  it('checks against the layers it is given', () => {
    write('src/low/a.ts', "import '../high/b';\n");
    write('src/high/b.ts', '');
    expect(check.checkImports(root, [['low'], ['high']])).toEqual([
      'src/low/a.ts -> src/high/b.ts: low may not import high',
    ]);
    expect(check.checkImports(root, [['high'], ['low']])).toEqual([]);
  });
});
