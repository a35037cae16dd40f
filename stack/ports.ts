import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, chosen below the kernel's ephemeral range.
 * A port the OS hands out for `listen(0)` comes from that range, where any outbound connection
 * (the API server's to etcd, the pods' to PostgreSQL) may take it as its source port before the
 * server that was meant to bind it starts: etcd then dies with "address already in use". Below
 * the range only another listener can collide, and a taken port is skipped.
 */
export async function freePort(): Promise<number> {
  const [low, high] = portWindow();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    // Handed out earlier in this process (its server may not be listening yet): never twice.
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free TCP port on 127.0.0.1 between ${low} and ${high} after 200 tries`);
}

const handedOut = new Set<number>();

/** [low, high]: from 20000 up to just below the ephemeral range (Linux default 32768). */
function portWindow(): [number, number] {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    // Not Linux: keep the default.
  }
  const high = Math.max(ephemeralLow - 1, 20_999);
  return [Math.min(20_000, high - 1_000), high];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Whether something accepts TCP connections on host:port right now. */
export function isAccepting(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
