/**
 * The floor under `pools`: a process that loads only the etcd reader's modules (our HTTP/2
 * client, the protobuf codec), sends the same snapshot transaction `pools` sends, receives the whole answer and exits,
 * decoding nothing. What `dw_wlm_cli --function pools` takes beyond this is the CLI's own work
 * (its code, decoding, checking, the answer); what this takes beyond `node -e 0` is the
 * connection and etcd. Run by cli-latency.ts with ETCDCTL_ENDPOINTS (one http:// endpoint) and
 * DAC_ETCD_PREFIX.
 */
import { encodeSnapshotRequest, TXN } from '../src/keystore/etcd-grpc-reader';
import { grpcUnaryCall } from '../src/keystore/grpc-unary';
import { connectH2 } from '../src/keystore/h2-connection';
import { KeyLayout } from '../src/registry/keys';
import { poolTableRanges } from '../src/registry/pool-table';

async function main(): Promise<void> {
  const keys = new KeyLayout(process.env.DAC_ETCD_PREFIX ?? '/dac/');
  const message = encodeSnapshotRequest(poolTableRanges(keys));
  const connection = await connectH2(
    new URL(process.env.ETCDCTL_ENDPOINTS ?? 'http://127.0.0.1:2379'),
  );
  const answer = await grpcUnaryCall(connection, TXN, message, 5000);
  connection.destroy();
  if (answer.length === 0) throw new Error('no answer');
}

main().catch((error: Error) => {
  process.stderr.write(`request-floor: ${error.message}\n`);
  process.exitCode = 1;
});
