/**
 * LibreChat must start and keep serving when our configuration is missing or Postgres / Redis are down; the
 * gate then obeys SOLARIS_FAIL_MODE (closed = 503 for gated chats, open = let them through).
 */
import { Types } from 'mongoose';
import { buildPlugin } from '../build.mjs';
import { accessToken, BROWSER_UA, hostCwd, startHost, startMongo, type Host, type Mongo } from './helpers';

const JWT_SECRET = 'outage-secret';
const DOWN_PG = 'postgres://postgres@127.0.0.1:1/test'; // nothing listens on port 1
const DOWN_REDIS = 'redis://127.0.0.1:1/5';

let mongo: Mongo;
const hosts: Host[] = [];
const user = { id: new Types.ObjectId().toHexString(), email: 'x@solaris.test' };

beforeAll(async () => {
  await buildPlugin({ quiet: true });
  mongo = await startMongo();
}, 60_000);

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  mongo?.stop();
});

async function boot(env: Record<string, string | undefined>): Promise<Host> {
  const h = await startHost({ cwd: hostCwd({ JWT_SECRET, JWT_REFRESH_SECRET: 'r' }), env: { MONGO_URI: mongo.uri, PORT: '0', ...env } });
  hosts.push(h);
  return h;
}

async function chat(h: Host) {
  const r = await fetch(`${h.url}/api/agents/chat/FakeAI`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${accessToken(JWT_SECRET, user)}`, 'User-Agent': BROWSER_UA },
    body: JSON.stringify({ text: 'oi', conversationId: 'new' }),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function libreChatStillServes(h: Host) {
  expect(await (await fetch(`${h.url}/health`)).text()).toBe('OK');
  expect(await (await fetch(`${h.url}/c/new`)).text()).toContain('/solaris/widget.js');
  expect((await fetch(`${h.url}/api/nope`)).status).toBe(404);
}

describe('LibreChat keeps running when token control cannot', () => {
  it('config missing: one clear error line, LibreChat serves, gated chats refused (fail closed by default)', async () => {
    const h = await boot({ DATABASE_URL: undefined, REDIS_URL: undefined });
    await libreChatStillServes(h);
    const r = await chat(h);
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ error: { code: 'store_unavailable' } });
    const ours = await fetch(`${h.url}/solaris/api/me`);
    expect(ours.status).toBe(503);
    const errors = h.output().split('\n').filter((l) => l.includes('"level":"error"'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/DATABASE_URL is not set/);
  });

  it('Postgres and Redis down, fail closed: LibreChat starts and serves; gated chats get 503', async () => {
    const h = await boot({ DATABASE_URL: DOWN_PG, REDIS_URL: DOWN_REDIS, SOLARIS_FAIL_MODE: 'closed' });
    await libreChatStillServes(h);
    const r = await chat(h);
    expect(r.status).toBe(503);
    await new Promise((res) => setTimeout(res, 1_500)); // Redis reconnect attempts come and go: still alive
    expect(h.child.exitCode).toBeNull();
    expect((await chat(h)).status).toBe(503);
    await libreChatStillServes(h);
  });

  it('Redis down, fail open: gated chats reach LibreChat', async () => {
    const h = await boot({ DATABASE_URL: DOWN_PG, REDIS_URL: DOWN_REDIS, SOLARIS_FAIL_MODE: 'open' });
    await libreChatStillServes(h);
    const r = await chat(h);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'started', user: user.id });
    await new Promise((res) => setTimeout(res, 1_500));
    expect(h.child.exitCode).toBeNull();
    expect((await chat(h)).status).toBe(200);
  });

  it("keeps Node's default SIGTERM behaviour when the host has no handler of its own", async () => {
    const h = await boot({ DATABASE_URL: undefined, HOST_NO_SIGTERM_HANDLER: 'true' });
    const exited = new Promise<string | null>((r) => h.child.once('exit', (_code, signal) => r(signal)));
    h.child.kill('SIGTERM');
    expect(await exited).toBe('SIGTERM');
  });
});
