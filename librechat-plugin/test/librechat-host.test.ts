/**
 * The preload inside a LibreChat-shaped host (child process, real @librechat/data-schemas models on mongoose 8,
 * a real MongoDB-wire server, real Postgres schema and Redis): routing, widget injection, gate, Transaction hook,
 * users/sessions and socket.io.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import mongoose, { Types } from 'mongoose';
import { Redis } from 'ioredis';
import { createConnection } from 'node:net';
import { io as ioClient, type Socket } from 'socket.io-client';
import { SOCKET_PATH, type BalanceDTO, type LedgerEntryDTO, type QuotaExceededBody } from '@solaris/wire';
import { createTestDb, type TestDb } from '../../server-extension/test/helpers/infra';
import { loadConfig } from '../../server-extension/src/core/config';
import { createEngine, type EngineRuntime } from '../../server-extension/src/core/create-engine';
import { buildPlugin } from '../build.mjs';
import { startFakeUpstream, type FakeUpstream } from '../../server-extension/src/dev/fake-upstream';
import { accessToken, BROWSER_UA, hostCwd, REGISTER, refreshToken, startHost, startMongo, type Host, type Mongo } from './helpers';

const JWT_SECRET = 'test-access-secret-' + Math.random().toString(36).slice(2);
const JWT_REFRESH_SECRET = 'test-refresh-secret-' + Math.random().toString(36).slice(2);
// A separate Redis logical DB: never the shared DB 0. Keys are per user id (fresh ObjectIds per run).
const REDIS_URL = process.env.SOLARIS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/5';

const oid = () => new Types.ObjectId().toHexString();
const users = {
  admin: { id: oid(), email: 'admin@solaris.test', role: 'ADMIN' },
  alice: { id: oid(), email: 'alice@solaris.test', role: 'USER' },
  bob: { id: oid(), email: 'bob@solaris.test', role: 'USER' },
  blocked: { id: oid(), email: 'blocked@solaris.test', role: 'USER' },
  carol: { id: oid(), email: 'carol@solaris.test', role: 'USER' },
  dave: { id: oid(), email: 'dave@solaris.test', role: 'USER' },
  erin: { id: oid(), email: 'erin@solaris.test', role: 'USER' },
  fern: { id: oid(), email: 'fern@solaris.test', role: 'USER' },
};
const sessions = { alice: oid(), aliceLoggedOut: oid(), bob: oid(), admin: oid(), blocked: oid() };

let mongo: Mongo;
let db: TestDb;
let host: Host;
let admin: EngineRuntime;
let conn: mongoose.Connection;
let fake: FakeUpstream;
const PROXY_KEY = 'host-proxy-key-0123456789';
const sockets: Socket[] = [];

const bearer = (u: { id: string; email: string }) => ({ Authorization: `Bearer ${accessToken(JWT_SECRET, u)}`, 'User-Agent': BROWSER_UA });
const cookieOf = (userId: string, sessionId: string) => `refreshToken=${refreshToken(JWT_REFRESH_SECRET, userId, sessionId)}; token_provider=librechat`;

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(host.url + path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await r.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: r.status, text, json: json as Record<string, unknown> | null };
}

function connectSocket(cookie: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = ioClient(host.url, { path: SOCKET_PATH, transports: ['websocket'], extraHeaders: { cookie }, reconnection: false, timeout: 5_000 });
    sockets.push(s);
    s.once('connect', () => resolve(s));
    s.once('connect_error', (e) => reject(e));
  });
}

function collect<T>(s: Socket, event: string): T[] {
  const got: T[] = [];
  s.on(event, (x: T) => got.push(x));
  return got;
}

/** The admins' usage feed: one `usage_batch` (an array) per window, flattened. */
function collectUsage<T>(s: Socket): T[] {
  const got: T[] = [];
  s.on('usage_batch', (x: T[]) => got.push(...x));
  return got;
}

