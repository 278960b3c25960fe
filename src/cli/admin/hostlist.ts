/**
 * Host lists as HPC tools write them (Slurm's `scontrol show hostnames`, pdsh): names separated
 * by commas, where a bracket holds numbers and ranges, `dac[01-12,15]`, zero padding kept from
 * the range's first bound, several brackets multiplied out (`r[1-2]n[1-3]`). Pure.
 */
import { UsageError } from '../../errors/exit-codes';

/** More names than any site's storage hosts: a typo such as `dac[1-100000]` stops here. */
export const MAX_HOSTS = 10000;

/** Split `text` at commas outside brackets. */
function splitTop(text: string, list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '[') depth += 1;
    else if (c === ']') depth -= 1;
    if (depth < 0 || depth > 1) throw bad(list, 'brackets do not pair up');
    if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) throw bad(list, 'a bracket is not closed');
  parts.push(text.slice(start));
  return parts;
}

function bad(list: string, why: string): UsageError {
  return new UsageError(`host list "${list}": ${why}`);
}

/** The numbers of one bracket, `01-12,15`, as strings with their padding. */
function bracketValues(inner: string, list: string): string[] {
  const values: string[] = [];
  for (const part of inner.split(',')) {
    const match = /^([0-9]+)(?:-([0-9]+))?$/.exec(part);
    if (!match) throw bad(list, `"[${inner}]" must hold numbers and ranges such as 01-12,15`);
    const [, from, to = from] = match as unknown as [string, string, string?];
    const first = Number(from);
    const last = Number(to);
    if (last < first) throw bad(list, `the range ${part} runs backwards`);
    if (last - first + values.length >= MAX_HOSTS) throw tooMany(list);
    const width = from.length > 1 && from.startsWith('0') ? from.length : 0;
    for (let n = first; n <= last; n += 1) values.push(String(n).padStart(width, '0'));
  }
  return values;
}

function tooMany(list: string): UsageError {
  return bad(list, `names more than ${MAX_HOSTS} hosts`);
}

/** The names of one comma-free term, brackets multiplied out left to right. */
function expandTerm(term: string, list: string): string[] {
  let names = [''];
  const pattern = /([^[\]]*)(?:\[([^\]]*)\])?/gy;
  let match: RegExpExecArray | null;
  while (pattern.lastIndex < term.length && (match = pattern.exec(term)) !== null) {
    const [, literal = '', inner] = match;
    const values = inner === undefined ? [''] : bracketValues(inner, list);
    if (names.length * values.length > MAX_HOSTS) throw tooMany(list);
    names = names.flatMap((name) => values.map((value) => name + literal + value));
  }
  return names;
}

/**
 * The host names of `list`, in the order written, each once. An empty list, an empty name or
 * a bad bracket is a UsageError naming the list.
 */
export function expandHostList(list: string): string[] {
  const names = new Set<string>();
  for (const term of splitTop(list.trim(), list)) {
    if (term === '') throw bad(list, 'has an empty name (two commas, or one at an end)');
    for (const name of expandTerm(term, list)) {
      names.add(name);
      if (names.size > MAX_HOSTS) throw tooMany(list);
    }
  }
  return [...names];
}
