/**
 * The real-LibreChat lane (`npm run test:librechat`, issue #15): an unmodified LibreChat v0.8.7 from the kit,
 * the plugin installed exactly as docs/operators.md says (install.ts), driven with headless Chromium and
 * LibreChat's own API. The checks run in order and share one install; each prints its result.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { io as ioClient, type Socket } from 'socket.io-client';
import { SOCKET_PATH, type BalanceDTO, type LedgerEntryDTO, type StatementItemDTO, type StatementPageDTO, type StatementUsageDTO } from '@solaris/wire';
import { startFakeUpstream, type FakeUpstream, type ServedAnswer } from '../../server-extension/src/dev/fake-upstream';
import { freePort } from '../../server-extension/src/dev/free-port';
import { launchChromium, percentOf } from '../../client-components/test/e2e/harness';
import { installLikeOperator, kitDir, setupKit, type LaneInstall } from './install';
import { LibreChatClient, startLibreChat, type LibreChat, type Session } from './librechat';
import { readProcessEnv, startReplica, type Replica } from './replica';

const SHOTS = join(__dirname, '..', '..', 'test-artifacts', 'librechat-lane');
const REDIS_URL = process.env.SOLARIS_LANE_REDIS_URL ?? 'redis://127.0.0.1:6379/11';
const PASSWORD = 'lane-password-123';
const run = Date.now().toString(36);

let kit: string;
let root: string;
let litellm: FakeUpstream; // stands in for LiteLLM behind the proxy
let direct: FakeUpstream; // a provider LibreChat calls directly (reports usage on every stream)
let inst: LaneInstall;
let lc: LibreChat;
let api: LibreChatClient;
let replica: Replica | null = null;
let browser: Browser;
const contexts: BrowserContext[] = [];
const sockets: Socket[] = [];
const who: Record<'admin' | 'ana' | 'bia' | 'caio' | 'duda', Session> = {} as never;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(fn: () => Promise<T> | T, ok: (v: T) => boolean, ms = 10_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms (last: ${JSON.stringify(v)?.slice(0, 400)})`);
    await sleep(100);
  }
}

const balanceOf = async (s: Session): Promise<BalanceDTO> => (await api.solaris(s, 'GET', '/balance')).json as BalanceDTO;
/** Every ledger row of the caller's current period (all pages). */
/** `items`: the usage rows; `lines`: every line of the account, newest first (usage, grants, resets, …). */
async function statementOf(s: Session): Promise<{ items: LedgerEntryDTO[]; lines: StatementItemDTO[]; totals: StatementPageDTO['totals'] }> {
  const lines: StatementItemDTO[] = [];
  let cursor: string | null = null;
  let totals: StatementPageDTO['totals'] | null = null;
  do {
    const page: StatementPageDTO = (await api.solaris(s, 'GET', `/statement?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).json;
    totals ??= page.totals;
    lines.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  const items = lines.filter((x): x is StatementUsageDTO => x.kind === 'usage');
  return { items, lines, totals: totals! };
}
/** Waits until nothing is reserved and the counter stopped moving (LibreChat records a turn after its stream ends). */
async function settled(s: Session): Promise<BalanceDTO> {
  let last = -1;
  return until(
    async () => {
      const b = await balanceOf(s);
      const stable = b.reserved === 0 && b.used === last;
      last = b.used;
      await sleep(stable ? 0 : 300);
      return { b, stable };
    },
    (x) => x.stable,
    15_000,
    'settled balance',
  ).then((x) => x.b);
}
const pairs = (xs: Array<{ promptTokens: number; completionTokens: number }>) => xs.map((x) => `${x.promptTokens}/${x.completionTokens}`).sort();
const served = (f: FakeUpstream, userId: string, from: number): ServedAnswer[] => f.served.slice(from).filter((a) => a.user === userId);

/** Prompt text of `tokens` tokens for both the fake upstream (4 characters a token) and the gate's tokenizer. */
const filler = (tokens: number) => ' the'.repeat(Math.max(1, Math.round(tokens)));

function connectSocket(base: string, cookie: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = ioClient(base, { path: SOCKET_PATH, transports: ['websocket'], extraHeaders: { cookie }, reconnection: false, timeout: 5_000 });
    sockets.push(s);
    s.once('connect', () => resolve(s));
    s.once('connect_error', (e) => reject(e));
  });
}

async function openBrowser(locale: 'pt-BR' | 'en'): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale });
  // LibreChat's own language setting (localStorage `lang`), as a user who picked it in LibreChat's settings.
  await ctx.addInitScript((lang) => localStorage.setItem('lang', JSON.stringify(lang)), locale === 'en' ? 'en-US' : 'pt-BR');
  contexts.push(ctx);
  return ctx.newPage();
}
/** LibreChat's login page, as a user types it; returns ms from the login click to the counter being visible. */
async function loginInBrowser(page: Page, s: Session, retry = true): Promise<number> {
  try {
    return await loginOnce(page, s);
  } catch (e) {
    // Seen under heavy machine load: LibreChat's SPA reached /c/new, then went back to /login. Say so, try once more.
    if (!retry) throw e;
    log(`${s.email}: login did not complete (${(e as Error).message.split('\n')[0]}; at ${page.url()}); logging in again`);
    return loginInBrowser(page, s, false);
  }
}
async function loginOnce(page: Page, s: Session): Promise<number> {
  await page.goto(`${lc.url}/login`);
  await page.locator('#email').fill(s.email);
  await page.locator('#password').fill(s.password);
  const t0 = Date.now();
  await page.getByTestId('login-button').click();
  await page.waitForURL(/\/c\//, { timeout: 20_000 });
  const landed = Date.now() - t0;
  await page.getByTestId('solaris-counter').waitFor({ state: 'visible', timeout: 20_000 });
  log(`${s.email}: LibreChat showed the chat ${landed} ms after the login click`);
  return Date.now() - t0;
}
const counterOf = (page: Page) => page.getByTestId('solaris-counter');
const log = (...a: unknown[]) => console.log('[lane]', ...a);
/** Runs node asynchronously (the fake upstreams live in this process and must keep answering). */
function runNode(node: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(node, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => resolve({ code, out }));
  });
}

beforeAll(async () => {
  kit = kitDir();
  root = setupKit(kit);
  [litellm, direct] = await Promise.all([startFakeUpstream(), startFakeUpstream({ mode: 'usage-always' })]);
  const port = await freePort();
  inst = await installLikeOperator({ port, litellmUrl: litellm.url, directUrl: direct.url, redisUrl: REDIS_URL });
  lc = startLibreChat(kit, { port, mongoPort: await freePort(), config: inst.configFile, envFile: inst.envFile });
  api = new LibreChatClient(lc.url);
  // The first registration on an empty LibreChat is its ADMIN.
  for (const [k, name] of [['admin', 'Admin Lane'], ['ana', 'Ana Lane'], ['bia', 'Bia Lane'], ['caio', 'Caio Lane'], ['duda', 'Duda Lane']] as const) {
    const email = `${k}-${run}@lane.test`;
    await api.register(name, email, PASSWORD);
    who[k] = await api.login(email, PASSWORD);
  }
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  if (replica) await replica.terminate(5_000);
  if (lc) {
    const solarisLines = lc.log().split('\n').filter((l) => /solaris/i.test(l) && /error|warn/i.test(l));
    if (solarisLines.length) log(`plugin warnings/errors in LibreChat's log (${lc.stateDir}/librechat.log):\n` + solarisLines.slice(-20).join('\n'));
    lc.stop();
  }
  await litellm?.close();
  await direct?.close();
  if (inst) {
    await inst.dropDatabase();
    if (!process.env.SOLARIS_LANE_KEEP) rmSync(inst.lc, { recursive: true, force: true });
  }
  if (lc && !process.env.SOLARIS_LANE_KEEP) rmSync(lc.stateDir, { recursive: true, force: true });
}, 60_000);

describe('Solaris inside a real LibreChat v0.8.7, installed as docs/operators.md says', () => {
  // Ana (pt-BR) and Duda (en) stay logged in in their browser pages from the login checks on.
  let ana: Page;
  let duda: Page;
  afterEach(async (ctx) => {
    if (ctx.task.result?.state !== 'fail') return;
    mkdirSync(SHOTS, { recursive: true });
    const name = ctx.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
    for (const [who, page] of [['ana', ana], ['duda', duda]] as const) {
      if (page && !page.isClosed()) await page.screenshot({ path: join(SHOTS, `${name}-${who}.png`) }).catch(() => undefined);
    }
    log(`screenshots of the failed check in ${SHOTS}`);
  });

  it('install: the plugin is active, `doctor` passes and the documented install serves the widget', async () => {
    expect(lc.log()).toMatch(/Solaris token control active/);
    expect(lc.log()).not.toMatch(/preload failed|token control is OFF/);
    // Step 5: `docker compose exec api node /solaris/server/cli.cjs doctor` = the api process's environment.
    const apiEnv = { ...readProcessEnv(lc.stateDir), ...inst.env };
    const doctor = await runNode(`${apiEnv.PATH!.split(':')[0]}/node`, [`${inst.lc}/solaris/server/cli.cjs`, 'doctor'], apiEnv);
    log('doctor:\n' + doctor.out);
    expect(doctor.code).toBe(0);
    expect(doctor.out).not.toContain('✘');
    const w = await fetch(`${lc.url}/solaris/widget.js`);
    expect(w.status).toBe(200);
    expect(w.headers.get('content-type')).toMatch(/javascript/);
    expect((await w.text()).length).toBeGreaterThan(10_000);
    const html = await (await fetch(`${lc.url}/c/new`)).text();
    expect(html.split('<script src="/solaris/widget.js" defer></script>')).toHaveLength(2);
  });

  it('the counter is visible after login, in pt-BR (time from login and from page load printed)', async () => {
    const page = await openBrowser('pt-BR');
    ana = page;
    const afterLogin = await loginInBrowser(page, who.ana);
    const t0 = Date.now();
    await page.reload();
    await counterOf(page).waitFor({ state: 'visible', timeout: 20_000 });
    const afterLoad = Date.now() - t0;
    log(`counter visible ${afterLogin} ms after the login click, ${afterLoad} ms after a page load`);
    await expect.poll(() => counterOf(page).getAttribute('aria-label')).toMatch(/^Uso de tokens: 0%/);
    expect(afterLoad).toBeLessThan(10_000);
  });

  it('the counter is visible after login, in en', async () => {
    const page = await openBrowser('en');
    duda = page;
    const ms = await loginInBrowser(page, who.duda);
    log(`counter (en) visible ${ms} ms after the login click`);
    await expect.poll(() => counterOf(page).getAttribute('aria-label')).toMatch(/^Token usage: 0%/);
  });

  it('a chat through the proxied endpoint is charged exactly once, with the upstream’s usage', async () => {
    const from = litellm.served.length;
    const before = (await statementOf(who.ana)).items.length;
    const r = await api.chat(who.ana, 'IA SOLARIS', 'Olá! Explique em uma frase o que é uma cota de tokens.', 'gpt-4o-mini');
    expect(r.status).toBe(200);
    expect(r.final).toBeTruthy();
    const b = await settled(who.ana);
    const up = served(litellm, who.ana.user.id, from);
    expect(up.length).toBe(2); // the answer (streamed) and LibreChat's title (non-streamed)
    expect(up.every((a) => a.usageReported)).toBe(true);
    const rows = (await statementOf(who.ana)).items.slice(0, (await statementOf(who.ana)).items.length - before);
    log('proxied: upstream served', pairs(up), '→ ledger', pairs(rows));
    expect(pairs(rows)).toEqual(pairs(up));
    expect(rows.every((x) => !x.estimated)).toBe(true);
    expect(b.used).toBe(up.reduce((s, a) => s + a.promptTokens + a.completionTokens, 0));
  });

  it('a chat through a direct endpoint (not through the proxy) is charged exactly once, with the upstream’s usage', async () => {
    const from = direct.served.length;
    const used0 = (await settled(who.ana)).used;
    const before = (await statementOf(who.ana)).items.length;
    const r = await api.chat(who.ana, 'Direct', 'E o que acontece quando ela acaba?');
    expect(r.status).toBe(200);
    const b = await settled(who.ana);
    const up = served(direct, who.ana.user.id, from);
    expect(up.length).toBe(1);
    const all = (await statementOf(who.ana)).items;
    const rows = all.slice(0, all.length - before);
    log('direct: upstream served', pairs(up), '→ ledger', pairs(rows));
    expect(pairs(rows)).toEqual(pairs(up));
    expect(b.used - used0).toBe(up[0]!.promptTokens + up[0]!.completionTokens);
    // LibreChat built its o200k tokenizer on its first chat: the gate now reads it (no rank tables of ours).
    expect(lc.log()).toMatch(/the gate's estimate uses LibreChat's o200k tokenizer/);
  });

  it('the counter updates live (no reload) when a chat is charged', async () => {
    // A limit the lane can move in few chats: the admin sets it (audited like any admin action).
    const set = await api.solaris(who.admin, 'PUT', `/admin/users/${who.ana.user.id}/limit`, { limit: 10_000 });
    expect(set.status).toBe(200);
    const before = await percentOf(counterOf(ana));
    const navigations: string[] = [];
    ana.on('framenavigated', (f) => f === ana.mainFrame() && navigations.push(f.url()));
    expect((await api.chat(who.ana, 'Direct', filler(1500))).status).toBe(200);
    const b = await settled(who.ana);
    await expect.poll(() => percentOf(counterOf(ana)), { timeout: 10_000 }).toBe(b.percent);
    log(`counter ${before}% → ${b.percent}% without a reload`);
    expect(b.percent).toBeGreaterThan(before);
    expect(navigations).toEqual([]);
  });

  it('the 80 % warning shows once per period', async () => {
    const warning = ana.getByTestId('solaris-warning-modal');
    const b0 = await settled(who.ana);
    // up to ~76 %, then a chat that crosses 80 %
    expect((await api.chat(who.ana, 'Direct', filler(Math.max(10, 7_600 - b0.used - 30)))).status).toBe(200);
    await settled(who.ana);
    expect(await warning.isVisible()).toBe(false);
    expect((await api.chat(who.ana, 'Direct', filler(600))).status).toBe(200);
    const b1 = await settled(who.ana);
    expect(b1.percent).toBeGreaterThanOrEqual(80);
    await expect.poll(() => warning.isVisible(), { timeout: 10_000 }).toBe(true);
    log(`warning shown at ${b1.percent}%: "${(await warning.innerText()).replace(/\s+/g, ' ').slice(0, 160)}"`);
    await warning.getByRole('button', { name: 'Entendi' }).click();
    await expect.poll(() => warning.isVisible()).toBe(false);
    // more usage in the same period: no second warning
    expect((await api.chat(who.ana, 'Direct', filler(200))).status).toBe(200);
    await settled(who.ana);
    await sleep(1_000);
    expect(await warning.isVisible()).toBe(false);
  });

  it('back-to-back chats of one user are all admitted and each charged once (a turn frees its hold as it ends)', async () => {
    const from = direct.served.length;
    const used0 = (await settled(who.bia)).used;
    for (let i = 0; i < 6; i++) {
      const r = await api.chat(who.bia, 'Direct', `Pergunta ${i + 1}, logo em seguida.`);
      expect(r.status, `chat ${i + 1}: ${r.body.slice(0, 200)}`).toBe(200); // SOLARIS_MAX_INFLIGHT is 4
    }
    const b = await settled(who.bia);
    const up = served(direct, who.bia.user.id, from);
    expect(up).toHaveLength(6);
    expect(b.used - used0).toBe(up.reduce((t, a) => t + a.promptTokens + a.completionTokens, 0));
  });

  it('a chat is admitted while the quota is not used up (not refused before 100 %)', async () => {
    // The issue's case: a 1,200-token quota must not refuse a short chat at ~25 % used.
    const caio = who.caio;
    expect((await api.solaris(who.admin, 'PUT', `/admin/users/${caio.user.id}/limit`, { limit: 10_000 })).status).toBe(200);
    expect((await api.chat(caio, 'Direct', filler(280))).status).toBe(200);
    await settled(caio);
    expect((await api.solaris(who.admin, 'PUT', `/admin/users/${caio.user.id}/limit`, { limit: 1_200 })).status).toBe(200);
    const b = await balanceOf(caio);
    log(`caio: ${b.used}/${b.limit} used (${b.percent}%), sending a short chat`);
    const r = await api.chat(caio, 'Direct', 'Uma pergunta curta.');
    expect(r.status, `refused at ${b.percent}%: ${r.body}`).toBe(200);
    // The last answers of the quota through the proxied endpoint: the gate holds all that is left for the turn, and
    // the proxy (LibreChat's own endpoint) must not hold it again and answer 402 (an error bubble instead).
    const left = await settled(caio);
    const from = litellm.served.length;
    log(`caio: ${left.used}/${left.limit} used, a chat through the proxied endpoint`);
    const p = await api.chat(caio, 'IA SOLARIS', 'E mais uma, curta.', 'gpt-4o-mini');
    expect(p.status).toBe(200);
    const after = await settled(caio);
    const up = served(litellm, caio.user.id, from);
    expect(up.length, `the proxy served nothing: ${JSON.stringify(p.final)?.slice(0, 300)}`).toBeGreaterThanOrEqual(1);
    expect(after.used).toBeGreaterThan(left.used);
  });

  it('at 100 % a chat is refused with 0 upstream calls: LibreChat’s own error text (no raw JSON) and our block modal', async () => {
    const b0 = await settled(who.ana);
    // The admin lowers the limit to what was used: exactly 100 %.
    expect((await api.solaris(who.admin, 'PUT', `/admin/users/${who.ana.user.id}/limit`, { limit: b0.used })).status).toBe(200);
    await expect.poll(() => counterOf(ana).getAttribute('data-state'), { timeout: 10_000 }).toBe('blocked');
    const calls = litellm.requests.length + direct.requests.length;
    await ana.goto(`${lc.url}/c/new`);
    await counterOf(ana).waitFor({ state: 'visible' });
    const input = ana.getByTestId('text-input');
    await input.fill('Esta mensagem deve ser recusada antes de chegar ao modelo.');
    await ana.getByTestId('send-button').click();
    const blocked = ana.getByTestId('solaris-blocked-modal');
    await expect.poll(() => blocked.isVisible(), { timeout: 15_000 }).toBe(true);
    const bubble = ana.getByText(/Insufficient Funds/);
    await expect.poll(() => bubble.first().isVisible(), { timeout: 15_000 }).toBe(true);
    const text = await ana.locator('main').innerText();
    log(`LibreChat shows: "${(await bubble.first().innerText()).trim()}"`);
    expect(text).not.toMatch(/\{"|"type"|token_balance|Something went wrong/);
    expect(await blocked.innerText()).toMatch(/100\s?%|cota|limite/i);
    await sleep(500);
    expect(litellm.requests.length + direct.requests.length).toBe(calls);
    // API clients get the same refusal, also with no upstream call
    const r = await api.chat(who.ana, 'IA SOLARIS', 'outra', 'gpt-4o-mini');
    expect(r.status).toBe(402);
    expect(JSON.parse(r.body)).toMatchObject({ type: 'token_balance', reason: 'quota_exceeded' });
    expect(JSON.parse(r.body)).not.toHaveProperty('code');
    expect(litellm.requests.length + direct.requests.length).toBe(calls);
  });

  it('the statement and its CSV agree with the counter', async () => {
    const b = await settled(who.ana);
    const st = await statementOf(who.ana);
    expect(st.totals.weightedTokens).toBe(b.used);
    expect(st.items.reduce((s, x) => s + x.weightedTokens, 0)).toBe(b.used);
    expect(st.lines[0]!.balanceAfter).toBe(b.limit + b.granted - b.used);
    const csv = await api.solaris(who.ana, 'GET', '/statement.csv');
    expect(csv.status).toBe(200);
    const lines = csv.text.replace(/^\uFEFF/, '').trim().split(/\r?\n/);
    const header = lines[0]!.split(';');
    const [wCol, idCol] = [header.indexOf('tokens_ponderados'), header.indexOf('id_requisicao')];
    // Usage lines only (the CSV also lists the account's grants, resets and limit changes, with their own ids).
    const kindCol = header.indexOf('lancamento');
    const csvRows = lines
      .slice(1)
      .map((l) => l.split(';'))
      .filter((c) => c[idCol] && (c[kindCol] === 'Uso' || c[kindCol] === 'Título da conversa'));
    expect(csvRows.map((c) => c[idCol]).sort()).toEqual(st.items.map((x) => x.requestId).sort());
    expect(csvRows.reduce((s, c) => s + Number(c[wCol]), 0)).toBe(b.used);
    log(`statement: ${st.items.length} rows, ${st.totals.weightedTokens} tokens = counter ${b.used}; CSV ${csvRows.length} rows`);
  });

  it('an admin grant unblocks the user live and is in the audit log', async () => {
    const blocked = ana.getByTestId('solaris-blocked-modal');
    const g = await api.solaris(who.admin, 'POST', `/admin/users/${who.ana.user.id}/grants`, { tokens: 5_000, reason: 'lane: liberação' });
    expect(g.status).toBe(200);
    await expect.poll(() => counterOf(ana).getAttribute('data-state'), { timeout: 10_000 }).not.toBe('blocked');
    await expect.poll(() => blocked.isVisible(), { timeout: 10_000 }).toBe(false);
    expect((await api.chat(who.ana, 'Direct', 'De volta!')).status).toBe(200);
    const audit = await api.solaris(who.admin, 'GET', '/admin/audit?limit=50');
    const entry = (audit.json.items as Array<Record<string, unknown>>).find((e) => e.action === 'grant' && JSON.stringify(e).includes(who.ana.user.id));
    expect(entry, JSON.stringify(audit.json).slice(0, 500)).toBeTruthy();
    expect(JSON.stringify(entry)).toContain(who.admin.user.id);
  });

  it('the 80 % warning shows again after an admin reset in the same period', async () => {
    const warning = ana.getByTestId('solaris-warning-modal');
    expect((await api.solaris(who.admin, 'PUT', `/admin/users/${who.ana.user.id}/limit`, { limit: 10_000 })).status).toBe(200);
    // The previous check's chat is settled first: a turn that LibreChat records after a reset made while it was
    // still being answered is counted by the live counter but dated before the reset by the statement (a known
    // gap, see the closing note of session 6), which is not what this check is about.
    await settled(who.ana);
    const r = await api.solaris(who.admin, 'POST', `/admin/users/${who.ana.user.id}/reset`, { reason: 'lane' });
    expect(r.status).toBe(200);
    await expect.poll(() => percentOf(counterOf(ana)), { timeout: 10_000 }).toBe(0);
    // 10,000 + 5,000 granted: cross 80 % of 15,000 in two chats
    expect((await api.chat(who.ana, 'Direct', filler(7_000))).status).toBe(200);
    await settled(who.ana);
    expect(await warning.isVisible()).toBe(false);
    expect((await api.chat(who.ana, 'Direct', filler(5_300))).status).toBe(200);
    const b = await settled(who.ana);
    expect(b.percent).toBeGreaterThanOrEqual(80);
    await expect.poll(() => warning.isVisible(), { timeout: 10_000 }).toBe(true);
    log(`warning shown again at ${b.percent}% after the reset`);
  });

  it('after the reset, the statement’s newest "balance after" agrees with the counter', async () => {
    // issue #15 item 8 ("Saldo após" and totals after a reset)
    const b = await settled(who.ana);
    const st = await statementOf(who.ana);
    log(`newest balanceAfter ${st.lines[0]!.balanceAfter}, counter remaining ${b.limit + b.granted - b.used}`);
    for (const x of st.lines.slice(0, 8)) log(`  ${x.createdAt} ${x.kind} ${'context' in x ? String(x.context) : ''} ${'weightedTokens' in x ? x.weightedTokens : ''} ${'amount' in x ? x.amount : ''} after=${x.balanceAfter}`);
    expect(st.lines[0]!.balanceAfter).toBe(b.limit + b.granted - b.used);
  });

  it('user B cannot read user A’s data', async () => {
    const a = who.ana.user.id;
    for (const path of [`/admin/users/${a}`, `/admin/users/${a}/statement`, `/admin/users/${a}/statement.csv`, '/admin/users', '/admin/audit']) {
      const r = await api.solaris(who.bia, 'GET', path);
      expect(r.status, path).toBe(403);
    }
    const own = await statementOf(who.bia);
    const anaIds = new Set((await statementOf(who.ana)).items.map((x) => x.requestId));
    expect(own.items.some((x) => anaIds.has(x.requestId))).toBe(false);
    expect((await api.solaris(who.bia, 'GET', `/statement?userId=${a}`)).status).toBe(400);
    // B's socket never hears A's balance
    const s = await connectSocket(lc.url, who.bia.cookie);
    const heard: BalanceDTO[] = [];
    s.on('balance', (x: BalanceDTO) => heard.push(x));
    expect((await api.chat(who.ana, 'Direct', 'só para a Ana')).status).toBe(200);
    await settled(who.ana);
    await sleep(500);
    expect(heard.filter((x) => x.userId === a)).toEqual([]);
  });

  it('logout hides the widget and the cookie is refused at once (API and socket)', async () => {
    const page = duda;
    await expect.poll(() => counterOf(page).isVisible()).toBe(true);
    const cookies = await page.context().cookies();
    const cookie = cookies.filter((c) => c.name === 'refreshToken' || c.name === 'token_provider').map((c) => `${c.name}=${c.value}`).join('; ');
    expect((await api.solaris(null, 'GET', '/me', undefined, cookie)).status).toBe(200);
    (await connectSocket(lc.url, cookie)).close();
    await page.getByTestId('nav-user').click();
    const t0 = Date.now();
    await page.getByText(/^(Sair|Log out)$/).click();
    await page.waitForURL(/\/login/, { timeout: 15_000 });
    // at once: the next request with the old cookie
    const me = await api.solaris(null, 'GET', '/me', undefined, cookie);
    log(`old cookie refused ${Date.now() - t0} ms after the logout click: ${me.status}`);
    expect(me.status).toBe(401);
    await expect(connectSocket(lc.url, cookie)).rejects.toThrow();
    await expect.poll(() => counterOf(page).isVisible(), { timeout: 10_000 }).toBe(false);
  });

  it('two LibreChat processes sharing Redis and Postgres push each other’s balance changes', async () => {
    replica = await startReplica(lc.stateDir, root, await freePort());
    expect(replica.output()).toMatch(/Solaris token control active/);
    const onReplica = await connectSocket(replica.url, who.bia.cookie);
    const onFirst = await connectSocket(lc.url, who.bia.cookie);
    const heardReplica: BalanceDTO[] = [];
    const heardFirst: BalanceDTO[] = [];
    onReplica.on('balance', (x: BalanceDTO) => heardReplica.push(x));
    onFirst.on('balance', (x: BalanceDTO) => heardFirst.push(x));
    // a chat served by the first process → the replica's socket hears it
    expect((await api.chat(who.bia, 'Direct', 'primeiro processo')).status).toBe(200);
    const b1 = await settled(who.bia);
    await until(() => heardReplica.at(-1)?.used, (u) => u === b1.used, 10_000, 'replica push');
    // a chat served by the replica → the first process's socket hears it
    const viaReplica = new LibreChatClient(replica.url);
    expect((await viaReplica.chat(who.bia, 'Direct', 'segundo processo')).status).toBe(200);
    const b2 = await settled(who.bia);
    expect(b2.used).toBeGreaterThan(b1.used);
    await until(() => heardFirst.at(-1)?.used, (u) => u === b2.used, 10_000, 'first-process push');
    log(`balance pushed across processes: ${b1.used} (first → replica), ${b2.used} (replica → first)`);
  });

  it('SIGTERM with sockets open: the LibreChat process exits in < 5 s', async () => {
    expect(replica).toBeTruthy();
    for (const k of ['ana', 'bia', 'admin'] as const) await connectSocket(replica!.url, who[k].cookie);
    const r = await replica!.terminate(15_000);
    log(`SIGTERM → exit in ${r.ms} ms (code ${r.code}, signal ${r.signal})`);
    expect(r.ms).toBeLessThan(5_000);
    replica = null;
  });
});