async function until(cond: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function ledgerRows(userId: string) {
  const { rows } = await db.pool.query<{ request_id: string; prompt_tokens: number; completion_tokens: number; model: string; source: string; message_id: string | null; context: string | null }>(
    `SELECT request_id, prompt_tokens, completion_tokens, model, source, message_id, context FROM ledger WHERE user_id = $1 ORDER BY seq`,
    [userId],
  );
  return rows;
}

const tx = (userId: string, tokenType: 'prompt' | 'completion', rawAmount: number, extra: Record<string, unknown> = {}) => ({
  user: userId,
  conversationId: 'conv-1',
  messageId: 'msg-1',
  tokenType,
  model: 'fake-model',
  context: 'message',
  rate: 6,
  rawAmount,
  tokenValue: rawAmount * 6,
  ...extra,
});

beforeAll(async () => {
  await buildPlugin({ quiet: true });
  [mongo, db] = await Promise.all([startMongo(), createTestDb()]);
  conn = await mongoose.createConnection(mongo.uri).asPromise();
  await conn.collection('users').insertMany(
    Object.values(users).map((u) => ({ _id: new Types.ObjectId(u.id), email: u.email, name: u.email.split('@')[0], role: u.role })),
  );
  const future = new Date(Date.now() + 3_600_000);
  await conn.collection('sessions').insertMany([
    { _id: new Types.ObjectId(sessions.alice), user: new Types.ObjectId(users.alice.id), refreshTokenHash: 'h1', expiration: future },
    { _id: new Types.ObjectId(sessions.bob), user: new Types.ObjectId(users.bob.id), refreshTokenHash: 'h2', expiration: future },
    { _id: new Types.ObjectId(sessions.admin), user: new Types.ObjectId(users.admin.id), refreshTokenHash: 'h3', expiration: future },
    { _id: new Types.ObjectId(sessions.blocked), user: new Types.ObjectId(users.blocked.id), refreshTokenHash: 'h4', expiration: future },
  ]);
  // An engine on the same schema and Redis DB plays the operator (blocks a user through the admin service).
  const config = loadConfig({ DATABASE_URL: db.childEnvUrl, REDIS_URL, SOLARIS_MAX_INFLIGHT: '2' });
  admin = await createEngine({ config, db, redis: new Redis(REDIS_URL, { maxRetriesPerRequest: 2 }), migrate: false });
  await admin.engine.admin.setLimitOverride({ userId: users.blocked.id, limit: 0 }, { id: 'test-operator' });

  fake = await startFakeUpstream();
  host = await startHost({
    cwd: hostCwd({ JWT_SECRET, JWT_REFRESH_SECRET }), // secrets only in the host's .env
    env: {
      MONGO_URI: mongo.uri, DATABASE_URL: db.childEnvUrl, REDIS_URL, SOLARIS_MAX_INFLIGHT: '2', SOLARIS_LIBRECHAT_COALESCE_MS: '150', PORT: '0',
      // The metering proxy inside LibreChat (/solaris/v1), in front of a fake LiteLLM.
      SOLARIS_PROXY_KEY: PROXY_KEY, LITELLM_URL: fake.url,
    },
  });
}, 90_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  await host?.stop();
  await fake?.close();
  if (admin) {
    const r = admin.redis;
    await admin.engine.close();
    r?.disconnect();
  }
  await conn?.close();
  mongo?.stop();
  await db?.drop();
});

// First in this file: nothing else has asked for the HTTP side yet.
describe('what the chat path loads', () => {
  it('a gated chat and its settlement load only the engine; the first request to the REST API loads the rest', async () => {
    const LAZY = ['socket.io', 'engine.io', '@socket.io/redis-adapter', 'undici', 'prom-client'];
    const loaded = async () => {
      const files = (await (await fetch(`${host.url}/__test/modules`)).json()) as string[];
      return LAZY.filter((p) => files.some((f) => f.includes(`/node_modules/${p}/`)));
    };
    // LibreChat listened once the runtime was up (preload.ts listenWhenReady): a first chat never waits for it.
    const out = host.output();
    expect(out.indexOf('Solaris token control active')).toBeGreaterThanOrEqual(0);
    expect(out.indexOf('Solaris token control active')).toBeLessThan(out.indexOf('HOST_LISTENING'));
    const u = users.erin;
    expect((await post('/api/agents/chat/FakeAI', { text: 'olá', conversationId: 'cv-erin' }, bearer(u))).status).toBe(200);
    await post('/__test/tx/insertMany', { docs: [tx(u.id, 'prompt', -10, { conversationId: 'cv-erin', messageId: 'm-erin' }), tx(u.id, 'completion', -2, { conversationId: 'cv-erin', messageId: 'm-erin' })] });
    await until(async () => (await ledgerRows(u.id)).length === 1);
    expect((await fetch(`${host.url}/solaris/healthz`)).status).toBe(200);
    expect(await loaded()).toEqual([]);
    expect((await fetch(`${host.url}/solaris/api/me`, { headers: bearer(u) })).status).toBe(200);
    expect(await loaded()).toEqual(LAZY);
  });
});

