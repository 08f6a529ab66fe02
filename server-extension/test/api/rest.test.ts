import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get as httpGet } from 'node:http';
import { API_PREFIX, ApiRoutes, type AdminUsersPageDTO, type ApiErrorDTO, type BalanceDTO, type MeDTO, type StatementPageDTO } from '@solaris/wire';
import { createTestEngine, type TestEngine } from '../helpers/engine';
import { createTestRedis, flushPrefix } from '../helpers/infra';
import { ADMIN, ALICE, BOB, accessToken, bearer, cookie, refreshToken, settle, startServer, type RunningServer } from './helpers';

let te: TestEngine;
let srv: RunningServer;
let widgetDir: string;

beforeAll(async () => {
  te = await createTestEngine({ store: 'redis' });
  widgetDir = mkdtempSync(join(tmpdir(), 'solaris-widget-'));
  writeFileSync(join(widgetDir, 'widget.js'), 'console.log("solaris widget");\n');
  srv = await startServer(te, { server: { widgetFile: join(widgetDir, 'widget.js'), rateLimits: { api: { points: 1000, duration: 60 }, adminMutations: { points: 1000, duration: 60 } } } });
  await te.engine.admin.upsertPlan({ id: 'basic', name: 'Básico', tokenLimit: 10_000, period: 'month', isDefault: true }, { id: 'setup' });
  // Alice: 3 requests on two models (one in another conversation); Bob: 1.
  await settle(te, ALICE, { model: 'gpt-4o-mini', conversationId: 'c1', requestId: 'a-1' });
  te.clock.advance(1000);
  await settle(te, ALICE, { model: 'claude-3-haiku', conversationId: 'c1', requestId: 'a-2', reportedCost: 0.0125 });
  te.clock.advance(1000);
  await settle(te, ALICE, { model: '=HYPERLINK("x")', conversationId: 'c;2', requestId: 'a-3' });
  await settle(te, BOB, { model: 'gpt-4o-mini', requestId: 'b-1', promptTokens: 7, completionTokens: 3 });
});
afterAll(async () => {
  await srv?.close();
  await te?.cleanup();
});

async function call(path: string, init: RequestInit = {}) {
  const res = await fetch(srv.url + path, init);
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    /* csv / empty */
  }
  return { res, status: res.status, json: json as never, text };
}
const api = (route: string) => API_PREFIX + route;
const u = (route: string, userId: string) => api(route.replace(':userId', encodeURIComponent(userId)));
const jsonBody = (method: string, body: unknown, headers: Record<string, string>) => ({
  method,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});
const code = (r: { json: ApiErrorDTO }) => r.json.error.code;

