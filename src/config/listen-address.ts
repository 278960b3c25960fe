/** A `host:port` to listen on (a bracketed IPv6 host too), as the metrics settings take it. */
export function splitAddress(address: string): { host: string; port: number } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(address);
  const port = match ? Number(match[3]) : 0;
  if (!match || port < 1 || port > 65535) {
    throw new Error(`"${address}" is not host:port`);
  }
  return { host: match[1] ?? match[2]!, port };
}