describe('routing inside the LibreChat host', () => {
  it('serves the metering proxy at /solaris/v1 as a gate only (the Transaction hook writes the ledger)', async () => {
    const noKey = await fetch(`${host.url}/solaris/v1/models`);
    expect(noKey.status).toBe(401);
    const models = await fetch(`${host.url}/solaris/v1/models`, { headers: { authorization: `Bearer ${PROXY_KEY}` } });
    expect(models.status).toBe(200);
    expect(((await models.json()) as { data: unknown[] }).data.length).toBeGreaterThan(0);
    const chat = await fetch(`${host.url}/solaris/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json', 'x-solaris-user-id': users.bob.id },
      body: JSON.stringify({ model: 'fake-model', messages: [{ role: 'user', content: 'Olá' }] }),
    });
    expect(chat.status).toBe(200);
    await chat.json();
    // Gate only: nothing in the ledger from the proxy, and its hold is gone.
    const rows = await db.pool.query(`SELECT 1 FROM ledger WHERE user_id = $1 AND source = 'proxy'`, [users.bob.id]);
    expect(rows.rowCount).toBe(0);
    expect((await admin.engine.balance(users.bob.id)).reserved).toBe(0);
    // A blocked user is refused by the proxy too, before any upstream call.
    const before = fake.requests.length;
    const blocked = await fetch(`${host.url}/solaris/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json', 'x-solaris-user-id': users.blocked.id },
      body: JSON.stringify({ model: 'fake-model', messages: [{ role: 'user', content: 'Olá' }] }),
    });
    expect(blocked.status).toBe(402);
    expect(fake.requests.length).toBe(before);
  });

  it('a turn the gate admitted near the quota end is not held again by the proxy: answered, capped to the gate hold', async () => {
    // 3,000 tokens left: the gate holds all of them for the turn (the default 4,096-token answer does not fit).
    await admin.engine.admin.setLimitOverride({ userId: users.fern.id, limit: 3_000 }, { id: 'test-operator' });
    expect((await post('/api/agents/chat/FakeAI', { text: 'olá', conversationId: 'cv-fern' }, bearer(users.fern))).status).toBe(200);
    const held = await admin.engine.balance(users.fern.id);
    expect(held.reserved).toBeGreaterThan(2_900);
    // LibreChat now calls its custom endpoint, our proxy, for that turn: a second hold would not fit.
    const from = fake.requests.length;
    const chat = await fetch(`${host.url}/solaris/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json', 'x-solaris-user-id': users.fern.id, 'x-solaris-conversation-id': 'cv-fern' },
      body: JSON.stringify({ model: 'fake-model', messages: [{ role: 'system', content: 'Seja breve. '.repeat(40) }, { role: 'user', content: 'olá' }] }),
    });
    expect(chat.status).toBe(200);
    await chat.json();
    const sent = fake.requests.slice(from).find((r) => r.path.endsWith('/chat/completions'))!.json as { max_tokens?: number; max_completion_tokens?: number };
    const cap = sent.max_completion_tokens ?? sent.max_tokens ?? Infinity;
    expect(cap).toBeLessThanOrEqual(held.reserved); // the answer stays inside the gate's hold
    expect((await admin.engine.balance(users.fern.id)).reserved).toBe(held.reserved); // nothing held or freed by the proxy
    // A user with no turn in flight is still gated by the proxy itself.
    const blocked = await fetch(`${host.url}/solaris/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json', 'x-solaris-user-id': users.blocked.id },
      body: JSON.stringify({ model: 'fake-model', messages: [{ role: 'user', content: 'Olá' }] }),
    });
    expect(blocked.status).toBe(402);
    // The turn ends as LibreChat records it: one settlement, the gate's hold freed.
    await post('/__test/tx/insertMany', { docs: [tx(users.fern.id, 'prompt', -60, { conversationId: 'cv-fern', messageId: 'r-fern' }), tx(users.fern.id, 'completion', -9, { conversationId: 'cv-fern', messageId: 'r-fern' })] });
    await until(async () => (await admin.engine.balance(users.fern.id)).reserved === 0);
    expect((await admin.engine.balance(users.fern.id)).used).toBe(69);
  });

  it('serves /solaris/* from us and leaves every LibreChat route unchanged', async () => {
    const me = await fetch(`${host.url}/solaris/api/me`, { headers: bearer(users.alice) });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ userId: users.alice.id, email: users.alice.email, isAdmin: false });

    // Unauthenticated metrics stay off LibreChat's public origin; health is there for the operator's probes.
    expect((await fetch(`${host.url}/solaris/metrics`)).status).toBe(404);
    expect((await fetch(`${host.url}/solaris/healthz`)).status).toBe(200);
    const health = await fetch(`${host.url}/health`);
    expect(await health.text()).toBe('OK');
    const notFound = await fetch(`${host.url}/api/does-not-exist`);
    expect(notFound.status).toBe(404);
    expect(await notFound.json()).toEqual({ message: 'Endpoint not found' });
    const user = await fetch(`${host.url}/api/user`, { headers: bearer(users.bob) });
    expect(await user.json()).toEqual({ id: users.bob.id });
    const upper = await fetch(`${host.url}/SOLARIS/api/me`, { headers: bearer(users.alice) });
    expect(upper.headers.get('content-type')).toMatch(/json/); // ours (a JSON 404), never LibreChat's SPA page
  });

  it('injects the widget tag into index.html exactly once (SPA fallback and deep links)', async () => {
    for (const path of ['/', '/c/new', '/login']) {
      const html = await (await fetch(host.url + path)).text();
      expect(html).toContain('<title>LibreChat</title>');
      expect(html.split('<script src="/solaris/widget.js" defer></script>')).toHaveLength(2);
      expect(html.indexOf('/solaris/widget.js')).toBeLessThan(html.indexOf('</head>'));
    }
  });

  it('read the JWT secrets lazily, after the host loaded them with dotenv', () => {
    // The child got no JWT_SECRET in its environment; the host's dotenv read it from .env after our preload.
    expect(host.output()).not.toMatch(/preload failed/);
    expect(host.output()).toMatch(/Solaris token control active/);
  });
});

