/**
 * The floor under `pools`: a process that loads only the CLI's etcd channel (node:http2, the
 * protobuf codec), sends the same snapshot transaction `pools` sends, receives the whole
 * answer and exits, decoding nothing. What `dw_wlm_cli --function pools` takes beyond this is
 * the CLI's own work (its code, decoding, checking, the answer); what this takes beyond
 * `node -e 0` is the connection and etcd. Run by cli-latency.ts with ETCDCTL_ENDPOINTS (one
 * http:// endpoint) and DAC_ETCD_PREFIX.
 */
import { Channel, DEFAULT_MAX_MESSAGE_BYTES } from '../src/keystore/etcd-http2/channel';
import { encodeSnapshotRequest, TXN } from '../src/keystore/etcd-http2/keystore';
import { KeyLayout } from '../src/registry/keys';
import { poolTableRanges } from '../src/registry/pool-table';

async function main(): Promise<void> {
  const keys = new KeyLayout(process.env.DAC_ETCD_PREFIX ?? '/dac/');
  const message = encodeSnapshotRequest(poolTableRanges(keys));
  const channel = new Channel(process.env.ETCDCTL_ENDPOINTS ?? 'http://127.0.0.1:2379', undefined, {
    maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  });
  const answer = await channel.unary(TXN, message, 5000);
  channel.drop();
  if (answer.length === 0) throw new Error('no answer');
}

main().catch((error: Error) => {
  process.stderr.write(`request-floor: ${error.message}\n`);
  process.exitCode = 1;
});
