import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
/**
 * Fault injection we own (never touch the machine's shared Postgres / Redis):
 * - a TCP proxy (node:net) in front of a real server that can be cut (every socket destroyed, new ones
 *   refused) and restored — a Postgres / Redis outage or restart as the clients see it;
 * - a private `redis-server` on a free port, without persistence, that the test may FLUSHALL, kill and restart.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';

export interface FaultProxy {
  port: number;
  /**
   * Cuts every open connection; new ones are refused (closed at once) or, with 'blackhole', accepted and
   * never answered (a host that vanished without a reset) — until restore().
   */
  cut(mode?: 'refuse' | 'blackhole'): void;
  restore(): void;
  readonly isCut: boolean;
  close(): Promise<void>;
}

export async function startFaultProxy(target: { host?: string; port: number }): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  let cut = false;
  let blackhole = false;
  const held = new Set<Socket>();
  const server: Server = createServer((client) => {
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
    close() {
      cut = true;
      for (const s of sockets) s.destroy();
      for (const s of held) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface PrivateRedis {
  port: number;
  url: string;
  /** SIGKILL (no persistence: everything is gone), resolves when it exited. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty). */
  start(): Promise<void>;
  /** A plain client (FLUSHALL, inspection). */
  client(): Redis;
  stop(): Promise<void>;
}

/** `appendonly`: persist to an AOF in a temp dir (SOLARIS_SETTLE_ACK=outbox needs it); default none. */
export async function startPrivateRedis(opts: { appendonly?: boolean } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const clients: Redis[] = [];
  const dir = opts.appendonly ? mkdtempSync(join(tmpdir(), 'solaris-redis-')) : null;
  const persistence = dir ? ['--appendonly', 'yes', '--dir', dir] : ['--appendonly', 'no'];
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--protected-mode', 'no'], {
      stdio: 'ignore',
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined); // refused while it boots: expected
      try {
        await probe.connect();
        if ((await probe.ping()) === 'PONG') {
          probe.disconnect();
          return;
        }
      } catch {
        probe.disconnect();
      }
      if (Date.now() > deadline) throw new Error('private redis-server did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    start,
    client() {
      const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 2 });
      c.on('error', () => undefined); // the test kills this server on purpose
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.disconnect();
      await kill();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
