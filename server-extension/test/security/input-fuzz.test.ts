/**
 * Property-based attacks (fast-check) on every input of the REST API, the LiteLLM webhook and the metering
 * proxy, over real HTTP against the standalone composition: arbitrary query strings, ids, dates, amounts,
 * JSON bodies (prototype-pollution keys, unicode, NUL bytes, huge numbers), raw non-JSON bodies and oversize
 * bodies. Every answer must be a 4xx with a machine code (or a success), never a 5xx, never a database error
 * text, and the server must keep serving.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import fc from 'fast-check';
import { API_PREFIX, ApiRoutes, ERROR_CODES, ExtrasRoutes } from '@solaris/wire';
import { createLiteLLMWebhookRouter } from '../../src/adapters/litellm-webhook';
import { ALICE, SECRETS, accessToken, call, codeOf, SQL_LEAK, startSecurityStack, type SecurityStack } from './stack';

let s: SecurityStack;
const FUZZ_ADMIN_EMAIL = 'fuzz-admin@sec.example';
let seq = 0;
/** A fresh identity per call: every user / admin has its own rate-limit budget, so the fuzzer is never 429'd. */
const fresh = (admin = false) => {
  seq += 1;
  const id = `fz${admin ? 'a' : 'u'}${seq.toString(16).padStart(22, '0')}`;
  return { authorization: `Bearer ${accessToken(id, { email: admin ? FUZZ_ADMIN_EMAIL : `${id}@sec.example` })}` };
};
const CODES = new Set<string>(ERROR_CODES);
const stats = { requests: 0, byStatus: new Map<number, number>() };

/** The invariant of every answer. */
function expectSafe(r: { status: number; text: string; json: () => unknown }, what: string): void {
  stats.requests += 1;
  stats.byStatus.set(r.status, (stats.byStatus.get(r.status) ?? 0) + 1);
  if (r.status >= 500) throw new Error(`${what}: ${r.status} ${r.text.slice(0, 300)}`);
  if (r.status >= 400) {
    const code = codeOf(r.json());
    if (!code || !CODES.has(code)) throw new Error(`${what}: ${r.status} without a machine code: ${r.text.slice(0, 300)}`);
  }
  if (SQL_LEAK.test(r.text) && r.status >= 400) throw new Error(`${what}: database / stack text leaked: ${r.text.slice(0, 300)}`);
}

beforeAll(async () => {
  s = await startSecurityStack({ env: { SOLARIS_ADMIN_EMAILS: FUZZ_ADMIN_EMAIL, SOLARIS_MAX_INFLIGHT: '1000' } });
  await s.te.engine.settle({ requestId: 'seed-1', userId: ALICE, model: 'm', promptTokens: 1, completionTokens: 1, source: 'proxy' });
}, 60_000);
afterAll(async () => {
  console.log(`fuzz: ${stats.requests} requests, statuses ${JSON.stringify(Object.fromEntries([...stats.byStatus].sort(([a], [b]) => a - b)))}`);
  await s?.close();
});

// ---------------------------------------------------------------- generators

const POLLUTION = ['__proto__', 'constructor', 'prototype', '__proto__[isAdmin]', 'constructor[prototype][isAdmin]', 'toString', 'hasOwnProperty'];
const nasty = fc.constantFrom(
  "'; DROP TABLE ledger; --",
  "' OR '1'='1",
  '\\',
  '$1',
  '\u0000',
  'a\u0000b',
  '%00',
  '😀'.repeat(40),
  '\u202e\u200b',
  '../../etc/passwd',
  '2026-02-30',
  '2026-13-01',
  '9999-12-31T23:59:59Z',
  '0000-01-01',
  '1e309',
  '-1',
  '0x10',
  'NaN',
  'Infinity',
  '99999999999999999999999',
  '2026-W99',
  '2026-11-01T00:00:00',
  '2026-11-01T00:00:00+99:00',
  'x'.repeat(5000),
  '<script>alert(1)</script>',
  '=HYPERLINK("http://x")',
);
const anyText = fc.oneof(nasty, fc.string({ unit: 'grapheme', maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 30 }), fc.integer().map(String), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()));
const queryKey = (known: string[]) => fc.oneof(fc.constantFrom(...known, ...POLLUTION), fc.string({ maxLength: 12 }));
const queryString = (known: string[]) =>
  fc.array(fc.tuple(queryKey(known), anyText), { maxLength: 5 }).map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));
