/**
 * bench:proxy's open-loop phase (issue 19): requests start on a fixed schedule whatever the servers answer, at a
 * fraction (BENCH_OPEN_FRACTION, default 0.5) of the rate the bare relay sustains (a short closed-loop saturation
 * probe), so the figures are what a user feels at a given load rather than at saturation. Latency is measured
 * from each request's scheduled start (no coordinated omission: a stalled server cannot slow the arrivals down).
 *
 * Also the child side of the tail measurement: inside a relay / proxy process, the time from the upstream's last
 * byte (undici's `request:trailers`) to the client response's `finish`, and for the proxy where that time goes
 * (settle queued → ledger write → commit → Lua → last write). Requests are matched by id: the upstream call's
 * `x-request-id` and the response's `x-solaris-request-id`.
 */
import diagnostics from 'node:diagnostics_channel';
import type { ChildProcess } from 'node:child_process';
import type { ServerResponse } from 'node:http';
import { Pool } from 'undici';
import { fixed, pct } from './_shared';

type Msg = { type: string; [k: string]: unknown };

// ---------------------------------------------------------------- child side: where the tail waits

/** Timestamps of one request inside a server, keyed by its request id. */
interface Tail {
  upEnd?: number;
  settle?: number;
  ledger0?: number;
  /** The INSERT carrying this row was sent to the pool / answered (after its commit). */
  insert0?: number;
  insert1?: number;
  ledger1?: number;
  lua0?: number;
  lua1?: number;
  settled?: number;
}
export const TAIL_SEGMENTS: Array<[string, keyof Tail | 'finish', keyof Tail | 'finish']> = [
  ['upstream last byte → client last write (total)', 'upEnd', 'finish'],
  ['upstream last byte → settle queued', 'upEnd', 'settle'],
  ['settle queued → ledger write called', 'settle', 'ledger0'],
  ['ledger write (batch wait + commit)', 'ledger0', 'ledger1'],
  ['  of which: waiting for a batch slot / the turn', 'ledger0', 'insert0'],
  ['  of which: its INSERT + commit (pool included)', 'insert0', 'insert1'],
  ['ledger committed → Lua called', 'ledger1', 'lua0'],
  ['settle queued → Lua called (outbox ack)', 'settle', 'lua0'],
  ['Lua round trip (settle / outbox append)', 'lua0', 'lua1'],
  ['Lua answered → settle resolved', 'lua1', 'settled'],
  ['settle resolved → client last write', 'settled', 'finish'],
];

const header = (h: unknown, name: string): string | undefined => {
  if (!Array.isArray(h)) return undefined;
  for (let i = 0; i < h.length; i += 2) if (String(h[i]).toLowerCase() === name) return String(h[i + 1]);
  return undefined;
};

