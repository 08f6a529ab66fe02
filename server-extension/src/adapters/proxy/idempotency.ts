import type { ServerResponse } from 'node:http';
import type pg from 'pg';
import type { Logger } from '../../core/logger';
import { sendError } from './http-errors';

/**
 * Idempotency-Key replays (docs/reservation-policy.md "Replays"). The first request with a key claims it in
 * Postgres (idempotency_keys, shared by every replica); a repeat gets the first one's stored answer, or 409 while
 * it is still running — never a second upstream call (before, N repeats got N answers for one charge, since the
 * ledger is idempotent on the request id the key maps to).
 * A claim whose request was charged nothing (refused, upstream error, nothing produced) is dropped, so a retry
 * runs afresh; one that was charged is completed with the answer as the client was sent it.
 */

/** How long a key is remembered (OpenAI / Stripe keep theirs 24 h). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** Largest answer kept for replay; a larger one is remembered as delivered (a repeat gets 409). */
export const MAX_STORED_ANSWER_BYTES = 1024 * 1024;

export interface StoredAnswer {
  status: number;
  contentType: string;
  /** null: delivered but too large to keep. */
  body: Buffer | null;
}

export type Claim =
  | { claimed: true }
  | { claimed: false; state: 'inflight' | 'spent' }
  | ({ claimed: false; state: 'done' } & StoredAnswer);

export interface IdempotencyStore {
  claim(requestId: string, userId: string): Promise<Claim>;
  complete(requestId: string, answer: StoredAnswer): Promise<void>;
  abandon(requestId: string): Promise<void>;
}

export function createIdempotencyStore(pool: pg.Pool, ttlMs = IDEMPOTENCY_TTL_MS): IdempotencyStore {
  return {
    async claim(requestId, userId) {
      const { rows } = await pool.query<{ claimed: boolean; state: string; status: number | null; content_type: string | null; body: Buffer | null }>({
        name: 'solaris_idempotency_claim',
        text: 'SELECT * FROM solaris_idempotency_claim($1, $2, $3)',
        values: [requestId, userId, new Date(Date.now() + ttlMs)],
      });
      const r = rows[0];
      if (r?.claimed) return { claimed: true };
      // No row: it expired between the insert and the read — treat as still running (the client retries).
      if (!r || r.state === 'inflight') return { claimed: false, state: 'inflight' };
      if (r.state === 'spent') return { claimed: false, state: 'spent' };
      return { claimed: false, state: 'done', status: r.status ?? 200, contentType: r.content_type ?? 'application/json', body: r.body };
    },
    async complete(requestId, a) {
      await pool.query(`UPDATE idempotency_keys SET state = 'done', status = $2, content_type = $3, body = $4 WHERE request_id = $1`, [
        requestId,
        a.status,
        a.contentType,
        a.body && a.body.length <= MAX_STORED_ANSWER_BYTES ? a.body : null,
      ]);
    },
    async abandon(requestId) {
      await pool.query(`DELETE FROM idempotency_keys WHERE request_id = $1 AND state = 'inflight'`, [requestId]);
    },
  };
}

/**
 * Copies what is written to `res` (an SSE answer) up to MAX_STORED_ANSWER_BYTES, for the replay. Past the cap it
 * stops copying and `bytes()` answers null.
 */
export function recordResponse(res: ServerResponse): { bytes(): Buffer | null } {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  const keep = (c: unknown) => {
    if (over || c == null || typeof c === 'function') return;
    const b = Buffer.isBuffer(c) ? c : typeof c === 'string' ? Buffer.from(c) : null;
    if (!b) return;
    size += b.length;
    if (size > MAX_STORED_ANSWER_BYTES) {
      over = true;
      chunks.length = 0;
      return;
    }
    chunks.push(b);
  };
  const write = res.write.bind(res) as (...a: unknown[]) => boolean;
  const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
  (res as unknown as { write: (...a: unknown[]) => boolean }).write = (...a: unknown[]) => {
    keep(a[0]);
    return write(...a);
  };
  (res as unknown as { end: (...a: unknown[]) => ServerResponse }).end = (...a: unknown[]) => {
    keep(a[0]);
    return end(...a);
  };
  return { bytes: () => (over ? null : Buffer.concat(chunks, size)) };
}

export interface ReplayDeps {
  store: IdempotencyStore;
  /** Keeps the record write in the proxy's pending set (drain waits for it). */
  track(p: Promise<void>): void;
  logger?: Logger;
  storeError(e: unknown): Record<string, unknown>;
  /** SOLARIS_FAIL_MODE=open: with the key store down, serve the request unclaimed (the operator chose availability). */
  failOpen?: boolean;
}

/**
 * Idempotency-Key: claims the key before anything is reserved or sent upstream. A repeat gets the stored answer
 * (or 409); false means a response was sent. The claim then follows the request's fate (`fated`): completed with
 * the answer when something was served (`answer()` for a JSON answer, else the recorded stream), dropped when
 * nothing was charged.
 */
export async function claimOrReplay(
  deps: ReplayDeps,
  res: ServerResponse,
  requestId: string,
  userId: string,
  fated: Promise<'settled' | 'released'>,
  answer: () => StoredAnswer | undefined,
): Promise<boolean> {
  let claim: Claim;
  try {
    claim = await deps.store.claim(requestId, userId);
  } catch (e) {
    if (deps.failOpen) {
      // Fail-open: served like any request while the store is down; its charge still lands once (same request id).
      deps.logger?.warn('idempotency store unavailable: keyed request served unclaimed (SOLARIS_FAIL_MODE=open)', { requestId, ...deps.storeError(e) });
      return true;
    }
    // Fail-closed: cannot tell a first request from a repeat, so never risk a second answer.
    deps.logger?.warn('idempotency store unavailable: keyed request refused', { requestId, ...deps.storeError(e) });
    sendError(res, 503, 'store_unavailable', 'O controle de cota está indisponível no momento. Tente de novo em instantes.', { 'retry-after': '5' });
    return false;
  }
  const h = { 'x-solaris-request-id': requestId };
  if (claim.claimed) {
    const recorded = recordResponse(res);
    const closed = new Promise<void>((r) => res.once('close', () => r()));
    deps.track(
      Promise.all([fated, closed])
        .then(([f]) => {
          if (f === 'released') return deps.store.abandon(requestId);
          const a = answer() ?? { status: res.statusCode, contentType: String(res.getHeader('content-type') ?? 'text/event-stream'), body: recorded.bytes() };
          return deps.store.complete(requestId, a);
        })
        .catch((e: unknown) => {
          deps.logger?.warn('idempotency record not written; the key stays claimed until it expires', { requestId, err: e });
        }),
    );
    return true;
  }
  if (claim.state === 'done' && claim.body) {
    res.writeHead(claim.status, { 'content-type': claim.contentType, 'content-length': String(claim.body.length), 'x-solaris-replayed': 'true', ...h });
    res.end(claim.body);
  } else if (claim.state === 'inflight') {
    sendError(res, 409, 'idempotency_in_flight', 'Uma requisição com esta Idempotency-Key ainda está em andamento. Aguarde o resultado dela.', h);
  } else {
    sendError(res, 409, 'idempotency_key_reused', 'Esta Idempotency-Key já foi usada e a resposta não pode ser repetida. Use uma chave nova.', h);
  }
  return false;
}
