/**
 * Reads through etcd's JSON gateway (`POST /v3/kv/range` on the client port, keys in base64),
 * with Node's own http/https: no gRPC client to load. Loading `etcd3` costs about 250 ms,
 * more than Slurm's whole budget for `job_process` and `paths`, and `pools`/`show_*` run every
 * 30 s; they only ever read. Same settings, TLS files, deadline and error messages as
 * `EtcdKeystore`; endpoints are tried in order until one answers or the deadline passes.
 */
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { EtcdConfig } from '../config/etcd-config';
import { StoreUnavailableError } from '../errors/errors';
import { readTlsMaterial, unavailableMessage, type TlsMaterial } from './etcd-connection';
import { prefixEnd } from './key-range';
import type { KeyReader, KeyValue, RangeResult } from './keystore';

/** One key as the gateway encodes it: int64 as strings, zero values omitted. */
interface GatewayKeyValue {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}

interface GatewayRangeResponse {
  header?: { revision?: string };
  kvs?: GatewayKeyValue[];
  more?: boolean;
}

function decode(kv: GatewayKeyValue): KeyValue {
  const lease = kv.lease ?? '0';
  return {
    key: Buffer.from(kv.key ?? '', 'base64').toString(),
    value: Buffer.from(kv.value ?? '', 'base64').toString(),
    createRevision: Number(kv.create_revision ?? 0),
    modRevision: Number(kv.mod_revision ?? 0),
    version: Number(kv.version ?? 0),
    ...(lease !== '0' ? { lease } : {}),
  };
}

/** A read-only view of etcd over its JSON gateway. */
export class EtcdHttpReader implements KeyReader {
  private readonly tls: TlsMaterial | undefined;
  private closed = false;

  constructor(private readonly config: EtcdConfig) {
    this.tls = readTlsMaterial(config);
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const response = await this.rangeRequest({ key: Buffer.from(key).toString('base64') });
    const first = response.kvs?.[0];
    return first ? decode(first) : undefined;
  }

  async range(prefix: string): Promise<RangeResult> {
    const response = await this.rangeRequest({
      key: Buffer.from(prefix).toString('base64'),
      range_end: prefixEnd(prefix).toString('base64'),
    });
    return {
      kvs: (response.kvs ?? []).map(decode),
      revision: Number(response.header?.revision ?? 0),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** POST the range request to each endpoint in turn within one overall deadline. */
  private async rangeRequest(body: object): Promise<GatewayRangeResponse> {
    if (this.closed) throw new StoreUnavailableError('etcd reader is closed');
    const deadline = Date.now() + this.config.timeoutMs;
    const failures: string[] = [];
    for (const endpoint of this.config.endpoints) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      try {
        return await this.post(endpoint, JSON.stringify(body), remaining);
      } catch (error) {
        failures.push(`${endpoint}: ${(error as Error).message}`);
      }
    }
    throw new StoreUnavailableError(unavailableMessage(this.config), {
      detail: failures.join('; '),
    });
  }

  private post(endpoint: string, body: string, timeoutMs: number): Promise<GatewayRangeResponse> {
    const url = new URL('/v3/kv/range', endpoint);
    const secure = url.protocol === 'https:';
    const options: RequestOptions & { ca?: Buffer; cert?: Buffer; key?: Buffer } = {
      method: 'POST',
      agent: false, // one request per process: no idle keep-alive socket to hold the exit
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      ...(secure && this.tls ? this.tls : {}),
    };
    return new Promise((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200) {
            reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
            return;
          }
          try {
            resolve(JSON.parse(text) as GatewayRangeResponse);
          } catch {
            reject(new Error('the answer is not JSON'));
          }
        });
      });
      const timer = setTimeout(() => req.destroy(new Error('no answer in time')), timeoutMs);
      req.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      req.end(body);
    });
  }
}