export function createTailTracker(enabled: boolean) {
  const open = new Map<string, Tail>();
  const ids = new WeakMap<object, string>();
  let done: Array<Tail & { finish: number }> = [];
  const now = () => performance.now();
  const get = (id: string): Tail => {
    let t = open.get(id);
    if (!t) open.set(id, (t = {}));
    return t;
  };
  if (enabled) {
    diagnostics.subscribe('undici:request:create', (m) => {
      const { request } = m as { request: { headers: unknown } };
      const id = header(request.headers, 'x-request-id');
      if (id) ids.set(request, id);
    });
    diagnostics.subscribe('undici:request:trailers', (m) => {
      const id = ids.get((m as { request: object }).request);
      if (id) get(id).upEnd = now();
    });
  }
  return {
    enabled,
    /** Call first in the server's request listener. */
    onResponse(res: ServerResponse): void {
      if (!enabled) return;
      // The id travels in writeHead's object (not res.setHeader), which getHeader does not see.
      let id: unknown;
      const { writeHead } = res;
      res.writeHead = function (this: ServerResponse, ...a: unknown[]) {
        const h = a.find((x) => x && typeof x === 'object') as Record<string, unknown> | undefined;
        id = h?.['x-solaris-request-id'] ?? res.getHeader('x-solaris-request-id');
        return (writeHead as (...x: unknown[]) => ServerResponse).apply(this, a);
      } as typeof res.writeHead;
      res.once('finish', () => {
        if (typeof id !== 'string') return;
        const t = open.get(id);
        open.delete(id);
        if (t?.upEnd !== undefined && res.statusCode === 200) done.push({ ...t, finish: now() });
      });
    },
    mark(id: string, stage: Exclude<keyof Tail, 'upEnd'>): void {
      if (enabled) get(id)[stage] ??= now();
    },
    reset(): void {
      done = [];
      if (open.size > 10_000) open.clear();
    },
    /** Per segment: [label, p50, p99, n] in ms. */
    summary(): Array<[string, number, number, number]> {
      return TAIL_SEGMENTS.map(([label, a, b]) => {
        const xs = done.filter((t) => t[a] !== undefined && t[b] !== undefined).map((t) => t[b]! - t[a]!);
        return [label, pct(xs, 0.5), pct(xs, 0.99), xs.length];
      });
    },
  };
}
export type TailTracker = ReturnType<typeof createTailTracker>;

/**
 * Brackets the settlement's steps inside a proxy child from the outside (no instrumentation in the product):
 * engine.settleQueued, the Redis store's ledger writer, and the settle scripts on the proxy's ioredis client.
 */
export function traceSettle(tail: TailTracker, engine: { settleQueued: (r: { requestId: string }) => Promise<unknown>; store: unknown }, redis: unknown): void {
  if (!tail.enabled) return;
  const wrap = <A extends unknown[]>(obj: Record<string, unknown> | undefined, name: string, idOf: (a: A) => unknown, before: string, after: string) => {
    const fn = obj?.[name] as ((...a: A) => Promise<unknown>) | undefined;
    if (typeof fn !== 'function') return;
    obj![name] = function (this: unknown, ...a: A) {
      const id = idOf(a);
      if (typeof id !== 'string') return fn.apply(this, a);
      tail.mark(id, before as 'settle');
      return fn.apply(this, a).finally(() => tail.mark(id, after as 'settled'));
    };
  };
  wrap(engine as unknown as Record<string, unknown>, 'settleQueued', (a: [{ requestId: string }]) => a[0].requestId, 'settle', 'settled');
  const ledger = (engine.store as { ledger?: Record<string, unknown> }).ledger;
  wrap(ledger, 'write', (a: [{ requestId: string }]) => a[0]?.requestId, 'ledger0', 'ledger1');
  // The writer's INSERT (a named statement whose one parameter is the rows' JSON): every row of the batch.
  const pool = ledger?.pool as { query?: (...a: unknown[]) => Promise<unknown> } | undefined;
  const query = pool?.query;
  if (pool && typeof query === 'function') {
    pool.query = function (this: unknown, ...a: unknown[]) {
      const q = a[0] as { name?: string; values?: unknown[] } | undefined;
      if (q?.name !== 'solaris_ledger_insert_json') return query.apply(this, a);
      const ids = [...String(q.values?.[0]).matchAll(/"r":"([^"\\]*)"/g)].map((m) => m[1]!);
      for (const id of ids) tail.mark(id, 'insert0');
      return query.apply(this, a).finally(() => {
        for (const id of ids) tail.mark(id, 'insert1');
      });
    };
  }
  // solarisSettle(counter, reservations, marker, requestId, …) / solarisSettleOutbox(…, requestId, …)
  wrap(redis as Record<string, unknown>, 'solarisSettle', (a: unknown[]) => a[3], 'lua0', 'lua1');
  wrap(redis as Record<string, unknown>, 'solarisSettleOutbox', (a: unknown[]) => a[4], 'lua0', 'lua1');
}

// ---------------------------------------------------------------- parent side: the schedule

