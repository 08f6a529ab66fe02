/**
 * The statement as a true account (issue #18, #15 item 8): every change of the balance is a line, each line's
 * balance-after is the previous one plus its amount, and the summary, the counter and the statement agree.
 * Real Postgres and Redis; the property test runs random sequences of usage, grants (some expiring), resets,
 * limit overrides, plan assignments, plan limit edits and clock jumps across period boundaries, on both stores.
 */
import fc from 'fast-check';
import type { AccountLineDTO, BalanceDTO, StatementItemDTO, StatementPageDTO, StatementUsageDTO } from '@solaris/wire';
import { createTestEngine, type TestEngine } from './helpers/engine';

const ADMIN = { id: 'admin-1' };
const MIN = 60_000;
const DAY = 86_400_000;

async function allLines(t: TestEngine, userId: string, pageSize = 50, query: Record<string, string> = {}): Promise<StatementItemDTO[]> {
  const out: StatementItemDTO[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 500; pages++) {
    const page: StatementPageDTO = await t.engine.statement(userId, { ...query, limit: pageSize, cursor });
    expect(page.items.length).toBeLessThanOrEqual(pageSize);
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
    if (!cursor) break;
  }
  return out;
}

const usageOf = (items: StatementItemDTO[]) => items.filter((i): i is StatementUsageDTO => i.kind === 'usage');
const linesOf = (items: StatementItemDTO[], kind: AccountLineDTO['kind']) => items.filter((i): i is AccountLineDTO => i.kind === kind);

/**
 * The account's rules, on the lines of every period: the period opens with its starting balance, then each line's
 * balance-after is the previous line's plus its amount; usage subtracts its weighted tokens, a grant adds its
 * tokens, an expiry takes them back, a reset gives back what was used.
 */
function checkAddsUp(items: StatementItemDTO[]): void {
  const ids = items.map((i) => i.id);
  expect(new Set(ids).size, 'no line twice').toBe(ids.length);
  const byPeriod = new Map<string, StatementItemDTO[]>();
  for (const i of items) byPeriod.set(i.periodKey, [...(byPeriod.get(i.periodKey) ?? []), i]);
  for (const [period, newestFirst] of byPeriod) {
    const lines = [...newestFirst].reverse();
    expect(lines[0]!.kind, `${period} opens with its starting balance`).toBe('period_start');
    expect(lines[0]!.amount).toBe(lines[0]!.balanceAfter);
    expect(lines.filter((l) => l.kind === 'period_start')).toHaveLength(1);
    for (let k = 1; k < lines.length; k++) {
      const l = lines[k]!;
      expect(l.balanceAfter, `${period} line ${k} (${l.kind} ${l.id}) adds up`).toBe(lines[k - 1]!.balanceAfter + l.amount);
      if (l.kind === 'usage') expect(l.amount).toBe(-l.weightedTokens);
      if (l.kind === 'grant') expect(l.amount).toBe(l.tokens);
      if (l.kind === 'grant_expiry') expect(l.amount).toBe(-l.tokens!);
      if (l.kind === 'reset') expect(l.amount).toBeGreaterThanOrEqual(0);
    }
  }
}

/** Summary = counter = the newest line of the current period. */
async function checkAgrees(t: TestEngine, userId: string, items: StatementItemDTO[]): Promise<BalanceDTO> {
  const b = await t.engine.balance(userId);
  const page = await t.engine.statement(userId, { limit: 1 });
  expect(page.totals.account).toEqual({ periodKey: b.periodKey, limit: b.limit, granted: b.granted, used: b.used, balance: b.remaining + b.reserved });
  const top = items.find((i) => i.periodKey === b.periodKey);
  expect(top, 'the current period has at least its opening line').toBeDefined();
  expect(top!.balanceAfter, 'the newest line of the period is the counter').toBe(b.remaining + b.reserved);
  // The period's own view (filtered by period) has the same account.
  expect((await t.engine.statement(userId, { period: b.periodKey, limit: 1 })).totals.account).toEqual(page.totals.account);
  return b;
}

type Cmd =
  | { k: 'use'; tokens: number; title: boolean }
  | { k: 'grant'; tokens: number; expiresInMs: number | null }
  | { k: 'reset' }
  | { k: 'override'; limit: number | null }
  | { k: 'plan'; plan: 'pa' | 'pb' }
  | { k: 'planLimit'; plan: 'pa' | 'pb'; limit: number }
  | { k: 'advance'; ms: number };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('use' as const), tokens: fc.integer({ min: 1, max: 400 }), title: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('grant' as const),
      tokens: fc.integer({ min: 1, max: 600 }),
      expiresInMs: fc.option(fc.integer({ min: 1, max: 3 * DAY }), { nil: null }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ k: 'reset' as const }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('override' as const), limit: fc.option(fc.integer({ min: 0, max: 2000 }), { nil: null }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('plan' as const), plan: fc.constantFrom('pa' as const, 'pb' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant('planLimit' as const), plan: fc.constantFrom('pa' as const, 'pb' as const), limit: fc.integer({ min: 0, max: 3000 }) }),
  },
  {
    weight: 2,
    // Minutes, days, or a jump past the end of the month.
    arbitrary: fc.record({ k: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 1, max: 90 * MIN }), fc.integer({ min: DAY, max: 20 * DAY })) }),
  },
);

