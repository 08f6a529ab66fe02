/**
 * Dev/test/bench utility: a private `redis-server` on a free port, never the machine's shared one — for tests
 * that FLUSHALL, kill and restart it (reliability), and for SOLARIS_SETTLE_ACK=outbox, which needs
 * `appendonly yes` (the shared test Redis keeps nothing, and the engine refuses to acknowledge settlements from
 * a Redis that keeps nothing).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port';

export { freePort };


export interface RedisServer {
  port: number;
  url: string;
  /** SIGKILL, resolves when it exited (without AOF everything is gone). */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty, or from its AOF). */
  start(): Promise<void>;
  /** A plain client (FLUSHALL, inspection), disconnected by stop(). */
  client(): Redis;
  stop(): Promise<void>;
}

/** `appendonly`: persist to an AOF in a temp dir (removed by stop()); default: no persistence. */
export async function startRedisServer(opts: { appendonly?: boolean; appendfsync?: 'always' | 'everysec' } = {}): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const clients: Redis[] = [];
  const dir = opts.appendonly ? mkdtempSync(join(tmpdir(), 'solaris-redis-')) : null;
  const persistence = dir ? ['--appendonly', 'yes', '--appendfsync', opts.appendfsync ?? 'everysec', '--dir', dir] : ['--appendonly', 'no'];
  const start = async () => {
    child = spawn(
      process.env.REDIS_SERVER_BIN ?? 'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--protected-mode', 'no'],
      { stdio: 'ignore' },
    );
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
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`private redis-server did not start on port ${port}`);
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
      c.on('error', () => undefined); // tests kill this server on purpose
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

export type AofRedis = RedisServer;

/** A private Redis with appendonly yes (SOLARIS_SETTLE_ACK=outbox). */
export const startAofRedis = (opts: { appendfsync?: 'always' | 'everysec' } = {}): Promise<RedisServer> => startRedisServer({ appendonly: true, ...opts });