export interface OpenResult {
  completed: number;
  errors: number;
  /** Requests that had not finished when the window's drain limit passed. */
  unfinished: number;
  ttfb: number[];
  last: number[];
}

/**
 * `rate` requests per second for `ms`, each started at its scheduled time (or as soon after as the client's
 * event loop allows); TTFB and last byte are measured from the schedule. Users rotate over `users` ids.
 */
export async function openLoop(pool: Pool, key: string, body: string, rate: number, ms: number, users = 200): Promise<OpenResult> {
  const interval = 1000 / rate;
  const n = Math.max(1, Math.floor((ms / 1000) * rate));
  const start = performance.now() + 2;
  const ttfb: number[] = [];
  const last: number[] = [];
  let errors = 0;
  const inflight: Array<Promise<void>> = [];
  const one = async (i: number, t0: number): Promise<void> => {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-solaris-user-id': `bench-open-${i % users}` };
    try {
      const r = await pool.request({ method: 'POST', path: '/v1/chat/completions', headers, body });
      let first = 0;
      for await (const _chunk of r.body) if (!first) first = performance.now();
      const end = performance.now();
      if (r.statusCode !== 200) errors++;
      else {
        ttfb.push(first - t0);
        last.push(end - t0);
      }
    } catch {
      errors++;
    }
  };
  let i = 0;
  while (i < n) {
    const now = performance.now();
    for (; i < n && start + i * interval <= now; i++) inflight.push(one(i, start + i * interval));
    if (i >= n) break;
    const wait = start + i * interval - performance.now();
    await new Promise((r) => (wait >= 1 ? setTimeout(r, Math.floor(wait)) : setImmediate(r)));
  }
  const limit = new Promise<void>((r) => setTimeout(r, 10_000).unref());
  await Promise.race([Promise.all(inflight), limit]);
  return { completed: ttfb.length, errors, unfinished: n - ttfb.length - errors, ttfb: [...ttfb], last: [...last] };
}

// ---------------------------------------------------------------- parent side: the phase

export interface OpenTarget {
  name: string;
  url: string;
  child: ChildProcess;
  /** Has the tail tracker (this build's relay / proxy). */
  tail?: boolean;
}

export interface OpenPhaseDeps {
  key: string;
  body: string;
  ask(child: ChildProcess, type: string, reply: string, extra?: Record<string, unknown>): Promise<Msg>;
  /** Closed-loop saturation run: requests per second. */
  saturate(url: string, concurrency: number, ms: number): Promise<number>;
}

const f = (n: number, d = 1) => fixed(n, d);
const pad = (s: string, n: number) => s.padStart(n);

/**
 * Probe (relay at saturation), then ROUNDS alternating windows of every target at the same fixed rate; prints
 * one row per target and the targets of issue 19 for each metering path. Returns the summary lines.
 */
