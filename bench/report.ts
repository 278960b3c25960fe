/**
 * Statistics, Markdown tables, machine facts and `bench/RESULTS.md` (newest run first).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, release } from 'node:os';

/** The value below which `fraction` of the samples lie (nearest rank). */
export function percentile(samples: readonly number[], fraction: number): number {
  if (samples.length === 0) throw new Error('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(fraction * sorted.length));
  return sorted[rank - 1]!;
}

/** The median (mean of the two middle samples when their number is even). */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** A Markdown table laid out as prettier does; `right` marks right-aligned columns. */
export function markdownTable(header: string[], rows: string[][], right: boolean[]): string {
  const widths = header.map((cell, c) =>
    Math.max(3, cell.length, ...rows.map((row) => (row[c] ?? '').length)),
  );
  const line = (cells: string[]): string =>
    `| ${cells
      .map((cell, c) => (right[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join(' | ')} |`;
  const rule = `| ${widths.map((w, c) => (right[c] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** The machine the numbers were taken on. */
export interface MachineFacts {
  cpus: number;
  model: string;
  memory: string;
  kernel: string;
  node: string;
  etcd: string;
}

/** Gather the facts; `node` and `etcd` are the binaries the benchmark ran. */
export function machineFacts(node: string, etcd: string): MachineFacts {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  const memKiB = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0);
  const etcdVersion = execFileSync(etcd, ['--version'], { encoding: 'utf8' });
  return {
    cpus: availableParallelism(),
    model: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown CPU',
    memory: `${(memKiB / 1024 / 1024).toFixed(1)} GiB`,
    kernel: `Linux ${release()}`,
    node: `${execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()} (${node})`,
    etcd: /etcd Version:\s*(\S+)/.exec(etcdVersion)?.[1] ?? etcdVersion.split('\n')[0]!,
  };
}

const MARKER = '<!-- Each run of the benchmark is inserted below this line, newest first. -->';

const HEADER = `# Benchmark results

Produced by \`npm run bench\` (see [README.md](README.md)): wall time of \`dw_wlm_cli\` calls as
subprocesses against a private etcd seeded with 1,000 hosts × 16 bricks and 2,000 sessions,
compared with \`node -e 0\` on the same machine in the same run. Targets: ≤ 2.0× \`node -e 0\`
(stretch 1.5×) and one etcd request per call.

\`npm run bench:dacd\` (sections titled "dacd"): setup-to-ready latency with the local provider,
and stage-in throughput against \`cp -a\` of the same tree (target ≥ 0.8×).

${MARKER}
`;

/** Insert `section` at the top of the results in `path`, creating the file if needed. */
export function prependResult(path: string, section: string): void {
  const current = existsSync(path) ? readFileSync(path, 'utf8') : HEADER;
  const at = current.indexOf(MARKER);
  if (at < 0) throw new Error(`${path} lacks the line ${MARKER}; restore it to add results`);
  const end = at + MARKER.length;
  const older = current.slice(end).trim();
  const text = `${current.slice(0, end)}\n\n${section.trim()}\n${older ? `\n${older}\n` : ''}`;
  writeFileSync(path, text);
}
