/**
 * Real HTTP server (port 0) running our composition with a real engine (Postgres / Redis) and LibreChat-shaped
 * JWTs signed with test secrets.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import { createSolarisServer, type SolarisServer, type SolarisServerOptions } from '../../src/app';
import { createLibreChatAuthenticator, type LibreChatAuthOptions } from '../../src/adapters/auth';
import type { UserProfile } from '../../src/adapters/auth/types';
import type { TestEngine } from '../helpers/engine';

export const SECRETS = { access: 'test-access-secret-0123456789', refresh: 'test-refresh-secret-9876543210' };

export const USERS: Record<string, UserProfile> = {
  '65a000000000000000000001': { email: 'alice@example.com', name: 'Alice', role: 'USER' },
  '65a000000000000000000002': { email: 'bob@example.com', name: 'Bob', role: 'USER' },
  '65a0000000000000000000ad': { email: 'root@example.com', name: 'Admin', role: 'ADMIN' },
};
export const ALICE = '65a000000000000000000001';
export const BOB = '65a000000000000000000002';
export const ADMIN = '65a0000000000000000000ad';

export function accessToken(userId: string, opts: { secret?: string; expiresIn?: number; extra?: Record<string, unknown> } = {}): string {
  return jwt.sign({ id: userId, username: userId, provider: 'local', email: USERS[userId]?.email, ...opts.extra }, opts.secret ?? SECRETS.access, {
    algorithm: 'HS256',
    expiresIn: opts.expiresIn ?? 900,
  });
}

export function refreshToken(userId: string, sessionId = 'sess-' + userId.slice(-4), opts: { secret?: string; expiresIn?: number } = {}): string {
  return jwt.sign({ id: userId, sessionId }, opts.secret ?? SECRETS.refresh, { algorithm: 'HS256', expiresIn: opts.expiresIn ?? 7 * 86400 });
}

export const bearer = (userId: string) => ({ authorization: `Bearer ${accessToken(userId)}` });
export const cookie = (userId: string) => ({ cookie: `refreshToken=${refreshToken(userId)}; token_provider=librechat` });

export interface RunningServer {
  url: string;
  http: Server;
  solaris: SolarisServer;
  /** Logged-out sessions (the SessionChecker refuses them). */
  deadSessions: Set<string>;
  close(): Promise<void>;
}

export async function startServer(
  te: TestEngine,
  opts: { auth?: Partial<LibreChatAuthOptions>; server?: Partial<SolarisServerOptions>; realtime?: boolean } = {},
): Promise<RunningServer> {
  const deadSessions = new Set<string>();
  const authenticator = createLibreChatAuthenticator({
    engine: te.engine,
    config: te.config,
    secrets: () => SECRETS,
    userDirectory: async (id) => USERS[id] ?? null,
    sessionChecker: async (_userId, sessionId) => !deadSessions.has(sessionId),
    cacheTtlMs: 0,
    ...opts.auth,
  });
  const solaris = createSolarisServer({ engine: te.engine, config: te.config, authenticator, redis: te.testRedis, ...opts.server });
  const http = createServer((req, res) => solaris.handle(req, res));
  if (opts.realtime) solaris.attach(http);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    url,
    http,
    solaris,
    deadSessions,
    async close() {
      await solaris.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

let seq = 0;
/** Settles one real request through the engine (the way the proxy / LibreChat hook does). */
export function settle(te: TestEngine, userId: string, over: Partial<Parameters<TestEngine['engine']['settle']>[0]> = {}) {
  seq += 1;
  return te.engine.settle({
    requestId: `req-${process.pid}-${seq}`,
    userId,
    model: 'gpt-4o-mini',
    promptTokens: 100,
    completionTokens: 50,
    source: 'proxy',
    ...over,
  });
}
