import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { MeteredKind, Pre, ProxyContext } from './context';
import type { Preflight } from './preflight';
import { upstreamBody } from './request-check';
import { relayStream } from './relay-stream';
import { settledOrTimeout, type Settlement } from './settlement';
import { answerText, type UpstreamUsage } from './sse-meter';
import type { Tasks } from './tasks';
import { headerCost, upstreamFailure, type Upstream } from './upstream';

export type MeteredHandler = (req: IncomingMessage, res: ServerResponse, kind: MeteredKind, path: string) => Promise<void>;

/**
 * A metered route: pre-flight (reserve), the upstream call, the answer (whole or streamed), then exactly one
 * of settle / release for the reservation.
 */
export function createMeteredHandler(ctx: ProxyContext, preflight: Preflight, settlement: Settlement, upstream: Upstream, tasks: Tasks): MeteredHandler {
  const { logger, metrics } = ctx;
  const relayDeps = { settlement, trackActive: tasks.trackActive, writesLedger: ctx.writesLedger, logger };

  async function forward(res: ServerResponse, pre: Pre, path: string, ac: AbortController, gone: () => boolean): Promise<void> {
    const { m, c, json } = pre;
    const kind = m.kind;
    if (gone()) {
      settlement.releaseLater(m);
      return;
    }
    const streaming = c.streaming;
    const { body, clientAskedUsage } = upstreamBody(json, c, pre.perChoice);
    let up: Dispatcher.ResponseData;
    const t0 = performance.now();
    try {
      up = await upstream.post(path, m.requestId, streaming, body, ac.signal);
    } catch (e) {
      metrics?.upstreamSeconds.observe({ route: kind, status: 'error' }, (performance.now() - t0) / 1000);
      settlement.releaseLater(m);
      if (!gone()) {
        logger?.warn('upstream request failed', { requestId: m.requestId, err: e });
        upstreamFailure(res, e);
      }
      return;
    }
    metrics?.upstreamSeconds.observe({ route: kind, status: String(up.statusCode) }, (performance.now() - t0) / 1000);
    const headers = upstream.responseHeaders(up.headers, m.requestId);
    const contentType = headers['content-type'] ?? '';
    if (up.statusCode >= 400 || !streaming || !contentType.includes('text/event-stream')) {
      await answerWhole(settlement, res, pre, up, headers, gone);
      return;
    }
    relayStream(relayDeps, { res, body: up.body, m, clientAskedUsage, clientGone: gone, headers });
  }

  return async (req, res, kind, path) => {
    // Watch for the client leaving from the start: a hang-up during the pre-flight must not start a call.
    const ac = new AbortController();
    let clientGone = false;
    res.once('close', () => {
      if (!res.writableFinished) {
        clientGone = true;
        ac.abort();
      }
    });
    const pre = await preflight(req, res, kind);
    if (!pre) return;
    const { m } = pre;
    try {
      await forward(res, pre, path, ac, () => clientGone);
    } catch (e) {
      // A bug after the reservation: free the hold now rather than leave it until it expires.
      if (!m.fated) settlement.releaseLater(m);
      throw e;
    }
  };
}

/** Whole answer (JSON or an error): small; read it, then settle, then answer (the last byte is the ack). */
async function answerWhole(settlement: Settlement, res: ServerResponse, { m }: Pre, up: Dispatcher.ResponseData, headers: Record<string, string>, gone: () => boolean): Promise<void> {
  let buf: Buffer;
  try {
    buf = Buffer.from(await up.body.arrayBuffer());
  } catch (e) {
    settlement.releaseLater(m);
    if (!gone()) upstreamFailure(res, e);
    return;
  }
  if (up.statusCode >= 400) {
    settlement.releaseLater(m); // the upstream refused or failed: nothing is charged
    res.writeHead(up.statusCode, headers);
    res.end(buf);
    return;
  }
  const parsed = tryJson(buf);
  const usage = (parsed as { usage?: UpstreamUsage } | null)?.usage ?? null;
  m.answer = { status: up.statusCode, contentType: headers['content-type'] ?? 'application/json', body: buf };
  await settledOrTimeout(settlement.settleLater(m, usage, () => answerText(parsed), headerCost(up.headers)));
  if (res.destroyed) return;
  res.writeHead(up.statusCode, { ...headers, 'content-length': String(buf.length) });
  res.end(buf);
}

function tryJson(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    return null;
  }
}
