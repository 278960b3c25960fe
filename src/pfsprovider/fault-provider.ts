/**
 * A provider wrapper for tests that fails, or stalls, a chosen step for a chosen session.
 * dacd enables it only when `DAC_FAULT_INJECTION` is set, e.g.
 * `stageIn:1234:fail:disk on fire,delete:*:stall` (operation:token:action[:message], comma
 * separated; `*` matches every session). A stalled step waits until it is aborted.
 */
import { AbortedError, ConfigError, ProviderError } from '../errors/errors';
import type {
  FilesystemProvider,
  OperationContext,
  StageContext,
  TransferProgress,
} from './provider';

export const FAULT_OPERATIONS = [
  'create',
  'mount',
  'unmount',
  'stageIn',
  'stageOut',
  'delete',
] as const;
export type FaultOperation = (typeof FAULT_OPERATIONS)[number];

export interface Fault {
  operation: FaultOperation;
  /** A session token, or `*`. */
  token: string;
  action: 'fail' | 'stall';
  message?: string;
}

/** Parse `DAC_FAULT_INJECTION`; ConfigError naming the bad entry. */
export function parseFaults(text: string): Fault[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const [operation, token, action, ...message] = entry.split(':');
      if (
        !FAULT_OPERATIONS.includes(operation as FaultOperation) ||
        !token ||
        (action !== 'fail' && action !== 'stall')
      ) {
        throw new ConfigError(
          `DAC_FAULT_INJECTION entry "${entry}" must be operation:token:fail|stall[:message] ` +
            `with operation one of ${FAULT_OPERATIONS.join(', ')}`,
        );
      }
      const fault: Fault = { operation: operation as FaultOperation, token, action };
      if (message.length > 0) fault.message = message.join(':');
      return fault;
    });
}

export class FaultInjectingProvider implements FilesystemProvider {
  readonly name: string;

  constructor(
    private readonly inner: FilesystemProvider,
    private readonly faults: Fault[],
  ) {
    this.name = `${inner.name}+faults`;
  }

  create(context: OperationContext): Promise<void> {
    return this.run('create', context, () => this.inner.create(context));
  }

  mount(context: OperationContext, hosts: string[]): Promise<void> {
    return this.run('mount', context, () => this.inner.mount(context, hosts));
  }

  unmount(context: OperationContext, hosts: string[]): Promise<void> {
    return this.run('unmount', context, () => this.inner.unmount(context, hosts));
  }

  stageIn(context: StageContext): Promise<TransferProgress> {
    return this.run('stageIn', context, () => this.inner.stageIn(context));
  }

  stageOut(context: StageContext): Promise<TransferProgress> {
    return this.run('stageOut', context, () => this.inner.stageOut(context));
  }

  delete(context: OperationContext): Promise<void> {
    return this.run('delete', context, () => this.inner.delete(context));
  }

  private async run<T>(
    operation: FaultOperation,
    context: OperationContext,
    step: () => Promise<T>,
  ): Promise<T> {
    const fault = this.faults.find(
      (f) => f.operation === operation && (f.token === '*' || f.token === context.session.token),
    );
    if (!fault) return step();
    context.log.warn({ operation, fault: fault.action }, 'injected fault');
    if (fault.action === 'fail') {
      throw new ProviderError(fault.message ?? `injected failure of ${operation}`);
    }
    return new Promise<T>((_, reject) => {
      const aborted = () => reject(new AbortedError(`${operation} was stalled, then aborted`));
      if (context.signal.aborted) aborted();
      else context.signal.addEventListener('abort', aborted, { once: true });
    });
  }
}
