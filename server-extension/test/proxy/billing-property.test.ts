/**
 * The billing invariant, attacked at random (fast-check) against the REAL proxy with real Redis / Postgres
 * (harness.ts) and the fake upstream: random bodies, conversation / message ids, limits (max_tokens variants,
 * bad types), n, stream / non-stream, stream_options, Idempotency-Key replays (sequential and concurrent),
 * client aborts mid-stream and upstream faults. After each scenario, for each user:
 *   - every answer the upstream completed with usage is charged exactly once, to that user, with exactly the
 *     upstream's tokens; one without usage is charged once as estimated; a refused or failed call is not charged;
 *   - no request id reached the upstream twice (replays never call again);
 *   - no hold is left behind, the counter equals the ledger, no settlement failed;
 *   - no 5xx unless the upstream itself failed.
 */
import fc from 'fast-check';
import type { FakeMode } from '../../src/dev/fake-upstream';
import { PROXY_KEY, startProxyStack, type ProxyStack } from './harness';

type Fault = Extract<FakeMode, 'normal' | 'error-4xx' | 'error-5xx' | 'fail-mid-stream' | 'no-usage' | 'usage-always'>;

interface Req {
  user: number;
  route: 'chat' | 'completions';
  stream: unknown;
  streamOptions: unknown;
  limits: Record<string, unknown>;
  n: unknown;
  content: string;
  conv: string;
  msg: string;
  key: string | null;
  burst: number;
  abortAfter: number | null;
  fault: Fault;
}

const headerText = (max: number) => fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: max });
const UNSET = Symbol('unset');

const reqArb: fc.Arbitrary<Req> = fc.record({
  user: fc.integer({ min: 0, max: 2 }),
  route: fc.constantFrom('chat' as const, 'chat' as const, 'completions' as const),
  stream: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 2 }, fc.constant(UNSET), fc.constant('true')),
  streamOptions: fc.oneof({ arbitrary: fc.constant(UNSET as unknown), weight: 3 }, fc.constantFrom({ include_usage: true }, {}, 'x' as unknown, { include_usage: false })),
  limits: fc.oneof(
    { arbitrary: fc.constant({}), weight: 3 },
    fc.record({ max_tokens: fc.integer({ min: 1, max: 5_000 }) }),
    fc.record({ max_completion_tokens: fc.integer({ min: 1, max: 5_000 }) }),
    fc.record({ max_completion_tokens: fc.integer({ min: 1, max: 50 }), max_tokens: fc.integer({ min: 1, max: 5_000 }) }),
    fc.constantFrom<Record<string, unknown>>({ max_tokens: '5000' }, { max_tokens: -1 }, { max_tokens: 1.5 }, { max_tokens: null }),
  ),
  n: fc.oneof({ arbitrary: fc.constant(UNSET as unknown), weight: 4 }, fc.constantFrom(1, 2, '2' as unknown)),
  content: fc.string({ maxLength: 300 }),
  conv: fc.oneof(headerText(40), headerText(600)),
  msg: fc.oneof(headerText(40), headerText(300)),
  key: fc.oneof(fc.constant(null), fc.constantFrom('k0', 'k1')),
  burst: fc.constantFrom(1, 1, 2),
  abortAfter: fc.oneof(fc.constant(null), fc.integer({ min: 1, max: 6 })),
  fault: fc.constantFrom<Fault>('normal', 'normal', 'normal', 'usage-always', 'error-4xx', 'error-5xx', 'fail-mid-stream', 'no-usage'),
});

const scenarioArb = fc.record({
  limits: fc.tuple(...[0, 1, 2].map(() => fc.constantFrom(150, 1_500, 100_000))),
  reqs: fc.array(reqArb, { minLength: 2, maxLength: 7 }),
});

function bodyOf(r: Req): string {
  const b: Record<string, unknown> = { model: 'fake-model', ...r.limits };
  if (r.route === 'chat') b.messages = [{ role: 'user', content: r.content }];
  else b.prompt = r.content;
  if (r.stream !== UNSET) b.stream = r.stream;
  if (r.streamOptions !== UNSET) b.stream_options = r.streamOptions;
  if (r.n !== UNSET) b.n = r.n;
  return JSON.stringify(b);
}

/** Sends one request; reads the answer (or aborts after `abortAfter` chunks). Returns status and request id. */
async function send(s: ProxyStack, r: Req, userId: string): Promise<{ status: number; requestId: string | null }> {
  const ac = new AbortController();
  const headers: Record<string, string> = { authorization: `Bearer ${PROXY_KEY}`, 'content-type': 'application/json', 'x-solaris-user-id': userId };
  if (r.conv) headers['x-solaris-conversation-id'] = r.conv;
  if (r.msg) headers['x-solaris-message-id'] = r.msg;
  if (r.key) headers['idempotency-key'] = r.key;
  const res = await fetch(`${s.url}/v1/${r.route === 'chat' ? 'chat/completions' : 'completions'}`, { method: 'POST', headers, body: bodyOf(r), signal: ac.signal });
  const requestId = res.headers.get('x-solaris-request-id');
  const reader = res.body!.getReader();
  let chunks = 0;
  try {
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
      if (r.abortAfter !== null && res.headers.get('content-type')?.includes('event-stream') && ++chunks >= r.abortAfter) {
        ac.abort();
        break;
      }
    }
  } catch {
    // the proxy ended the stream with an error, or we aborted
  }
  return { status: res.status, requestId };
}

interface LedgerRow {
  request_id: string;
  user_id: string;
  total_tokens: string;
  weighted_tokens: string;
  estimated: boolean;
}

