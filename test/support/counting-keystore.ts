/**
 * A Keystore that counts the requests made through it: every method call is one round trip
 * to the store (on etcd, one gRPC call), so a test can bound what an operation costs.
 */
import type { Keystore } from '../../src/keystore/keystore';

export interface CountingKeystore {
  store: Keystore;
  /** The calls made since the last `reset`, by method name, in order. */
  calls: string[];
  reset(): void;
}

/** Count the calls `store` gets through the returned wrapper. */
export function countingKeystore(inner: Keystore): CountingKeystore {
  const calls: string[] = [];
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function' || typeof name !== 'string') return value;
      return (...args: unknown[]) => {
        calls.push(name);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    store,
    calls,
    reset: () => {
      calls.length = 0;
    },
  };
}