describe('gate in front of LibreChat chat routes', () => {
  const variants = [
    '/api/agents/chat',
    '/api/agents/chat/FakeAI',
    '/api/agents/chat/FakeAI/',
    '/api/agents/chat/./FakeAI',
    '/api/agents/chat/FakeAI;x=1',
    '/API/Agents/Chat/FakeAI',
    '/api/agents/%63hat/FakeAI',
    '/api/agents//chat/FakeAI',
    '/api/agents/chat/resume',
    '/api/agents/v1/chat/completions',
    '/api/agents/v1/responses',
    '/api/assistants/v1/chat',
    '/api/assistants/v2/chat',
  ];

  it('answers 402 with the flat token_balance body on every gated route variant, and emits `blocked`', async () => {
    const s = await connectSocket(cookieOf(users.blocked.id, sessions.blocked));
    const blocked = collect<{ reason: string }>(s, 'blocked');
    for (const path of variants) {
      const r = await post(path, { text: 'olá, tudo bem?', conversationId: 'new', model: 'fake-model' }, bearer(users.blocked));
      expect(r.status, path).toBe(402);
      const body = r.json as unknown as QuotaExceededBody;
      expect(body).toMatchObject({ type: 'token_balance', balance: 0, reason: 'quota_exceeded' });
      expect(body).not.toHaveProperty('code'); // LibreChat shows raw JSON for any code but token_balance
      expect(body.promptTokens).toBeGreaterThan(0);
      expect(body.tokenCost).toBeGreaterThan(body.promptTokens);
      // The reset moment in the deployment's zone (the period ends at local midnight), whatever the server's TZ.
      const local = new Intl.DateTimeFormat('pt-BR', { dateStyle: 'short', timeStyle: 'short', timeZone: 'America/Sao_Paulo' }).format(new Date(body.resetAt));
      expect(local.endsWith('00:00')).toBe(true);
      expect(body.message).toContain(`será renovada em ${local}`);
    }
    await until(() => blocked.length >= variants.length);
    expect(blocked[0]!.reason).toBe('quota_exceeded');
    // Stopping a generation is never gated.
    expect((await post('/api/agents/chat/abort', {}, bearer(users.blocked))).status).toBe(200);
  });

  it('lets a user with quota through untouched (body intact for LibreChat)', async () => {
    const body = { text: 'Explique fotossíntese', conversationId: 'c-42', parentMessageId: '00000000-0000-0000-0000-000000000000', model: 'fake-model' };
    const r = await post('/api/agents/chat/FakeAI', body, bearer(users.bob));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ status: 'started', user: users.bob.id, body });
  });

  it('passes bad, expired and forged tokens to LibreChat, which answers 401', async () => {
    const forged = accessToken('not-the-secret', users.blocked);
    const expired = accessToken(JWT_SECRET, users.blocked, -10);
    for (const auth of [`Bearer ${forged}`, `Bearer ${expired}`, 'Bearer garbage', '']) {
      const r = await post('/api/agents/chat', { text: 'hi' }, { Authorization: auth, 'User-Agent': BROWSER_UA });
      expect(r.status, auth.slice(0, 20)).toBe(401);
      expect(r.text).toBe('Unauthorized');
    }
  });

  it('gates the agents API called with an agents API key (sk-…): the key owner out of quota gets the 402', async () => {
    const key = (n: string) => 'sk-' + createHash('sha256').update(n).digest('hex');
    const [live, expired, unknown] = [key('live'), key('expired'), key('unknown')];
    const hash = (k: string) => createHash('sha256').update(k).digest('hex');
    await conn.collection('agentapikeys').insertMany([
      { userId: new Types.ObjectId(users.blocked.id), name: 'ci', keyHash: hash(live), keyPrefix: live.slice(0, 8), createdAt: new Date() },
      { userId: new Types.ObjectId(users.blocked.id), name: 'old', keyHash: hash(expired), keyPrefix: expired.slice(0, 8), expiresAt: new Date(Date.now() - 1000) },
    ]);
    const body = { model: 'fake-model', messages: [{ role: 'user', content: 'olá' }] };
    for (const path of ['/api/agents/v1/chat/completions', '/api/agents/v1/responses']) {
      const r = await post(path, body, { Authorization: `Bearer ${live}` });
      expect(r.status, path).toBe(402);
      expect(r.json).toMatchObject({ type: 'token_balance', reason: 'quota_exceeded' });
    }
    // Unknown or expired keys are LibreChat's to refuse (the gate lets them through untouched).
    for (const k of [expired, unknown]) expect((await post('/api/agents/v1/chat/completions', body, { Authorization: `Bearer ${k}` })).status).toBe(401);
  });

  it('one chat turn sends Redis 4 commands: reserve, the settle that frees the hold, the ledger and balance events', async () => {
    const u = users.dave;
    const turn = async (n: number) => {
      expect((await post('/api/agents/chat/FakeAI', { text: 'olá', conversationId: `cv-dave-${n}` }, bearer(u))).status).toBe(200);
      const docs = [tx(u.id, 'prompt', -12, { conversationId: `cv-dave-${n}`, messageId: `m-dave-${n}` }), tx(u.id, 'completion', -3, { conversationId: `cv-dave-${n}`, messageId: `m-dave-${n}` })];
      await post('/__test/tx/insertMany', { docs });
    };
    await turn(0); // the first one also builds the user's counter from Postgres
    await until(async () => (await ledgerRows(u.id)).length === 1);
    // The first turn's settle and its events follow its ledger row: let them pass before MONITOR starts (under load
    // they arrived inside the window and were counted as the second turn's).
    await until(async () => {
      const b = await admin.engine.balance(u.id);
      return b.used === 15 && b.reserved === 0;
    });
    await new Promise((r) => setTimeout(r, 300));
    // MONITOR on a plain socket (ioredis's monitor mode trips on a busy shared server). This user's commands, not
    // those run inside scripts, not the admins' feed (one per window, not per chat).
    const url = new URL(REDIS_URL);
    const mon = createConnection({ host: url.hostname, port: Number(url.port || 6379) });
    const sent: string[] = [];
    let buf = '';
    mon.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const lines = buf.split('\r\n');
      buf = lines.pop()!;
      for (const line of lines) {
        if (!line.includes(u.id) || line.includes(' lua] ') || line.includes('#admins#')) continue;
        const cmd = /\] "([^"]+)"/.exec(line)?.[1];
        if (cmd) sent.push(cmd.toLowerCase());
      }
    });
    await new Promise<void>((res) => mon.once('connect', () => res()));
    mon.write('MONITOR\r\n');
    await new Promise((r) => setTimeout(r, 100));
    try {
      await turn(1);
      await until(async () => (await ledgerRows(u.id)).length === 2 && sent.filter((c) => c === 'publish').length >= 2);
      await new Promise((r) => setTimeout(r, 400)); // nothing more arrives
    } finally {
      mon.destroy();
    }
    expect(sent.map((c) => (c === 'eval' ? 'evalsha' : c)).sort()).toEqual(['evalsha', 'evalsha', 'publish', 'publish']);
    expect(await admin.engine.balance(u.id)).toMatchObject({ used: 30, reserved: 0 }); // the gate's holds are gone
  });

  it('holds a bounded reservation per generation and frees it when LibreChat records the spend', async () => {
    const h = bearer(users.carol);
    expect((await post('/api/agents/chat/FakeAI', { text: 'um', conversationId: 'cv-a' }, h)).status).toBe(200);
    expect((await post('/api/agents/chat/FakeAI', { text: 'dois', conversationId: 'cv-b' }, h)).status).toBe(200);
    const third = await post('/api/agents/chat/FakeAI', { text: 'três', conversationId: 'cv-c' }, h);
    expect(third.status).toBe(402);
    expect(third.json).toMatchObject({ type: 'token_balance', reason: 'too_many_inflight' });
    expect(third.json).not.toHaveProperty('code');
    const before = await admin.engine.balance(users.carol.id);
    expect(before.reserved).toBeGreaterThan(0);

    // LibreChat records the first generation's spend → that reservation is released → a new chat fits again.
    await post('/__test/tx/insertMany', { docs: [tx(users.carol.id, 'prompt', -30, { conversationId: 'cv-a', messageId: 'r-a' }), tx(users.carol.id, 'completion', -5, { conversationId: 'cv-a', messageId: 'r-a' })] });
    await until(async () => (await ledgerRows(users.carol.id)).length === 1);
    await until(async () => (await admin.engine.balance(users.carol.id)).reserved < before.reserved);
    expect((await post('/api/agents/chat/FakeAI', { text: 'quatro', conversationId: 'cv-d' }, h)).status).toBe(200);
  });
});

