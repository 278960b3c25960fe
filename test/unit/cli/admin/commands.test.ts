/**
 * The operators' commands on a mocked registry (ts-mockito): what they write, what they refuse
 * before writing anything, and what they show of an inventory. The same commands run through
 * the built binary against etcd and dacd in test/integration/cli/admin-hosts.test.ts.
 */
import { anyString, anything, instance, mock, verify, when } from 'ts-mockito';
import type { AdminAction, AdminArgs } from '../../../../src/cli/admin/command';
import { HOSTS } from '../../../../src/cli/admin/hosts';
import { POOL_COMMANDS } from '../../../../src/cli/admin/pools';
import type { CliContext } from '../../../../src/cli/context';
import { NotFoundError } from '../../../../src/errors/errors';
import { UsageError } from '../../../../src/errors/exit-codes';
import { brickId, type Inventory } from '../../../../src/registry/inventory';
import { Registry } from '../../../../src/registry/registry';
import { RegistryReader } from '../../../../src/registry/registry-reader';
import { inventory } from '../../../support/inventory';

function action(actions: AdminAction[], name: string): AdminAction {
  const found = actions.find((a) => a.command.split(' ')[0] === name);
  if (!found) throw new Error(`no action ${name}`);
  return found;
}

const hosts = (name: string) => action(HOSTS.actions, name);
const pools = POOL_COMMANDS.find((c) => c.name === 'pools') as { actions: AdminAction[] };
const df = POOL_COMMANDS.find((c) => c.name === 'df') as AdminAction;

describe('operators commands', () => {
  let reader: RegistryReader;
  let registry: Registry;
  let context: CliContext;

  beforeEach(() => {
    reader = mock(RegistryReader);
    registry = mock(Registry);
    context = {
      env: { SUDO_USER: 'alice' },
      reader: async () => instance(reader),
      registry: async () => instance(registry),
    } as unknown as CliContext;
  });

  const args = (values: Record<string, unknown>): AdminArgs => ({ json: false, ...values });
  const showing = (inv: Inventory) => when(reader.readInventory()).thenResolve(inv);

  it('drains every host of a host list, saying who', async () => {
    showing(inventory({ dac1: { bricks: 2 }, dac2: { bricks: 2 }, dac3: { bricks: 1 } }));
    const answer = await hosts('drain').run(
      context,
      args({ hosts: 'dac[1-2]', reason: ' disk swap ', wait: false, timeout: 10 }),
    );
    expect(answer).toBe('drained dac1, dac2: disk swap');
    verify(registry.setHostEnabled('dac1', false, 'disk swap', anyString())).once();
    verify(registry.setHostEnabled('dac2', false, 'disk swap', anyString())).once();
    verify(registry.setHostEnabled('dac3', anything(), anything(), anything())).never();
  });

  it('drains nothing when one host of the list is not registered', async () => {
    showing(inventory({ dac1: { bricks: 2 } }));
    await expect(
      hosts('drain').run(context, args({ hosts: 'dac[1-2]', reason: 'x', wait: false })),
    ).rejects.toThrow(
      new NotFoundError('host dac2 is not registered (dacctl hosts list shows the hosts)'),
    );
    verify(registry.setHostEnabled(anything(), anything(), anything(), anything())).never();
  });

  it('refuses a bad host list before reading anything', async () => {
    await expect(hosts('undrain').run(context, args({ hosts: 'dac[2-1]' }))).rejects.toThrow(
      UsageError,
    );
    verify(reader.readInventory()).never();
    verify(registry.setHostEnabled(anything(), anything(), anything(), anything())).never();
  });

  it('waits until the drained host holds no brick', async () => {
    const busy = inventory({ dac1: { bricks: 2, allocated: [0] } });
    const empty = inventory({ dac1: { bricks: 2 } });
    when(reader.readInventory()).thenResolve(busy, busy, empty);
    const answer = await hosts('drain').run(
      context,
      args({ hosts: 'dac1', reason: 'x', wait: true, timeout: 30 }),
    );
    expect(answer).toBe('drained dac1: x\nno session holds a brick there now');
    verify(reader.readInventory()).thrice();
  });

  it('shows a drained host with who drained it and the sessions on it', async () => {
    const inv = inventory({ dac1: { bricks: 2, allocated: [1], enabled: false } });
    Object.assign(inv.hosts.get('dac1')!.record, {
      drainReason: 'disk swap',
      drainedBy: 'alice (as root)',
      drainedAt: 1700000000,
    });
    inv.allocations.set(brickId('dac1', 'nvme1n1'), {
      schemaVersion: 1,
      sessionId: 9,
      token: '4242',
      index: 0,
    });
    showing(inv);
    const text = await hosts('show').run(context, args({ host: 'dac1' }));
    expect(text).toContain('state:     drained: disk swap');
    expect(text).toContain('drained:   by alice (as root) at 2023-11-14 22:13Z: disk swap');
    expect(text).toContain('sessions:  4242');
    expect(text).toContain('bricks:    2 (1 allocated, 0 free, 1 unavailable), 2 GiB');
  });

  it('counts free, allocated and unavailable bricks by pool, as Slurm does', async () => {
    showing(
      inventory({
        dac1: { bricks: 3, allocated: [0] },
        dac2: { bricks: 2, alive: false },
        dac3: { bricks: 1, enabled: false },
      }),
    );
    const doc = JSON.parse(
      (await action(pools.actions, 'list').run(context, args({ json: true }))) as string,
    );
    expect(doc.pools).toEqual([
      expect.objectContaining({
        name: 'default',
        bricks: 6,
        allocated: 1,
        free: 2,
        unavailable: 3,
      }),
    ]);
    const all = JSON.parse((await df.run(context, args({ json: true }))) as string);
    expect(all.total).toMatchObject({ bricks: 6, allocated: 1, free: 2, unavailable: 3 });
    expect(all.hosts.map((h: { host: string; state: string }) => [h.host, h.state])).toEqual([
      ['dac1', 'up'],
      ['dac2', 'down'],
      ['dac3', 'drained'],
    ]);
  });

  it('names an unknown pool', async () => {
    showing(inventory({}));
    await expect(
      action(pools.actions, 'show').run(context, args({ name: 'fast' })),
    ).rejects.toThrow('pool fast does not exist (dacctl pools list shows them)');
  });
});
