/**
 * The production composition (createSolarisRuntime + listen: metering proxy, REST API, socket.io, LiteLLM webhook on one
 * port) on loopback, with a real engine (own Postgres schema, own Redis prefix), a fake upstream, LibreChat-
 * shaped tokens and users seeded into users_cache (the standalone user directory). Security tests attack it
 * from outside over HTTP / socket.io only.
 */
import { PassThrough } from 'node:stream';
import jwt from 'jsonwebtoken';
import { createLogger } from '../../src/core/logger';
import { createSolarisRuntime, type SolarisRuntime } from '../../src/runtime';
import { startFakeUpstream, type FakeUpstream } from '../../src/dev/fake-upstream';
import { createTestEngine, type TestEngine } from '../helpers/engine';
import { openSocket, type Client } from '../helpers/sockets';

export const SECRETS = {
  access: 'sec-access-secret-3f9a1c77e2b04d5a',
  refresh: 'sec-refresh-secret-8d21f0aa6c3e4b19',
  proxyKey: 'sec-proxy-key-5be0c2d94a7f4e31',
  litellmKey: 'sk-litellm-master-9a8b7c6d5e4f3a2b1c0d',
  webhookSecret: 'sec-webhook-secret-71c4d2e8b9a05f36',
  dbPassword: 'DbPassw0rd-4c1e9f2a',
};

// LibreChat user ids are Mongo ObjectIds.
export const ALICE = '65b000000000000000000001';
export const BOB = '65b000000000000000000002';
export const ADMIN = '65b0000000000000000000ad';
export const USERS = {
  [ALICE]: { email: 'alice@sec.example', name: 'Alice', role: 'USER' },
  [BOB]: { email: 'bob@sec.example', name: 'Bob', role: 'USER' },
  [ADMIN]: { email: 'root@sec.example', name: 'Root', role: 'ADMIN' },
} as const;

export function accessToken(userId: string, opts: { secret?: string; expiresIn?: number; extra?: Record<string, unknown>; email?: string } = {}): string {
  const email = opts.email ?? (USERS as Record<string, { email: string }>)[userId]?.email ?? `${userId}@sec.example`;
  return jwt.sign({ id: userId, username: userId, provider: 'local', email, ...opts.extra }, opts.secret ?? SECRETS.access, {
    algorithm: 'HS256',
    expiresIn: opts.expiresIn ?? 900,
  });
}
export function refreshToken(userId: string, sessionId = 'sess-' + userId.slice(-4), opts: { secret?: string; expiresIn?: number } = {}): string {
  return jwt.sign({ id: userId, sessionId }, opts.secret ?? SECRETS.refresh, { algorithm: 'HS256', expiresIn: opts.expiresIn ?? 3600 });
}
export const bearer = (userId: string) => ({ authorization: `Bearer ${accessToken(userId)}` });

/** Every way a token can be wrong (the header value to send as `Authorization: Bearer <t>`). */
export function badAccessTokens(userId: string): Record<string, string> {
  const good = accessToken(userId);
  const [h, p] = good.split('.');
  const now = Math.floor(Date.now() / 1000);
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return {
    'forged signature': `${h}.${p}.${'A'.repeat(43)}`,
    'tampered payload (id swapped, old signature)': `${h}.${b64({ id: ADMIN, username: 'x', provider: 'local', exp: now + 600 })}.${good.split('.')[2]}`,
    'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ id: userId, exp: now + 600 })}.`,
    'alg none, signature kept': `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ id: userId, exp: now + 600 })}.${good.split('.')[2]}`,
    'HS512 with the right secret': jwt.sign({ id: userId, exp: now + 600 }, SECRETS.access, { algorithm: 'HS512' }),
    expired: accessToken(userId, { expiresIn: -30 }),
    'wrong secret': accessToken(userId, { secret: 'not-the-secret-at-all-0000' }),
    'refresh token as access token': refreshToken(userId),
    'refresh-shaped token signed with the access secret': refreshToken(userId, 'sess-x', { secret: SECRETS.access }),
    'no exp claim': jwt.sign({ id: userId }, SECRETS.access, { algorithm: 'HS256', noTimestamp: true }),
    'not a JWT': 'definitely-not-a-jwt',
    empty: '',
  };
}

export type { Client };

export interface SecurityStack {
  te: TestEngine;
  fake: FakeUpstream;
  app: SolarisRuntime;
  url: string;
  /** Everything the server logged (JSON lines), when started with captureLogs. */
  logs(): string;
  socket(headers: Record<string, string>, transports?: Array<'polling' | 'websocket'>): Promise<Client>;
  close(): Promise<void>;
}

export async function startSecurityStack(opts: { env?: Record<string, string>; captureLogs?: boolean; logLevel?: string } = {}): Promise<SecurityStack> {
  const fake = await startFakeUpstream({ record: false });
  const te = await createTestEngine({
    store: 'redis',
    realClock: true,
    env: {
      SOLARIS_PROXY_KEY: SECRETS.proxyKey,
      LITELLM_URL: fake.url,
      LITELLM_API_KEY: SECRETS.litellmKey,
      SOLARIS_LITELLM_WEBHOOK_SECRET: SECRETS.webhookSecret,
      ...opts.env,
    },
  });
  // The standalone authenticator reads LibreChat's secrets from the environment at request time.
  process.env.JWT_SECRET = SECRETS.access;
  process.env.JWT_REFRESH_SECRET = SECRETS.refresh;
  for (const [userId, p] of Object.entries(USERS)) await te.engine.admin.touchUser({ userId, ...p });

  let captured = '';
  const stream = new PassThrough();
  stream.on('data', (d: Buffer) => (captured += d.toString()));
  const logger = createLogger({ level: opts.logLevel ?? 'warn', service: 'security-test', stream: opts.captureLogs ? stream : new PassThrough().resume() });
  // LibreChat's sessions as a checker would see them: every test session is alive.
  const app = await createSolarisRuntime(te.config, { logger, engine: te, drainTimeoutMs: 1_000, auth: { sessionChecker: async () => true } });
  const { url } = await app.listen({ port: 0, host: '127.0.0.1' });
  const sockets: Client[] = [];
  return {
    te,
    fake,
    app,
    url,
    logs: () => captured,
    socket(headers, transports = ['polling', 'websocket']) {
      return openSocket(sockets, url, headers, transports, 5_000);
    },
    async close() {
      for (const s of sockets) s.disconnect();
      await app.shutdown();
      await fake.close();
      await te.cleanup();
    },
  };
}

/** fetch with our defaults; returns status, headers and the body as text. */
export async function call(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<{ status: number; headers: Headers; text: string; json: () => unknown }> {
  const r = await fetch(url, { method: init.method ?? 'GET', headers: init.headers, body: typeof init.body === 'string' || init.body === undefined ? init.body : new Uint8Array(init.body), redirect: 'manual' });
  const text = await r.text();
  return {
    status: r.status,
    headers: r.headers,
    text,
    json: () => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return null;
      }
    },
  };
}

/** The machine code of an error answer: ours (`error.code`) or OpenAI-shaped (`error.code`). */
export const codeOf = (body: unknown): string | undefined => (body as { error?: { code?: string } } | null)?.error?.code;

/** Text that only a database error would contain (must never reach a client). */
export const SQL_LEAK = /syntax error|relation "|column "|violates|SQLSTATE|duplicate key|invalid input syntax|pg_|at character|\bSELECT\b|\bINSERT\b|ECONNREFUSED|stack|at \w+ \(/i;
