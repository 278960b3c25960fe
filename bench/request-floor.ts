/**
 * The floor under `pools`: a process that loads only our HTTP/2 client and the protobuf codec,
 * sends the same snapshot transaction `pools` sends, receives the whole answer and exits,
 * decoding nothing. What `dw_wlm_cli --function pools` takes beyond this is the CLI's own work
 * (its code, decoding, checking, the answer); what this takes beyond `node -e 0` is the
 * connection and etcd. Run by cli-latency.ts with ETCDCTL_ENDPOINTS (one http:// endpoint) and
 * DAC_ETCD_PREFIX.
 */
import { encodeTxnRequest } from '../src/keystore/etcd-protobuf';
import { grpcUnaryCall } from '../src/keystore/grpc-unary';
import { connectH2 } from '../src/keystore/h2-connection';
import { prefixEnd } from '../src/keystore/key-range';
import { KeyLayout } from '../src/registry/keys';
import { poolTableRanges } from '../src/registry/pool-table';

async function main(): Promise<void> {
  const keys = new KeyLayout(process.env.DAC_ETCD_PREFIX ?? '/dac/');
  const message = encodeTxnRequest(
    poolTableRanges(keys).map((range) => ({
      key: Buffer.from(range.prefix),
      rangeEnd: prefixEnd(range.prefix),
      keysOnly: range.keysOnly === true,
      countOnly: range.countOnly === true,
    })),
  );
  const connection = await connectH2(
    new URL(process.env.ETCDCTL_ENDPOINTS ?? 'http://127.0.0.1:2379'),
  );
  const answer = await grpcUnaryCall(connection, '/etcdserverpb.KV/Txn', message, 5000);
  connection.destroy();
  if (answer.length === 0) throw new Error('no answer');
}

main().catch((error: Error) => {
  process.stderr.write(`request-floor: ${error.message}\n`);
  process.exitCode = 1;
});
