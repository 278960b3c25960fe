/**
 * Bricks of a session torn down by force in the operators' views: state `wiping`, counted as
 * allocated in every sum, and who tore the session down, when and why, below the tables.
 */
import { brickRows, usageOf, wipeLines } from '../../../../src/cli/admin/inventory-view';
import { brickId } from '../../../../src/registry/inventory';
import { GRAN, inventory } from '../../../support/inventory';

function withWipes() {
  const inv = inventory({ dac1: { bricks: 3, allocated: [2] }, dac2: { bricks: 1 } });
  for (const [index, device] of ['nvme0n1', 'nvme1n1'].entries()) {
    inv.allocations.set(brickId('dac1', device), {
      schemaVersion: 1,
      sessionId: 9,
      token: '4001',
      index,
      wipe: { by: 'root', reason: 'dac1 hangs', at: 1_800_000_000 },
    });
  }
  return inv;
}

describe('bricks awaiting a wipe', () => {
  it('are shown as wiping, with the session and who tore it down', () => {
    const rows = brickRows(withWipes());
    expect(rows.map((r) => [r.host, r.device, r.state, r.session?.token ?? '-'])).toEqual([
      ['dac1', 'nvme0n1', 'wiping', '4001'],
      ['dac1', 'nvme1n1', 'wiping', '4001'],
      ['dac1', 'nvme2n1', 'allocated', 'other'],
      ['dac2', 'nvme0n1', 'free', '-'],
    ]);
    expect(rows[0]!.wipe).toEqual({ by: 'root', reason: 'dac1 hangs', at: 1_800_000_000 });
    expect(rows[2]!.wipe).toBeUndefined();
  });

  it('count as allocated, never free', () => {
    expect(usageOf(brickRows(withWipes()))).toEqual({
      bricks: 4,
      allocated: 3,
      free: 1,
      unavailable: 0,
      totalBytes: 4n * GRAN,
      allocatedBytes: 3n * GRAN,
      freeBytes: GRAN,
      unavailableBytes: 0n,
    });
  });

  it('get one line per host and session below the table', () => {
    expect(wipeLines(brickRows(withWipes()))).toEqual([
      'wiping dac1 nvme0n1, nvme1n1 (session 4001): torn down by root at 2027-01-15 08:00Z: ' +
        'dac1 hangs',
    ]);
    expect(wipeLines(brickRows(inventory({ dac1: { bricks: 1, allocated: [0] } })))).toEqual([]);
  });
});
