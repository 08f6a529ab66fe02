/**
 * A real webhook receiver for tests: node:http + node:crypto, verifying signatures the way docs/webhooks.md
 * tells integrators to (independent of our signer module).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export type Behaviour = 'ok' | 500 | 'hang';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  json: { id?: string; type?: string; data?: Record<string, unknown>; text?: string };
  verified: boolean;
  at: number;
}

/** Stripe-style check: t=<ts>,v1=<hex hmac of "<ts>.<body>">, 5-minute replay window, constant-time compare. */
export function verify(secret: string, header: string | undefined, body: string, toleranceSec = 300): boolean {
  if (!header) return false;
  const fields = Object.fromEntries(header.split(',').map((kv) => kv.split('=') as [string, string]));
  const ts = Number(fields.t);
  if (!Number.isInteger(ts) || Math.abs(Date.now() / 1000 - ts) > toleranceSec) return false;
  const expected = createHmac('sha256', secret).update(`${ts}.${body}`).digest();
  const got = Buffer.from(fields.v1 ?? '', 'hex');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

export class Receiver {
  readonly received: Received[] = [];
  /** Responses to give, in order; when empty, `fallback`. */
  script: Behaviour[] = [];
  fallback: Behaviour = 'ok';
  secret = '';
  private server: Server;
  private waiters: { n: number; resolve: () => void }[] = [];
  url = '';

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json = {};
        try {
          json = JSON.parse(body);
        } catch {
          /* recorded as is */
        }
        const behaviour = this.script.shift() ?? this.fallback;
        this.received.push({ headers: req.headers, body, json, verified: verify(this.secret, req.headers['x-solaris-signature'] as string, body), at: Date.now() });
        for (const w of this.waiters.filter((w) => this.received.length >= w.n)) w.resolve();
        this.waiters = this.waiters.filter((w) => this.received.length < w.n);
        if (behaviour === 'hang') return; // never answers: the sender must time out
        res.writeHead(behaviour === 'ok' ? 200 : behaviour).end('ok');
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
    return this;
  }

  /** Resolves when `n` requests in total have arrived (or rejects after `ms`). */
  waitFor(n: number, ms = 10_000): Promise<void> {
    if (this.received.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`receiver got ${this.received.length}/${n} requests in ${ms} ms`)), ms);
      this.waiters.push({ n, resolve: () => (clearTimeout(t), resolve()) });
    });
  }

  reset(): void {
    this.received.length = 0;
    this.script = [];
    this.fallback = 'ok';
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