export async function runOpenPhase(targets: OpenTarget[], d: OpenPhaseDeps): Promise<string[]> {
  const seconds = Number(process.env.BENCH_OPEN_SECONDS ?? 4);
  const rounds = Number(process.env.BENCH_OPEN_ROUNDS ?? 3);
  const fraction = Number(process.env.BENCH_OPEN_FRACTION ?? 0.5);
  const probeConc = Number(process.env.BENCH_PROBE_CONCURRENCY ?? 200);
  const relay = targets.find((t) => t.name === 'relay')!;
  let sustained = Number(process.env.BENCH_OPEN_RATE ?? 0) / fraction;
  if (!sustained) {
    await d.saturate(relay.url, probeConc, 1_000); // warm-up
    sustained = await d.saturate(relay.url, probeConc, 3_000);
  }
  const rate = Math.round(sustained * fraction);
  console.log(`\n== open loop: relay sustains ${f(sustained, 0)} req/s (${probeConc} closed-loop streams, 3 s); offered ${rate} req/s (${fraction} ×) to every path, ${rounds} alternating rounds of ${seconds} s`);

  const pools = new Map(targets.map((t) => [t.name, new Pool(t.url, { connections: 2048, pipelining: 1, keepAliveTimeout: 60_000 })]));
  const res = new Map<string, OpenResult & { cpuMs: number }>();
  const traced = process.env.BENCH_TRACE === '1' ? targets.filter((t) => t.tail) : [];
  try {
    for (const t of targets) await openLoop(pools.get(t.name)!, d.key, d.body, rate, 1_000); // warm-up: connections, JIT
    for (const t of targets) if (t.tail) await d.ask(t.child, 'tail-reset', 'tail-reset');
    for (const t of traced) await d.ask(t.child, 'trace-reset', 'trace-reset');
    // BENCH_PROF_WINDOW=name,…: CPU profiles of those children over the measured windows only.
    const profiled = targets.filter((t) => t.tail && (process.env.BENCH_PROF_WINDOW ?? '').split(',').includes(t.name));
    for (const t of profiled) await d.ask(t.child, 'prof-start', 'prof-start', { name: t.name });
    for (let round = 0; round < rounds; round++) {
      // Rotate the order each round so no path always runs right after the same neighbour.
      const order = targets.map((_, k) => targets[(k + round) % targets.length]!);
      for (const t of order) {
        const cpu0 = Number((await d.ask(t.child, 'cpu', 'cpu')).ms);
        const r = await openLoop(pools.get(t.name)!, d.key, d.body, rate, seconds * 1000);
        const cpuMs = Number((await d.ask(t.child, 'cpu', 'cpu')).ms) - cpu0;
        const prev = res.get(t.name);
        res.set(
          t.name,
          prev
            ? { completed: prev.completed + r.completed, errors: prev.errors + r.errors, unfinished: prev.unfinished + r.unfinished, ttfb: prev.ttfb.concat(r.ttfb), last: prev.last.concat(r.last), cpuMs: prev.cpuMs + cpuMs }
            : { ...r, cpuMs },
        );
        await new Promise((r2) => setTimeout(r2, 300));
      }
    }
    for (const t of profiled) await d.ask(t.child, 'prof-stop', 'prof-stop', { name: t.name });
  } finally {
    await Promise.all([...pools.values()].map((p) => p.close()));
  }

  const direct = res.get('direct')!;
  const rl = res.get('relay')!;
  const cpuPer = (r: OpenResult & { cpuMs: number }) => r.cpuMs / Math.max(1, r.completed + r.errors);
  const tails = new Map<string, Array<[string, number, number, number]>>();
  for (const t of targets) if (t.tail) tails.set(t.name, (await d.ask(t.child, 'tail', 'tail')).segments as Array<[string, number, number, number]>);
  console.log(
    `${'path'.padEnd(15)}${pad('done/s', 8)}${pad('err', 5)}${pad('CPU ms/req', 12)}${pad('× relay', 9)}${pad('TTFB p50', 10)}${pad('p99', 8)}` +
      `${pad('+TTFB p50', 11)}${pad('+p99', 8)}${pad('last p50', 10)}${pad('p99', 8)}${pad('+last p50', 11)}${pad('+p99', 8)}${pad('tail in server p50/p99', 24)}`,
  );
  for (const t of targets) {
    const r = res.get(t.name)!;
    const isDirect = t.name === 'direct';
    const add = (a: number[], b: number[], q: number) => (isDirect ? NaN : pct(a, q) - pct(b, q));
    const tail = tails.get(t.name)?.[0];
    console.log(
      `${t.name.padEnd(15)}${pad(f(r.completed / (rounds * seconds), 0), 8)}${pad(String(r.errors + r.unfinished), 5)}${pad(f(cpuPer(r), 3), 12)}${pad(isDirect ? '—' : f(cpuPer(r) / cpuPer(rl), 2), 9)}` +
        `${pad(f(pct(r.ttfb, 0.5), 2), 10)}${pad(f(pct(r.ttfb, 0.99)), 8)}${pad(f(add(r.ttfb, direct.ttfb, 0.5), 2), 11)}${pad(f(add(r.ttfb, direct.ttfb, 0.99)), 8)}` +
        `${pad(f(pct(r.last, 0.5), 2), 10)}${pad(f(pct(r.last, 0.99)), 8)}${pad(f(add(r.last, direct.last, 0.5), 2), 11)}${pad(f(add(r.last, direct.last, 0.99)), 8)}` +
        `${pad(tail && tail[3] ? `${f(tail[1], 2)}/${f(tail[2], 1)}` : '—', 24)}`,
    );
  }
  for (const [name, segs] of tails) {
    if (name === 'relay') continue;
    console.log(`\nwhere ${name}'s tail waits (ms, p50 / p99, n), upstream's last byte → the client's`);
    // The outbox-only segment is the sum of the ledger ones when the ledger segments have samples.
    const viaLedger = segs.some(([label, , , n]) => label.startsWith('ledger write') && n > 0);
    for (const [label, p50, p99, n] of segs) if (n && !(viaLedger && label.includes('outbox ack'))) console.log(`  ${label.padEnd(52)}${pad(`${f(p50, 2)} / ${f(p99, 1)}`, 16)}${pad(String(n), 7)}`);
  }
  if (traced.length) {
    // BENCH_TRACE=1: the first byte's stages inside each server at this load (see createTracer).
    console.log(`\nper-request stages to the first byte (ms, p50 / p99), open loop ${rate}/s`);
    const segs = await Promise.all(traced.map(async (t) => (await d.ask(t.child, 'trace', 'trace')).segments as Array<[string, number, number, number, number]>));
    console.log(`${'segment'.padEnd(52)}${traced.map((t) => pad(t.name, 18)).join('')}`);
    for (let i = 0; i < (segs[0]?.length ?? 0); i++) {
      const cells = segs.map((x) => pad(x[i]![4] ? `${f(x[i]![1], 2)} / ${f(x[i]![3], 1)}` : '—', 18));
      console.log(`${segs[0]![i]![0].padEnd(52)}${cells.join('')}`);
    }
  }
  const summary: string[] = [];
  const relayAdded = pct(rl.ttfb, 0.5) - pct(direct.ttfb, 0.5);
  for (const t of targets) {
    if (t.name === 'direct' || t.name === 'relay') continue;
    const r = res.get(t.name)!;
    const cpuRatio = cpuPer(r) / cpuPer(rl);
    const ttfbOver = pct(r.ttfb, 0.5) - pct(direct.ttfb, 0.5) - relayAdded;
    const lastAfter = pct(r.last, 0.5) - pct(direct.last, 0.5);
    const tail = tails.get(t.name)?.[0];
    summary.push(
      `open loop ${rate}/s, ${t.name}: CPU/req × ${f(cpuRatio, 2)} relay (≤ 1.3: ${cpuRatio <= 1.3 ? 'ok' : 'MISSED'}), ` +
        `+TTFB p50 ${f(ttfbOver, 2)} ms over the relay's (≤ 1: ${ttfbOver <= 1 ? 'ok' : 'MISSED'}), ` +
        // Per request, the upstream's last byte → the client's last write is the in-server tail; the client-side
        // difference to direct's last byte also carries the added TTFB (the whole stream starts later).
        (tail && tail[3]
          ? `last byte p50 ${f(tail[1], 2)} / p99 ${f(tail[2], 1)} ms after the upstream's (≤ 5: ${tail[1] <= 5 ? 'ok' : 'MISSED'}; client side +${f(lastAfter, 2)} ms vs direct's)`
          : `last byte p50 +${f(lastAfter, 2)} ms vs direct's (client side; no in-server tail for this build)`),
    );
  }
  return summary;
}
