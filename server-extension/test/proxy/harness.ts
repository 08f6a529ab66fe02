/**
 * A real proxy stack for tests: fake upstream (real HTTP), real engine (Postgres schema / Redis prefix),
 * the proxy + health handlers on a bare node:http server on port 0, and an official `openai` client.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { createMeteringProxy, createHealthHandlers, createMetrics, type AdmittedTurn, type MeteringProxy, type Metrics } from '../../src/adapters/proxy';
import { startFakeUpstream, type FakeUpstream, type FakeUpstreamOptions } from '../../src/dev/fake-upstream';
import { createTestEngine, type TestEngine } from '../helpers/engine';

export const PROXY_KEY = 'test-proxy-key-0123456789';

export interface ProxyStack {
  te: TestEngine;
  fake: FakeUpstream;
  proxy: MeteringProxy;
  metrics: Metrics;
  url: string;
  client(userId: string, headers?: Record<string, string>): OpenAI;
  ledger(requestId: string): Promise<LedgerRow | undefined>;
  ledgerCount(userId: string): Promise<number>;
  close(): Promise<void>;
}

export interface LedgerRow {
  request_id: string;
  user_id: string;
  model: string;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  weighted_tokens: number;
  cost: number;
  source: string;
  estimated: boolean;
  conversation_id: string | null;
  message_id: string | null;
  period_key: string;
}

export async function startProxyStack(
  opts: { store?: 'redis' | 'postgres'; env?: Record<string, string>; fake?: FakeUpstreamOptions; maxBodyBytes?: number; admittedTurn?: AdmittedTurn } = {},
): Promise<ProxyStack> {
  const fake = await startFakeUpstream(opts.fake);
  const te = await createTestEngine({
    store: opts.store ?? 'postgres',
    env: {
      SOLARIS_PROXY_KEY: PROXY_KEY,
      SOLARIS_MODEL_WEIGHTS: '{"gpt-4o*":2}',
      SOLARIS_PRICES: '{"fake-model":{"prompt":1,"completion":2}}',
      ...opts.env,
    },
  });
  const metrics = createMetrics({ defaultMetrics: false });
  const proxy = createMeteringProxy({ engine: te.engine, config: te.config, metrics, upstreamUrl: fake.url, maxBodyBytes: opts.maxBodyBytes, admittedTurn: opts.admittedTurn });
  const health = createHealthHandlers({ engine: te.engine, config: te.config, redis: te.testRedis, metrics, upstreamUrl: fake.url });
  const server: Server = createServer((req, res) => {
    if (req.url === '/healthz') return health.healthz(req, res);
    if (req.url === '/readyz') return health.readyz(req, res);
    if (req.url === '/metrics') return health.metrics(req, res);
    proxy(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    te,
    fake,
    proxy,
    metrics,
    url,
    client: (userId, headers = {}) =>
      new OpenAI({ baseURL: `${url}/v1`, apiKey: PROXY_KEY, maxRetries: 0, defaultHeaders: { 'X-Solaris-User-Id': userId, ...headers } }),
    async ledger(requestId) {
      await proxy.drain();
      const { rows } = await te.db.pool.query<LedgerRow>('SELECT * FROM ledger WHERE request_id = $1', [requestId]);
      return rows[0];
    },
    async ledgerCount(userId) {
      await proxy.drain();
      const { rows } = await te.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger WHERE user_id = $1', [userId]);
      return rows[0]!.n;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await proxy.close();
      await fake.close();
      await te.cleanup();
    },
  };
}

/** LibreChat's client finds the first balanced `{...}` in an error text (client/src/utils/json.ts); same scan. */
export function firstJsonObject(text: string): string {
  let depth = 0;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (text[i] === '}') {
      depth--;
      if (depth === 0 && start !== -1) return text.slice(start, i + 1);
    }
  }
  return '';
}

export async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}
