/** etcd's way of naming "every key with this prefix": a range end just past the prefix. */

/** The smallest key greater than every key starting with `prefix` (etcd's range_end). */
export function prefixEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix);
  for (let i = bytes.length - 1; i >= 0; i -= 1) {
    if (bytes[i]! < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] = bytes[i]! + 1;
      return end;
    }
  }
  return Buffer.from([0]); // all 0xff: to the end of the keyspace
}
