/** The table of bricks that `bricks list` and `hosts show` print. */
import { formatBytes } from '../../units/bytes';
import { formatTable, type Column } from '../dwstat/table';
import type { BrickRow } from './inventory-view';

/** One row per brick; `withHost` adds the host column (a list of several hosts' bricks). */
export function brickTable(rows: readonly BrickRow[], withHost: boolean): string {
  const left = (header: string): Column => ({ header, align: 'left' });
  const columns = [
    ...(withHost ? [left('HOST')] : []),
    left('DEVICE'),
    left('POOL'),
    { header: 'CAPACITY', align: 'right' } as const,
    left('STATE'),
    left('SESSION'),
  ];
  return formatTable(
    columns,
    rows.map((b) => [
      ...(withHost ? [b.host] : []),
      b.device,
      b.pool,
      formatBytes(b.capacityBytes),
      b.state,
      b.session?.token ?? '-',
    ]),
  );
}