async function checkScenario(
  s: ProxyStack,
  users: string[],
  fromReq: number,
  fromServed: number,
  sent: Array<{ user: string; fault: Fault; status: number; requestId: string | null }>,
  callFaults: Array<{ id: string; spentBefore: boolean }>,
) {
  await s.proxy.drain();
  const calls = s.fake.requests.slice(fromReq).filter((q) => q.path !== '/v1/models');
  const callIds = calls.map((q) => String(q.headers['x-litellm-call-id']));
  // A request id reaches the upstream again only when nothing was charged or served for it before (the upstream
  // refused or failed at once, the key's claim dropped): a replay of anything served or charged never calls again.
  for (const c of callFaults) expect(c.spentBefore, `request id ${c.id} sent upstream again after it was charged or served`).toBe(false);
  const served = s.fake.served.slice(fromServed);
  expect(new Set(served.map((a) => a.callId)).size).toBe(served.length);
  const { rows } = await s.te.db.pool.query<LedgerRow>('SELECT request_id, user_id, total_tokens, weighted_tokens, estimated FROM ledger WHERE user_id = ANY($1)', [users]);
  const byId = new Map(rows.map((r) => [r.request_id, r]));
  expect(byId.size).toBe(rows.length); // one row per request id
  // Whose request each id was (from the proxy's answers).
  const owner = new Map<string, string>();
  for (const x of sent) if (x.requestId) owner.set(x.requestId, x.user);
  for (const row of rows) {
    expect(callIds, `charged without an upstream call: ${row.request_id}`).toContain(row.request_id);
    if (owner.has(row.request_id)) expect(row.user_id).toBe(owner.get(row.request_id));
  }
  for (const a of served) {
    const row = byId.get(a.callId);
    expect(row, `served but not charged: ${a.callId}`).toBeDefined();
    if (a.usageReported) {
      expect(row!.estimated).toBe(false);
      expect(Number(row!.total_tokens)).toBe(a.promptTokens + a.completionTokens);
    } else expect(row!.estimated).toBe(true);
  }
  // Calls that never produced anything (the upstream refused) are not charged.
  const servedIds = new Set(served.map((a) => a.callId));
  for (const x of sent) {
    if (x.requestId && (x.fault === 'error-4xx' || x.fault === 'error-5xx') && !servedIds.has(x.requestId)) expect(byId.has(x.requestId)).toBe(false);
    // No 5xx unless the upstream failed.
    if (x.status >= 500) expect(['error-5xx', 'fail-mid-stream']).toContain(x.fault);
  }
  for (const u of users) {
    const b = await s.te.engine.balance(u);
    expect(b.reserved, `hold left behind for ${u}`).toBe(0);
    const sum = rows.filter((r) => r.user_id === u).reduce((acc, r) => acc + Number(r.weighted_tokens), 0);
    expect(b.used).toBe(sum);
  }
}

describe.each(['redis', 'postgres'] as const)('billing invariant under random clients and faults (%s store)', (store) => {
  let s: ProxyStack;
  let run = 0;
  const stats = { runs: 0, requests: 0, statuses: new Map<number, number>() };
  beforeAll(async () => {
    s = await startProxyStack({ store, env: { SOLARIS_MAX_INFLIGHT: '100' }, fake: { chunks: 12 } });
  });
  afterAll(async () => {
    console.info(`[billing-property:${store}] ${stats.runs} runs, ${stats.requests} requests, statuses ${JSON.stringify(Object.fromEntries(stats.statuses))}`);
    await s?.close();
  });

  it('tokens served == tokens charged, once, to the right user; no hold left; no 5xx from client input', async () => {
    const t0 = Date.now();
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (sc) => {
        run++;
        stats.runs++;
        const users = sc.limits.map((_, i) => `bp-${store}-${run}-${i}`);
        for (const [i, limit] of sc.limits.entries()) await s.te.engine.admin.setLimitOverride({ userId: users[i]!, limit }, { id: 'property' });
        const fromReq = s.fake.requests.length;
        const fromServed = s.fake.served.length;
        const sent: Array<{ user: string; fault: Fault; status: number; requestId: string | null }> = [];
        const callFaults: Array<{ id: string; spentBefore: boolean }> = [];
        const spent = new Set<string>(); // ids charged or served by an earlier group
        for (const r of sc.reqs) {
          s.fake.options.mode = r.fault;
          const callsBefore = s.fake.requests.length;
          const user = users[r.user]!;
          const answers = await Promise.all(Array.from({ length: r.burst }, () => send(s, r, user)));
          for (const a of answers) {
            sent.push({ user, fault: r.fault, ...a });
            stats.requests++;
            stats.statuses.set(a.status, (stats.statuses.get(a.status) ?? 0) + 1);
          }
          await s.proxy.drain(); // the fault switch must not hit a settlement still running
          for (const q of s.fake.requests.slice(callsBefore)) {
            const id = String(q.headers['x-litellm-call-id']);
            callFaults.push({ id, spentBefore: spent.has(id) });
          }
          for (const a of s.fake.served.slice(fromServed)) spent.add(a.callId);
          const { rows } = await s.te.db.pool.query<{ request_id: string }>('SELECT request_id FROM ledger WHERE user_id = ANY($1)', [users]);
          for (const row of rows) spent.add(row.request_id);
        }
        s.fake.options.mode = 'normal';
        await checkScenario(s, users, fromReq, fromServed, sent, callFaults);
      }),
      { numRuns: 60, interruptAfterTimeLimit: 20_000 },
    );
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(/^solaris_proxy_settle_errors_total\s+(\d+)/m.exec(metrics)?.[1] ?? '0').toBe('0');
    console.info(`[billing-property:${store}] ${stats.runs} runs in ${Date.now() - t0} ms`);
    expect(stats.runs).toBeGreaterThanOrEqual(10);
  }, 60_000);
});