/** Sometimes raw, possibly malformed percent-encoding. */
const rawQuery = (known: string[]) => fc.oneof(queryString(known), fc.constantFrom('%', '%E0%A4%A', 'a=%ZZ', '&&&=&', 'limit[]=1&limit[]=2', 'limit[$gt]=0', 'cursor=eyJ0IjoiJyBPUiAxPTEiLCJzIjoxfQ'));

const amount = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, 1e308, -1e308, 2 ** 53, 2 ** 53 + 2, 1e12, 1e12 + 1, 0.5, Number.MAX_SAFE_INTEGER),
  fc.string({ maxLength: 10 }),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.integer(), { maxLength: 2 }),
);
const fieldValue = fc.oneof(amount, anyText, fc.jsonValue({ maxDepth: 2 }));
/** JSON bodies: our fields with hostile values, unknown fields, prototype-pollution keys, any JSON at all. */
const jsonBody = fc.oneof(
  fc.dictionary(fc.constantFrom('tokens', 'reason', 'expiresAt', 'limit', 'planId', 'id', 'name', 'tokenLimit', 'period', 'isDefault', 'personalCap', 'warnPercent', 'message', 'url', 'events', 'format', 'active'), fieldValue, { maxKeys: 6 }).map((o) => JSON.stringify(o)),
  fc.dictionary(fc.constantFrom(...POLLUTION), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }).map((o) => JSON.stringify(o).replace(/"toString"/, '"__proto__"')),
  fc.constantFrom('{"__proto__":{"isAdmin":true}}', '{"constructor":{"prototype":{"isAdmin":true}}}', '{"tokens":1,"tokens":2}', '{"tokens":1e400}', '[]', 'null', '"x"', '1', '{', '{"a":'.repeat(200)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
);
const rawBody = fc.oneof(jsonBody, fc.string({ unit: 'binary', maxLength: 200 }), fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')));
const pathSegment = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).map(encodeURIComponent),
  fc.constantFrom('%', '%E0%A4%A', '%00', '..', '.', '%2e%2e', '%2F', 'x'.repeat(300), '1e3', '-1', '0', '99999999999999999999', "'%20OR%201=1--", '__proto__', 'constructor'),
);

// ---------------------------------------------------------------- properties

const RUNS = { numRuns: 120, interruptAfterTimeLimit: 12_000 };

