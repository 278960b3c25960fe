/**
 * Counts the requests etcd served, from its Prometheus metrics on the client port
 * (`GET /metrics`). etcd 3.4 counts every gRPC call it starts in `grpc_server_started_total`,
 * labelled by method; its JSON gateway (`/v3/kv/range`) forwards to the same gRPC server, so
 * both ways of reading are counted.
 */

/** Started gRPC calls by method, e.g. `Range` → 12. */
export type RequestCounts = Map<string, number>;

const STARTED = /^grpc_server_started_total\{([^}]*)\}\s+(\S+)$/;
const METHOD = /grpc_method="([^"]*)"/;

/** Read the counters now. */
export async function requestCounts(endpoint: string): Promise<RequestCounts> {
  const response = await fetch(`${endpoint}/metrics`);
  if (!response.ok) throw new Error(`GET ${endpoint}/metrics: HTTP ${response.status}`);
  const counts: RequestCounts = new Map();
  for (const line of (await response.text()).split('\n')) {
    const match = STARTED.exec(line);
    const method = match ? METHOD.exec(match[1]!)?.[1] : undefined;
    if (match && method !== undefined) {
      counts.set(method, (counts.get(method) ?? 0) + Number(match[2]));
    }
  }
  return counts;
}

/** The calls started between two readings, by method (methods with none left out). */
export function countsSince(before: RequestCounts, after: RequestCounts): RequestCounts {
  const delta: RequestCounts = new Map();
  for (const [method, count] of after) {
    const started = count - (before.get(method) ?? 0);
    if (started > 0) delta.set(method, started);
  }
  return delta;
}

/** Total of a delta. */
export function totalRequests(counts: RequestCounts): number {
  let total = 0;
  for (const count of counts.values()) total += count;
  return total;
}

/** A delta as text, e.g. `2 (Range 1, Txn 1)`. */
export function describeCounts(counts: RequestCounts): string {
  const total = totalRequests(counts);
  if (total === 0) return '0';
  const parts = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([m, n]) => `${m} ${n}`);
  return `${total} (${parts.join(', ')})`;
}
