/**
 * Dev/test/bench utility: a real Redis with appendonly yes, on its own port, for SOLARIS_SETTLE_ACK=outbox (the shared test Redis
 * runs without persistence, and the engine refuses to acknowledge settlements from a Redis that keeps nothing).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface AofRedis {
  url: string;
  stop(): Promise<void>;
}

export async function startAofRedis(opts: { appendfsync?: 'always' | 'everysec' } = {}): Promise<AofRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'solaris-aof-'));
  const port = await freePort();
  const child = spawn(
    process.env.REDIS_SERVER_BIN ?? 'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--appendonly', 'yes', '--appendfsync', opts.appendfsync ?? 'everysec', '--save', '', '--dir', dir],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch (e) {
      if (Date.now() > deadline || child.exitCode != null) throw new Error(`redis-server with AOF did not start on ${url}`, { cause: e });
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  probe.disconnect();
  return {
    url,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
