/**
 * The extras routes over real HTTP, mounted through the API router (real LibreChat-token authenticator),
 * plus the live socket events of a quota request (admin's browser and the user's).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { io as connect, type Socket } from 'socket.io-client';
import {
  API_PREFIX,
  ExtrasRoutes,
  SOCKET_PATH,
  type AdminQuotaRequestsPageDTO,
  type ApiErrorDTO,
  type MySettingsDTO,
  type QuotaRequestDTO,
  type ServerToClientEvents,
} from '@solaris/wire';
import { createTestEngine, type TestEngine } from '../helpers/engine';
import { createFeatureServices, type FeatureServices } from '../../src/core/feature-services';
import { createApiRouter } from '../../src/adapters/http/router';
import { createLibreChatAuthenticator } from '../../src/adapters/auth';
import { attachRealtime, type Realtime } from '../../src/adapters/realtime';
import { ADMIN, ALICE, BOB, SECRETS, USERS, bearer } from '../api/helpers';

let te: TestEngine;
let x: FeatureServices;
let http: Server;
let rt: Realtime;
let base = '';
const sockets: Socket<ServerToClientEvents>[] = [];

beforeAll(async () => {
  te = await createTestEngine({ store: 'redis' });
  x = createFeatureServices(te.engine);
  await te.engine.admin.upsertPlan({ id: 'padrao', name: 'Padrão', tokenLimit: 10_000, period: 'month', isDefault: true }, { id: 'setup' });
  const authenticator = createLibreChatAuthenticator({
    engine: te.engine,
    config: te.config,
    secrets: () => SECRETS,
    userDirectory: async (id) => USERS[id] ?? null,
    sessionChecker: async () => true,
    cacheTtlMs: 0,
  });
  const app = express();
  app.use(API_PREFIX, createApiRouter({ engine: te.engine, authenticator, config: te.config, extras: x }));
  http = createServer(app);
  rt = attachRealtime({ httpServer: http, engine: te.engine, authenticator, config: te.config, redis: te.testRedis, channelPrefix: `${te.testRedis!.testPrefix}io` });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await rt?.close();
  http?.closeAllConnections();
  await new Promise<void>((r) => http?.close(() => r()));
  await x?.close();
  await te?.cleanup();
});

async function call<T = unknown>(method: string, route: string, userId: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(base + API_PREFIX + route, {
    method,
    headers: { ...bearer(userId), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : null) as T };
}
const err = (r: { json: unknown }) => (r.json as ApiErrorDTO).error;

function socket(userId: string): Promise<Socket<ServerToClientEvents> & { got: Array<[string, unknown]> }> {
  const s = connect(base, { path: SOCKET_PATH, extraHeaders: bearer(userId), transports: ['websocket'], reconnection: false, forceNew: true }) as Socket<ServerToClientEvents> & {
    got: Array<[string, unknown]>;
  };
  s.got = [];
  s.onAny((e: string, p: unknown) => s.got.push([e, p]));
  sockets.push(s);
  return new Promise((resolve, reject) => {
    s.on('connect', () => resolve(s));
    s.on('connect_error', reject);
  });
}
async function eventually(fn: () => boolean, ms = 3_000) {
  const end = Date.now() + ms;
  while (!fn() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  expect(fn()).toBe(true);
}

describe('extras REST routes', () => {
  it('personal settings: GET / PUT for the caller, validated with structured errors', async () => {
    const get = await call<MySettingsDTO>('GET', ExtrasRoutes.mySettings, ALICE);
    expect(get.status).toBe(200);
    expect(get.json).toMatchObject({ personalCap: null, warnPercent: null, maxPersonalCap: 10_000, balance: { userId: ALICE } });

    const put = await call<MySettingsDTO>('PUT', ExtrasRoutes.mySettings, ALICE, { personalCap: 4_000, warnPercent: 60 });
    expect(put.json.balance).toMatchObject({ limit: 4_000, personalCap: 4_000, thresholds: [60, 80, 100] });

    const tooHigh = await call('PUT', ExtrasRoutes.mySettings, ALICE, { personalCap: 20_000, warnPercent: null });
    expect(tooHigh.status).toBe(400);
    expect(err(tooHigh)).toMatchObject({ code: 'invalid_input', message: expect.stringContaining('personalCap') });
    const badWarn = await call('PUT', ExtrasRoutes.mySettings, ALICE, { personalCap: null, warnPercent: 100 });
    expect(err(badWarn)).toMatchObject({ code: 'invalid_input', details: { field: 'warnPercent' } });
    const extra = await call('PUT', ExtrasRoutes.mySettings, ALICE, { personalCap: null, warnPercent: null, userId: BOB });
    expect(err(extra).code).toBe('invalid_input'); // nobody sets someone else's cap
    expect((await call<MySettingsDTO>('GET', ExtrasRoutes.mySettings, BOB)).json.personalCap).toBeNull();
  });

  it('request → admin sees it live → approve over HTTP → the user is told live', async () => {
    const admin = await socket(ADMIN);
    const bob = await socket(BOB);
    const sug = await call<{ tokens: number }>('GET', ExtrasRoutes.myRequestSuggestion, BOB);
    expect(sug.json.tokens).toBeGreaterThanOrEqual(1_000);

    const opened = await call<QuotaRequestDTO>('POST', ExtrasRoutes.myRequests, BOB, { tokens: sug.json.tokens, reason: 'Preciso de mais' });
    expect(opened.status).toBe(201);
    expect((await call('POST', ExtrasRoutes.myRequests, BOB, { tokens: 10 })).status).toBe(409);
    await eventually(() => admin.got.some(([e, p]) => e === 'request' && (p as { request: QuotaRequestDTO }).request.id === opened.json.id));

    expect((await call('GET', ExtrasRoutes.adminRequests, BOB)).status).toBe(403);
    const list = await call<AdminQuotaRequestsPageDTO>('GET', ExtrasRoutes.adminRequests, ADMIN);
    expect(list.json.pendingCount).toBe(1);

    const path = ExtrasRoutes.adminRequestApprove.replace(':requestId', opened.json.id);
    expect((await call('POST', path, BOB, {})).status).toBe(403);
    const ok = await call<QuotaRequestDTO>('POST', path, ADMIN, { tokens: 2_500, message: 'Liberado' });
    expect(ok.json).toMatchObject({ status: 'approved', grantedTokens: 2_500 });
    await eventually(() => bob.got.some(([e]) => e === 'request_decided'));
    const decided = bob.got.find(([e]) => e === 'request_decided')![1] as { message: string; balance: { granted: number } };
    expect(decided.message).toContain('+2.500 tokens');
    expect(decided.balance.granted).toBe(2_500);
    // Only the requester's room got it.
    expect(admin.got.some(([e]) => e === 'request_decided')).toBe(false);
    expect(err(await call('POST', ExtrasRoutes.adminRequestDeny.replace(':requestId', 'x1'), ADMIN, {})).code).toBe('invalid_input');
  });

  it('admin: role plans, auto-approve rule, webhooks CRUD + test + delivery log; users are refused', async () => {
    const put = await call('PUT', ExtrasRoutes.adminRolePlan.replace(':role', 'USER'), ADMIN, { planId: 'padrao' });
    expect(put.status).toBe(200);
    expect((await call<unknown[]>('GET', ExtrasRoutes.adminRolePlans, ADMIN)).json).toHaveLength(1);
    expect((await call('PUT', ExtrasRoutes.adminRolePlan.replace(':role', 'USER'), ALICE, { planId: 'padrao' })).status).toBe(403);
    expect((await call('DELETE', ExtrasRoutes.adminRolePlan.replace(':role', 'USER'), ADMIN)).status).toBe(204);
    expect(err(await call('DELETE', ExtrasRoutes.adminRolePlan.replace(':role', 'USER'), ADMIN)).code).toBe('not_found');

    const auto = await call('PUT', ExtrasRoutes.adminPlanAutoApprove.replace(':planId', 'padrao'), ADMIN, { tokens: 500 });
    expect(auto.json).toEqual({ planId: 'padrao', autoApproveTokens: 500 });

    const bad = await call('POST', ExtrasRoutes.adminWebhooks, ADMIN, { url: 'ftp://example.com/x' });
    expect(err(bad).code).toBe('invalid_input');
    const created = await call<{ id: string; secret: string }>('POST', ExtrasRoutes.adminWebhooks, ADMIN, { url: 'http://127.0.0.1:9/none', events: ['test'] });
    expect(created.status).toBe(201);
    expect(created.json.secret).toMatch(/^whsec_/);
    const listed = await call<Array<Record<string, unknown>>>('GET', ExtrasRoutes.adminWebhooks, ADMIN);
    expect(listed.json.map((e) => e.id)).toContain(created.json.id);
    expect(JSON.stringify(listed.json)).not.toContain(created.json.secret);
    const test = await call<{ eventId: string }>('POST', ExtrasRoutes.adminWebhookTest.replace(':endpointId', created.json.id), ADMIN);
    expect(test.status).toBe(202);
    expect(test.json.eventId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await call('GET', ExtrasRoutes.adminWebhookDeliveries + '?limit=5', ADMIN)).status).toBe(200);
    expect((await call('GET', ExtrasRoutes.adminWebhooks, ALICE)).status).toBe(403);
    expect((await call('DELETE', ExtrasRoutes.adminWebhook.replace(':endpointId', created.json.id), ADMIN)).status).toBe(204);
    expect(err(await call('POST', ExtrasRoutes.adminWebhookTest.replace(':endpointId', 'wh_nope123'), ADMIN)).code).toBe('not_found');
  });
});
