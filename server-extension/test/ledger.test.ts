/**
 * The ledger (Postgres, the record): statement pages (keyset pagination, filters, totals, balance after
 * each row), the group-committing LedgerWriter, and append-only enforcement. Real Postgres.
 */
import type pg from 'pg';
import { SolarisError } from '../src/core/errors';
import { LedgerWriter, insertLedgerRows, toEntry } from '../src/core/ledger';
import { encodeCursor } from '../src/core/statement';
import type { StatementItemDTO, StatementUsageDTO } from '@solaris/wire';
import type { Settlement } from '../src/core/quota-store';
import { createTestEngine, type TestEngine } from './helpers/engine';

const ADMIN = { id: 'admin-1' };
const TZ = 'America/Sao_Paulo';

function settlement(requestId: string, userId: string, over: Partial<Settlement> = {}): Settlement {
  return {
    requestId, userId, model: 'm', promptTokens: 10, completionTokens: 5, weightedTokens: 15, cost: 0.001,
    source: 'proxy', estimated: false, occurredAt: Date.parse('2026-11-15T12:00:00-03:00'), ...over,
  };
}

/** The usage lines of a page (the account's other lines are tested in statement-account.test.ts). */
const usage = (items: StatementItemDTO[]): StatementUsageDTO[] => items.filter((i): i is StatementUsageDTO => i.kind === 'usage');

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => null, (e: unknown) => e);
}

