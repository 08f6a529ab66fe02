import { APIError } from 'openai';
import { fakePromptTokens, replyPieces } from '../../src/dev/fake-upstream';
import { countTextTokens } from '../../src/adapters/proxy';
import { firstJsonObject, PROXY_KEY, startProxyStack, waitFor, type ProxyStack } from './harness';

const actor = { id: 'admin-test', email: null };

describe.each(['redis', 'postgres'] as const)('metering proxy (%s store)', (store) => {
  let s: ProxyStack;
  let n = 0;
  const user = () => `u-${store}-${++n}`;

  beforeAll(async () => {
    s = await startProxyStack({ store });
  });
  afterAll(async () => {
    await s?.close();
  });
  beforeEach(() => {
    s.fake.options.mode = 'normal';
    s.fake.options.chunkDelayMs = 0;
    s.fake.options.chunks = 20;
  });

  it('non-streaming chat: one exact ledger row, cost from x-litellm-response-cost, reservation gone', async () => {
    const u = user();
    const { data, response } = await s
      .client(u, { 'X-Solaris-Conversation-Id': 'conv-1', 'X-Solaris-Message-Id': 'msg-1', 'X-Solaris-User-Email': 'a@b.c' })
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Quanto é 2+2?' }], max_tokens: 50 })
      .withResponse();
    const requestId = response.headers.get('x-solaris-request-id')!;
    expect(response.headers.get('x-litellm-call-id')).toBe(requestId); // LiteLLM logs share our id
    const up = s.fake.requests.at(-1)!;
    expect(up.headers['x-litellm-call-id']).toBe(requestId);
    expect(up.headers.authorization).toBeUndefined(); // the service key never goes upstream
    expect(data.choices[0]!.message.content).toContain('Olá!');
    const row = (await s.ledger(requestId))!;
    const p = data.usage!.prompt_tokens;
    const c = data.usage!.completion_tokens;
    expect(row).toMatchObject({
      user_id: u,
      model: 'gpt-4o-mini',
      prompt_tokens: p,
      completion_tokens: c,
      total_tokens: p + c,
      weighted_tokens: (p + c) * 2, // gpt-4o* weight 2
      cost: Number(response.headers.get('x-litellm-response-cost')),
      source: 'proxy',
      estimated: false,
      conversation_id: 'conv-1',
      message_id: 'msg-1',
      period_key: '2026-11',
    });
    const b = await s.te.engine.balance(u);
    expect(b.used).toBe((p + c) * 2);
    expect(b.reserved).toBe(0);
    const { rows } = await s.te.db.pool.query('SELECT email FROM users_cache WHERE user_id = $1', [u]);
    expect(rows[0]?.email).toBe('a@b.c');
  });

  it('a plan’s own model weight is held and charged, by the plan the request started on', async () => {
    await s.te.engine.admin.upsertPlan({ id: 'premium', name: 'Premium', tokenLimit: 1_000_000, period: 'month', modelWeights: { 'gpt-4o*': 5 } }, actor);
    await s.te.engine.admin.upsertPlan({ id: 'plain', name: 'Plain', tokenLimit: 1_000_000, period: 'month' }, actor);
    const u = user();
    await s.te.engine.admin.assignPlan({ userId: u, planId: 'premium' }, actor);
    s.fake.options.chunkDelayMs = 20;
    s.fake.options.chunks = 10;
    const before = s.fake.requests.length;
    const reserved: number[] = [];
    const stream = await s
      .client(u)
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Oi' }], max_tokens: 100, stream: true })
      .withResponse();
    const requestId = stream.response.headers.get('x-solaris-request-id')!;
    // Mid-stream the admin moves the user to a plan without weights: this request keeps the plan it started on.
    await waitFor(async () => s.fake.requests.length > before);
    reserved.push((await s.te.engine.balance(u)).reserved); // the hold, mid-stream
    await s.te.engine.admin.assignPlan({ userId: u, planId: 'plain' }, actor);
    let text = '';
    for await (const chunk of stream.data) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).not.toBe('');
    const row = (await waitFor(() => s.ledger(requestId)))!;
    expect(row.weighted_tokens).toBe(row.total_tokens * 5);
    // Held: (prompt estimate + max_tokens 100) × 5, not × 2.
    expect(reserved[0]! % 5).toBe(0);
    expect(reserved[0]!).toBeGreaterThan(100 * 5);
    // The next request is weighed by the new plan (the deployment's gpt-4o* ×2).
    const { data, response } = await s
      .client(u)
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'De novo' }], max_tokens: 10 })
      .withResponse();
    const next = (await s.ledger(response.headers.get('x-solaris-request-id')!))!;
    expect(next.weighted_tokens).toBe(data.usage!.total_tokens * 2);
  });

  it('streaming chat without include_usage: asks upstream for usage, hides the usage chunk, settles exactly', async () => {
    const u = user();
    const { data: stream, response } = await s
      .client(u)
      .chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'Conte até vinte.' }], stream: true })
      .withResponse();
    const chunks = [];
    for await (const ch of stream) chunks.push(ch);
    expect(chunks.every((c) => c.choices.length === 1 && c.usage == null)).toBe(true);
    const text = chunks.map((c) => c.choices[0]!.delta.content ?? '').join('');
    expect(text.length).toBeGreaterThan(20);
    const up = s.fake.requests.at(-1)!;
    expect(up.json!.stream_options).toEqual({ include_usage: true });
    const p = fakePromptTokens(up.json);
    const row = (await s.ledger(response.headers.get('x-solaris-request-id')!))!;
    expect(row).toMatchObject({ prompt_tokens: p, completion_tokens: 20, weighted_tokens: p + 20, estimated: false, source: 'proxy' });
    expect(row.cost).toBeCloseTo((p * 1 + 20 * 2) / 1e6, 12); // price table: no cost in this stream
    expect((await s.te.engine.balance(u)).reserved).toBe(0);
  });

  it('streaming with include_usage asked by the client: usage chunk delivered, usage.cost used', async () => {
    s.fake.options.mode = 'stream-cost';
    const u = user();
    const { data: stream, response } = await s
      .client(u)
      .chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'Oi' }], stream: true, stream_options: { include_usage: true } })
      .withResponse();
    const chunks = [];
    for await (const ch of stream) chunks.push(ch);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    const usage = last.usage as unknown as { prompt_tokens: number; completion_tokens: number; cost: number };
    const row = (await s.ledger(response.headers.get('x-solaris-request-id')!))!;
    expect(row).toMatchObject({ prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens, estimated: false });
    expect(row.cost).toBeCloseTo(usage.cost, 12);
  });

  it('legacy completions (streaming) and embeddings are metered', async () => {
    const u = user();
    const c = s.client(u);
    const { data: stream, response } = await c.completions.create({ model: 'fake-model', prompt: 'Era uma vez', stream: true, max_tokens: 30 }).withResponse();
    let text = '';
    for await (const ch of stream) text += ch.choices[0]?.text ?? '';
    expect(text).toContain('Olá!');
    const crow = (await s.ledger(response.headers.get('x-solaris-request-id')!))!;
    expect(crow).toMatchObject({ prompt_tokens: fakePromptTokens({ prompt: 'Era uma vez' }), completion_tokens: 20, estimated: false });

    const emb = await c.embeddings.create({ model: 'text-embedding-3-small', input: ['um texto', 'outro texto'] }).withResponse();
    expect(emb.data.data).toHaveLength(2);
    expect(emb.data.data[0]!.embedding).toHaveLength(8); // base64 decoded by the client
    const erow = (await s.ledger(emb.response.headers.get('x-solaris-request-id')!))!;
    expect(erow).toMatchObject({ prompt_tokens: emb.data.usage.prompt_tokens, completion_tokens: 0, estimated: false });
    expect(erow.cost).toBeCloseTo(Number(emb.response.headers.get('x-litellm-response-cost')), 12);
  });

  it('models: passed through and cached briefly', async () => {
    const before = s.fake.requests.filter((r) => r.path === '/models').length;
    const c = s.client(user());
    const ids = [];
    for await (const m of c.models.list()) ids.push(m.id);
    expect(ids).toContain('fake-model');
    for await (const m of c.models.list()) void m;
    expect(s.fake.requests.filter((r) => r.path === '/models').length).toBe(before + 1);
  });

  it('no usage from upstream: completion counted with the tokenizer, row marked estimated', async () => {
    s.fake.options.mode = 'no-usage';
    const u = user();
    const { data: stream, response } = await s
      .client(u)
      .chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Explique tokens.' }], stream: true })
      .withResponse();
    let text = '';
    for await (const ch of stream) text += ch.choices[0]?.delta.content ?? '';
    const row = (await s.ledger(response.headers.get('x-solaris-request-id')!))!;
    const completion = countTextTokens(text, 'gpt-4o');
    expect(completion).toBeGreaterThan(0);
    expect(row).toMatchObject({ completion_tokens: completion, estimated: true });
    expect(row.prompt_tokens).toBeGreaterThan(0);
    expect(row.weighted_tokens).toBe((row.prompt_tokens + completion) * 2);
  });

  it('upstream 4xx / 5xx: error passed through with its status, nothing charged, reservation released', async () => {
    const u = user();
    for (const [mode, status] of [['error-4xx', 400], ['error-5xx', 500]] as const) {
      s.fake.options.mode = mode;
      const err = await s
        .client(u)
        .chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'x' }], stream: status === 500 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(APIError);
      expect((err as APIError).status).toBe(status);
      expect((err as APIError).message).toContain('simulated');
    }
    expect(await s.ledgerCount(u)).toBe(0);
    const b = await s.te.engine.balance(u);
    expect(b.reserved).toBe(0);
    expect(b.used).toBe(0);
  });

  it('402 when out of quota: no upstream call; token_balance JSON extractable from the openai error text', async () => {
    const u = user();
    await s.te.engine.admin.setLimitOverride({ userId: u, limit: 10 }, actor);
    const upstreamBefore = s.fake.requests.length;
    const err = (await s
      .client(u)
      .chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'Olá, tudo bem?' }], max_tokens: 100 })
      .catch((e: unknown) => e)) as APIError;
    expect(err).toBeInstanceOf(APIError);
    expect(err.status).toBe(402);
    expect(err.code).toBe('quota_exceeded');
    // What LibreChat shows: "<status> <error.message>" → first balanced JSON object → token_balance.
    const tb = JSON.parse(firstJsonObject(err.message)) as Record<string, unknown>;
    expect(tb).toMatchObject({ type: 'token_balance', balance: 10 });
    expect(tb.tokenCost).toBeGreaterThan(100);
    expect(tb.promptTokens).toBeGreaterThan(0);
    expect(s.fake.requests.length).toBe(upstreamBefore);

    const raw = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json', 'x-solaris-user-id': u },
      body: JSON.stringify({ model: 'fake-model', messages: [{ role: 'user', content: 'Olá' }] }),
    });
    expect(raw.status).toBe(402);
    const body = (await raw.json()) as Record<string, unknown>;
    expect(body).not.toHaveProperty('code');
    expect(body).toMatchObject({ type: 'token_balance', reason: 'quota_exceeded', balance: 10, percentUsed: 0, resetAt: '2026-12-01T03:00:00.000Z' });
    expect(body.message).toMatch(/cota/);
    expect((body.error as { code: string }).code).toBe('quota_exceeded');
  });

  it('tools, response_format and unknown fields reach the upstream with their values; the body is re-serialised with ONE limit', async () => {
    const u = user();
    const sent =
      '{"model":"fake-model","messages":[{"role":"user","content":"clima?"}],' +
      '"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],' +
      '"tool_choice":"auto","response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}},' +
      '"temperature":1.0,"x_vendor_extension":{"keep":[1.50,2e3]}';
    for (const stream of [false, true]) {
      const body = `${sent},"stream":${stream}}`;
      const r = await fetch(`${s.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json', 'x-solaris-user-id': u },
        body,
      });
      expect(r.status).toBe(200);
      await r.text();
      const got = JSON.parse(s.fake.requests.at(-1)!.raw) as Record<string, unknown>;
      // Every value as the client sent it, plus the completion limit the reservation covers (the default here),
      // and for streams the usage request.
      expect(got).toEqual({ ...(JSON.parse(body) as object), max_tokens: 4096, ...(stream ? { stream_options: { include_usage: true } } : {}) });
    }
  });

  it('duplicate limit keys or both limit fields: the upstream gets ONE limit, the one reserved for', async () => {
    const u = user();
    const post = (body: string) =>
      fetch(`${s.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json', 'x-solaris-user-id': u },
        body,
      });
    // JSON.parse keeps the last duplicate; a lax upstream may keep the first. Re-serialised: only one survives.
    let r = await post('{"model":"fake-model","messages":[{"role":"user","content":"oi"}],"max_tokens":4000,"max_tokens":7}');
    expect(r.status).toBe(200);
    await r.text();
    let raw = s.fake.requests.at(-1)!.raw;
    expect(raw.match(/max_tokens/g)).toHaveLength(1);
    expect(JSON.parse(raw)).toMatchObject({ max_tokens: 7 });
    // Both fields: the smaller is reserved and is the only one forwarded.
    r = await post('{"model":"fake-model","messages":[{"role":"user","content":"oi"}],"max_completion_tokens":1,"max_tokens":4000}');
    expect(r.status).toBe(200);
    await r.text();
    raw = s.fake.requests.at(-1)!.raw;
    expect(JSON.parse(raw)).toMatchObject({ max_completion_tokens: 1 });
    expect(raw).not.toContain('"max_tokens"');
    // Bad types never reach the upstream: 400 with a code, nothing held.
    const before = s.fake.requests.length;
    for (const bad of ['"5000"', '-1', '1.5', '0', 'true', '{"a":1}', '1e9']) {
      r = await post(`{"model":"fake-model","messages":[{"role":"user","content":"oi"}],"max_tokens":${bad}}`);
      expect(r.status).toBe(400);
      expect(await r.json()).toMatchObject({ error: { code: 'invalid_max_tokens' } });
    }
    for (const bad of ['"stream":"true"', '"stream_options":"x"', '"stream_options":[1]', '"n":"3"', '"n":0']) {
      r = await post(`{"model":"fake-model","messages":[{"role":"user","content":"oi"}],${bad}}`);
      expect(r.status).toBe(400);
      expect(await r.json()).toMatchObject({ error: { code: 'invalid_input' } });
    }
    expect(s.fake.requests.length).toBe(before);
    expect((await s.te.engine.balance(u)).reserved).toBe(0);
  });

  it('client abort mid-stream: upstream aborted, produced text settled as estimated', async () => {
    s.fake.options.chunkDelayMs = 30;
    const u = user();
    const { data: stream, response } = await s
      .client(u)
      .chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'Fale bastante.' }], stream: true })
      .withResponse();
    let text = '';
    let seen = 0;
    for await (const ch of stream) {
      text += ch.choices[0]?.delta.content ?? '';
      if (++seen === 5) break; // leaving the loop aborts the HTTP request
    }
    const abortedBefore = s.fake.stats.streamsAborted;
    const requestId = response.headers.get('x-solaris-request-id')!;
    const row = await waitFor(() => s.ledger(requestId));
    await waitFor(async () => s.fake.stats.streamsAborted > abortedBefore); // the upstream call was cut too
    expect(row.estimated).toBe(true);
    expect(row.completion_tokens).toBeGreaterThanOrEqual(countTextTokens(text, 'fake-model'));
    const full = replyPieces(s.fake.requests.at(-1)!.json, 20).join('');
    expect(row.completion_tokens).toBeLessThan(countTextTokens(full, 'fake-model')); // cut short, not the whole answer
    expect((await s.te.engine.balance(u)).reserved).toBe(0);
  });

  it('upstream fails mid-stream: the client gets an error, partial text settled as estimated', async () => {
    s.fake.options.mode = 'fail-mid-stream';
    s.fake.options.chunkDelayMs = 5; // let the first half reach the proxy before the cut
    const u = user();
    const { data: stream, response } = await s
      .client(u)
      .chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'x' }], stream: true })
      .withResponse();
    let text = '';
    const err = await (async () => {
      for await (const ch of stream) text += ch.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(text.length).toBeGreaterThan(0);
    const row = (await s.ledger(response.headers.get('x-solaris-request-id')!))!;
    expect(row).toMatchObject({ estimated: true, completion_tokens: countTextTokens(text, 'fake-model') });
  });

  it('issue 15 item 4: a user with tokens left is not refused because of the default max_tokens; the upstream gets the limit reserved', async () => {
    const u = user();
    await s.te.engine.admin.setLimitOverride({ userId: u, limit: 1_200 }, { id: 'test' });
    await s.te.engine.settle({ requestId: `${u}-past`, userId: u, model: 'fake-model', promptTokens: 259, completionTokens: 0, source: 'proxy' });
    // 21.6 % used, 941 left: prompt + the default 1,024 does not fit, the prompt does.
    const r = await s.client(u).chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'Olá, tudo bem?' }] });
    expect(r.usage!.total_tokens).toBeGreaterThan(0);
    const sent = s.fake.requests.at(-1)!.json!;
    expect(sent.max_tokens).toBeGreaterThan(800);
    expect(sent.max_tokens).toBeLessThan(941); // 941 − the prompt estimate
    expect(sent.max_completion_tokens).toBeUndefined();
    await s.proxy.drain();
    expect((await s.te.engine.balance(u)).reserved).toBe(0);
    // A prompt that does not fit in what is left is still refused.
    const v = user();
    await s.te.engine.admin.setLimitOverride({ userId: v, limit: 50 }, { id: 'test' });
    const big = 'palavra '.repeat(100);
    await expect(s.client(v).chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: big }] })).rejects.toMatchObject({ status: 402 });
  });

  it('Idempotency-Key: a repeat returns the stored answer — one upstream call, one charge (F5)', async () => {
    const u = user();
    const c = s.client(u, { 'Idempotency-Key': 'retry-abc' });
    const calls = s.fake.requests.length;
    const a = await c.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'oi' }] }).withResponse();
    await s.proxy.drain();
    for (let i = 0; i < 3; i++) {
      const b = await c.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'oi' }] }).withResponse();
      expect(b.response.headers.get('x-solaris-request-id')).toBe(a.response.headers.get('x-solaris-request-id'));
      expect(b.response.headers.get('x-solaris-replayed')).toBe('true');
      expect(b.data).toEqual(a.data);
    }
    expect(s.fake.requests.length).toBe(calls + 1);
    expect(await s.ledgerCount(u)).toBe(1);
    expect((await s.te.engine.balance(u)).used).toBe(a.data.usage!.total_tokens);
    // Another user's identical key is another request.
    const other = await s.client(user(), { 'Idempotency-Key': 'retry-abc' }).chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'oi' }] }).withResponse();
    expect(other.response.headers.get('x-solaris-request-id')).not.toBe(a.response.headers.get('x-solaris-request-id'));
    expect(s.fake.requests.length).toBe(calls + 2);
  });

  it('Idempotency-Key: a repeat while the first streams gets 409; after it, the stream replayed; a refused first does not burn the key', async () => {
    const u = user();
    s.fake.options.chunkDelayMs = 20;
    try {
      const c = s.client(u, { 'Idempotency-Key': 'stream-1' });
      const calls = s.fake.requests.length;
      const first = await c.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'oi' }], stream: true }).withResponse();
      const during = await fetch(`${s.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json', 'x-solaris-user-id': u, 'idempotency-key': 'stream-1' },
        body: JSON.stringify({ model: 'fake-model', messages: [{ role: 'user', content: 'oi' }], stream: true }),
      });
      expect(during.status).toBe(409);
      expect(await during.json()).toMatchObject({ error: { code: 'idempotency_in_flight' } });
      let text = '';
      for await (const ch of first.data) text += ch.choices[0]?.delta.content ?? '';
      await s.proxy.drain();
      const again = await c.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'oi' }], stream: true });
      let replayed = '';
      for await (const ch of again) replayed += ch.choices[0]?.delta.content ?? '';
      expect(replayed).toBe(text);
      expect(s.fake.requests.length).toBe(calls + 1);
      expect(await s.ledgerCount(u)).toBe(1);
    } finally {
      s.fake.options.chunkDelayMs = 0;
    }
    // Upstream refused (nothing charged): the claim is dropped, a retry runs afresh.
    const v = user();
    s.fake.options.mode = 'error-4xx';
    try {
      await expect(s.client(v, { 'Idempotency-Key': 'k2' }).chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'oi' }] })).rejects.toThrow();
    } finally {
      s.fake.options.mode = 'normal';
    }
    await s.proxy.drain();
    const ok = await s.client(v, { 'Idempotency-Key': 'k2' }).chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'oi' }] });
    expect(ok.usage!.total_tokens).toBeGreaterThan(0);
    expect(await s.ledgerCount(v)).toBe(1);
  });
});

describe('metering proxy: identity, input, health, metrics', () => {
  let s: ProxyStack;
  beforeAll(async () => {
    s = await startProxyStack({ store: 'redis', maxBodyBytes: 4096 });
  });
  afterAll(async () => {
    await s?.close();
  });

  const post = (body: string, headers: Record<string, string>) =>
    fetch(`${s.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('refuses X-Solaris-User-Id without (or with a wrong) service key: 401, nothing reserved or sent upstream', async () => {
    const before = s.fake.requests.length;
    const body = JSON.stringify({ model: 'fake-model', messages: [{ role: 'user', content: 'oi' }] });
    for (const auth of [undefined, 'Bearer wrong-key', `Basic ${PROXY_KEY}`, `Bearer ${PROXY_KEY}x`]) {
      const r = await post(body, { 'x-solaris-user-id': 'victim', ...(auth ? { authorization: auth } : {}) });
      expect(r.status).toBe(401);
      expect(await r.json()).toMatchObject({ error: { code: 'unauthorized', type: 'authentication_error' } });
    }
    expect(s.fake.requests.length).toBe(before);
    expect(await s.ledgerCount('victim')).toBe(0);
    expect((await s.te.engine.balance('victim')).reserved).toBe(0);
  });

  it('400 without a user, on bad JSON, without a model; 413 over the size limit; user from the OpenAI `user` field', async () => {
    const auth = { authorization: `Bearer ${PROXY_KEY}` };
    const noUser = await post(JSON.stringify({ model: 'fake-model', messages: [] }), auth);
    expect(noUser.status).toBe(400);
    expect(await noUser.json()).toMatchObject({ error: { code: 'invalid_input', type: 'invalid_request_error' } });
    expect((await post('{"model":', { ...auth, 'x-solaris-user-id': 'u1' })).status).toBe(400);
    expect((await post('[1,2]', { ...auth, 'x-solaris-user-id': 'u1' })).status).toBe(400);
    expect((await post('{"messages":[]}', { ...auth, 'x-solaris-user-id': 'u1' })).status).toBe(400);
    // Messages the upstream would refuse (no role, not objects): our 400 and code, nothing held or sent upstream.
    const sent = s.fake.requests.length;
    for (const messages of ['[{}]', '[null]', '[{"role":1,"content":"x"}]', '[["user","x"]]']) {
      const r = await post(`{"model":"fake-model","messages":${messages}}`, { ...auth, 'x-solaris-user-id': 'u-shape' });
      expect(r.status, messages).toBe(400);
      expect(await r.json()).toMatchObject({ error: { code: 'invalid_input', type: 'invalid_request_error' } });
    }
    expect(s.fake.requests.length).toBe(sent);
    expect((await s.te.engine.balance('u-shape')).reserved).toBe(0);
    const big = await post(JSON.stringify({ model: 'fake-model', messages: [{ role: 'user', content: 'x'.repeat(5000) }] }), { ...auth, 'x-solaris-user-id': 'u1' });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: { code: 'payload_too_large' } });

    const viaField = await post(JSON.stringify({ model: 'fake-model', user: 'field-user', messages: [{ role: 'user', content: 'oi' }] }), auth);
    expect(viaField.status).toBe(200);
    await viaField.text();
    expect(await s.ledgerCount('field-user')).toBe(1);
    expect((await fetch(`${s.url}/v1/nope`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${s.url}/v1/chat/completions`, { headers: auth })).status).toBe(405);
  });

  it('healthz / readyz / metrics', async () => {
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${s.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ok', checks: { postgres: 'ok', redis: 'ok', upstream: 'ok' } });

    await s.te.engine.admin.setLimitOverride({ userId: 'blocked-user', limit: 1 }, actor);
    const r = await post(JSON.stringify({ model: 'fake-model', messages: [{ role: 'user', content: 'oi' }] }), {
      authorization: `Bearer ${PROXY_KEY}`,
      'x-solaris-user-id': 'blocked-user',
    });
    expect(r.status).toBe(402);
    await r.text();
    await s.proxy.drain();
    const text = await (await fetch(`${s.url}/metrics`)).text();
    expect(text).toMatch(/solaris_proxy_requests_total\{route="chat",status="200"\} [1-9]/);
    expect(text).toMatch(/solaris_proxy_requests_total\{route="chat",status="401"\} [1-9]/);
    expect(text).toMatch(/solaris_proxy_blocked_total\{reason="quota_exceeded"\} 1/);
    expect(text).toMatch(/solaris_proxy_tokens_metered_total\{kind="weighted"\} [1-9]/);
    expect(text).toMatch(/solaris_proxy_reservation_duration_seconds_count\{outcome="reserved"\} [1-9]/);
    expect(text).toMatch(/solaris_proxy_upstream_duration_seconds_count\{route="chat",status="200"\} [1-9]/);
  });

  it('readyz is 503 when the upstream is down', async () => {
    const { createHealthHandlers } = await import('../../src/adapters/proxy');
    const h = createHealthHandlers({ engine: s.te.engine, config: s.te.config, redis: s.te.testRedis, upstreamUrl: 'http://127.0.0.1:9', checkTimeoutMs: 500 });
    const { createServer } = await import('node:http');
    const srv = createServer((req, res) => h.readyz(req, res));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    const r = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(r.status).toBe(503);
    expect(await r.json()).toMatchObject({ status: 'unavailable', checks: { postgres: 'ok', upstream: 'down' } });
    srv.close();
  });
});

describe('metering proxy as a gate only (SOLARIS_METERING_SOURCE=librechat)', () => {
  let s: ProxyStack;
  beforeAll(async () => {
    s = await startProxyStack({ store: 'redis', env: { SOLARIS_METERING_SOURCE: 'librechat' } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('writes no ledger row (the other source does), frees its hold, and still refuses a user out of quota', async () => {
    const chat = await s.client('gate-u1').chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'Olá' }] });
    expect(chat.usage?.total_tokens).toBeGreaterThan(0);
    expect(await s.ledgerCount('gate-u1')).toBe(0);
    expect(await s.te.engine.balance('gate-u1')).toMatchObject({ used: 0, reserved: 0 });

    await s.te.engine.admin.setLimitOverride({ userId: 'gate-u2', limit: 10 }, actor);
    const err = (await s
      .client('gate-u2')
      .chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'Olá' }], max_tokens: 100 })
      .catch((e: unknown) => e)) as APIError;
    expect(err.status).toBe(402);
  });

  it("passes the upstream's usage chunk to a client that did not ask, so LibreChat's own transactions carry exact usage", async () => {
    // LibreChat never asks for usage on custom endpoints and estimates when none arrives (issue #15 item 3); LangChain
    // reads `usage` from any chunk. The openai client does too: the last chunk has choices [] and the upstream's usage.
    const stream = await s.client('gate-u3').chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'Conte até vinte.' }], stream: true });
    const chunks = [];
    for await (const ch of stream) chunks.push(ch);
    const up = s.fake.requests.at(-1)!;
    expect(up.json!.stream_options).toEqual({ include_usage: true });
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: fakePromptTokens(up.json), completion_tokens: 20 });
    expect(await s.ledgerCount('gate-u3')).toBe(0);
    expect((await s.te.engine.balance('gate-u3')).reserved).toBe(0);
  });
});
