/**
 * The floor under `pools`: a process that loads only `node:http2` and the protobuf codec, sends
 * the same snapshot transaction `pools` sends, reads the whole answer and exits, decoding
 * nothing. What `dw_wlm_cli --function pools` takes beyond this is the CLI's own work (its code,
 * decoding, checking, the answer); what this takes beyond `node -e 0` is Node's HTTP/2 client
 * and etcd. Run by cli-latency.ts with ETCDCTL_ENDPOINTS (one http:// endpoint) and
 * DAC_ETCD_PREFIX.
 */
import { connect } from 'node:http2';
import { encodeTxnRequest } from '../src/keystore/etcd-protobuf';
import { prefixEnd } from '../src/keystore/key-range';
import { KeyLayout } from '../src/registry/keys';
import { poolTableRanges } from '../src/registry/pool-table';

const keys = new KeyLayout(process.env.DAC_ETCD_PREFIX ?? '/dac/');
const message = encodeTxnRequest(
  poolTableRanges(keys).map((range) => ({
    key: Buffer.from(range.prefix),
    rangeEnd: prefixEnd(range.prefix),
    keysOnly: range.keysOnly === true,
    countOnly: range.countOnly === true,
  })),
);
const framed = Buffer.alloc(5 + message.length);
framed.writeUInt32BE(message.length, 1);
message.copy(framed, 5);

const session = connect(process.env.ETCDCTL_ENDPOINTS ?? 'http://127.0.0.1:2379');
session.on('error', (error) => {
  process.stderr.write(`http2-floor: ${error.message}\n`);
  process.exitCode = 1;
});
const stream = session.request({
  ':method': 'POST',
  ':path': '/etcdserverpb.KV/Txn',
  'content-type': 'application/grpc',
  te: 'trailers',
});
let bytes = 0;
stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
stream.on('end', () => {
  session.destroy();
  if (bytes < 5) {
    process.stderr.write('http2-floor: no answer\n');
    process.exitCode = 1;
  }
});
stream.end(framed);
