#!/usr/bin/env node
// Checks the imports between the folders of src/ (one layer each): a file may import its own
// folder and the layers below its own, never a layer above it or beside it, and no file may
// reach itself through its imports (a cycle, even through `import type`: it still ties the
// files together). Every relative `import`/`export ... from`, `import x = require()`,
// `require()`, `import()` and `typeof import()` of src/**/*.ts counts, so a lazy load cannot
// hide an upward import. Prints one line per violation and exits 1 if there is any; run by
// scripts/test.sh and `npm run lint`. Usage: node scripts/check-imports.js [root]
'use strict';
const { existsSync, readFileSync, readdirSync, statSync } = require('node:fs');
const { dirname, join, relative, resolve, sep } = require('node:path');

/**
 * The layers, lowest first: one entry per rank, the folders of src/ at that rank. A folder may
 * import the folders of lower ranks; folders of the same rank may not import each other. The
 * comment at the top of eslint.config.mjs shows this table, with the reasons: keep them alike.
 */
const LAYERS = [
  ['units', 'errors'],
  ['config', 'directives'],
  ['logging', 'metrics'],
  ['keystore'],
  ['registry'],
  ['lifecycle', 'pfsprovider'],
  ['dacd', 'cli'],
];

/** The rank of each folder in `layers`. */
function ranksOf(layers) {
  const ranks = new Map();
  layers.forEach((folders, rank) => folders.forEach((folder) => ranks.set(folder, rank)));
  return ranks;
}

/**
 * The module specifiers `text` (TypeScript source) imports, with their lines (1-based). Parsed
 * with the TypeScript compiler, so imports in comments and strings do not count.
 */
function importsOf(fileName, text) {
  const ts = require('typescript');
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found = [];
  const add = (node) => {
    if (node !== undefined && ts.isStringLiteralLike(node)) {
      const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
      found.push({ specifier: node.text, line });
    }
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier);
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference)
    ) {
      add(node.moduleReference.expression);
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === 'require'))
    ) {
      add(node.arguments[0]);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/**
 * The file a relative `specifier` in `fromFile` names, as TypeScript resolves it (`./x` is
 * `./x.ts` or `./x/index.ts`; `./x.js` is `./x.ts`); undefined for a package or a missing file.
 */
function resolveImport(fromFile, specifier, isFile) {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return undefined;
  const base = resolve(dirname(fromFile), specifier);
  const candidates = [`${base}.ts`, join(base, 'index.ts'), base];
  if (base.endsWith('.js')) candidates.unshift(`${base.slice(0, -'.js'.length)}.ts`);
  return candidates.find(isFile);
}

/** The folder of src/ that holds `file` (a path relative to the root), or undefined. */
function folderOf(file) {
  const parts = file.split('/');
  return parts[0] === 'src' && parts.length > 2 ? parts[1] : undefined;
}

/**
 * Why the folder `from` may not import the folder `to` (`undefined` when it may): a line of
 * the report, after the two files.
 */
function layerViolation(from, to, ranks) {
  if (from === to) return undefined;
  const fromRank = ranks.get(from);
  const toRank = ranks.get(to);
  if (fromRank === undefined || toRank === undefined) return undefined; // reported per file
  return toRank < fromRank ? undefined : `${from} may not import ${to}`;
}

/**
 * The cycles of `graph` (file → the files it imports), each a list of files whose last is its
 * first. Every import that lies on a cycle is on at least one of those reported, the shortest
 * through it; each cycle starts at its first file in sort order, and is reported once.
 */
function findCycles(graph) {
  const cycles = [];
  const seen = new Set();
  for (const component of stronglyConnected(graph)) {
    const inside = new Set(component);
    const covered = new Set();
    for (const from of [...component].sort()) {
      for (const to of [...(graph.get(from) ?? [])].sort()) {
        if (!inside.has(to) || covered.has(`${from}\n${to}`)) continue;
        const path = shortestPath(graph, to, from, inside);
        const cycle = rotateToFirst([from, ...path]);
        for (let i = 0; i + 1 < cycle.length; i += 1) covered.add(`${cycle[i]}\n${cycle[i + 1]}`);
        const key = cycle.join('\n');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(cycle);
        }
      }
    }
  }
  return cycles;
}