describe('REST API input fuzzing', () => {
  it("the caller's routes: any query string → success or 4xx with a code", async () => {
    const routes: Array<[string, string[]]> = [
      [ApiRoutes.statement, ['cursor', 'limit', 'period', 'model', 'conversationId', 'from', 'to']],
      [ApiRoutes.statementCsv, ['period', 'model', 'conversationId', 'from', 'to']],
      [ApiRoutes.usageDaily, ['from', 'to']],
      [ApiRoutes.balance, []],
      [ApiRoutes.me, []],
      [ExtrasRoutes.mySettings, []],
      [ExtrasRoutes.myRequests, []],
      [ExtrasRoutes.myRequestSuggestion, []],
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), rawQuery(['cursor', 'limit', 'period', 'model', 'conversationId', 'from', 'to']), async ([path, known], q) => {
        void known;
        const r = await call(`${s.url}${API_PREFIX}${path}?${q}`, { headers: fresh() });
        expectSafe(r, `GET ${path}?${q}`);
      }),
      RUNS,
    );
  });

  it('admin reads: any path id and query → success or 4xx with a code', async () => {
    const routes = [
      ApiRoutes.adminUsers,
      ApiRoutes.adminUser,
      ApiRoutes.adminUserStatement,
      ApiRoutes.adminUserStatementCsv,
      ApiRoutes.adminAudit,
      ApiRoutes.adminUsageDaily,
      ApiRoutes.adminUsageByModel,
      ApiRoutes.adminPlans,
      ExtrasRoutes.adminRequests,
      ExtrasRoutes.adminWebhookDeliveries,
    ];
    const known = ['q', 'sort', 'limit', 'offset', 'cursor', 'from', 'to', 'userId', 'status', 'endpointId', 'period', 'model'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), pathSegment, rawQuery(known), async (path, id, q) => {
        const url = `${s.url}${API_PREFIX}${path.replace(':userId', id)}?${q}`;
        const r = await call(url, { headers: fresh(true) });
        expectSafe(r, `GET ${url}`);
      }),
      RUNS,
    );
  });

  it('mutations (user and admin): any id and any body → success or 4xx with a code', async () => {
    const routes: Array<[string, string]> = [
      ['POST', ApiRoutes.adminGrant],
      ['POST', ApiRoutes.adminReset],
      ['PUT', ApiRoutes.adminOverride],
      ['PUT', ApiRoutes.adminAssignPlan],
      ['POST', ApiRoutes.adminPlans],
      ['PUT', ApiRoutes.adminPlan],
      ['PUT', ExtrasRoutes.mySettings],
      ['POST', ExtrasRoutes.myRequests],
      ['POST', ExtrasRoutes.myRequestCancel],
      ['POST', ExtrasRoutes.adminRequestApprove],
      ['POST', ExtrasRoutes.adminRequestDeny],
      ['PUT', ExtrasRoutes.adminRolePlan],
      ['DELETE', ExtrasRoutes.adminRolePlan],
      ['PUT', ExtrasRoutes.adminPlanAutoApprove],
      ['POST', ExtrasRoutes.adminWebhooks],
      ['PUT', ExtrasRoutes.adminWebhook],
      ['POST', ExtrasRoutes.adminWebhookTest],
    ];
    const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-16', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', '');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.oneof(pathSegment, fc.constantFrom(ALICE, 'default', '1', 'USER')), rawBody, contentType, async ([method, path], id, body, ct) => {
        const url = `${s.url}${API_PREFIX}${path.replace(/:\w+/, id)}`;
        const headers: Record<string, string> = { ...fresh(true) };
        if (ct) headers['content-type'] = ct;
        const r = await call(url, { method, headers, body: Buffer.from(body, 'latin1') });
        expectSafe(r, `${method} ${url} ${ct} ${body.slice(0, 200)}`);
      }),
      RUNS,
    );
  });

  it('prototype-pollution bodies change nothing global; oversize bodies get 413 payload_too_large', async () => {
    const admin = fresh(true);
    for (const body of ['{"__proto__":{"isAdmin":true,"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}']) {
      const r = await call(`${s.url}${API_PREFIX}${ApiRoutes.adminGrant.replace(':userId', ALICE)}`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body });
      expectSafe(r, body);
      expect(r.status).toBe(400);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // A non-admin is still not an admin after trying.
    const user = fresh();
    await call(`${s.url}${API_PREFIX}${ExtrasRoutes.mySettings}`, { method: 'PUT', headers: { ...user, 'content-type': 'application/json' }, body: '{"__proto__":{"isAdmin":true}}' });
    expect((await call(`${s.url}${API_PREFIX}${ApiRoutes.adminUsers}`, { headers: user })).status).toBe(403);
    const big = JSON.stringify({ reason: 'x'.repeat(17 * 1024), tokens: 1 });
    const r = await call(`${s.url}${API_PREFIX}${ApiRoutes.adminGrant.replace(':userId', ALICE)}`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: big });
    expect([r.status, codeOf(r.json())]).toEqual([413, 'payload_too_large']);
    const hook = await call(`${s.url}/solaris/litellm/usage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.webhookSecret}`, 'content-type': 'application/json' },
      body: Buffer.alloc(6 * 1024 * 1024, 0x20),
    });
    expect([hook.status, codeOf(hook.json())]).toEqual([413, 'payload_too_large']);
  });
});

