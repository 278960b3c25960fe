/** DAC_FAULT_INJECTION parsing and the fault-injecting provider's behaviour. */
import pino from 'pino';
import { AbortedError, ConfigError, ProviderError } from '../../../src/errors/errors';
import { FaultInjectingProvider, parseFaults } from '../../../src/pfsprovider/fault-provider';
import type { FilesystemProvider, OperationContext } from '../../../src/pfsprovider/provider';
import type { SessionRecord } from '../../../src/registry/model';

describe('parseFaults', () => {
  it('reads operation:token:action[:message] entries', () => {
    expect(parseFaults(' stageIn:12:fail:disk: on fire , delete:*:stall,')).toEqual([
      { operation: 'stageIn', token: '12', action: 'fail', message: 'disk: on fire' },
      { operation: 'delete', token: '*', action: 'stall' },
    ]);
    expect(parseFaults('')).toEqual([]);
  });

  it.each(['format:1:fail', 'create::fail', 'create:1:explode', 'create'])(
    'rejects %j naming the entry',
    (text) => {
      expect(() => parseFaults(text)).toThrow(ConfigError);
      expect(() => parseFaults(text)).toThrow(`DAC_FAULT_INJECTION entry "${text}"`);
    },
  );
});

describe('FaultInjectingProvider', () => {
  const calls: string[] = [];
  const inner = {
    name: 'inner',
    create: () => {
      calls.push('create');
      return Promise.resolve();
    },
    delete: () => {
      calls.push('delete');
      return Promise.resolve();
    },
  } as unknown as FilesystemProvider;
  const provider = new FaultInjectingProvider(
    inner,
    parseFaults('create:7:fail:boom,delete:7:stall'),
  );
  const context = (token: string, signal = new AbortController().signal): OperationContext => ({
    session: { token } as SessionRecord,
    signal,
    log: pino({ enabled: false }),
  });

  beforeEach(() => calls.splice(0));

  it('fails the chosen step of the chosen session only', async () => {
    await expect(provider.create(context('7'))).rejects.toThrow(new ProviderError('boom'));
    await provider.create(context('8'));
    expect(calls).toEqual(['create']);
    expect(provider.name).toBe('inner+faults');
  });

  it('stalls until aborted', async () => {
    const controller = new AbortController();
    const stalled = provider.delete(context('7', controller.signal));
    let settled = false;
    void stalled.catch(() => (settled = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    controller.abort();
    await expect(stalled).rejects.toBeInstanceOf(AbortedError);
    expect(calls).toEqual([]);
  });
});
