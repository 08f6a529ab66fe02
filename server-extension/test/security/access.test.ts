/**
 * Who may see and do what, attacked from outside over real HTTP and socket.io against the standalone
 * composition: forged / expired / wrong-secret / alg:none / refresh-as-access tokens on the REST API, the
 * socket handshake and the LibreChat gate; cross-user reads; every admin route and the admin room as a
 * non-admin; the proxy's service key (and how its comparison is made).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { API_PREFIX, ApiRoutes, ExtrasRoutes, type BalanceDTO, type StatementPageDTO } from '@solaris/wire';
import { createApiRouter } from '../../src/adapters/http/router';
import { createServiceKeyCheck } from '../../src/adapters/proxy/identity';
import { createFeatureServices } from '../../src/core/feature-services';
import { createGate } from '../../../librechat-plugin/src/lib/gate';
import { InflightRegistry } from '../../../librechat-plugin/src/lib/inflight';
import { ADMIN, ALICE, BOB, SECRETS, accessToken, badAccessTokens, bearer, call, codeOf, refreshToken, startSecurityStack, type SecurityStack } from './stack';

let s: SecurityStack;
const api = (path: string) => `${s.url}${API_PREFIX}${path}`;

beforeAll(async () => {
  s = await startSecurityStack();
  // Some history for both users (distinct, greppable request ids) and an open quota request of Bob's.
  for (let i = 0; i < 7; i++) {
    await s.te.engine.settle({ requestId: `alice-req-${i}`, userId: ALICE, model: 'alice-model', promptTokens: 10, completionTokens: 5, source: 'proxy', conversationId: 'alice-conv' });
    await s.te.engine.settle({ requestId: `bob-req-${i}`, userId: BOB, model: 'bob-model', promptTokens: 20, completionTokens: 7, source: 'proxy', conversationId: 'bob-conv' });
  }
});
afterAll(() => s?.close());

describe('JWT: every bad token is refused', () => {
  it('REST: 401 unauthorized for each bad bearer and each bad refresh cookie; the good ones pass', async () => {
    expect((await call(api(ApiRoutes.me), { headers: bearer(ALICE) })).status).toBe(200);
    for (const [name, t] of Object.entries(badAccessTokens(ALICE))) {
      for (const path of [ApiRoutes.me, ApiRoutes.balance, ApiRoutes.statement, ApiRoutes.statementCsv, ApiRoutes.adminUsers]) {
        const r = await call(api(path), { headers: { authorization: `Bearer ${t}` } });
        expect([r.status, codeOf(r.json())], `${name} on ${path}`).toEqual([401, 'unauthorized']);
      }
    }
    const cookieOk = await call(api(ApiRoutes.me), { headers: { cookie: `refreshToken=${refreshToken(ALICE)}` } });
    expect(cookieOk.status).toBe(200);
    const badCookies = {
      'access token in the refresh cookie': accessToken(ALICE),
      'expired refresh': refreshToken(ALICE, 's1', { expiresIn: -5 }),
      'refresh signed with the access secret': refreshToken(ALICE, 's1', { secret: SECRETS.access }),
      'refresh with a wrong secret': refreshToken(ALICE, 's1', { secret: 'nope-nope-nope-nope' }),
      'alg none refresh': `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ id: ALICE, sessionId: 's', exp: 9e9 })).toString('base64url')}.`,
    };
    for (const [name, t] of Object.entries(badCookies)) {
      const r = await call(api(ApiRoutes.me), { headers: { cookie: `refreshToken=${t}` } });
      expect([r.status, codeOf(r.json())], name).toEqual([401, 'unauthorized']);
    }
    // A LibreChat OpenID session's cookie holds the IdP's token: never ours to accept.
    expect((await call(api(ApiRoutes.me), { headers: { cookie: `refreshToken=${refreshToken(ALICE)}; token_provider=openid` } })).status).toBe(401);
  });

  it('socket.io: the handshake of each bad token fails (polling and websocket) and creates no session', async () => {
    const ok = await s.socket(bearer(ALICE));
    ok.disconnect();
    for (const [name, t] of Object.entries(badAccessTokens(ALICE))) {
      for (const transports of [['polling'], ['websocket']] as Array<Array<'polling' | 'websocket'>>) {
        await expect(s.socket({ authorization: `Bearer ${t}` }, transports), `${name} ${transports[0]}`).rejects.toThrow();
      }
    }
    await expect(s.socket({ cookie: `refreshToken=${accessToken(ALICE)}` })).rejects.toThrow();
  });

  it('LibreChat gate: bad tokens go untouched to LibreChat (its own 401), never reserve, never reveal the quota', async () => {
    // Alice is out of quota: a valid token gets the 402, so a bad one that reached the quota check would show.
    await s.te.engine.admin.setLimitOverride({ userId: ALICE, limit: 0 }, { id: 'setup', email: null });
    const gate = createGate({
      runtime: async () => ({ engine: s.te.engine, config: s.te.config }),
      registry: new InflightRegistry(),
      failMode: () => 'closed',
      secrets: () => ({ access: SECRETS.access, refresh: SECRETS.refresh }),
    });
    const reachedLibreChat: string[] = [];
    // LibreChat's behaviour behind the gate: passport-jwt (HS256 by default via jsonwebtoken) → 401 "Unauthorized".
    const libreChat = (req: IncomingMessage, res: import('node:http').ServerResponse) => {
      reachedLibreChat.push(String(req.headers.authorization));
      try {
        jwt.verify(String(req.headers.authorization ?? '').replace(/^Bearer /, ''), SECRETS.access, { algorithms: ['HS256'] });
        res.writeHead(200).end('{"streamId":"x"}');
      } catch {
        res.writeHead(401).end('Unauthorized');
      }
    };
    const server: Server = createServer((req, res) => void gate(req, res, () => libreChat(req, res)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/agents/chat/openAI`;
    const body = JSON.stringify({ text: 'oi', model: 'gpt-4o-mini', endpoint: 'openAI', conversationId: 'new' });
    try {
      const valid = await call(url, { method: 'POST', headers: { ...bearer(ALICE), 'content-type': 'application/json' }, body });
      expect(valid.status).toBe(402);
      expect(reachedLibreChat).toHaveLength(0);
      const tokens = Object.entries(badAccessTokens(ALICE)).filter(([n]) => n !== 'empty' && n !== 'no exp claim');
      for (const [name, t] of tokens) {
        const r = await call(url, { method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body });
        // Signed with JWT_SECRET, LibreChat's passport-jwt would take it (it only reads `id`): LibreChat's call, not ours.
        const libreChatAccepts = name === 'refresh-shaped token signed with the access secret';
        expect([r.status, r.text], name).toEqual(libreChatAccepts ? [200, '{"streamId":"x"}'] : [401, 'Unauthorized']);
      }
      expect(reachedLibreChat).toHaveLength(tokens.length);
      const b = await s.te.engine.balance(ALICE);
      expect(b.reserved).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await s.te.engine.admin.setLimitOverride({ userId: ALICE, limit: null }, { id: 'setup', email: null });
    }
  });
});

describe('cross-user reads: 0 leaks', () => {
  it("balance, statement (every filter, Bob's cursor), CSV and daily usage hold only the caller's data", async () => {
    const H = bearer(ALICE);
    const bobPage = (await call(api(`${ApiRoutes.statement}?limit=2`), { headers: bearer(BOB) })).json() as StatementPageDTO;
    expect(bobPage.nextCursor).toBeTruthy();
    const texts: string[] = [];
    const bodies = [
      ApiRoutes.me,
      ApiRoutes.balance,
      ApiRoutes.statement,
      `${ApiRoutes.statement}?limit=200`,
      `${ApiRoutes.statement}?conversationId=bob-conv`,
      `${ApiRoutes.statement}?model=bob-model`,
      `${ApiRoutes.statement}?cursor=${bobPage.nextCursor}`,
      ApiRoutes.statementCsv,
      `${ApiRoutes.statementCsv}?model=bob-model`,
      ApiRoutes.usageDaily,
      ExtrasRoutes.mySettings,
      ExtrasRoutes.myRequests,
    ];
    for (const path of bodies) {
      const r = await call(api(path), { headers: H });
      expect(r.status, path).toBe(200);
      texts.push(r.text);
    }
    // Parameters that would select another user are refused, not ignored.
    for (const path of [`${ApiRoutes.balance}?userId=${BOB}`, `${ApiRoutes.statement}?userId=${BOB}`, `${ApiRoutes.statementCsv}?user=${BOB}`]) {
      const r = await call(api(path), { headers: H });
      expect([r.status, codeOf(r.json())], path).toEqual([400, 'invalid_input']);
    }
    const all = texts.join('\n');
    expect(all).toContain('alice-req-');
    const leaks = (all.match(/bob-req-|bob-model|bob-conv|bob@sec|65b000000000000000000002/g) ?? []).length;
    console.log(`cross-user REST: ${bodies.length} answers, ${all.length} bytes, leaks: ${leaks}`);
    expect(leaks).toBe(0);
    const bal = JSON.parse(texts[1]!) as BalanceDTO;
    expect(bal.userId).toBe(ALICE);
  });

  it("another user's quota request cannot be cancelled (looks missing)", async () => {
    const opened = await call(api(ExtrasRoutes.myRequests), { method: 'POST', headers: { ...bearer(BOB), 'content-type': 'application/json' }, body: JSON.stringify({ tokens: 1000 }) });
    expect(opened.status).toBe(201);
    const id = (opened.json() as { id: string }).id;
    const r = await call(api(ExtrasRoutes.myRequestCancel.replace(':requestId', id)), { method: 'POST', headers: bearer(ALICE) });
    expect([r.status, codeOf(r.json())]).toEqual([404, 'not_found']);
    const mine = (await call(api(ExtrasRoutes.myRequests), { headers: bearer(BOB) })).json() as Array<{ id: string; status: string }>;
    expect(mine.find((q) => q.id === id)?.status).toBe('pending');
  });

  it("socket rooms: Alice's socket gets only her events, whatever she emits; non-admins are not in `admins`", async () => {
    const alice = await s.socket(bearer(ALICE));
    const bob = await s.socket(bearer(BOB), ['websocket']);
    const admin = await s.socket(bearer(ADMIN));
    // Clients have no way in: the server handles no client events; try anyway.
    const raw = alice as unknown as { emit(ev: string, arg: string): void };
    for (const ev of ['join', 'subscribe', 'room']) {
      raw.emit(ev, `user:${BOB}`);
      raw.emit(ev, 'admins');
    }
    await vi.waitFor(() => expect(alice.got.some(([e]) => e === 'balance')).toBe(true));
    alice.got.length = 0;
    for (let i = 0; i < 5; i++) {
      await s.te.engine.settle({ requestId: `bob-live-${i}`, userId: BOB, model: 'bob-model', promptTokens: 3, completionTokens: 3, source: 'proxy' });
    }
    await s.te.engine.settle({ requestId: 'alice-live-0', userId: ALICE, model: 'alice-model', promptTokens: 3, completionTokens: 3, source: 'proxy' });
    await vi.waitFor(() => expect(alice.got.some(([e, p]) => e === 'ledger' && (p as { requestId: string }).requestId === 'alice-live-0')).toBe(true));
    await vi.waitFor(() => expect(admin.got.filter(([e]) => e === 'usage_batch').flatMap(([, p]) => p as unknown[]).length).toBeGreaterThanOrEqual(6));
    await vi.waitFor(() => expect(bob.got.filter(([e]) => e === 'ledger').length).toBe(5));
    const leaked = alice.got.filter(([, p]) => JSON.stringify(p).includes(BOB) || JSON.stringify(p).includes('bob-'));
    const adminOnly = [...alice.got, ...bob.got].filter(([e]) => e === 'usage' || e === 'usage_batch' || e === 'request');
    console.log(`socket rooms: alice got ${alice.got.length} events, leaked ${leaked.length}; admin-only events to non-admins: ${adminOnly.length}`);
    expect(leaked).toHaveLength(0);
    expect(adminOnly).toHaveLength(0);
    for (const c of [alice, bob, admin]) c.disconnect();
  });
});

/** Every route of the API router (and the extras router inside it), read from express's own route table. */
function routeTable(): Array<{ method: string; path: string }> {
  const extras = createFeatureServices(s.te.engine);
  const router = createApiRouter({ engine: s.te.engine, authenticator: { authenticate: async () => null }, config: s.te.config, extras });
  const out: Array<{ method: string; path: string }> = [];
  type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };
  const walk = (stack: Layer[]) => {
    for (const l of stack) {
      if (l.route) for (const m of Object.keys(l.route.methods)) out.push({ method: m.toUpperCase(), path: l.route.path });
      else if (l.handle?.stack) walk(l.handle.stack);
    }
  };
  walk((router as unknown as { stack: Layer[] }).stack);
  return out;
}