describe('metering source librechat (Transaction hook)', () => {
  it('turns insertMany and save() into exact ledger rows, once, and notifies only that user (and admins)', async () => {
    const alice = await connectSocket(cookieOf(users.alice.id, sessions.alice));
    const bob = await connectSocket(cookieOf(users.bob.id, sessions.bob));
    const adminSock = await connectSocket(cookieOf(users.admin.id, sessions.admin));
    const aliceLedger = collect<LedgerEntryDTO>(alice, 'ledger');
    const aliceBalance = collect<BalanceDTO>(alice, 'balance');
    const aliceUsage = collectUsage<unknown>(alice);
    const bobLedger = collect<LedgerEntryDTO>(bob, 'ledger');
    const adminUsage = collectUsage<{ userId: string }>(adminSock);

    // Agents path: prompt + completion of one turn in one insertMany (LibreChat bulkInsertTransactions).
    const many = await post('/__test/tx/insertMany', { docs: [tx(users.alice.id, 'prompt', -42), tx(users.alice.id, 'completion', -6)] });
    const ids = (many.json!.ids as string[]).sort();
    // Fallback path: one save() per row (LibreChat createTransaction), plus a title.
    await post('/__test/tx/save', {
      docs: [
        tx(users.alice.id, 'prompt', -100, { messageId: 'msg-2' }),
        tx(users.alice.id, 'completion', -20, { messageId: 'msg-2' }),
        tx(users.alice.id, 'completion', -7, { messageId: 'msg-title', context: 'title' }),
        { user: users.alice.id, tokenType: 'credits', context: 'autoRefill', rawAmount: 5000 }, // a refill: not usage
      ],
    });

    await until(async () => (await ledgerRows(users.alice.id)).length >= 3);
    await new Promise((r) => setTimeout(r, 400)); // nothing more arrives
    const rows = await ledgerRows(users.alice.id);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatchObject({ request_id: `lc:${ids[0]}`, prompt_tokens: 42, completion_tokens: 6, model: 'fake-model', source: 'librechat', message_id: 'msg-1' });
    expect(rows[1]).toMatchObject({ prompt_tokens: 100, completion_tokens: 20, message_id: 'msg-2' });
    expect(rows[2]).toMatchObject({ prompt_tokens: 0, completion_tokens: 7, message_id: 'msg-title', context: 'title' }); // the statement names it
    const bal = await admin.engine.balance(users.alice.id);
    expect(bal.used).toBe(42 + 6 + 100 + 20 + 7);

    await until(() => aliceLedger.length === 3 && adminUsage.filter((u) => u.userId === users.alice.id).length === 3);
    expect(aliceBalance.at(-1)!.used).toBe(175);
    expect(bobLedger).toHaveLength(0);
    expect(aliceUsage).toHaveLength(0); // the admin feed goes to admins only
  });
});

