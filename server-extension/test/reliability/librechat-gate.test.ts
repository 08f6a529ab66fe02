/**
 * No overspend through the LibreChat gate: 200 concurrent chat requests by one user at 95 % of quota, spread
 * over TWO LibreChat-shaped host processes with our preload (librechat-plugin/test fixture), sharing one
 * Postgres schema and one (private) Redis. Admitted generations then record their spend as LibreChat does
 * (Transaction documents → our mongoose hook → ledger, source `librechat`). The overshoot stays within
 * Σ max(0, actual − estimate) of admitted requests, plus one answer for the one partial hold (reserve up to),
 * and the ledger equals the recorded spends.
 */
import { Types } from 'mongoose';
import { Redis } from 'ioredis';
import { buildPlugin } from '../../../librechat-plugin/build.mjs';
import { accessToken, BROWSER_UA, hostCwd, startHost, startMongo, type Host, type Mongo } from '../../../librechat-plugin/test/helpers';
import { loadConfig } from '../../src/core/config';
import { createEngine, type EngineRuntime } from '../../src/core/create-engine';
import { createTestDb, type TestDb } from '../helpers/infra';
import { sleep, startPrivateRedis, type PrivateRedis } from './faults';

const JWT_SECRET = 'reliability-gate-secret';
const MAX_TOKENS = 40; // SOLARIS_DEFAULT_MAX_TOKENS of the hosts: the completion part of each estimate
let mongo: Mongo;
let db: TestDb;
let redis: PrivateRedis;
let hosts: Host[] = [];
let admin: EngineRuntime;

beforeAll(async () => {
  await buildPlugin({ quiet: true });
  [mongo, db, redis] = await Promise.all([startMongo(), createTestDb(), startPrivateRedis()]);
  const env = {
    MONGO_URI: mongo.uri,
    DATABASE_URL: db.childEnvUrl,
    REDIS_URL: redis.url,
    SOLARIS_MAX_INFLIGHT: '1000',
    SOLARIS_DEFAULT_MAX_TOKENS: String(MAX_TOKENS),
    SOLARIS_LIBRECHAT_COALESCE_MS: '50',
    PORT: '0',
  };
  hosts = await Promise.all([0, 1].map(() => startHost({ cwd: hostCwd({ JWT_SECRET, JWT_REFRESH_SECRET: 'r' }), env })));
  admin = await createEngine({ config: loadConfig({ DATABASE_URL: db.childEnvUrl }), db, redis: new Redis(redis.url, { maxRetriesPerRequest: 2 }) });
}, 120_000);
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  await admin?.engine.close();
  admin?.redis?.disconnect();
  await redis?.stop();
  mongo?.stop();
  await db?.drop();
});

describe('no overspend through the LibreChat gate, two host processes', () => {
  it('200 concurrent chats at 95 % of quota: overshoot within the bound, ledger = recorded spends', async () => {
    const user = { id: new Types.ObjectId().toHexString(), email: 'gate@solaris.test' };
    const limit = 20_000;
    await admin.engine.admin.setLimitOverride({ userId: user.id, limit }, { id: 'reliability' });
    await admin.engine.settle({ requestId: 'gate-past', userId: user.id, model: 'fake-model', promptTokens: 19_000, completionTokens: 0, source: 'librechat' });
    const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${accessToken(JWT_SECRET, user)}`, 'User-Agent': BROWSER_UA };
    const text = 'Resuma a ata da reunião de ontem em três tópicos.';
    const t0 = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const h = hosts[i % 2]!;
        const r = await fetch(`${h.url}/api/agents/chat/FakeAI`, { method: 'POST', headers, body: JSON.stringify({ text, conversationId: `conv-${i}`, model: 'fake-model' }) });
        const body = (await r.json()) as { tokenCost?: number; promptTokens?: number };
        return { i, host: i % 2, status: r.status, body };
      }),
    );
    const admitted = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 402);
    expect(admitted.length + refused.length).toBe(200);
    expect(admitted.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    // Every refusal quotes the estimate the gate wanted to hold: the same for identical requests.
    const estimate = refused[0]!.body.tokenCost!;
    const promptEstimate = refused[0]!.body.promptTokens!;
    expect(estimate).toBe(promptEstimate + MAX_TOKENS);

    // The generations finish: LibreChat records each turn's spend in the process that served it. LibreChat adds
    // the conversation's system prompt/history server-side, so its prompt exceeds the gate's estimate (+12),
    // while the completion stays under max tokens.
    const actualPrompt = promptEstimate + 12;
    const actualCompletion = MAX_TOKENS - 5;
    await Promise.all(
      admitted.map((a) =>
        fetch(`${hosts[a.host]!.url}/__test/tx/insertMany`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({
            docs: ['prompt', 'completion'].map((tokenType) => ({
              user: user.id,
              conversationId: `conv-${a.i}`,
              messageId: `msg-${a.i}`,
              tokenType,
              model: 'fake-model',
              context: 'message',
              rate: 1,
              rawAmount: -(tokenType === 'prompt' ? actualPrompt : actualCompletion),
            })),
          }),
        }).then((r) => expect(r.status).toBe(200)),
      ),
    );
    const actual = actualPrompt + actualCompletion;
    let rows: Array<{ w: number }>;
    for (const deadline = Date.now() + 20_000; ; ) {
      ({ rows } = await db.pool.query<{ w: number }>(`SELECT weighted_tokens AS w FROM ledger WHERE user_id = $1 AND source = 'librechat' AND request_id <> 'gate-past'`, [user.id]));
      if (rows.length === admitted.length && (await admin.engine.balance(user.id)).reserved === 0) break;
      if (Date.now() > deadline) throw new Error(`settled ${rows.length}/${admitted.length}`);
      await sleep(100);
    }
    expect(rows.every((r) => Number(r.w) === actual)).toBe(true);
    const balance = await admin.engine.balance(user.id);
    expect(balance.used).toBe(19_000 + admitted.length * actual);
    // Reserve up to (docs/reservation-policy.md): holds are taken atomically one after another, each the whole
    // estimate while it fits; the one that no longer fits whole holds what is left (≥ prompt + 1), and after it
    // nothing is left, so every later request is refused. Hence at most one partial hold.
    const bound = admitted.length * Math.max(0, actual - estimate) + Math.max(0, actual - (promptEstimate + 1));
    const overshoot = balance.used - limit;
    expect(overshoot).toBeLessThanOrEqual(bound);
    console.info(
      `[reliability] librechat-gate: 200 chats over 2 LibreChat processes in ${Date.now() - t0} ms → ${admitted.length} admitted, ${refused.length} refused (402); ` +
        `estimate ${estimate}, actual ${actual}; used ${balance.used}/${limit}, overshoot ${overshoot} ≤ bound ${bound}`,
    );
  }, 90_000);
});
