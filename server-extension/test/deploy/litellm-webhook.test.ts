/**
 * LiteLLM generic_api webhook against a real HTTP server (express on port 0), real Postgres (own schema)
 * and the real engine. Samples are StandardLoggingPayload objects shaped like LiteLLM sends them.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { readFileSync } from 'node:fs';
import express from 'express';
import { createTestEngine, type TestEngine } from '../helpers/engine';
import { createLiteLLMWebhookRouter, LITELLM_WEBHOOK_PATH, type WebhookReport } from '../../src/adapters/litellm-webhook';
import { loadConfig } from '../../src/core/config';

const SECRET = 'wh-secret-7f3a9c';
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/litellm/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
const USER = '6650a1b2c3d4e5f601234567';
const OTHER = '6650a1b2c3d4e5f60123abcd';

/** A success event for `user` with its own id and token counts. */
function success(id: string, user: string, prompt: number, completion: number, extra: Record<string, unknown> = {}) {
  const base = fixture('success-event.json');
  const metadata = { ...(base.metadata as Record<string, unknown>), user_api_key_end_user_id: user, requester_custom_headers: { 'x-solaris-user-id': user } };
  return { ...base, id, end_user: user, prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, metadata, ...extra };
}

describe('LiteLLM webhook POST /solaris/litellm/usage', () => {
  let t: TestEngine;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    t = await createTestEngine({
      env: {
        SOLARIS_METERING_SOURCE: 'litellm',
        SOLARIS_LITELLM_WEBHOOK_SECRET: SECRET,
        SOLARIS_MODEL_WEIGHTS: '{"gpt-4o":2}',
      },
    });
    const app = express();
    app.use(createLiteLLMWebhookRouter({ engine: t.engine, config: t.config }));
    // Same engine, but configured for another metering source: must refuse to charge.
    const other = express.Router();
    other.use(createLiteLLMWebhookRouter({ engine: t.engine, config: { ...t.config, SOLARIS_METERING_SOURCE: 'proxy' } }));
    app.use('/other', other);
    server = app.listen(0);
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await t.cleanup();
  });

  const post = (body: string, headers: Record<string, string> = { authorization: `Bearer ${SECRET}` }, path = LITELLM_WEBHOOK_PATH) =>
    fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const ledger = async (requestId: string) =>
    (await t.db.pool.query(`SELECT * FROM ledger WHERE request_id = $1`, [requestId])).rows as Array<Record<string, unknown>>;
  const ledgerCount = async () => Number((await t.db.pool.query(`SELECT count(*)::int AS n FROM ledger`)).rows[0].n);

  it('settles a single event: one ledger row with the reported cost, weighted tokens and ids', async () => {
    const event = fixture('success-event.json');
    const res = await post(JSON.stringify(event));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 1, duplicates: 0, failures: 0, rejected: [] });
    const [row] = await ledger(event.id as string);
    expect(row).toMatchObject({
      user_id: USER,
      model: 'gpt-4o', // model_group: the name weights are written against
      prompt_tokens: 45,
      completion_tokens: 30,
      total_tokens: 75,
      weighted_tokens: 150, // weight 2
      source: 'litellm',
      conversation_id: 'c0a8e7d2-5b1f-4e3a-8f2d-9c1b0a7e6d54',
      message_id: '7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918',
    });
    expect(Number(row!.cost)).toBeCloseTo(0.0004125, 10);
    expect((await t.engine.balance(USER)).used).toBe(150);
  });

  it('json_array batch: every item settled; sending the same batch again moves nothing', async () => {
    const batch = [success('b-1', USER, 10, 5), success('b-2', OTHER, 100, 0), success('b-3', OTHER, 1, 1, { model_group: null, model: 'llama3.1-local' })];
    const usedBefore = (await t.engine.balance(USER)).used;
    const first = (await (await post(JSON.stringify(batch))).json()) as WebhookReport;
    expect(first).toEqual({ accepted: 3, duplicates: 0, failures: 0, rejected: [] });
    expect((await t.engine.balance(USER)).used).toBe(usedBefore + 30);
    expect((await t.engine.balance(OTHER)).used).toBe(200 + 2);
    const n = await ledgerCount();
    const again = (await (await post(JSON.stringify(batch))).json()) as WebhookReport;
    expect(again).toEqual({ accepted: 0, duplicates: 3, failures: 0, rejected: [] });
    expect(await ledgerCount()).toBe(n);
    expect((await t.engine.balance(OTHER)).used).toBe(202);
  });

  it('ndjson: good lines land, a broken line is rejected at its index', async () => {
    const body = [JSON.stringify(success('n-1', USER, 3, 4)), '{"id": "n-2", "status": "succ', JSON.stringify(success('n-3', USER, 1, 0))].join('\n');
    const report = (await (await post(body)).json()) as WebhookReport;
    expect(report.accepted).toBe(2);
    expect(report.rejected).toEqual([{ index: 1, id: null, code: 'invalid_input', message: 'line 2 is not valid JSON' }]);
    expect(await ledger('n-1')).toHaveLength(1);
    expect(await ledger('n-3')).toHaveLength(1);
  });

  it('failure events charge nothing', async () => {
    const before = await t.engine.balance(USER);
    const failure = fixture('failure-event.json');
    const report = (await (await post(JSON.stringify([failure, { ...failure, id: 'f-2' }]))).json()) as WebhookReport;
    expect(report).toEqual({ accepted: 0, duplicates: 0, failures: 2, rejected: [] });
    expect(await ledger(failure.id as string)).toHaveLength(0);
    expect((await t.engine.balance(USER)).used).toBe(before.used);
  });

  it('malformed items are rejected one by one with a reason; the rest of the batch lands', async () => {
    const noUser = success('m-1', USER, 5, 5);
    delete (noUser as Record<string, unknown>).end_user;
    (noUser as Record<string, unknown>).metadata = { user_api_key_alias: 'x' };
    const batch = [
      noUser,
      success('m-2', USER, -1, 5),
      success('m-3', USER, 1.5, 5),
      success('m-4', USER, 5, 5, { response_cost: 'free' }),
      { ...success('m-5', USER, 1, 1), id: undefined },
      success('m-6', USER, 1, 1, { status: 'pending' }),
      'not an object',
      success('m-8', USER, 7, 0),
      success('m-9', 'nobody@example.com', 1, 1),
    ];
    const res = await post(JSON.stringify(batch));
    expect(res.status).toBe(200);
    const report = (await res.json()) as WebhookReport;
    expect(report.accepted).toBe(1);
    expect(report.rejected.map((r) => [r.index, r.id, r.code])).toEqual([
      [0, 'm-1', 'invalid_input'],
      [1, 'm-2', 'invalid_input'],
      [2, 'm-3', 'invalid_input'],
      [3, 'm-4', 'invalid_input'],
      [4, null, 'invalid_input'],
      [5, 'm-6', 'invalid_input'],
      [6, null, 'invalid_input'],
      [8, 'm-9', 'not_found'],
    ]);
    expect(report.rejected[0]!.message).toMatch(/no user/);
    expect(report.rejected[1]!.message).toMatch(/prompt_tokens/);
    expect(await ledger('m-8')).toHaveLength(1);
    for (const id of ['m-1', 'm-2', 'm-3', 'm-4', 'm-6', 'm-9']) expect(await ledger(id)).toHaveLength(0);
  });

  it('duplicate ids inside one batch count once', async () => {
    const e = success('d-1', OTHER, 10, 10);
    const before = (await t.engine.balance(OTHER)).used;
    const report = (await (await post(JSON.stringify([e, e, e]))).json()) as WebhookReport;
    expect(report).toEqual({ accepted: 1, duplicates: 2, failures: 0, rejected: [] });
    expect((await t.engine.balance(OTHER)).used).toBe(before + 40); // 20 tokens × weight 2
  });

  it('an email as user is resolved through users_cache', async () => {
    await t.engine.admin.touchUser({ userId: 'u-mail-1', email: 'Ana@Example.com' });
    const report = (await (await post(JSON.stringify(success('e-1', 'ana@example.com', 2, 2)))).json()) as WebhookReport;
    expect(report.accepted).toBe(1);
    expect((await ledger('e-1'))[0]).toMatchObject({ user_id: 'u-mail-1' });
  });

  it('authentication: no secret or a wrong one → 401; X-Solaris-Webhook-Secret works too', async () => {
    const body = JSON.stringify(success('a-1', USER, 1, 1));
    const none = await post(body, {});
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: { code: 'unauthorized', message: 'missing or wrong webhook secret' } });
    expect((await post(body, { authorization: `Bearer ${SECRET}x` })).status).toBe(401);
    expect(await ledger('a-1')).toHaveLength(0);
    const ok = await post(body, { 'x-solaris-webhook-secret': SECRET });
    expect(ok.status).toBe(200);
    expect(await ledger('a-1')).toHaveLength(1);
  });

  it('bodies that are no JSON at all → 400; another metering source → 409 and nothing charged', async () => {
    const bad = await post('hello');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_input');
    expect((await post('')).status).toBe(400);
    const conflict = await post(JSON.stringify(success('c-1', USER, 1, 1)), undefined, '/other' + LITELLM_WEBHOOK_PATH);
    expect(conflict.status).toBe(409);
    expect(await ledger('c-1')).toHaveLength(0);
  });

  it('disabled without a configured secret (404)', async () => {
    const app = express();
    app.use(createLiteLLMWebhookRouter({ engine: t.engine, config: loadConfig({ SOLARIS_METERING_SOURCE: 'litellm' }) }));
    const s = app.listen(0);
    await new Promise((r) => s.once('listening', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}${LITELLM_WEBHOOK_PATH}`, { method: 'POST', body: '[]' });
      expect(res.status).toBe(404);
    } finally {
      await new Promise((r) => s.close(r));
    }
  });
});