describe('users, roles and sessions from LibreChat', () => {
  it('refuses admin routes to non-admins (403) and serves them to LibreChat ADMINs', async () => {
    const denied = await fetch(`${host.url}/solaris/api/admin/users`, { headers: bearer(users.alice) });
    expect(denied.status).toBe(403);
    const ok = await fetch(`${host.url}/solaris/api/admin/users`, { headers: bearer(users.admin) });
    expect(ok.status).toBe(200);
    const me = await (await fetch(`${host.url}/solaris/api/me`, { headers: bearer(users.admin) })).json();
    expect(me).toMatchObject({ role: 'ADMIN', isAdmin: true });
  });

  it("accepts a live session's cookie and refuses a logged-out session's cookie", async () => {
    const ok = await fetch(`${host.url}/solaris/api/me`, { headers: { cookie: cookieOf(users.alice.id, sessions.alice) } });
    expect(ok.status).toBe(200);
    const gone = await fetch(`${host.url}/solaris/api/me`, { headers: { cookie: cookieOf(users.alice.id, sessions.aliceLoggedOut) } });
    expect(gone.status).toBe(401);
    await expect(connectSocket(cookieOf(users.alice.id, sessions.aliceLoggedOut))).rejects.toThrow();
  });

  it('refuses a cookie at once after LibreChat deletes its session (logout), API and socket handshake', async () => {
    const sid = oid();
    await conn.collection('sessions').insertOne({ _id: new Types.ObjectId(sid), user: new Types.ObjectId(users.bob.id), refreshTokenHash: 'h5', expiration: new Date(Date.now() + 3_600_000) });
    const cookie = cookieOf(users.bob.id, sid);
    expect((await fetch(`${host.url}/solaris/api/me`, { headers: { cookie } })).status).toBe(200);
    (await connectSocket(cookie)).close();
    await conn.collection('sessions').deleteOne({ _id: new Types.ObjectId(sid) }); // what LibreChat's logout does
    expect((await fetch(`${host.url}/solaris/api/me`, { headers: { cookie } })).status).toBe(401);
    await expect(connectSocket(cookie)).rejects.toThrow();
  });
});

describe('process hygiene', () => {
  it('does nothing in other Node processes that inherit NODE_OPTIONS', () => {
    const out = execFileSync(process.execPath, ['-e', "process.stdout.write(String(globalThis[Symbol.for('solaris.librechat.installed')]))"], {
      env: { ...process.env, NODE_OPTIONS: `--require ${REGISTER}` },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toBe('undefined');
  });

  it('exits promptly on SIGTERM with open socket.io connections', async () => {
    await connectSocket(cookieOf(users.bob.id, sessions.bob));
    const started = Date.now();
    const exited = new Promise<number | null>((r) => host.child.once('exit', (code) => r(code)));
    host.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