describe('metering proxy and webhook input fuzzing', () => {
  const chatBody = fc.oneof(
    fc
      .record(
        {
          model: fc.oneof(fc.constantFrom('fake-model', 'gpt-4o-mini'), anyText, amount),
          messages: fc.oneof(
            fc.array(fc.record({ role: fc.oneof(fc.constantFrom('user', 'system', 'assistant', 'tool'), anyText), content: fc.oneof(anyText, fc.jsonValue({ maxDepth: 2 })) }, { requiredKeys: [] }), { maxLength: 4 }),
            fieldValue,
          ),
          user: fc.oneof(anyText, amount),
          stream: fc.oneof(fc.boolean(), fieldValue),
          stream_options: fc.oneof(fc.record({ include_usage: fc.oneof(fc.boolean(), fieldValue) }), fieldValue),
          max_tokens: amount,
          max_completion_tokens: amount,
          n: amount,
          prompt: fc.oneof(anyText, fc.array(anyText, { maxLength: 3 })),
          input: fc.oneof(anyText, fc.array(anyText, { maxLength: 3 })),
        },
        { requiredKeys: [] },
      )
      .map((o) => JSON.stringify(o)),
    fc.dictionary(fc.constantFrom(...POLLUTION), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }).map((o) => JSON.stringify({ model: 'fake-model', ...o })),
    rawBody,
  );
  // Header values must be ByteStrings; LibreChat fills these from its placeholders.
  const headerText = fc.oneof(fc.constantFrom('{{LIBRECHAT_USER_ID}}', '', ' ', ALICE, 'x'.repeat(200), "' OR 1=1 --", '\\'), fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 }));

  it('any body and identity headers → success or 4xx with a code (never 5xx, never unmetered by accident)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/v1/chat/completions', '/v1/completions', '/v1/embeddings'),
        chatBody,
        fc.record({ 'x-solaris-user-id': headerText, 'x-solaris-conversation-id': headerText, 'x-solaris-message-id': headerText, 'idempotency-key': headerText }, { requiredKeys: [] }),
        async (path, body, ids) => {
          const r = await call(`${s.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${SECRETS.proxyKey}`, 'content-type': 'application/json', ...ids }, body: Buffer.from(body, 'latin1') });
          expectSafe(r, `POST ${path} ${JSON.stringify(ids)} ${body.slice(0, 300)}`);
        },
      ),
      { numRuns: 150, interruptAfterTimeLimit: 15_000 },
    );
    await expectNoFailedSettlement();
  });

  it('NUL bytes (Postgres text cannot hold them) are refused up front, never served uncharged or taken for an outage', async () => {
    const proxy = (body: unknown, headers: Record<string, string> = { 'x-solaris-user-id': 'nul-user' }) =>
      call(`${s.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${SECRETS.proxyKey}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const msgs = [{ role: 'user', content: 'oi' }];
    for (const [name, r] of [
      ['model', await proxy({ model: 'fake\u0000model', messages: msgs })],
      ['user field', await proxy({ model: 'fake-model', user: 'u\u0000x', messages: msgs }, {})],
    ] as const) {
      expect([r.status, codeOf(r.json())], name).toEqual([400, 'invalid_input']);
    }
    const admin = fresh(true);
    const rest: Array<[string, string, string?]> = [
      ['GET', `${ApiRoutes.statement}?model=a%00b`],
      ['GET', `${ApiRoutes.statement}?conversationId=%00`],
      ['GET', `${ApiRoutes.adminUsers}?q=%00`],
      ['GET', ApiRoutes.adminUser.replace(':userId', 'a%00b')],
      ['POST', ApiRoutes.adminGrant.replace(':userId', ALICE), JSON.stringify({ tokens: 5, reason: 'a\u0000b' })],
      ['POST', ApiRoutes.adminReset.replace(':userId', ALICE), JSON.stringify({ reason: '\u0000' })],
      ['PUT', ApiRoutes.adminAssignPlan.replace(':userId', ALICE), JSON.stringify({ planId: '\u0000' })],
      ['POST', ApiRoutes.adminPlans, JSON.stringify({ id: 'nulplan', name: 'a\u0000', tokenLimit: 1, period: 'month' })],
      ['POST', ExtrasRoutes.myRequests, JSON.stringify({ tokens: 5, reason: 'a\u0000b' })],
      ['POST', ExtrasRoutes.adminWebhooks, JSON.stringify({ name: '\u0000', url: 'http://127.0.0.1:9/x' })],
    ];
    for (const [method, path, body] of rest) {
      const r = await call(`${s.url}${API_PREFIX}${path}`, { method, headers: { ...admin, 'content-type': 'application/json' }, body });
      expectSafe(r, `${method} ${path} ${body ?? ''}`);
    }
    await expectNoFailedSettlement();
  });

  it('F1: conversation / message ids of any length or content are served AND charged (stored as sha256:… past 200 chars)', async () => {
    const long = (n: number) => 'c'.repeat(n);
    const cases: Array<[string, string]> = [
      [long(201), long(5_000)],
      [long(200), 'm\tx'],
      ['ok-conv', long(10_000)],
    ];
    for (const [i, [conv, msg]] of cases.entries()) {
      const user = `f1-user-${i}`;
      const r = await call(`${s.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SECRETS.proxyKey}`, 'content-type': 'application/json', 'x-solaris-user-id': user, 'x-solaris-conversation-id': conv, 'x-solaris-message-id': msg },
        body: JSON.stringify({ model: 'fake-model', messages: [{ role: 'user', content: 'oi' }] }),
      });
      expect(r.status).toBe(200);
      const usage = (r.json() as { usage: { total_tokens: number } }).usage;
      let rows: Array<{ conversation_id: string; message_id: string; total_tokens: number }> = [];
      for (let k = 0; k < 50 && rows.length === 0; k++) {
        ({ rows } = await s.te.db.pool.query(`SELECT conversation_id, message_id, total_tokens FROM ledger WHERE user_id = $1`, [user]));
        if (rows.length === 0) await new Promise((res) => setTimeout(res, 50));
      }
      expect(rows).toHaveLength(1);
      expect(Number(rows[0]!.total_tokens)).toBe(usage.total_tokens);
      for (const [sent, stored] of [[conv, rows[0]!.conversation_id], [msg, rows[0]!.message_id]] as const) {
        // eslint-disable-next-line no-control-regex
        if (sent.length <= 200 && !/[\u0000-\u001f]/.test(sent)) expect(stored).toBe(sent);
        else expect(stored).toMatch(/^sha256:[0-9a-f]{64}$/);
      }
    }
    await expectNoFailedSettlement();
  });

  it('F4: JSON nested 5k–20k deep or with a non-object stream_options → 400 with a code, nothing held, never a 5xx', async () => {
    const user = 'f4-user';
    const nest = (d: number) => '['.repeat(d) + ']'.repeat(d);
    const bodies = [
      `{"model":"fake-model","messages":[{"role":"user","content":"oi"}],"tools":${nest(5_000)}}`,
      `{"model":"fake-model","messages":[{"role":"user","content":"oi"}],"tools":${nest(20_000)},"stream":true,"stream_options":"x"}`,
      `{"model":"fake-model","messages":[{"role":"user","content":"oi"}],"stream":true,"stream_options":"x"}`,
      `{"model":"fake-model","messages":[{"role":"user","content":"oi"}],"x":${'{"a":'.repeat(100)}1${'}'.repeat(100)}}`,
    ];
    for (const body of bodies) {
      const r = await call(`${s.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SECRETS.proxyKey}`, 'content-type': 'application/json', 'x-solaris-user-id': user },
        body,
      });
      expectSafe(r, body.slice(0, 120));
      expect(r.status).toBe(400);
      expect(['json_too_deep', 'invalid_input']).toContain(codeOf(r.json()));
    }
    expect((await s.te.engine.balance(user)).reserved).toBe(0);
  });

  /** Nothing the fuzzer sent made a settlement fail (a failed settlement = tokens served but never charged). */
  async function expectNoFailedSettlement(): Promise<void> {
    await new Promise((r) => setTimeout(r, 300)); // settlements run after the answer
    const metrics = await call(`${s.url}/metrics`);
    const failed = /^solaris_proxy_settle_errors_total\s+(\d+)/m.exec(metrics.text);
    expect(failed, 'settle error counter exported').not.toBeNull();
    expect(Number(failed![1])).toBe(0);
  }

  it('LiteLLM webhook: any batch → 200 report with per-item codes, or 4xx with a code', async () => {
    const item = fc.record(
      {
        id: fc.oneof(anyText, amount),
        status: fc.oneof(fc.constantFrom('success', 'failure'), anyText),
        end_user: fc.oneof(fc.constant(ALICE), anyText, amount),
        model: fc.oneof(fc.constant('fake-model'), anyText, amount),
        model_group: fc.oneof(anyText, amount),
        prompt_tokens: amount,
        completion_tokens: amount,
        response_cost: amount,
        metadata: fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.record({ requester_custom_headers: fc.dictionary(fc.string({ maxLength: 20 }), anyText, { maxKeys: 3 }) })),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      fc.array(item, { maxLength: 5 }).map((a) => JSON.stringify(a)),
      item.map((o) => JSON.stringify(o)),
      fc.array(item, { minLength: 2, maxLength: 4 }).map((a) => a.map((o) => JSON.stringify(o)).join('\n')),
      rawBody,
    );
    // The webhook only charges when LiteLLM is the metering source: mount one configured so (same engine).
    const app = express().use(createLiteLLMWebhookRouter({ engine: s.te.engine, config: { ...s.te.config, SOLARIS_METERING_SOURCE: 'litellm' } }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const r = await call(`${hookUrl}/solaris/litellm/usage`, { method: 'POST', headers: { authorization: `Bearer ${SECRETS.webhookSecret}`, 'content-type': 'application/json' }, body: Buffer.from(b, 'latin1') });
        expectSafe(r, `webhook ${b.slice(0, 200)}`);
      }),
      { numRuns: 60, interruptAfterTimeLimit: 8_000 },
    );
  });

  it('still serving afterwards', async () => {
    expect((await call(`${s.url}/healthz`)).status).toBe(200);
    expect((await call(`${s.url}${API_PREFIX}${ApiRoutes.me}`, { headers: fresh() })).status).toBe(200);
  });
});
