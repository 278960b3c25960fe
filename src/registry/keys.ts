/**
 * The etcd key layout (documented in docs/etcd-layout.md; keep the two in step).
 *
 * Everything that placement needs lives under `<prefix>inventory/`, so one range read answers
 * it without touching the (many) session records; `pools` reads only the small parts of it
 * (pools, usage, liveness) in one snapshot.
 */
export type InventoryKey =
  | { kind: 'pool'; pool: string }
  | { kind: 'host'; host: string }
  | { kind: 'alive'; host: string }
  | { kind: 'usage'; host: string }
  | { kind: 'allocation'; host: string; device: string };

/** Builds and parses our keys under one prefix (default `/dac/`). */
export class KeyLayout {
  constructor(readonly prefix: string) {
    if (!prefix.endsWith('/')) throw new Error(`key prefix must end with /: ${prefix}`);
  }

  /** Prefix of pools, hosts, liveness keys and brick allocations. */
  inventory(): string {
    return `${this.prefix}inventory/`;
  }
  pool(name: string): string {
    return `${this.inventory()}pools/${name}`;
  }
  host(name: string): string {
    return `${this.inventory()}hosts/${name}`;
  }
  alive(host: string): string {
    return `${this.inventory()}alive/${host}`;
  }
  /** Prefix of the pool records. */
  pools(): string {
    return `${this.inventory()}pools/`;
  }
  /** Prefix of the host records. */
  hosts(): string {
    return `${this.inventory()}hosts/`;
  }
  /** Prefix of the liveness keys. */
  alives(): string {
    return `${this.inventory()}alive/`;
  }
  /** A host's bricks and allocations per pool (HostUsageRecord). */
  usage(host: string): string {
    return `${this.inventory()}usage/${host}`;
  }
  /** Prefix of the usage records. */
  usages(): string {
    return `${this.inventory()}usage/`;
  }
  /** Prefix of every host's allocation keys. */
  allocations(): string {
    return `${this.inventory()}allocations/`;
  }
  /** Prefix of one host's allocation keys. */
  allocationsOf(host: string): string {
    return `${this.inventory()}allocations/${host}/`;
  }
  /** Present while the brick is allocated; holds the owning session. */
  allocation(host: string, device: string): string {
    return `${this.inventory()}allocations/${host}/${device}`;
  }
  sessions(): string {
    return `${this.prefix}sessions/`;
  }
  session(token: string): string {
    return `${this.sessions()}${token}`;
  }
  /** Prefix of the session summary buckets (what show_sessions and show_instances read). */
  summaryBuckets(): string {
    return `${this.prefix}summary-buckets/`;
  }
  /** One bucket of session summaries, by its name (`summaryBucketOf`). */
  summaryBucket(bucket: string): string {
    return `${this.summaryBuckets()}${bucket}`;
  }
  /**
   * Prefix of the per-session summaries of the previous layout, one key per session: dacd
   * deletes them at start (`Registry.writeMissingSummaries`).
   */
  legacySessionSummaries(): string {
    return `${this.prefix}session-summaries/`;
  }
  /** Prefix of the event history (`event-log.ts`). */
  events(): string {
    return `${this.prefix}events/`;
  }
  /** The events of one UTC hour, `YYYYMMDDHH`: the unit in which old events are deleted. */
  eventHour(hour: string): string {
    return `${this.events()}${hour}/`;
  }
  /** One event: its hour, then its time in ms and a random suffix, so keys sort by time. */
  event(hour: string, atMs: number, suffix: string): string {
    return `${this.eventHour(hour)}${String(atMs).padStart(13, '0')}-${suffix}`;
  }
  /** Written once per new session; its revision is the session's integer id. */
  sessionIdCounter(): string {
    return `${this.prefix}counters/session-id`;
  }

  /** Classify a key read from the inventory range; undefined for keys we do not know. */
  parseInventoryKey(key: string): InventoryKey | undefined {
    if (!key.startsWith(this.inventory())) return undefined;
    const parts = key.slice(this.inventory().length).split('/');
    const [section, first, second] = parts;
    if (first === undefined || first === '') return undefined;
    if (parts.length === 2 && section === 'pools') return { kind: 'pool', pool: first };
    if (parts.length === 2 && section === 'hosts') return { kind: 'host', host: first };
    if (parts.length === 2 && section === 'alive') return { kind: 'alive', host: first };
    if (parts.length === 2 && section === 'usage') return { kind: 'usage', host: first };
    if (parts.length === 3 && section === 'allocations' && second) {
      return { kind: 'allocation', host: first, device: second };
    }
    return undefined;
  }
}