describe('admin routes and room are admin-only', () => {
  it('every admin route answers 403 forbidden to a non-admin (and changes nothing)', async () => {
    const routes = routeTable().filter((r) => r.path.startsWith('/admin'));
    // The wire's admin entries are all mounted (a route added to the wire without a server route would 404).
    const declared = new Set([...Object.entries(ApiRoutes), ...Object.entries(ExtrasRoutes)].filter(([k]) => k.startsWith('admin')).map(([, p]) => p));
    for (const p of declared) expect(routes.some((r) => r.path === p), p).toBe(true);
    expect(routes.length).toBeGreaterThanOrEqual(declared.size);
    const params: Record<string, string> = { userId: BOB, planId: 'default', requestId: '1', role: 'USER', endpointId: 'x' };
    const auditBefore = (await s.te.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log')).rows[0]!.n;
    const seen: string[] = [];
    for (const { method, path } of routes) {
      const concrete = path.replace(/:(\w+)/g, (_, k: string) => params[k] ?? 'x');
      for (const who of [bearer(ALICE), { cookie: `refreshToken=${refreshToken(BOB)}` }]) {
        const r = await call(api(concrete), {
          method,
          headers: { ...who, 'content-type': 'application/json' },
          body: method === 'GET' || method === 'HEAD' ? undefined : JSON.stringify({ tokens: 1000, limit: 5, planId: 'default', reason: 'x', url: 'http://x' }),
        });
        expect([r.status, method === 'HEAD' ? 'forbidden' : codeOf(r.json())], `${method} ${concrete}`).toEqual([403, 'forbidden']);
      }
      seen.push(`${method} ${path}`);
    }
    // The admin itself gets through (so the 403s above are about the role, not a broken route).
    expect((await call(api(ApiRoutes.adminUsers), { headers: bearer(ADMIN) })).status).toBe(200);
    const auditAfter = (await s.te.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log')).rows[0]!.n;
    expect(auditAfter).toBe(auditBefore);
    console.log(`admin routes checked as non-admin (bearer and cookie): ${seen.length} → all 403`);
    expect(seen.length).toBeGreaterThanOrEqual(declared.size + 3); // + POST plans, DELETE role plan / webhook
  });

  it('the admin room: only admins join it', async () => {
    const alice = await s.socket(bearer(ALICE));
    const admin = await s.socket(bearer(ADMIN));
    // Observe membership from the server side through the room itself: an emit to `admins` reaches only the admin.
    await vi.waitFor(() => expect(admin.got.some(([e]) => e === 'balance')).toBe(true));
    alice.got.length = 0;
    admin.got.length = 0;
    s.te.engine.events.emit('request', { request: { id: '999', userId: BOB } as never, pendingCount: 1 });
    await vi.waitFor(() => expect(admin.got.some(([e]) => e === 'request')).toBe(true));
    await new Promise((r) => setTimeout(r, 100));
    expect(alice.got.filter(([e]) => e === 'request')).toHaveLength(0);
    alice.disconnect();
    admin.disconnect();
  });
});

describe('metering proxy service key', () => {
  const chat = JSON.stringify({ model: 'fake-model', messages: [{ role: 'user', content: 'oi' }] });

  it('401 without a key, with a wrong key, with the key in the wrong scheme; 200 with it', async () => {
    const url = `${s.url}/v1/chat/completions`;
    const base = { 'content-type': 'application/json', 'x-solaris-user-id': ALICE };
    const wrong: Record<string, Record<string, string>> = {
      none: {},
      empty: { authorization: 'Bearer ' },
      'wrong key': { authorization: 'Bearer sec-proxy-key-5be0c2d94a7f4e32' },
      'key prefix': { authorization: `Bearer ${SECRETS.proxyKey.slice(0, -1)}` },
      'key + suffix': { authorization: `Bearer ${SECRETS.proxyKey}x` },
      'basic scheme': { authorization: `Basic ${Buffer.from(`x:${SECRETS.proxyKey}`).toString('base64')}` },
      'raw key': { authorization: SECRETS.proxyKey },
      'x-api-key only': { 'x-api-key': SECRETS.proxyKey },
      'a user JWT': bearer(ALICE),
    };
    for (const [name, h] of Object.entries(wrong)) {
      for (const path of ['/v1/chat/completions', '/v1/completions', '/v1/embeddings']) {
        const r = await call(`${s.url}${path}`, { method: 'POST', headers: { ...base, ...h }, body: chat });
        expect([r.status, codeOf(r.json())], `${name} ${path}`).toEqual([401, 'unauthorized']);
      }
      const m = await call(`${s.url}/v1/models`, { headers: h });
      expect(m.status, `${name} /v1/models`).toBe(401);
    }
    const ok = await call(url, { method: 'POST', headers: { ...base, authorization: `Bearer ${SECRETS.proxyKey}` }, body: chat });
    expect(ok.status).toBe(200);
  });

  it('compares digests with timingSafeEqual (constant time); timing of first- vs last-byte mismatches printed', async () => {
    // The implementation: both sides hashed (equal lengths, secret length hidden), then crypto.timingSafeEqual.
    const src = readFileSync(join(__dirname, '../../src/adapters/proxy/identity.ts'), 'utf8');
    const fn = src.slice(src.indexOf('export function createServiceKeyCheck'), src.indexOf('function header('));
    expect(fn).toMatch(/timingSafeEqual\(sha256\(/);
    expect(fn).not.toMatch(/===|!==|==/);
    const hook = readFileSync(join(__dirname, '../../src/adapters/litellm-webhook.ts'), 'utf8');
    expect(hook).toMatch(/timingSafeEqual\(sha256\(given\), sha256\(expected\)\)/);

    const key = SECRETS.proxyKey;
    const check = createServiceKeyCheck(key);
    const firstByte = `Bearer ${key.replace(/^./, (c) => (c === 'x' ? 'y' : 'x'))}`;
    const lastByte = `Bearer ${key.replace(/.$/, (c) => (c === 'x' ? 'y' : 'x'))}`;
    const trials = 20_000;
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < 4_000; i++) check(i % 2 ? firstByte : lastByte); // warm-up
    for (let i = 0; i < trials; i++) {
      // Interleaved, alternating which goes first, so drift (GC, CPU frequency) hits both alike.
      const order = i % 2 === 0 ? [firstByte, lastByte] : [lastByte, firstByte];
      for (const candidate of order) {
        const t = process.hrtime.bigint();
        const ok = check(candidate);
        const dt = Number(process.hrtime.bigint() - t);
        if (ok) throw new Error('a wrong key matched');
        (candidate === firstByte ? a : b).push(dt);
      }
    }
    const stats = (x: number[]) => {
      const sorted = [...x].sort((p, q) => p - q);
      return { p50: sorted[Math.floor(sorted.length / 2)]!, p90: sorted[Math.floor(sorted.length * 0.9)]! };
    };
    const sa = stats(a);
    const sb = stats(b);
    // Over HTTP too (fewer trials; network noise dominates).
    const http = async (auth: string) => {
      const t = performance.now();
      await call(`${s.url}/v1/models`, { headers: { authorization: auth } });
      return performance.now() - t;
    };
    const ha: number[] = [];
    const hb: number[] = [];
    for (let i = 0; i < 100; i++) {
      ha.push(await http(firstByte));
      hb.push(await http(lastByte));
    }
    const hsa = stats(ha);
    const hsb = stats(hb);
    console.log(
      `service key compare, ${trials} trials each: first-byte mismatch p50 ${sa.p50} ns / p90 ${sa.p90} ns; ` +
        `last-byte mismatch p50 ${sb.p50} ns / p90 ${sb.p90} ns; p50 ratio ${(sa.p50 / sb.p50).toFixed(3)}\n` +
        `over HTTP, 100 each: first-byte p50 ${hsa.p50.toFixed(3)} ms, last-byte p50 ${hsb.p50.toFixed(3)} ms (ratio ${(hsa.p50 / hsb.p50).toFixed(3)})`,
    );
    expect(sa.p50).toBeGreaterThan(0);
  });
});

describe('F6: a header never raises privileges (standalone: users_cache is not LibreChat)', () => {
  let t: SecurityStack;
  const BOSS = 'boss@sec.example';
  beforeAll(async () => {
    t = await startSecurityStack({ env: { SOLARIS_ADMIN_EMAILS: BOSS } });
  }, 60_000);
  afterAll(() => t?.close());

  it("X-Solaris-User-Email naming an admin's email through the proxy gives no admin rights, with or without an email claim", async () => {
    for (const [mallory, claim] of [
      ['65b0000000000000000000f1', 'mallory@sec.example'],
      ['65b0000000000000000000f2', undefined],
    ] as const) {
      const r = await call(`${t.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SECRETS.proxyKey}`, 'content-type': 'application/json', 'x-solaris-user-id': mallory, 'x-solaris-user-email': BOSS },
        body: JSON.stringify({ model: 'fake-model', messages: [{ role: 'user', content: 'oi' }] }),
      });
      expect(r.status).toBe(200);
      // The proxy's touch is fire-and-forget: wait for the header's email to land in users_cache.
      for (let i = 0; i < 50; i++) {
        const { rows } = await t.te.db.pool.query<{ email: string | null }>(`SELECT email FROM users_cache WHERE user_id = $1`, [mallory]);
        if (rows[0]?.email) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      const headers = { authorization: `Bearer ${accessToken(mallory, claim ? { email: claim } : {})}` };
      const me = await call(`${t.url}${API_PREFIX}${ApiRoutes.me}`, { headers });
      expect(me.status).toBe(200);
      expect(me.json()).toMatchObject({ isAdmin: false });
      if (claim) expect(me.json()).toMatchObject({ email: claim }); // the signed claim wins over the header
      const users = await call(`${t.url}${API_PREFIX}${ApiRoutes.adminUsers}`, { headers });
      expect([users.status, codeOf(users.json())]).toEqual([403, 'forbidden']);
    }
    // The real admin (email in the signed token) still is one.
    const boss = await call(`${t.url}${API_PREFIX}${ApiRoutes.adminUsers}`, { headers: { authorization: `Bearer ${accessToken('65b0000000000000000000f3', { email: BOSS })}` } });
    expect(boss.status).toBe(200);
  });
});
