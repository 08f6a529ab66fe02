/**
 * Fault injection we own (never touch the machine's shared Postgres / Redis):
 * - a TCP proxy (node:net) in front of a real server that can be cut (every socket destroyed, new ones
 *   refused) and restored — a Postgres / Redis outage or restart as the clients see it;
 * - a private `redis-server` on a free port (src/dev/redis-server.ts) that the test may FLUSHALL, kill and restart.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface FaultProxy {
  port: number;
  /**
   * Cuts every open connection; new ones are refused (closed at once) or, with 'blackhole', accepted and
   * never answered (a host that vanished without a reset) — until restore().
   */
  cut(mode?: 'refuse' | 'blackhole'): void;
  restore(): void;
  readonly isCut: boolean;
  /** Connections clients opened (refused ones included): how hard a client hammers a store that is down. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startFaultProxy(target: { host?: string; port: number }): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  let cut = false;
  let blackhole = false;
  const held = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((client) => {
    connections++;
    if (cut && blackhole) {
      held.add(client); // swallow: never forward, never close
      client.on('error', () => undefined);
      client.resume();
      return;
    }
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host ?? '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    cut(mode = 'refuse') {
      cut = true;
      blackhole = mode === 'blackhole';
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore() {
      cut = false;
      blackhole = false;
      for (const s of held) s.destroy();
      held.clear();
    },
    get isCut() {
      return cut;
    },
    get connections() {
      return connections;
    },
    close() {
      cut = true;
      for (const s of sockets) s.destroy();
      for (const s of held) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

// The private redis-server (restartable, optional AOF) lives with the other dev tools: one launcher for tests and benches.
export { freePort, startRedisServer as startPrivateRedis, type RedisServer as PrivateRedis } from '../../src/dev/redis-server';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
