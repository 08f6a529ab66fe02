/**
 * Dev/test/bench utility: a real Redis Cluster of three masters (no replicas) on free loopback ports, each
 * `redis-server --cluster-enabled yes` in its own temp dir, joined with `redis-cli --cluster create`. Torn down
 * (processes killed, dirs removed) by stop(). Needs redis-server and redis-cli 7 on PATH
 * (REDIS_SERVER_BIN / REDIS_CLI_BIN override them).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis, type ClusterOptions } from 'ioredis';
import { freePort } from './free-port';

const run = promisify(execFile);

export interface RedisClusterServer {
  /** The masters' ports. */
  ports: number[];
  /** `host:port,host:port,...`: the seed list for ioredis `Cluster` (what REDIS_CLUSTER_NODES takes). */
  nodes: string;
  /** A Cluster client (disconnected by stop()). */
  client(opts?: ClusterOptions): Cluster;
  /** Deletes every key under `prefix` on every master (SCAN sees one node's keys only). */
  deletePrefix(prefix: string): Promise<number>;
  stop(): Promise<void>;
}

async function waitUntil(what: string, ok: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await ok().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`redis cluster: ${what} not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startRedisCluster(opts: { masters?: number } = {}): Promise<RedisClusterServer> {
  const masters = opts.masters ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'solaris-redis-cluster-'));
  const children: ChildProcess[] = [];
  const clients: (Redis | Cluster)[] = [];
  const ports: number[] = [];
  const stop = async () => {
    for (const c of clients) c.disconnect();
    await Promise.all(
      children.map((c) =>
        c.exitCode !== null || c.signalCode !== null ? undefined : new Promise<void>((r) => {
          c.once('exit', () => r());
          c.kill('SIGKILL');
        }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      // freePort() frees the port before we bind it; the cluster bus uses port + 10000, checked by the wait below.
      const port = await freePort();
      ports.push(port);
      children.push(
        spawn(
          process.env.REDIS_SERVER_BIN ?? 'redis-server',
          ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`),
            '--cluster-node-timeout', '5000', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--dir', dir],
          { stdio: 'ignore' },
        ),
      );
    }
    for (const port of ports) {
      await waitUntil(`node ${port} answering`, async () => {
        const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        probe.on('error', () => undefined);
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG';
        } finally {
          probe.disconnect();
        }
      });
    }
    await run(process.env.REDIS_CLI_BIN ?? 'redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    for (const port of ports) {
      await waitUntil(`cluster_state:ok on ${port}`, async () => {
        const { stdout } = await run(process.env.REDIS_CLI_BIN ?? 'redis-cli', ['-p', String(port), 'cluster', 'info']);
        return /cluster_state:ok/.test(stdout) && /cluster_known_nodes:(\d+)/.exec(stdout)?.[1] === String(masters);
      });
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const nodes = ports.map((p) => `127.0.0.1:${p}`).join(',');
  return {
    ports,
    nodes,
    client(clientOpts: ClusterOptions = {}) {
      const c = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })), clientOpts);
      c.on('error', () => undefined); // stop() kills the nodes under it
      clients.push(c);
      return c;
    },
    async deletePrefix(prefix: string) {
      let n = 0;
      for (const port of ports) {
        const r = new Redis({ port, host: '127.0.0.1' });
        try {
          let cursor = '0';
          do {
            const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
            cursor = next;
            // One DEL per key: a node refuses a multi-key DEL across slots.
            for (const k of keys) n += await r.del(k);
          } while (cursor !== '0');
        } finally {
          r.disconnect();
        }
      }
      return n;
    },
    stop,
  };
}
