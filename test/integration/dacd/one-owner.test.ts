/**
 * One dacd per storage host, with real dacd processes: a second daemon for a served host is
 * refused and changes nothing; a daemon killed with -9 is replaced by its restart at once; a
 * daemon whose host another daemon took while its lease was lost stops.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { KeyLayout } from '../../../src/registry/keys';
import { DacdCluster } from '../../support/dacd-cluster';
import { DacdProcess } from '../../support/dacd-process';

let cluster: DacdCluster | undefined;

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

function second(c: DacdCluster, host: string): DacdProcess {
  return DacdProcess.spawn({
    prefix: c.prefix,
    host,
    localRoot: join(c.dir, 'other-bricks'),
    mountRoot: c.mountRoot,
    logFile: join(c.dir, 'second.log'),
  });
}

describe('one dacd per host', () => {
  it('a second dacd for a served host refuses to start, naming the owner, and changes nothing', async () => {
    const c = (cluster = await DacdCluster.start('one-owner', ['dac1']));
    const key = new KeyLayout(c.prefix).alive('dac1');
    const owner = c.dacd('dac1');
    const before = await c.store.get(key);
    const hostBefore = await c.store.get(new KeyLayout(c.prefix).host('dac1'));

    const intruder = second(c, 'dac1');
    expect(await intruder.exited).toEqual({ code: 1, signal: null });
    expect(intruder.stderr).toMatch(
      new RegExp(
        `^dacd: host dac1 is already served by dacd pid ${owner.pid} on ${hostname()} since \\S+Z: ` +
          'stop that one first, or give this one another DAC_HOST_NAME',
      ),
    );
    expect(intruder.stderr.trim().split('\n')).toHaveLength(1);
    // The owner's key, on its lease, and the host record are as they were.
    expect(await c.store.get(key)).toEqual(before);
    expect(await c.store.get(new KeyLayout(c.prefix).host('dac1'))).toEqual(hostBefore);
    // The refused daemon's revoked lease deleted nothing: the host stays alive.
    await new Promise((r) => setTimeout(r, 500));
    expect((await c.registry.hostAlive('dac1')).alive).toBe(true);
    expect(await c.store.get(key)).toEqual(before);
  });

  it('a restart after kill -9 takes the host over at once, without waiting for the old lease', async () => {
    const c = (cluster = await DacdCluster.start('one-owner-restart', ['dac1'], {
      leaseTtlSeconds: 120,
    }));
    const key = new KeyLayout(c.prefix).alive('dac1');
    const oldLease = (await c.store.get(key))!.lease;
    await c.dacd('dac1').kill();
    // DacdProcess.start gives up after 15 s, far less than the old lease's 120 s.
    const restarted = await c.startDacd('dac1');
    const now = (await c.store.get(key))!;
    expect(now.lease).not.toBe(oldLease);
    expect(JSON.parse(now.value)).toMatchObject({ pid: restarted.pid, machine: hostname() });
    expect(await restarted.stop()).toEqual({ code: 0, signal: null });
    expect(await c.store.get(key)).toBeUndefined();
  });

  it('a dacd whose host was taken while its lease was lost stops and exits 1', async () => {
    const c = (cluster = await DacdCluster.start('one-owner-taken', ['dac1'], {
      leaseTtlSeconds: 2,
    }));
    const key = new KeyLayout(c.prefix).alive('dac1');
    const lost = (await c.store.get(key))!.lease!;
    // As after a long partition: dac1's lease ran out, another machine's dacd claimed the host,
    // and dac1 comes back. Written in that end state at once (the key first, on the other
    // lease, then dac1's lease revoked), since dac1 claims a free key again within moments.
    const other = await c.store.grantLease(60);
    await c.store.put(
      key,
      JSON.stringify({ schemaVersion: 1, host: 'dac1', since: 1, pid: 4242, machine: 'elsewhere' }),
      { lease: other.id },
    );
    await c.store.revokeLease(lost);

    const taken = c.dacd('dac1');
    expect(await taken.exited).toEqual({ code: 1, signal: null });
    expect(taken.stderr).toMatch(
      /^dacd: host dac1 is already served by dacd pid 4242 on elsewhere/,
    );
    expect(taken.log()).toContain('another daemon serves this host now; stopping its work');
    // Its stop deleted nothing of the new owner's.
    const kv = (await c.store.get(key))!;
    expect(kv.lease).toBe(other.id);
    expect(JSON.parse(kv.value)).toMatchObject({ pid: 4242, machine: 'elsewhere' });
    await other.revoke();
  });

  it('claims its key again at once when somebody deletes or damages it while it runs', async () => {
    const c = (cluster = await DacdCluster.start('one-owner-repair', ['dac1'], {
      leaseTtlSeconds: 60,
    }));
    const key = new KeyLayout(c.prefix).alive('dac1');
    const owner = c.dacd('dac1');
    const lease = (await c.store.get(key))!.lease;
    const restored = async () => {
      // Within a few seconds, far less than the 30 s until the next renewal.
      for (let i = 0; i < 100; i++) {
        const kv = await c.store.get(key);
        if (kv && kv.lease === lease) return JSON.parse(kv.value) as Record<string, unknown>;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('the liveness key was not claimed again');
    };
    await c.store.put(key, '{garbage');
    expect(await restored()).toMatchObject({ host: 'dac1', pid: owner.pid, machine: hostname() });
    await c.store.delete(key);
    expect(await restored()).toMatchObject({ host: 'dac1', pid: owner.pid });
    expect(owner.log()).toContain('liveness key changed by another; claiming it');
  });
});