for (const store of ['postgres', 'redis'] as const) {
  describe(`statement as an account (${store} store)`, () => {
    let t: TestEngine;
    beforeAll(async () => {
      t = await createTestEngine({ store });
      await t.engine.admin.upsertPlan({ id: 'pa', name: 'A', tokenLimit: 1000, period: 'month' }, ADMIN);
      await t.engine.admin.upsertPlan({ id: 'pb', name: 'B', tokenLimit: 300, period: 'month' }, ADMIN);
    });
    afterAll(async () => t?.cleanup());

    let run = 0;
    async function apply(userId: string, c: Cmd, charged: Map<string, number>, n: number): Promise<void> {
      switch (c.k) {
        case 'use': {
          const id = `${userId}-r${n}`;
          const r = await t.engine.settle({
            userId, requestId: id, model: 'm', promptTokens: c.tokens, completionTokens: 0, source: 'librechat', context: c.title ? 'title' : 'message',
          });
          charged.set(id, r.entry.balanceAfter!);
          break;
        }
        case 'grant':
          await t.engine.admin.grant(
            { userId, tokens: c.tokens, expiresAt: c.expiresInMs === null ? null : new Date(t.clock() + c.expiresInMs).toISOString() },
            ADMIN,
          );
          break;
        case 'reset':
          await t.engine.admin.reset({ userId, reason: 'teste' }, ADMIN);
          break;
        case 'override':
          await t.engine.admin.setLimitOverride({ userId, limit: c.limit }, ADMIN);
          break;
        case 'plan':
          await t.engine.admin.assignPlan({ userId, planId: c.plan }, ADMIN);
          break;
        case 'planLimit':
          await t.engine.admin.upsertPlan({ id: c.plan, name: c.plan.toUpperCase(), tokenLimit: c.limit, period: 'month' }, ADMIN);
          break;
        case 'advance':
          t.clock.advance(c.ms);
          break;
      }
      // Distinct instants: at one instant the account orders lines by kind, not by when they were made.
      t.clock.advance(1 + (n % 7));
    }

    it('random sequences: every line adds up, each usage line shows the balance the counter had right after it, summary = counter = statement', async () => {
      const started = Date.now();
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(cmdArb, { minLength: 1, maxLength: 24 }), fc.integer({ min: 1, max: 7 }), async (cmds, pageSize) => {
          runs++;
          const userId = `acct-${store}-${run++}`;
          const charged = new Map<string, number>();
          for (let n = 0; n < cmds.length; n++) await apply(userId, cmds[n]!, charged, n);
          const items = await allLines(t, userId, pageSize);
          checkAddsUp(items);
          await checkAgrees(t, userId, items);
          // Each usage line: the balance the counter showed right after that request (the limit and grants then).
          const usage = usageOf(items);
          expect(usage.map((u) => u.requestId).sort()).toEqual([...charged.keys()].sort());
          for (const u of usage) expect(u.balanceAfter, u.requestId).toBe(charged.get(u.requestId));
          for (const u of usage) expect(u.context).toMatch(/^(title|message)$/);
          expect(linesOf(items, 'grant')).toHaveLength(cmds.filter((c) => c.k === 'grant').length);
          expect(linesOf(items, 'reset')).toHaveLength(cmds.filter((c) => c.k === 'reset').length);
          // Paged or not, the same lines in the same order.
          expect((await allLines(t, userId, 200)).map((i) => i.id)).toEqual(items.map((i) => i.id));
        }),
        { numRuns: Number(process.env.STATEMENT_PROPERTY_RUNS ?? 40), endOnFailure: true },
      );
      console.log(`statement property (${store} store): ${runs} runs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }, 240_000);
  });
}

describe('statement as an account: the cases users reported', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await createTestEngine({ store: 'redis' });
    await t.engine.admin.upsertPlan({ id: 'tiny', name: 'Tiny', tokenLimit: 100, period: 'month' }, ADMIN);
  });
  afterAll(async () => t?.cleanup());
  const use = (userId: string, id: string, tokens: number, context: string | null = null) => {
    t.clock.advance(1000);
    return t.engine.settle({ userId, requestId: id, model: 'm', promptTokens: tokens, completionTokens: 0, source: 'librechat', context });
  };

  it('grants are lines: "Saldo após" goes −6 → +94 → +594 → 563, never jumps', async () => {
    const u = 'rep-grants';
    await t.engine.admin.assignPlan({ userId: u, planId: 'tiny' }, ADMIN);
    await use(u, 'g-1', 106);
    t.clock.advance(1000);
    await t.engine.admin.grant({ userId: u, tokens: 100, reason: 'pedido' }, ADMIN);
    t.clock.advance(1000);
    await t.engine.admin.grant({ userId: u, tokens: 500, reason: 'pedido' }, ADMIN);
    await use(u, 'g-2', 31);
    const items = await allLines(t, u);
    expect(items.map((i) => [i.kind, i.amount, i.balanceAfter])).toEqual([
      ['usage', -31, 563],
      ['grant', 500, 594],
      ['grant', 100, 94],
      ['usage', -106, -6],
      ['period_start', 100, 100],
    ]);
    checkAddsUp(items);
    await checkAgrees(t, u, items);
  });

  it('after "Zerar uso" the summary says what the counter says (used since the reset), and the reset is a line', async () => {
    const u = 'rep-reset';
    await use(u, 'z-1', 196);
    t.clock.advance(1000);
    await t.engine.admin.reset({ userId: u, reason: 'suporte' }, ADMIN);
    let page = await t.engine.statement(u, {});
    expect(page.totals.weightedTokens).toBe(196); // usage of the filter: every row, resets included
    expect(page.totals.account.used).toBe(0);
    expect((await t.engine.balance(u)).used).toBe(0);
    expect(page.items[0]).toMatchObject({ kind: 'reset', amount: 196, reason: 'suporte' });
    await use(u, 'z-2', 196);
    page = await t.engine.statement(u, {});
    expect(page.totals.account.used).toBe((await t.engine.balance(u)).used);
    expect(page.totals.account.used).toBe(196);
    checkAddsUp(page.items);
  });

  it('a title generation is named as such, apart from the message of the same chat', async () => {
    const u = 'rep-title';
    await t.engine.settle({ userId: u, requestId: 'lc:msg', model: 'm', promptTokens: 42, completionTokens: 6, source: 'librechat', conversationId: 'c1', messageId: 'm1', context: 'message' });
    await t.engine.settle({ userId: u, requestId: 'lc:title', model: 'm', promptTokens: 42, completionTokens: 6, source: 'librechat', conversationId: 'c1', messageId: 'm1', context: 'title' });
    const usage = usageOf((await t.engine.statement(u, {})).items);
    expect(Object.fromEntries(usage.map((i) => [i.requestId, i.context]))).toEqual({ 'lc:msg': 'message', 'lc:title': 'title' });
  });

  it('"Saldo após" keeps the limit in force when the request was made; the change of limit is a line', async () => {
    const u = 'rep-limit';
    await use(u, 'l-1', 100); // default plan: 100,000
    t.clock.advance(1000);
    await t.engine.admin.setLimitOverride({ userId: u, limit: 41 }, ADMIN);
    const items = await allLines(t, u);
    expect(items.map((i) => [i.kind, i.amount, i.balanceAfter])).toEqual([
      ['limit', 41 - 100_000, -59],
      ['usage', -100, 99_900],
      ['period_start', 100_000, 100_000],
    ]);
    expect(items[0]).toMatchObject({ limitBefore: 100_000, limitAfter: 41, reason: 'limit' });
    await checkAgrees(t, u, items);
  });

  it('a plan limit edited by raw SQL (not through the API) is a line too', async () => {
    const u = 'rep-sql';
    await t.engine.admin.assignPlan({ userId: u, planId: 'tiny' }, ADMIN);
    await use(u, 's-1', 10);
    t.clock.advance(1000);
    // An operator's UPDATE (stamped with this test's clock, which is not the wall clock; without the stamp the
    // change is dated now()).
    await t.db.pool.query(
      `WITH clock AS (SELECT set_config('solaris.now', $1, false)) UPDATE plans SET token_limit = 150 FROM clock WHERE id = 'tiny'`,
      [new Date(t.clock()).toISOString()],
    );
    await t.db.pool.query(`SELECT set_config('solaris.now', '', false)`);
    await t.engine.store.invalidate(u);
    const items = await allLines(t, u);
    expect(items[0]).toMatchObject({ kind: 'limit', amount: 50, balanceAfter: 140, limitBefore: 100, limitAfter: 150, reason: 'plan_limit' });
    checkAddsUp(items);
  });
});
