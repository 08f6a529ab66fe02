import type { ServerResponse } from 'node:http';
import type pg from 'pg';

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
