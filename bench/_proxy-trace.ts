/**
 * bench:proxy diagnostics that run inside the server children: the per-request stage trace (BENCH_TRACE=1) and
 * the measured-window CPU profile (BENCH_PROF_WINDOW).
 */
import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pct } from './_shared';

// ---------------------------------------------------------------- per-request trace (BENCH_TRACE=1)

/**
 * Stage timestamps of each request inside a relay / proxy child, taken from the outside so the proxy's
 * code carries no instrumentation: the server's request event, the request body's end, the engine's
 * reserve call (wrapped), undici's diagnostics channels for the upstream call, and the first
 * res.write. Requests are matched by user (each bench client has one request in flight at a time).
 */
type Stage = 'arrive' | 'body' | 'reserve' | 'reserved' | 'upCreate' | 'upSent' | 'upHeaders' | 'upFirst' | 'head' | 'first';
type Trace = Partial<Record<Stage, number>>;
/** Segments reported: [label, from, to]. */
export const SEGMENTS: Array<[string, Stage, Stage]> = [
  ['arrive→body read', 'arrive', 'body'],
  ['body→reserve call (parse, checks, estimate)', 'body', 'reserve'],
  ['reserve round trip', 'reserve', 'reserved'],
  ['reserved→upstream request created', 'reserved', 'upCreate'],
  ['body→upstream request created (relay: no reserve)', 'body', 'upCreate'],
  ['created→headers on the socket', 'upCreate', 'upSent'],
  ['sent→upstream response headers', 'upSent', 'upHeaders'],
  ['upstream headers→first upstream chunk', 'upHeaders', 'upFirst'],
  ['first upstream chunk→first client write', 'upFirst', 'first'],
  ['arrive→first client write (total)', 'arrive', 'first'],
];

export function createTracer(enabled: boolean) {
  const open = new Map<string, Trace>(); // user → trace of its request in flight
  const byKey = new Map<string, Trace>(); // upstream x-request-id → trace
  const upstream = new WeakMap<object, Trace>();
  let done: Trace[] = [];
  const now = () => performance.now();
  if (enabled) {
    const header = (h: unknown, name: string): string | undefined => {
      if (!Array.isArray(h)) return undefined;
      for (let i = 0; i < h.length; i += 2) if (String(h[i]).toLowerCase() === name) return String(h[i + 1]);
      return undefined;
    };
    diagnostics.subscribe('undici:request:create', (m) => {
      const { request } = m as { request: { headers: unknown } };
      const t = byKey.get(header(request.headers, 'x-request-id') ?? '');
      if (!t) return;
      t.upCreate = now();
      upstream.set(request, t);
    });
    diagnostics.subscribe('undici:client:sendHeaders', (m) => {
      const t = upstream.get((m as { request: object }).request);
      if (t) t.upSent = now();
    });
    diagnostics.subscribe('undici:request:headers', (m) => {
      const t = upstream.get((m as { request: object }).request);
      if (t) t.upHeaders = now();
    });
    diagnostics.subscribe('undici:request:bodyChunkReceived', (m) => {
      const t = upstream.get((m as { request: object }).request);
      if (t && t.upFirst === undefined) t.upFirst = now();
    });
  }
  return {
    enabled,
    /** Called first in the server's request listener. */
    onRequest(req: IncomingMessage, res: ServerResponse): void {
      if (!enabled) return;
      const user = String(req.headers['x-solaris-user-id'] ?? '');
      const t: Trace = { arrive: now() };
      open.set(user, t);
      req.once('end', () => (t.body = now()));
      const { writeHead, write } = res;
      res.writeHead = function (this: ServerResponse, ...a: unknown[]) {
        t.head ??= now();
        return (writeHead as (...x: unknown[]) => ServerResponse).apply(this, a);
      } as typeof res.writeHead;
      res.write = function (this: ServerResponse, ...a: unknown[]) {
        t.first ??= now();
        return (write as (...x: unknown[]) => boolean).apply(this, a);
      } as typeof res.write;
      res.once('close', () => {
        if (open.get(user) === t) open.delete(user);
        for (const [k, v] of byKey) if (v === t) byKey.delete(k);
        if (res.statusCode === 200) done.push(t);
      });
    },
    /** The upstream request of `user`'s request in flight will carry x-request-id `key`. */
    link(user: string, key: string): Trace | undefined {
      const t = open.get(user);
      if (t) byKey.set(key, t);
      return t;
    },
    reset(): void {
      done = [];
    },
    /** Per segment: [label, p50, p90, p99, n] in ms. */
    summary(): Array<[string, number, number, number, number]> {
      return SEGMENTS.map(([label, a, b]) => {
        const xs = done.filter((t) => t[a] !== undefined && t[b] !== undefined).map((t) => t[b]! - t[a]!);
        return [label, pct(xs, 0.5), pct(xs, 0.9), pct(xs, 0.99), xs.length];
      });
    },
  };
}
export type Tracer = ReturnType<typeof createTracer>;

/**
 * BENCH_PROF_WINDOW: a CPU profile of the open loop's measured windows only (no start-up, no probe), written to
 * bench-profiles/<name>-window.cpuprofile.
 */
let profSession: import('node:inspector').Session | null = null;
export async function windowProfile(start: boolean, name: string): Promise<void> {
  const inspector = await import('node:inspector');
  const post = (method: string) =>
    new Promise<unknown>((resolve, reject) => profSession!.post(method, (err, r) => (err ? reject(err) : resolve(r))));
  if (start) {
    profSession = new inspector.Session();
    profSession.connect();
    await post('Profiler.enable');
    await post('Profiler.start');
    return;
  }
  if (!profSession) return;
  const { profile } = (await post('Profiler.stop')) as { profile: unknown };
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync('bench-profiles', { recursive: true });
  writeFileSync(`bench-profiles/${name}-window.cpuprofile`, JSON.stringify(profile));
  profSession.disconnect();
  profSession = null;
}