describe('REST API: users see only their own data', () => {
  it('me / balance / statement / csv / daily for the caller only', async () => {
    const me = await call(api(ApiRoutes.me), { headers: cookie(ALICE) });
    expect(me.status).toBe(200);
    expect(me.json as MeDTO).toMatchObject({ userId: ALICE, email: 'alice@example.com', isAdmin: false, balance: { userId: ALICE, limit: 10_000 } });
    expect(me.res.headers.get('cache-control')).toBe('no-store');
    expect(me.res.headers.get('etag')).toBeNull(); // no-store answers are not hashed for an ETag
    expect(me.res.headers.get('access-control-allow-origin')).toBeNull();

    const bal = await call(api(ApiRoutes.balance), { headers: bearer(BOB) });
    expect((bal.json as BalanceDTO).userId).toBe(BOB);
    expect((bal.json as BalanceDTO).used).toBe(10);
    // The deployment zone (SOLARIS_TIMEZONE, default São Paulo): the widget shows periodEnd in it.
    expect((bal.json as BalanceDTO).timeZone).toBe(te.config.SOLARIS_TIMEZONE);
    expect(te.config.SOLARIS_TIMEZONE).toBe('America/Sao_Paulo');

    const st = await call(api(ApiRoutes.statement), { headers: bearer(BOB) });
    const page = st.json as StatementPageDTO;
    expect(page.items.flatMap((i) => (i.kind === 'usage' ? [i.requestId] : []))).toEqual(['b-1']);
    expect(page.totals.requests).toBe(1);

    // Query params cannot point at somebody else.
    expect(code(await call(api(ApiRoutes.statement) + `?userId=${ALICE}`, { headers: bearer(BOB) }))).toBe('invalid_input');
    const csv = await call(api(ApiRoutes.statementCsv), { headers: bearer(BOB) });
    expect(csv.text).toContain('b-1');
    expect(csv.text).not.toContain('a-1');

    const daily = await call(api(ApiRoutes.usageDaily) + '?from=2026-11-01&to=2026-11-30', { headers: bearer(BOB) });
    expect(daily.json).toEqual([{ day: '2026-11-15', weightedTokens: 10, promptTokens: 7, completionTokens: 3, cost: 0, requests: 1 }]);
  });

  it('statement: keyset paging covers every row once, newest first; filters apply', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r: { json: StatementPageDTO } = await call(api(ApiRoutes.statement) + `?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { headers: cookie(ALICE) });
      expect(r.json.items.length).toBeLessThanOrEqual(2);
      expect(r.json.totals.requests).toBe(3);
      seen.push(...r.json.items.flatMap((i) => (i.kind === 'usage' ? [i.requestId] : [])));
      cursor = r.json.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['a-3', 'a-2', 'a-1']);

    const byModel = await call(api(ApiRoutes.statement) + '?model=claude-3-haiku', { headers: cookie(ALICE) });
    expect((byModel.json as StatementPageDTO).items.flatMap((i) => (i.kind === 'usage' ? [i.requestId] : []))).toEqual(['a-2']);
    expect((byModel.json as StatementPageDTO).totals.cost).toBeCloseTo(0.0125);
    const byConv = await call(api(ApiRoutes.statement) + '?conversationId=c1&period=2026-11', { headers: cookie(ALICE) });
    expect((byConv.json as StatementPageDTO).items.flatMap((i) => (i.kind === 'usage' ? [i.requestId] : []))).toEqual(['a-2', 'a-1']);
    const otherPeriod = await call(api(ApiRoutes.statement) + '?period=2026-10', { headers: cookie(ALICE) });
    expect((otherPeriod.json as StatementPageDTO).items).toEqual([]);
    const byDay = await call(api(ApiRoutes.statement) + '?from=2026-11-15&to=2026-11-15', { headers: cookie(ALICE) });
    expect((byDay.json as StatementPageDTO).items).toHaveLength(3); // `to` as a date includes the whole day
    const before = await call(api(ApiRoutes.statement) + '?to=2026-11-14', { headers: cookie(ALICE) });
    // No usage before the 14th; the account still shows the period's opening (1 Nov).
    expect((before.json as StatementPageDTO).items.map((i) => i.kind)).toEqual(['period_start']);
  });

  it('CSV: BOM, ; separator, header row, decimal comma, quoting and formula neutralising, every page', async () => {
    const r = await call(api(ApiRoutes.statementCsv), { headers: cookie(ALICE) });
    expect(r.status).toBe(200);
    expect(r.res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(r.res.headers.get('content-disposition')).toMatch(/^attachment; filename="extrato-[\w-]+\.csv"$/);
    const bytes = new Uint8Array(await (await fetch(srv.url + api(ApiRoutes.statementCsv), { headers: cookie(ALICE) })).arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]); // UTF-8 BOM (fetch's text() strips it)
    const lines = r.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'data_hora;lancamento;modelo;tokens_prompt;tokens_resposta;tokens_total;tokens_ponderados;custo_usd;origem;estimado;conversa;mensagem;periodo;valor;saldo_apos;motivo;id_requisicao',
    );
    expect(lines).toHaveLength(5); // 3 usage lines and the period's opening
    expect(lines[1]).toBe(`2026-11-15 12:00:02;Uso;"'=HYPERLINK(""x"")";100;50;150;150;0;proxy;não;"c;2";;2026-11;-150;9550;;a-3`);
    expect(lines[4]).toBe(`2026-11-01 00:00:00;Início do período;;;;;;;;;;;2026-11;10000;10000;;period:2026-11`);
    expect(lines[2]).toContain(';0,0125;');
    // Many pages (page size 200): 450 more rows for Bob, all exported once.
    const client = await te.db.pool.connect();
    try {
      await client.query(
        `WITH k AS (INSERT INTO ledger_request_ids (request_id, created_at)
                    SELECT 'bulk-' || g, timestamptz '2026-11-10T00:00:00Z' + g * interval '1 second' FROM generate_series(1, 450) g
                    RETURNING request_id, seq, created_at)
         INSERT INTO ledger (seq, request_id, user_id, model, prompt_tokens, completion_tokens, total_tokens, weighted_tokens, source, period_key, created_at)
         SELECT k.seq, k.request_id, $1, 'm', 1, 1, 2, 2, 'proxy', '2026-11', k.created_at FROM k`,
        [BOB],
      );
    } finally {
      client.release();
    }
    const big = await call(api(ApiRoutes.statementCsv), { headers: bearer(BOB) });
    const rows = big.text.trimEnd().split('\r\n').slice(1).filter((l) => l.split(';')[1] === 'Uso');
    expect(rows).toHaveLength(451);
    expect(new Set(rows.map((l) => l.split(';').at(-1))).size).toBe(451);
  });
});

describe('REST API: authentication and authorisation', () => {
  const adminRoutes: Array<[string, string, unknown?]> = [
    ['GET', ApiRoutes.adminUsers],
    ['GET', ApiRoutes.adminUser],
    ['GET', ApiRoutes.adminUserStatement],
    ['GET', '/admin/users/:userId/statement.csv'],
    ['POST', ApiRoutes.adminGrant, { tokens: 10 }],
    ['POST', ApiRoutes.adminReset, {}],
    ['PUT', ApiRoutes.adminOverride, { limit: 5 }],
    ['PUT', ApiRoutes.adminAssignPlan, { planId: 'basic' }],
    ['GET', ApiRoutes.adminPlans],
    ['POST', ApiRoutes.adminPlans, { id: 'x', name: 'x', tokenLimit: 1, period: 'day' }],
    ['PUT', ApiRoutes.adminPlan.replace(':planId', 'basic'), { name: 'x', tokenLimit: 1, period: 'day' }],
    ['GET', ApiRoutes.adminAudit],
    ['GET', ApiRoutes.adminUsageDaily],
    ['GET', ApiRoutes.adminUsageByModel],
  ];

  it('every admin endpoint: 401 without a principal, 403 for a user, and nothing is written', async () => {
    const auditBefore = (await te.db.pool.query(`SELECT count(*)::int AS n FROM audit_log`)).rows[0].n;
    for (const [method, route, body] of adminRoutes) {
      const path = u(route, BOB);
      const init = (h: Record<string, string>) => (body === undefined ? { method, headers: h } : jsonBody(method, body, h));
      const anon = await call(path, init({}));
      expect([anon.status, code(anon)], `${method} ${route}`).toEqual([401, 'unauthorized']);
      const user = await call(path, init(cookie(ALICE)));
      expect([user.status, code(user)], `${method} ${route}`).toEqual([403, 'forbidden']);
    }
    expect(code(await call(api('/admin/nope'), { headers: bearer(ALICE) }))).toBe('forbidden');
    expect((await te.db.pool.query(`SELECT count(*)::int AS n FROM audit_log`)).rows[0].n).toBe(auditBefore);
  });

  it('bad tokens → 401 on user routes; a logged-out session cookie is refused', async () => {
    const expired = accessToken(ALICE, { expiresIn: -5 });
    const wrong = accessToken(ALICE, { secret: 'nope' });
    for (const headers of [{ authorization: `Bearer ${expired}` } as Record<string, string>, { authorization: `Bearer ${wrong}` }, { authorization: `Bearer ${refreshToken(ALICE)}` }, { cookie: 'refreshToken=garbage' }]) {
      const r = await call(api(ApiRoutes.balance), { headers });
      expect([r.status, code(r)]).toEqual([401, 'unauthorized']);
    }
    srv.deadSessions.add('logged-out');
    const r = await call(api(ApiRoutes.balance), { headers: { cookie: `refreshToken=${refreshToken(ALICE, 'logged-out')}` } });
    expect(r.status).toBe(401);
  });
});

describe('REST API: admin', () => {
  it('every admin mutation returns the new state and writes one audit row with the actor', async () => {
    const H = bearer(ADMIN);
    const audit = async () =>
      (await te.db.pool.query<{ action: string; actor_id: string; actor_email: string; target_user_id: string | null }>(`SELECT * FROM audit_log ORDER BY id`)).rows;
    const before = (await audit()).length;

    const grant = await call(u(ApiRoutes.adminGrant, BOB), jsonBody('POST', { tokens: 500, reason: 'bônus' }, H));
    expect(grant.status).toBe(200);
    expect((grant.json as BalanceDTO).granted).toBe(500);
    const limit = await call(u(ApiRoutes.adminOverride, BOB), jsonBody('PUT', { limit: 20_000 }, H));
    expect((limit.json as BalanceDTO).limit).toBe(20_000);
    const created = await call(api(ApiRoutes.adminPlans), jsonBody('POST', { id: 'pro', name: 'Pro', tokenLimit: 50_000, period: 'week' }, H));
    expect([created.status, created.json]).toEqual([201, { id: 'pro', name: 'Pro', tokenLimit: 50_000, period: 'week', isDefault: false, modelWeights: {} }]);
    const dup = await call(api(ApiRoutes.adminPlans), jsonBody('POST', { id: 'pro', name: 'Pro', tokenLimit: 1, period: 'week' }, H));
    // `limit` (the CLI's old flag name) is named for what it should be (issue #15 item 11)
    const wrongName = await call(api(ApiRoutes.adminPlans), jsonBody('POST', { id: 'max', name: 'Max', limit: 1, period: 'week' }, H));
    expect([wrongName.status, code(wrongName)]).toEqual([400, 'invalid_input']);
    expect(JSON.stringify(wrongName.json)).toContain('tokenLimit');
    expect([dup.status, code(dup)]).toEqual([409, 'conflict']);
    const updated = await call(api(ApiRoutes.adminPlan.replace(':planId', 'basic')), jsonBody('PUT', { name: 'Básico+', tokenLimit: 12_000, period: 'month' }, H));
    expect(updated.json).toEqual({ id: 'basic', name: 'Básico+', tokenLimit: 12_000, period: 'month', isDefault: true, modelWeights: {} });
    const weighted = await call(
      api(ApiRoutes.adminPlan.replace(':planId', 'pro')),
      jsonBody('PUT', { name: 'Pro', tokenLimit: 50_000, period: 'week', modelWeights: { 'gpt-4o*': 2, 'o1*': 1.5 } }, H),
    );
    expect((weighted.json as { modelWeights: unknown }).modelWeights).toEqual({ 'gpt-4o*': 2, 'o1*': 1.5 });
    const missing = await call(api(ApiRoutes.adminPlan.replace(':planId', 'ghost')), jsonBody('PUT', { name: 'x', tokenLimit: 1, period: 'day' }, H));
    expect([missing.status, code(missing)]).toEqual([404, 'not_found']);
    const assign = await call(u(ApiRoutes.adminAssignPlan, BOB), jsonBody('PUT', { planId: 'pro' }, H));
    expect((assign.json as BalanceDTO).planId).toBe('pro');
    const noPlan = await call(u(ApiRoutes.adminAssignPlan, BOB), jsonBody('PUT', { planId: 'ghost' }, H));
    expect([noPlan.status, code(noPlan)]).toEqual([404, 'not_found']);
    const reset = await call(u(ApiRoutes.adminReset, BOB), { method: 'POST', headers: H }); // no body at all
    expect(reset.status).toBe(200);
    expect((reset.json as BalanceDTO).used).toBe(0);

    const rows = (await audit()).slice(before);
    expect(rows.map((r) => r.action)).toEqual(['grant', 'limit.override', 'plan.upsert', 'plan.upsert', 'plan.upsert', 'plan.assign', 'reset']);
    for (const r of rows) expect([r.actor_id, r.actor_email]).toEqual([ADMIN, 'root@example.com']);

    const log = await call(api(ApiRoutes.adminAudit) + '?limit=2', { headers: H });
    const logPage = log.json as { items: Array<{ action: string; actorEmail: string | null; targetEmail?: string | null }>; nextCursor: string | null };
    expect(logPage.items.map((i) => i.action)).toEqual(['reset', 'plan.assign']);
    // the admin tab names who and whom by e-mail (the target's from LibreChat's cached user record)
    expect(logPage.items[0]).toMatchObject({ actorEmail: 'root@example.com', targetEmail: 'bob@example.com' });
    expect(logPage.nextCursor).toMatch(/^\d+$/);
  });

  it('reports: users, user detail and statement, usage by day and by model', async () => {
    const H = cookie(ADMIN);
    const users = (await call(api(ApiRoutes.adminUsers) + '?q=alice', { headers: H })).json as AdminUsersPageDTO;
    expect(users.items.map((i) => i.userId)).toEqual([ALICE]);
    const detail = await call(u(ApiRoutes.adminUser, BOB), { headers: H });
    expect(detail.json).toMatchObject({ userId: BOB, planId: 'pro', limitOverride: 20_000, balance: { timeZone: 'America/Sao_Paulo' } });
    const st = await call(u(ApiRoutes.adminUserStatement, ALICE) + '?limit=1', { headers: H });
    expect((st.json as StatementPageDTO).items[0]).toMatchObject({ kind: 'usage', requestId: 'a-3' });
    const csv = await call(u('/admin/users/:userId/statement.csv', ALICE), { headers: H });
    expect(csv.text.trimEnd().split('\r\n').filter((l) => l.split(';')[1] === 'Uso')).toHaveLength(3);
    const models = await call(api(ApiRoutes.adminUsageByModel) + '?from=2026-11-15&to=2026-11-15', { headers: H });
    expect(models.json).toContainEqual({ model: 'claude-3-haiku', weightedTokens: 150, requests: 1, cost: 0.0125 });
    const daily = await call(api(ApiRoutes.adminUsageDaily) + `?from=2026-11-15&to=2026-11-16&userId=${ALICE}`, { headers: H });
    expect(daily.json).toEqual([expect.objectContaining({ day: '2026-11-15', requests: 3, weightedTokens: 450 })]);
  });

  it('validation errors → 400 invalid_input naming the field; bad JSON 400; big body 413; forms refused', async () => {
    const H = bearer(ADMIN);
    const cases: Array<[string, RequestInit]> = [
      [u(ApiRoutes.adminGrant, BOB), jsonBody('POST', { tokens: -1 }, H)],
      [u(ApiRoutes.adminGrant, BOB), jsonBody('POST', { tokens: 1.5 }, H)],
      [u(ApiRoutes.adminGrant, BOB), jsonBody('POST', { tokens: '10' }, H)],
      [u(ApiRoutes.adminGrant, BOB), jsonBody('POST', { tokens: 10, admin: true }, H)],
      [u(ApiRoutes.adminGrant, BOB), jsonBody('POST', { tokens: 10, expiresAt: 'tomorrow' }, H)],
      [u(ApiRoutes.adminGrant, BOB), jsonBody('POST', [1, 2], H)],
      [u(ApiRoutes.adminOverride, BOB), jsonBody('PUT', {}, H)],
      [api(ApiRoutes.adminPlans), jsonBody('POST', { id: 'Bad Id', name: 'x', tokenLimit: 1, period: 'day' }, H)],
      [api(ApiRoutes.adminPlans), jsonBody('POST', { id: 'ok', name: 'x', tokenLimit: 1, period: 'year' }, H)],
      [api(ApiRoutes.adminPlans), jsonBody('POST', { id: 'ok', name: 'x', tokenLimit: 1, period: 'day', modelWeights: { 'gpt-4o*': 0 } }, H)],
      [api(ApiRoutes.adminPlans), jsonBody('POST', { id: 'ok', name: 'x', tokenLimit: 1, period: 'day', modelWeights: { '': 2 } }, H)],
      [api(ApiRoutes.adminPlans), jsonBody('POST', { id: 'ok', name: 'x', tokenLimit: 1, period: 'day', modelWeights: [['a', 2]] }, H)],
      [api(ApiRoutes.adminPlans), jsonBody('POST', { id: 'ok', name: 'x', tokenLimit: 1, period: 'day', modelWeights: { a: '2' } }, H)],
      [api(ApiRoutes.adminPlan.replace(':planId', 'basic')), jsonBody('PUT', { id: 'other', name: 'x', tokenLimit: 1, period: 'day' }, H)],
      [u(ApiRoutes.adminGrant, 'x'.repeat(129)), jsonBody('POST', { tokens: 1 }, H)],
      [api(ApiRoutes.statement) + '?limit=0', { headers: H }],
      [api(ApiRoutes.statement) + '?limit=abc', { headers: H }],
      [api(ApiRoutes.statement) + '?limit=1&limit=2', { headers: H }],
      [api(ApiRoutes.statement) + '?cursor=bm9wZQ', { headers: H }],
      [api(ApiRoutes.statement) + '?from=yesterday', { headers: H }],
      [api(ApiRoutes.statement) + '?from=2026-11-20&to=2026-11-01', { headers: H }],
      [api(ApiRoutes.statement) + '?period=November', { headers: H }],
      [api(ApiRoutes.adminUsers) + '?sort=random', { headers: H }],
      [api(ApiRoutes.adminAudit) + '?cursor=1;DROP', { headers: H }],
      [api(ApiRoutes.adminUsageByModel) + '?from=2020-01-01&to=2026-01-01', { headers: H }],
    ];
    for (const [path, init] of cases) {
      const r = await call(path, init);
      expect([r.status, code(r)], path + ' ' + String(init.body ?? '')).toEqual([400, 'invalid_input']);
      expect(typeof (r.json as ApiErrorDTO).error.message).toBe('string');
    }
    const unknownField = await call(u(ApiRoutes.adminGrant, BOB), jsonBody('POST', { tokens: 10, admin: true }, H));
    expect((unknownField.json as ApiErrorDTO).error.message).toMatch(/admin/);

    const badJson = await call(u(ApiRoutes.adminGrant, BOB), { method: 'POST', headers: { ...H, 'content-type': 'application/json' }, body: '{"tokens":' });
    expect([badJson.status, code(badJson)]).toEqual([400, 'invalid_input']);
    const big = await call(u(ApiRoutes.adminGrant, BOB), jsonBody('POST', { tokens: 1, reason: 'x'.repeat(20_000) }, H));
    expect([big.status, code(big)]).toEqual([413, 'payload_too_large']);
    const form = await call(u(ApiRoutes.adminReset, BOB), { method: 'POST', headers: { ...H, 'content-type': 'application/x-www-form-urlencoded' }, body: 'reason=x' });
    expect([form.status, code(form)]).toEqual([400, 'invalid_input']);
  });

  it('unknown errors → 500 internal_error without internals; unknown routes → 404', async () => {
    const spy = vi.spyOn(te.engine.admin, 'listPlans').mockRejectedValueOnce(new Error('relation "plans" does not exist at character 15'));
    const r = await call(api(ApiRoutes.adminPlans), { headers: bearer(ADMIN) });
    spy.mockRestore();
    expect(r.status).toBe(500);
    expect(r.json).toEqual({ error: { code: 'internal_error', message: 'Internal error' } });
    const down = vi.spyOn(te.engine, 'balance').mockRejectedValueOnce(Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' }));
    const outage = await call(api(ApiRoutes.balance), { headers: bearer(ALICE) });
    down.mockRestore();
    expect([outage.status, code(outage)]).toEqual([503, 'store_unavailable']);
    expect(outage.text).not.toContain('10.0.0.5');
    const nf = await call(api('/nope'), { headers: bearer(ALICE) });
    expect([nf.status, code(nf)]).toEqual([404, 'not_found']);
    const outside = await call('/solaris/else', {});
    expect(outside.status).toBe(404);
  });
});

describe('widget bundle and rate limits', () => {
  it('serves widget.js with a JS content type and ETag revalidation; 404 with a message when missing', async () => {
    const r = await call('/solaris/widget.js');
    expect(r.status).toBe(200);
    expect(r.res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(r.res.headers.get('cache-control')).toBe('public, no-cache');
    const etag = r.res.headers.get('etag')!;
    const revalidated = await new Promise<number>((resolve, reject) =>
      httpGet(srv.url + '/solaris/widget.js', { headers: { 'if-none-match': etag } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject),
    );
    expect(revalidated).toBe(304);
    const css = await call('/solaris/widget.css');
    expect(css.status).toBe(404);
    const other = await startServer(te, { server: { widgetFile: join(widgetDir, 'missing.js') } });
    try {
      const miss = await fetch(other.url + '/solaris/widget.js');
      expect(miss.status).toBe(404);
      expect(((await miss.json()) as ApiErrorDTO).error.message).toMatch(/not built/);
    } finally {
      await other.close();
    }
  });

  it('429 rate_limited with Retry-After once the per-user budget is spent (other users unaffected)', async () => {
    // Own Redis prefix: the limiter counts per user across every server sharing the Redis (that is the point).
    const redis = createTestRedis();
    const limited = await startServer(te, { server: { redis, rateLimits: { api: { points: 3, duration: 60 }, adminMutations: { points: 1, duration: 60 } } } });
    try {
      for (let i = 0; i < 3; i++) expect((await fetch(limited.url + api(ApiRoutes.balance), { headers: bearer(ALICE) })).status).toBe(200);
      const r = await fetch(limited.url + api(ApiRoutes.balance), { headers: bearer(ALICE) });
      expect(r.status).toBe(429);
      expect(((await r.json()) as ApiErrorDTO).error.code).toBe('rate_limited');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await fetch(limited.url + api(ApiRoutes.balance), { headers: bearer(BOB) })).status).toBe(200);
      const H = bearer(ADMIN);
      expect((await fetch(limited.url + u(ApiRoutes.adminGrant, BOB), jsonBody('POST', { tokens: 1 }, H))).status).toBe(200);
      expect((await fetch(limited.url + u(ApiRoutes.adminGrant, BOB), jsonBody('POST', { tokens: 1 }, H))).status).toBe(429);
    } finally {
      await limited.close();
      await flushPrefix(redis);
      redis.disconnect();
    }
  });
});