describe('ledger', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await createTestEngine({ store: 'postgres' });
    await t.engine.admin.upsertPlan({ id: 'mini', name: 'Mini', tokenLimit: 1000, period: 'month' }, ADMIN);
  });
  afterAll(async () => t?.cleanup());

  describe('statement', () => {
    const u = 'stmt-user';
    const settle = (requestId: string, tokens: number, extra: { model?: string; conversationId?: string; occurredAt?: number } = {}) =>
      t.engine.settle({ userId: u, requestId, model: extra.model ?? 'm', promptTokens: tokens, completionTokens: 0, source: 'proxy', ...extra });

    beforeAll(async () => {
      await t.engine.admin.assignPlan({ userId: u, planId: 'mini' }, ADMIN);
      // October (previous period)
      await settle('oct-1', 30, { occurredAt: Date.parse('2026-10-10T10:00:00-03:00') });
      // November: 7 rows sharing one created_at, then a grant, more rows, a reset, more rows.
      const same = t.clock();
      for (let i = 0; i < 7; i++) await settle(`same-${i}`, 10, { occurredAt: same, model: i % 2 ? 'gpt-4o' : 'm', conversationId: i < 3 ? 'conv-a' : 'conv-b' });
      t.clock.advance(1000);
      await t.engine.admin.grant({ userId: u, tokens: 500, reason: 'bônus' }, ADMIN);
      t.clock.advance(1000);
      await settle('after-grant', 200);
      t.clock.advance(1000);
      await t.engine.admin.reset({ userId: u, reason: 'suporte' }, ADMIN);
      t.clock.advance(1000);
      await settle('after-reset', 50);
    });

    it('pages newest first with a keyset cursor: no duplicates, no gaps, even when rows share created_at', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await t.engine.statement(u, { limit: 3, cursor });
        expect(page.items.length).toBeLessThanOrEqual(3);
        seen.push(...usage(page.items).map((i) => i.requestId));
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(5); // 10 rows + 2 period openings + a grant + a reset = 14 lines / 3
      expect(seen).toHaveLength(10);
      expect(new Set(seen).size).toBe(10);
      expect(seen.slice(0, 2)).toEqual(['after-reset', 'after-grant']);
      expect(seen.at(-1)).toBe('oct-1');
      // Within the shared timestamp the order is seq descending.
      expect(seen.slice(2, 9)).toEqual(['same-6', 'same-5', 'same-4', 'same-3', 'same-2', 'same-1', 'same-0']);
    });

    it('filters by period, model, conversation and from/to; totals cover the whole filter, not the page', async () => {
      const nov = await t.engine.statement(u, { period: '2026-11', limit: 2 });
      expect(nov.items).toHaveLength(2);
      expect(nov.totals).toMatchObject({ requests: 9, promptTokens: 320, completionTokens: 0, weightedTokens: 320 });
      expect((await t.engine.statement(u, { period: '2026-10' })).items.filter((i) => i.kind === 'usage').map((i) => (i as StatementUsageDTO).requestId)).toEqual(['oct-1']);
      const byModel = await t.engine.statement(u, { model: 'gpt-4o' });
      expect(byModel.items.filter((i) => i.kind === 'usage').map((i) => (i as StatementUsageDTO).requestId)).toEqual(['same-5', 'same-3', 'same-1']);
      expect(byModel.totals.requests).toBe(3);
      const byConv = await t.engine.statement(u, { conversationId: 'conv-a' });
      expect(byConv.items.filter((i) => i.kind === 'usage').map((i) => (i as StatementUsageDTO).requestId).sort()).toEqual(['same-0', 'same-1', 'same-2']);
      const range = await t.engine.statement(u, { from: '2026-10-01T00:00:00-03:00', to: '2026-11-01T00:00:00-03:00' });
      expect(range.items.filter((i) => i.kind === 'usage').map((i) => (i as StatementUsageDTO).requestId)).toEqual(['oct-1']);
      expect((await t.engine.statement(u, { from: '2026-11-15T12:00:01-03:00' })).totals.requests).toBe(2);
      expect((await t.engine.statement(u, { model: 'nope' })).totals).toMatchObject({ requests: 0, promptTokens: 0, completionTokens: 0, weightedTokens: 0, cost: 0 });
    });

    it('gives each row the balance right after it (grants and resets of its period)', async () => {
      const page = await t.engine.statement(u, { limit: 50 });
      const after = Object.fromEntries(usage(page.items).map((i) => [i.requestId, i.balanceAfter]));
      expect(after['oct-1']).toBe(1000 - 30);
      expect(after['same-0']).toBe(1000 - 10); // seq order inside the shared timestamp
      expect(after['same-6']).toBe(1000 - 70);
      expect(after['after-grant']).toBe(1000 + 500 - 270);
      expect(after['after-reset']).toBe(1000 + 500 - 50);
      expect((await t.engine.balance(u)).remaining).toBe(after['after-reset']);
    });

    it('each item is the ledger row as the wire DTO: same values and types, createdAt to the millisecond (truncated)', async () => {
      // A row whose created_at has microseconds just below the next millisecond: .123999 must read .123 (as a
      // Date parsed from the row would), and the keyset cursor must still keep full precision.
      const micro = 'stmt-micro';
      await insertLedgerRows(t.db.pool, [settlement('micro-1', micro, { cost: 0.00042, estimated: true, conversationId: 'c-1', messageId: null })], TZ);
      await t.db.pool.query(`ALTER TABLE ledger DISABLE TRIGGER USER`);
      try {
        await t.db.pool.query(`UPDATE ledger SET created_at = '2026-11-15T12:00:00.123999-03:00' WHERE request_id = 'micro-1'`);
      } finally {
        await t.db.pool.query(`ALTER TABLE ledger ENABLE TRIGGER USER`);
      }
      await insertLedgerRows(t.db.pool, [settlement('micro-0', micro, { occurredAt: Date.parse('2026-11-15T11:00:00-03:00') })], TZ);
      const page = await t.engine.statement(micro, { limit: 1 });
      const { rows } = await t.db.pool.query(`SELECT * FROM ledger WHERE request_id = 'micro-1'`);
      const r = rows[0];
      expect(page.items).toEqual([
        {
          kind: 'usage', context: null, amount: -15,
          id: String(r.seq), requestId: 'micro-1', createdAt: '2026-11-15T15:00:00.123Z', model: 'm',
          promptTokens: 10, completionTokens: 5, totalTokens: 15, weightedTokens: 15, cost: 0.00042,
          source: 'proxy', estimated: true, conversationId: 'c-1', messageId: null, periodKey: '2026-11',
          balanceAfter: page.items[0]!.balanceAfter,
        },
      ]);
      expect(typeof page.items[0]!.balanceAfter).toBe('number');
      const next = await t.engine.statement(micro, { limit: 5, cursor: page.nextCursor! });
      expect(next.items.filter((i) => i.kind === 'usage').map((i) => (i as StatementUsageDTO).requestId)).toEqual(['micro-0']); // the .123999 row is not repeated
      expect(next.items.map((i) => i.kind)).toEqual(['usage', 'period_start']);
      expect(next.nextCursor).toBeNull();
    });

    it('the page text Postgres builds reads back as the stored rows: escapes, non-BMP text, costs at full scale', async () => {
      // The HTTP API sends statementJson's text as it is: every string must come out escaped, every cost as the
      // double the stored numeric reads as, and the text must be the DTO statement() returns.
      const who = 'stmt-text';
      const odd = ['quote " back \\ slash', 'tab\tnew\nline \u0001 \u001f', 'emoji 😀 acentuação', '</script><b>'];
      const costs = [0.0000001234, 12345.6789012345, 0, 1e-10];
      for (let i = 0; i < odd.length; i++) {
        await insertLedgerRows(
          t.db.pool,
          [settlement(`text-${i}`, who, { model: odd[i]!, conversationId: odd[(i + 1) % odd.length]!, messageId: i % 2 ? null : odd[i]!, cost: costs[i]!, occurredAt: Date.parse('2026-11-15T12:00:00-03:00') + i })],
          TZ,
        );
      }
      const text = await t.engine.statementJson(who, {});
      const page = JSON.parse(text) as Awaited<ReturnType<typeof t.engine.statement>>;
      expect(page).toEqual(await t.engine.statement(who, {}));
      const { rows } = await t.db.pool.query(`SELECT request_id, model, conversation_id, message_id, cost::text AS cost FROM ledger WHERE user_id = $1`, [who]);
      expect(usage(page.items)).toHaveLength(odd.length);
      for (const item of usage(page.items)) {
        const r = rows.find((x) => x.request_id === item.requestId)!;
        expect([item.model, item.conversationId, item.messageId]).toEqual([r.model, r.conversation_id, r.message_id]);
        expect(item.cost).toBe(Number(r.cost));
      }
      expect(page.items.filter((i) => i.kind === 'usage').map((i) => (i as StatementUsageDTO).requestId)).toEqual(['text-3', 'text-2', 'text-1', 'text-0']); // newest first
      expect(page.totals.requests).toBe(odd.length);
    });

    it('balance-after equals a brute-force recomputation on every page, with filters, resets and grants', async () => {
      // Two periods; in November resets and grants between rows, one reset at the very instant of a row (a reset
      // counts only for rows strictly after it), rows sharing one instant (ordered by seq).
      const bf = 'stmt-bf';
      await t.engine.admin.assignPlan({ userId: bf, planId: 'mini' }, ADMIN);
      const at = (iso: string) => Date.parse(iso);
      const row = (id: string, iso: string, tokens: number, model = 'm') =>
        insertLedgerRows(t.db.pool, [settlement(id, bf, { occurredAt: at(iso), model, promptTokens: tokens, completionTokens: 0, weightedTokens: tokens })], TZ);
      await row('o1', '2026-10-20T10:00:00-03:00', 40);
      await row('o2', '2026-10-21T10:00:00-03:00', 60, 'gpt-4o');
      const adjust = async (kind: 'grant' | 'reset', iso: string, tokens = 0) => {
        t.clock.set(iso);
        if (kind === 'grant') await t.engine.admin.grant({ userId: bf, tokens, reason: 'bf' }, ADMIN);
        else await t.engine.admin.reset({ userId: bf, reason: 'bf' }, ADMIN);
      };
      const saved = t.clock();
      try {
        await row('n1', '2026-11-02T10:00:00-03:00', 10);
        await row('n2', '2026-11-03T10:00:00-03:00', 20, 'gpt-4o');
        await adjust('grant', '2026-11-03T12:00:00-03:00', 300);
        await row('n3', '2026-11-04T10:00:00-03:00', 30);
        await row('n4', '2026-11-05T10:00:00-03:00', 40, 'gpt-4o');
        await adjust('reset', '2026-11-05T10:00:00-03:00'); // same instant as n4: n4 stays before it
        for (let i = 0; i < 5; i++) await row(`s${i}`, '2026-11-06T10:00:00-03:00', 5 + i, i % 2 ? 'gpt-4o' : 'm');
        await adjust('grant', '2026-11-07T00:00:00-03:00', 50);
        await row('n5', '2026-11-08T10:00:00-03:00', 70);
        await adjust('reset', '2026-11-09T00:00:00-03:00');
        await row('n6', '2026-11-10T10:00:00-03:00', 80, 'gpt-4o');
        await row('n7', '2026-11-11T10:00:00-03:00', 90);
      } finally {
        t.clock.set(saved);
      }
      const limit = (await t.engine.balance(bf)).limit;
      const { rows: ledger } = await t.db.pool.query(`SELECT seq, request_id, created_at, weighted_tokens, period_key FROM ledger WHERE user_id = $1`, [bf]);
      const { rows: adj } = await t.db.pool.query(`SELECT kind, tokens, period_key, created_at FROM adjustments WHERE user_id = $1`, [bf]);
      const t0 = (d: Date) => d.getTime();
      const resetsBefore = (p: string, ms: number) => adj.filter((a) => a.kind === 'reset' && a.period_key === p && t0(a.created_at) < ms).length;
      const expected = new Map<string, number>();
      for (const r of ledger) {
        const g = resetsBefore(r.period_key, t0(r.created_at));
        const used = ledger
          .filter((l) => l.period_key === r.period_key && resetsBefore(l.period_key, t0(l.created_at)) === g)
          .filter((l) => t0(l.created_at) < t0(r.created_at) || (t0(l.created_at) === t0(r.created_at) && Number(l.seq) <= Number(r.seq)))
          .reduce((a, l) => a + Number(l.weighted_tokens), 0);
        const granted = adj.filter((a) => a.kind === 'grant' && a.period_key === r.period_key && t0(a.created_at) <= t0(r.created_at)).reduce((a, x) => a + Number(x.tokens), 0);
        expected.set(r.request_id, limit + granted - used);
      }
      expect(expected.get('n4')).toBe(limit + 300 - (10 + 20 + 30 + 40)); // the reset at n4's instant comes after it
      expect(expected.get('s0')).toBe(limit + 300 - 5);
      for (const q of [{}, { model: 'gpt-4o' }, { period: '2026-11' }, { model: 'm', period: '2026-11' }]) {
        const seen: Array<[string, number | null]> = [];
        let cursor: string | undefined;
        do {
          const page = await t.engine.statement(bf, { ...q, limit: 3, cursor });
          seen.push(...usage(page.items).map((i) => [i.requestId, i.balanceAfter] as [string, number | null]));
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        expect(seen.length, JSON.stringify(q)).toBeGreaterThan(0);
        for (const [id, after] of seen) expect(after, `${id} ${JSON.stringify(q)}`).toBe(expected.get(id));
      }
    });

    it('a bad cursor or bad query is invalid_input, never a crash', async () => {
      for (const q of [
        { cursor: 'not-a-cursor' },
        { cursor: encodeCursor({ t: 'yesterday', s: 1 }) },
        { cursor: Buffer.from('{"t":"2026-11-15 12:00:00+00","s":"1; drop"}').toString('base64url') },
        { limit: 0 },
        { limit: 5000 },
        { limit: 2.5 },
        { from: 'ontem' },
        { to: '2026-13-45' },
      ]) {
        const e = await errorOf(t.engine.statement(u, q));
        expect(e, JSON.stringify(q)).toBeInstanceOf(SolarisError);
        expect((e as SolarisError).code).toBe('invalid_input');
      }
    });
  });

  describe('LedgerWriter', () => {
    /** The real pool, counting the ledger INSERT statements that go through it. */
    function countingPool(pool: pg.Pool) {
      const counter = { inserts: 0 };
      const proxy = new Proxy(pool, {
        get(target, prop, receiver) {
          if (prop === 'query') {
            return (q: string | pg.QueryConfig, values?: unknown[]) => {
              // The writer sends its INSERT as a named statement ({ name, text, values }).
              if (/INSERT INTO ledger/.test(typeof q === 'string' ? q : q.text)) counter.inserts++;
              return target.query(q as string, values);
            };
          }
          return Reflect.get(target, prop, receiver) as unknown;
        },
      });
      return { pool: proxy, counter };
    }

    it('groups many concurrent writes into few INSERT statements, each resolved after commit', async () => {
      const { pool, counter } = countingPool(t.db.pool);
      const writer = new LedgerWriter(pool, TZ);
      const results = await Promise.all(Array.from({ length: 300 }, (_, i) => writer.write(settlement(`lw-${i}`, `lw-user-${i % 7}`))));
      expect(results.every((r) => r.inserted)).toBe(true);
      expect(counter.inserts).toBeGreaterThan(0);
      expect(counter.inserts).toBeLessThanOrEqual(10);
      const { rows } = await t.db.pool.query(`SELECT count(*)::int AS n FROM ledger WHERE request_id LIKE 'lw-%'`);
      expect(rows[0].n).toBe(300);
      expect(results[0]!.row).toMatchObject({ request_id: 'lw-0', user_id: 'lw-user-0', period_key: '2026-11', total_tokens: 15 });
    });

    it('a bad row in a batch fails alone; its neighbours are written', async () => {
      const writer = new LedgerWriter(t.db.pool, TZ);
      const writes = [
        ...Array.from({ length: 5 }, (_, i) => writer.write(settlement(`nb-${i}`, 'nb-user'))),
        writer.write(settlement('nb-bad', 'nb-user', { source: 'bogus' as Settlement['source'] })), // violates a CHECK
        writer.write(settlement('nb-bad-2', 'nb-user', { promptTokens: -1 })),
        ...Array.from({ length: 5 }, (_, i) => writer.write(settlement(`nb-${i + 5}`, 'nb-user'))),
      ];
      const settled = await Promise.allSettled(writes);
      expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(10);
      expect(settled[5]!.status).toBe('rejected');
      expect(settled[6]!.status).toBe('rejected');
      const { rows } = await t.db.pool.query(`SELECT count(*)::int AS n FROM ledger WHERE user_id = 'nb-user'`);
      expect(rows[0].n).toBe(10);
    });

    it('a batch is written in request id order: seq follows it, whatever order the plan-kind joins produce', async () => {
      for (const [size, users] of [[3, 1], [7, 2], [40, 5], [300, 150]] as const) {
        const batch = Array.from({ length: size }, (_, i) => settlement(`ord-${size}-${String(i).padStart(4, '0')}`, `ord-user-${size}-${(i * 37) % users}`));
        await insertLedgerRows(t.db.pool, [...batch].reverse(), TZ);
        const { rows } = await t.db.pool.query(`SELECT request_id FROM ledger WHERE request_id LIKE $1 ORDER BY seq`, [`ord-${size}-%`]);
        expect(rows.map((r) => r.request_id), `batch of ${size}`).toEqual(batch.map((b) => b.requestId));
      }
    });

    it('returned rows equal the stored rows; text with lone surrogates is stored (as U+FFFD), not refused', async () => {
      const odd = settlement('wf-1', 'wf-user', { model: 'gpt\ud800x', conversationId: 'c\udfff', messageId: 'aspas "\\ e ção', cost: 0.000012345678912 });
      const plain = settlement('wf-2', 'wf-user', { estimated: true });
      const results = await insertLedgerRows(t.db.pool, [odd, plain], TZ);
      const { rows } = await t.db.pool.query(
        `SELECT seq, request_id, user_id, created_at, model, prompt_tokens, completion_tokens, total_tokens, weighted_tokens, cost,
                source, estimated, conversation_id, message_id, period_key FROM ledger WHERE user_id = 'wf-user' ORDER BY seq`,
      );
      expect(rows.map((r) => r.model)).toEqual(['gpt\ufffdx', 'm']);
      expect(rows[0].conversation_id).toBe('c\ufffd');
      expect(rows[0].message_id).toBe('aspas "\\ e ção');
      for (const stored of rows) {
        const { inserted, row } = results.get(stored.request_id)!;
        expect(inserted).toBe(true);
        expect(toEntry(row)).toEqual(toEntry(stored));
      }
    });

    it('duplicate ids in one batch → one row, one "inserted"', async () => {
      const writer = new LedgerWriter(t.db.pool, TZ);
      const results = await Promise.all([
        writer.write(settlement('dup-1', 'dup-user')),
        writer.write(settlement('dup-1', 'dup-user')),
        writer.write(settlement('dup-2', 'dup-user')),
        writer.write(settlement('dup-1', 'dup-user')),
      ]);
      expect(results.map((r) => r.inserted)).toEqual([true, false, true, false]);
      expect(new Set(results.slice(0, 2).map((r) => r.row.seq)).size).toBe(1);
      const again = await writer.write(settlement('dup-1', 'dup-user'));
      expect(again.inserted).toBe(false);
      const { rows } = await t.db.pool.query(`SELECT count(*)::int AS n FROM ledger WHERE user_id = 'dup-user'`);
      expect(rows[0].n).toBe(2);
      await writer.drain();
    });
  });

  it('is append-only: UPDATE and DELETE raise', async () => {
    await t.engine.settle({ userId: 'ao-user', requestId: 'ao-1', model: 'm', promptTokens: 1, completionTokens: 1, source: 'proxy' });
    await expect(t.db.pool.query(`UPDATE ledger SET weighted_tokens = 0 WHERE request_id = 'ao-1'`)).rejects.toThrow(/append-only/);
    await expect(t.db.pool.query(`DELETE FROM ledger WHERE request_id = 'ao-1'`)).rejects.toThrow(/append-only/);
    const { rows } = await t.db.pool.query(`SELECT weighted_tokens FROM ledger WHERE request_id = 'ao-1'`);
    expect(rows).toEqual([{ weighted_tokens: 2 }]);
  });
});
