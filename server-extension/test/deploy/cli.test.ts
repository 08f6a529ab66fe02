/**
 * The built admin CLI (plugin folder's server/cli.cjs, bundled with its dependencies) run as a child
 * process against the real Postgres (own schema, via DATABASE_URL search_path) and the real Redis.
 */
import { execFile, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { buildPluginFolder } from './build-output';
import { createTestDb, TEST_REDIS_URL, uniqueName, type TestDb } from '../helpers/infra';
import { startAofRedis } from '../../src/dev/redis-server';
import { loadConfig } from '../../src/core/config';
import { createEngine, type EngineRuntime } from '../../src/core/create-engine';
import { freePort } from '../../src/dev/free-port';


async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const open = await new Promise<boolean>((res) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => (sock.destroy(), res(true)));
      sock.once('error', () => res(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('solaris CLI (built, child process, real Postgres + Redis)', () => {
  let build: ReturnType<typeof buildPluginFolder>;
  let db: TestDb;
  let redis: Redis;
  let rt: EngineRuntime;
  let litellm: Server;
  let litellmUrl: string;
  let cwd: string;
  const user = uniqueName('cliuser');
  const email = `${user}@example.com`;

  let baseEnv: Record<string, string>;
  const run = (args: string[], env: Record<string, string> = {}) =>
    new Promise<Run>((res) => {
      execFile(process.execPath, [join(build.dir, 'server', 'cli.cjs'), ...args], { cwd, env: { ...baseEnv, ...env }, timeout: 30_000 }, (err, stdout, stderr) =>
        res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  beforeAll(async () => {
    build = buildPluginFolder();
    db = await createTestDb();
    redis = new Redis(TEST_REDIS_URL);
    // The same engine the CLI builds (Redis store on the same Redis), to produce usage to report on.
    rt = await createEngine({ config: loadConfig({ DATABASE_URL: db.childEnvUrl, REDIS_URL: TEST_REDIS_URL }), db, redis, migrate: false });
    litellm = createServer((req, res) => {
      res.writeHead(req.url === '/health/liveliness' ? 200 : 404, { 'content-type': 'application/json' }).end('"I\'m alive!"');
    });
    await new Promise<void>((r) => litellm.listen(0, '127.0.0.1', r));
    litellmUrl = `http://127.0.0.1:${(litellm.address() as AddressInfo).port}`;
    cwd = mkdtempSync(join(tmpdir(), 'solaris-cli-'));
    baseEnv = { PATH: process.env.PATH ?? '', DATABASE_URL: db.childEnvUrl, REDIS_URL: TEST_REDIS_URL, SOLARIS_TIMEZONE: 'America/Sao_Paulo' };
  }, 120_000);

  afterAll(async () => {
    await rt?.engine.close();
    const keys = await redis.keys(`sq:{${user}}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await new Promise((r) => litellm.close(r));
    await db.drop();
    build.remove();
    rmSync(cwd, { recursive: true, force: true });
  });

  const audit = async (action: string) =>
    (await db.pool.query(`SELECT actor_id, target_user_id, details FROM audit_log WHERE action = $1 ORDER BY id DESC LIMIT 1`, [action])).rows[0] as
      | { actor_id: string; target_user_id: string | null; details: Record<string, unknown> }
      | undefined;

  it('migrate: the schema of DATABASE_URL is up to date', async () => {
    const r = await run(['migrate']);
    expect(r).toMatchObject({ code: 0, stdout: 'database is up to date (nothing to apply)\n' });
  });

  it('plans set / list, audited as actor cli', async () => {
    // --token-limit is the API's tokenLimit (issue #15 item 11); --limit still works for older scripts.
    const set = await run(['plans', 'set', 'pro', '--name', 'Profissional', '--token-limit', '2_000_000', '--period', 'week', '--weights', '{"gpt-4o*":2,"o1*":1.5}']);
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/^saved: pro +Profissional +2\.000\.000 tokens \/ week +pesos\/weights: gpt-4o\*×2, o1\*×1\.5/);
    const list = await run(['plans', 'list', '--json']);
    expect(JSON.parse(list.stdout)).toEqual(
      expect.arrayContaining([{ id: 'pro', name: 'Profissional', tokenLimit: 2_000_000, period: 'week', isDefault: false, modelWeights: { 'gpt-4o*': 2, 'o1*': 1.5 } }]),
    );
    expect(await audit('plan.upsert')).toMatchObject({ actor_id: 'cli', details: { id: 'pro', tokenLimit: 2_000_000 } });
    const old = await run(['plans', 'set', 'lite', '--name', 'Lite', '--limit', '5000']);
    expect(old.stdout).toMatch(/^saved: lite +Lite +5\.000 tokens \/ month/);
    // A partial update: only the weights; name, limit and period are kept (it used to fail asking for --name).
    const partial = await run(['plans', 'set', 'pro', '--weights', '{"claude*":3}']);
    expect(partial.code).toBe(0);
    expect(partial.stdout).toMatch(/^saved: pro +Profissional +2\.000\.000 tokens \/ week +pesos\/weights: claude\*×3/);
    const missing = await run(['plans', 'set', 'nova', '--weights', '{}']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/--name <name> is required to create it/);
    const help = await run(['plans', 'set', '--help']);
    expect(help.stdout).toContain('--token-limit <tokens>');
    expect(help.stdout).not.toContain('--limit <tokens>');
  });

  it('quota set by id, grant by email, then users list shows the new capacity', async () => {
    await rt.engine.admin.touchUser({ userId: user, email });
    const q = await run(['quota', 'set', user, '1000']);
    expect(q.code).toBe(0);
    expect(q.stdout).toContain('used 0 of 1.000');
    expect(await audit('limit.override')).toMatchObject({ actor_id: 'cli', target_user_id: user, details: { limit: 1000 } });

    const g = await run(['grant', email.toUpperCase(), '500', '--reason', 'bônus de novembro']);
    expect(g.code).toBe(0);
    expect(g.stdout).toContain('limit 1.000 + grants 500');
    expect(await audit('grant')).toMatchObject({ actor_id: 'cli', target_user_id: user, details: { tokens: 500, reason: 'bônus de novembro' } });
    expect((await rt.engine.balance(user)).granted).toBe(500);

    const users = await run(['users', 'list', '--q', user, '--json']);
    const page = JSON.parse(users.stdout) as { items: Array<{ userId: string; email: string; limitOverride: number; balance: { limit: number; granted: number } }> };
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({ userId: user, email, limitOverride: 1000, balance: { limit: 1000, granted: 500 } });
  });

  it('report --month prints CSV of the ledger; reset zeroes the period usage', async () => {
    await rt.engine.settle({ requestId: uniqueName('req'), userId: user, model: 'gpt-4o', promptTokens: 300, completionTokens: 100, reportedCost: 0.0125, source: 'proxy' });
    const month = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Sao_Paulo', year: 'numeric', month: '2-digit' }).format(new Date()).slice(0, 7);
    const report = await run(['report', '--month', month]);
    expect(report.code).toBe(0);
    const [header, ...rows] = report.stdout.trimEnd().split('\n');
    expect(header).toBe('user_id,email,name,requests,prompt_tokens,completion_tokens,weighted_tokens,cost_usd');
    expect(rows).toContain(`${user},${email},,1,300,100,400,0.012500`);
    const empty = await run(['report', '--month', '2001-01']);
    expect(empty.stdout).toBe(header + '\n');

    expect((await rt.engine.balance(user)).used).toBe(400);
    const reset = await run(['reset', user, '--reason', 'pedido do gestor']);
    expect(reset.code).toBe(0);
    expect(reset.stdout).toContain('used 0 of 1.500');
    expect((await rt.engine.balance(user)).used).toBe(0);
    expect(await audit('reset')).toMatchObject({ actor_id: 'cli', target_user_id: user });
  });

  it.each([
    [['grant', 'u1', 'abc'], /<tokens> must be a whole number > 0, got "abc"/],
    [['grant', 'u1', '0'], /must be a whole number > 0/],
    [['quota', 'set', 'u1', '-5'], /error: (unknown option '-5'|<tokens> must be a whole number)/],
    [['report', '--month', '2026-13'], /--month must be YYYY-MM, got "2026-13"/],
    [['report'], /required option '--month <YYYY-MM>' not specified/],
    [['plans', 'set', 'Bad Id', '--name', 'x', '--limit', '5'], /id: lowercase letters/],
    [['plans', 'set', 'p2', '--name', 'x'], /plan p2 does not exist yet: --token-limit <tokens> is required to create it/],
    [['plans', 'set', 'p2', '--name', 'x', '--limit', '5', '--period', 'year'], /Allowed choices are month, week, day/],
    [['plans', 'set', 'p2', '--name', 'x', '--limit', '5', '--weights', 'gpt-4o=2'], /--weights must be a JSON object/],
    [['plans', 'set', 'p2', '--name', 'x', '--limit', '5', '--weights', '{"gpt-4o*":-1}'], /a weight must be positive/],
    [['grant', 'nobody@example.com', '10'], /no user with email nobody@example.com/],
    [['grant', 'u1', '10', '--expires', 'someday'], /--expires is not a date/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('bad arguments %j → clear message, non-zero exit', async (args, message) => {
    const r = await run(args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  describe('doctor', () => {
    // The LibreChat deployment's setting (.env.example): the Transaction hook meters, so no proxy key is needed.
    const good = () => ({ LITELLM_URL: litellmUrl, JWT_SECRET: 'j1', JWT_REFRESH_SECRET: 'j2', SOLARIS_METERING_SOURCE: 'librechat' });

    it('all dependencies fine → every line ✔, exit 0', async () => {
      const r = await run(['doctor'], good());
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines.map((l) => l.split(':')[0])).toEqual(['✔ Configuration', '✔ Metering setup', '✔ Secrets', '✔ Postgres', '✔ Redis', '✔ LiteLLM', '✔ LibreChat secrets']);
      expect(r.stdout).toMatch(/✔ Redis: 127\.0\.0\.1:6379, Redis 7/);
    });

    it('SOLARIS_SETTLE_ACK=outbox on a Redis without AOF → ✘ Redis naming appendonly; with AOF → ✔', async () => {
      const noAof = await run(['doctor'], { ...good(), SOLARIS_SETTLE_ACK: 'outbox' });
      expect(noAof.code).toBe(1);
      expect(noAof.stdout).toMatch(/^✘ Redis: 127\.0\.0\.1:6379, Redis 7\S*: SOLARIS_SETTLE_ACK=outbox needs appendonly yes/m);
      const aof = await startAofRedis();
      try {
        const ok = await run(['doctor'], { ...good(), SOLARIS_SETTLE_ACK: 'outbox', REDIS_URL: aof.url });
        expect(ok.stdout).toMatch(/^✔ Redis: .*appendonly yes/m);
      } finally {
        await aof.stop();
      }
    });

    it('Redis with a wrong password → ✘ Redis with the reason; Redis stopped → ✘ Redis; the password is never printed', async () => {
      // A Redis of our own with a password (the shared one has none), stopped halfway.
      const port = await freePort();
      const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', 'right-pass', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      try {
        await waitForPort(port);
        const right = await run(['doctor'], { ...good(), REDIS_URL: `redis://:right-pass@127.0.0.1:${port}` });
        expect(right.stdout).toMatch(new RegExp(`^✔ Redis: 127\\.0\\.0\\.1:${port}, Redis 7`, 'm'));
        const wrong = await run(['doctor'], { ...good(), REDIS_URL: `redis://:not-the-password@127.0.0.1:${port}` });
        expect(wrong.code).toBe(1);
        expect(wrong.stdout).toMatch(new RegExp(`^✘ Redis: 127\\.0\\.0\\.1:${port}: WRONGPASS`, 'm'));
        expect(wrong.stdout).toMatch(/^✔ Postgres/m);
        expect(wrong.stdout).not.toContain('not-the-password');
      } finally {
        const exited = new Promise((r) => server.once('exit', r));
        server.kill('SIGTERM');
        await exited;
      }
      const stopped = await run(['doctor'], { ...good(), REDIS_URL: `redis://:right-pass@127.0.0.1:${port}` });
      expect(stopped.code).toBe(1);
      expect(stopped.stdout).toMatch(new RegExp(`^✘ Redis: 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`, 'm'));
      expect(stopped.stdout).not.toContain('right-pass');
    });

    it('Postgres refused (wrong port) or a login that does not exist → ✘ Postgres, credentials hidden', async () => {
      const wrongPort = await run(['doctor'], { ...good(), DATABASE_URL: 'postgres://postgres:pw-secret@127.0.0.1:5439/test' });
      expect(wrongPort.code).toBe(1);
      expect(wrongPort.stdout).toMatch(/^✘ Postgres: 127\.0\.0\.1:5439\/test: .*ECONNREFUSED/m);
      // This machine's Postgres uses trust auth, so a wrong password is accepted; an unknown role is the closest failure.
      const wrongLogin = await run(['doctor'], { ...good(), DATABASE_URL: 'postgres://no_such_role:pw-secret@127.0.0.1:5432/test' });
      expect(wrongLogin.code).toBe(1);
      expect(wrongLogin.stdout).toMatch(/^✘ Postgres: 127\.0\.0\.1:5432\/test: role "no_such_role" does not exist/m);
      expect(wrongPort.stdout + wrongLogin.stdout).not.toContain('pw-secret');
    });

    it('an unmigrated database, LiteLLM down, missing LibreChat secrets, an invalid variable', async () => {
      const unmigrated = await run(['doctor'], { ...good(), DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3Dno_such_schema' });
      expect(unmigrated.stdout).toMatch(/^✘ Postgres: .*not migrated: run `npx solaris migrate`/m);
      const noLitellm = await run(['doctor'], { ...good(), LITELLM_URL: 'http://127.0.0.1:4999' });
      expect(noLitellm.code).toBe(1);
      expect(noLitellm.stdout).toMatch(/^✘ LiteLLM: 127\.0\.0\.1:4999: .*ECONNREFUSED/m);
      const noSecrets = await run(['doctor'], { LITELLM_URL: litellmUrl });
      expect(noSecrets.stdout).toMatch(/^✘ LibreChat secrets: JWT_SECRET and JWT_REFRESH_SECRET not set/m);
      const badTz = await run(['doctor'], { ...good(), SOLARIS_TIMEZONE: 'Mars/Olympus' });
      expect(badTz.code).toBe(1);
      expect(badTz.stdout).toMatch(/^✘ Configuration: Invalid configuration: SOLARIS_TIMEZONE must be an IANA time zone/m);
      const litellmNoSecret = await run(['doctor'], { ...good(), SOLARIS_METERING_SOURCE: 'litellm' });
      expect(litellmNoSecret.stdout).toMatch(/^✘ Metering setup: SOLARIS_METERING_SOURCE=litellm needs SOLARIS_LITELLM_WEBHOOK_SECRET/m);
    });
  });
});