/** The strongly connected components of `graph` with a cycle in them (Tarjan's algorithm). */
function stronglyConnected(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const components = [];
  let next = 0;
  const connect = (node) => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!index.has(to)) {
        connect(to);
        low.set(node, Math.min(low.get(node), low.get(to)));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node), index.get(to)));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) {
      components.push(component);
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) connect(node);
  return components;
}

/** The shortest path from `start` to `goal` through the nodes of `inside` (both included). */
function shortestPath(graph, start, goal, inside) {
  const previous = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift();
    if (node === goal) break;
    for (const to of [...(graph.get(node) ?? [])].sort()) {
      if (inside.has(to) && !previous.has(to)) {
        previous.set(to, node);
        queue.push(to);
      }
    }
  }
  const path = [];
  for (let node = goal; node !== undefined; node = previous.get(node)) path.unshift(node);
  return path;
}

/** A cycle (last = first) rotated to start at its first node in sort order. */
function rotateToFirst(cycle) {
  const nodes = cycle.slice(0, -1);
  const first = nodes.indexOf([...nodes].sort()[0]);
  const rotated = [...nodes.slice(first), ...nodes.slice(0, first)];
  return [...rotated, rotated[0]];
}

/** Every .ts file under `dir`, as paths relative to `root` with `/` separators. */
function sourceFiles(root, dir) {
  return readdirSync(join(root, dir), { withFileTypes: true })
    .flatMap((entry) => {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) return sourceFiles(root, path);
      return entry.isFile() && entry.name.endsWith('.ts') ? [path] : [];
    })
    .sort();
}

/**
 * The violations of the tree at `root`: one line each, files relative to `root`.
 * `layers`: the layer table (default `LAYERS`).
 */
function checkImports(root, layers = LAYERS) {
  const ranks = ranksOf(layers);
  const isFile = (path) => existsSync(path) && statSync(path).isFile();
  const toRelative = (path) => relative(root, path).split(sep).join('/');
  const violations = [];
  const graph = new Map();
  for (const file of sourceFiles(root, 'src')) {
    const folder = folderOf(file);
    if (folder === undefined || !ranks.has(folder)) {
      const why = folder === undefined ? 'a file directly in src/' : `folder ${folder}`;
      violations.push(`${file}: ${why} has no layer in the layer table`);
    }
    const targets = new Set();
    const text = readFileSync(join(root, file), 'utf8');
    for (const { specifier, line } of importsOf(file, text)) {
      const resolved = resolveImport(join(root, file), specifier, isFile);
      if (resolved === undefined) {
        if (specifier.startsWith('.')) {
          violations.push(`${file}:${line}: cannot resolve '${specifier}'`);
        }
        continue;
      }
      const target = toRelative(resolved);
      if (!target.startsWith('src/')) continue;
      targets.add(target);
      const targetFolder = folderOf(target);
      const why = folder && targetFolder ? layerViolation(folder, targetFolder, ranks) : undefined;
      if (why !== undefined) violations.push(`${file} -> ${target}: ${why}`);
    }
    graph.set(file, [...targets]);
  }
  for (const cycle of findCycles(graph)) violations.push(`cycle: ${cycle.join(' -> ')}`);
  return violations;
}

module.exports = {
  LAYERS,
  checkImports,
  findCycles,
  folderOf,
  importsOf,
  layerViolation,
  ranksOf,
  resolveImport,
};

if (require.main === module) {
  const root = resolve(process.argv[2] ?? join(__dirname, '..'));
  const violations = checkImports(root);
  for (const line of violations) console.log(line);
  if (violations.length > 0) {
    console.log(`${violations.length} import violation(s); the layers are in ${__filename}`);
    process.exit(1);
  }
}
