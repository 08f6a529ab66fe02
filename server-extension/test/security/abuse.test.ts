/**
 * Abuse: the production rate limits of the widget API and of admin mutations are real (429 + code after N),
 * no secret ever reaches the logs during a full flow, and nothing of ours opens the API to other origins
 * (no CORS headers, no cookies of our own).
 */
import { API_PREFIX, ApiRoutes, ExtrasRoutes } from '@solaris/wire';
import { DEFAULT_RATE_LIMITS } from '../../src/adapters/http/rate-limit';
import { ADMIN, ALICE, BOB, SECRETS, accessToken, bearer, call, codeOf, refreshToken, startSecurityStack, type SecurityStack } from './stack';

let s: SecurityStack;
const api = (path: string) => `${s.url}${API_PREFIX}${path}`;

beforeAll(async () => {
  s = await startSecurityStack({
    captureLogs: true,
    logLevel: 'debug',
    // The database URL of a real deployment carries a password (trust auth here ignores it).
    env: { DATABASE_URL: `postgres://postgres:${SECRETS.dbPassword}@127.0.0.1:5432/test`, SOLARIS_MAX_INFLIGHT: '50' },
  });
});
afterAll(() => s?.close());

describe('rate limits (production defaults of the standalone server)', () => {
  it(`widget API: ${DEFAULT_RATE_LIMITS.api.points} calls a minute per user, then 429 rate_limited with Retry-After; others unaffected`, async () => {
    const user = '65b0000000000000000000e1';
    const H = { authorization: `Bearer ${accessToken(user)}` };
    const n = DEFAULT_RATE_LIMITS.api.points;
    const statuses = new Map<number, number>();
    for (let i = 0; i < n; i += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => call(api(ApiRoutes.balance), { headers: H })));
      for (const r of batch) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    expect(statuses.get(200)).toBe(n);
    const over = await call(api(ApiRoutes.statement), { headers: H });
    expect([over.status, codeOf(over.json())]).toEqual([429, 'rate_limited']);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Same user through the cookie: same budget (keyed on the user, not the credential).
    expect((await call(api(ApiRoutes.me), { headers: { cookie: `refreshToken=${refreshToken(user)}` } })).status).toBe(429);
    expect((await call(api(ApiRoutes.balance), { headers: bearer(BOB) })).status).toBe(200);
    console.log(`widget API: ${n} × 200, then 429 (Retry-After ${over.headers.get('retry-after')} s)`);
  });

  it(`admin mutations: ${DEFAULT_RATE_LIMITS.adminMutations.points} a minute per admin, then 429; reads continue`, async () => {
    const H = { ...bearer(ADMIN), 'content-type': 'application/json' };
    const n = DEFAULT_RATE_LIMITS.adminMutations.points;
    const grant = () => call(api(ApiRoutes.adminGrant.replace(':userId', ALICE)), { method: 'POST', headers: H, body: JSON.stringify({ tokens: 1, reason: 'rate test' }) });
    const ok = await Promise.all(Array.from({ length: n }, grant));
    expect(ok.filter((r) => r.status === 200)).toHaveLength(n);
    const over = await grant();
    expect([over.status, codeOf(over.json())]).toEqual([429, 'rate_limited']);
    // Every accepted grant is in the audit log; the refused one is not.
    const { rows } = await s.te.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'grant' AND actor_id = $1`, [ADMIN]);
    expect(rows[0]!.n).toBe(n);
    expect((await call(api(ApiRoutes.adminUsers), { headers: bearer(ADMIN) })).status).toBe(200);
    // The extras' mutations (role plans, webhooks, requests) have their own budget of the same size.
    const rolePlan = await call(api(ExtrasRoutes.adminRolePlan.replace(':role', 'USER')), { method: 'PUT', headers: H, body: JSON.stringify({ planId: 'default' }) });
    expect([200, 404]).toContain(rolePlan.status);
  });
});

describe('secrets never reach the logs', () => {
  it('a full flow at debug level (proxy, REST, socket, webhook, errors) logs none of the secrets or tokens', async () => {
    const token = accessToken(ALICE);
    const cookieToken = refreshToken(BOB);
    const proxyHeaders = { authorization: `Bearer ${SECRETS.proxyKey}`, 'content-type': 'application/json', 'x-solaris-user-id': ALICE };
    const chat = (extra: Record<string, unknown> = {}) => JSON.stringify({ model: 'fake-model', messages: [{ role: 'user', content: 'olá' }], ...extra });
    expect((await call(`${s.url}/v1/chat/completions`, { method: 'POST', headers: proxyHeaders, body: chat() })).status).toBe(200);
    expect((await call(`${s.url}/v1/chat/completions`, { method: 'POST', headers: proxyHeaders, body: chat({ stream: true }) })).status).toBe(200);
    expect((await call(`${s.url}/v1/embeddings`, { method: 'POST', headers: proxyHeaders, body: JSON.stringify({ model: 'text-embedding-3-small', input: 'x' }) })).status).toBe(200);
    expect((await call(`${s.url}/v1/models`, { headers: proxyHeaders })).status).toBe(200);
    // Failures log warnings with error objects: upstream 5xx, a stream cut mid-answer, wrong keys.
    s.fake.options.mode = 'error-5xx';
    await call(`${s.url}/v1/chat/completions`, { method: 'POST', headers: proxyHeaders, body: chat() });
    s.fake.options.mode = 'fail-mid-stream';
    await call(`${s.url}/v1/chat/completions`, { method: 'POST', headers: proxyHeaders, body: chat({ stream: true }) });
    s.fake.options.mode = 'normal';
    await call(`${s.url}/v1/chat/completions`, { method: 'POST', headers: { ...proxyHeaders, authorization: `Bearer ${SECRETS.proxyKey}-wrong` }, body: chat() });
    await call(`${s.url}/solaris/litellm/usage`, { method: 'POST', headers: { authorization: `Bearer ${SECRETS.webhookSecret}`, 'content-type': 'application/json' }, body: '[{"id":"x","status":"success"}]' });
    await call(`${s.url}/solaris/litellm/usage`, { method: 'POST', headers: { authorization: `Bearer ${SECRETS.webhookSecret}x` }, body: '[]' });
    // REST with both credentials, a bad one, an admin mutation, a bad body.
    await call(api(ApiRoutes.me), { headers: { authorization: `Bearer ${token}` } });
    await call(api(ApiRoutes.statement), { headers: { cookie: `refreshToken=${cookieToken}` } });
    await call(api(ApiRoutes.me), { headers: { authorization: `Bearer ${accessToken(ALICE, { secret: SECRETS.refresh })}` } });
    await call(api(ApiRoutes.adminReset.replace(':userId', BOB)), { method: 'POST', headers: { ...bearer(ADMIN), 'content-type': 'application/json' }, body: '{"reason":"log test"}' });
    await call(api(ExtrasRoutes.mySettings), { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{bad json' });
    const sock = await s.socket({ cookie: `refreshToken=${cookieToken}` });
    sock.disconnect();
    await s.socket({ authorization: `Bearer ${SECRETS.proxyKey}` }).catch(() => undefined);
    await call(`${s.url}/readyz`);
    await new Promise((r) => setTimeout(r, 500)); // settlements and their debug lines
    const logs = s.logs();
    const lines = logs.split('\n').filter(Boolean);
    // The flow did log: debug settlements and the warnings of the failures, with their error objects.
    const messages = lines.map((l) => (JSON.parse(l) as { message: string }).message);
    console.log(`log messages: ${[...new Set(messages)].join(' | ')}`);
    expect(messages).toContain('proxy settled');
    expect(messages.some((m) => /upstream/.test(m))).toBe(true);
    const secrets = { ...SECRETS, accessToken: token, refreshCookie: cookieToken, jwtSignature: token.split('.')[2]! };
    const found = Object.entries(secrets).filter(([, v]) => logs.includes(v));
    console.log(`captured ${lines.length} log lines (${logs.length} bytes); secrets found: ${found.length ? found.map(([k]) => k).join(', ') : 'none'}`);
    expect(found).toEqual([]);
  });
});

describe('same origin only: CORS and cookies', () => {
  it('no Access-Control-Allow-* header on any answer of ours, preflights included; no Set-Cookie', async () => {
    const evil = { origin: 'https://evil.example' };
    const probes: Array<{ url: string; method?: string; headers?: Record<string, string>; body?: string }> = [
      { url: api(ApiRoutes.me), headers: { ...evil, ...bearer(ALICE) } },
      { url: api(ApiRoutes.me), method: 'OPTIONS', headers: { ...evil, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } },
      { url: api(ApiRoutes.adminGrant.replace(':userId', ALICE)), method: 'OPTIONS', headers: { ...evil, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } },
      { url: api(ApiRoutes.statementCsv), headers: { ...evil, ...bearer(ALICE) } },
      { url: api(ApiRoutes.me), headers: evil },
      { url: `${s.url}/solaris/widget.js`, headers: evil },
      { url: `${s.url}/solaris/socket.io/?EIO=4&transport=polling`, headers: { ...evil, ...bearer(ALICE) } },
      { url: `${s.url}/solaris/socket.io/?EIO=4&transport=polling`, method: 'OPTIONS', headers: { ...evil, 'access-control-request-method': 'GET' } },
      { url: `${s.url}/v1/models`, headers: { ...evil, authorization: `Bearer ${SECRETS.proxyKey}` } },
      { url: `${s.url}/v1/chat/completions`, method: 'OPTIONS', headers: { ...evil, 'access-control-request-method': 'POST' } },
      { url: `${s.url}/solaris/litellm/usage`, method: 'OPTIONS', headers: { ...evil, 'access-control-request-method': 'POST' } },
      { url: `${s.url}/healthz`, headers: evil },
    ];
    for (const p of probes) {
      const r = await call(p.url, { method: p.method, headers: p.headers, body: p.body });
      const cors = [...r.headers.keys()].filter((k) => k.startsWith('access-control-'));
      expect(cors, `${p.method ?? 'GET'} ${p.url}`).toEqual([]);
      expect(r.headers.get('set-cookie'), `${p.method ?? 'GET'} ${p.url}`).toBeNull();
    }
    // A cross-site HTML form (the only cross-site write a browser sends without a preflight) is refused.
    const form = await call(api(ApiRoutes.adminGrant.replace(':userId', ALICE)), {
      method: 'POST',
      headers: { ...evil, ...bearer(ADMIN), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'tokens=1000000',
    });
    expect([form.status, codeOf(form.json())]).toEqual([400, 'invalid_input']);
    const textPlain = await call(api(ApiRoutes.adminGrant.replace(':userId', ALICE)), { method: 'POST', headers: { ...bearer(ADMIN), 'content-type': 'text/plain' }, body: '{"tokens":1}' });
    expect(textPlain.status).toBe(400);
  });
});
