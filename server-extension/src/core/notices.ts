import type { NoticeDTO, QuotaRequestDTO } from '@solaris/wire';
import type { Queryable } from './sql';

/**
 * Notices that survive being offline (issue #18): a decision on a quota request, a grant, a reset. Stored per
 * user in Postgres (user_notices), listed at the next visit until the user has seen them, and pushed live too
 * (the realtime adapter forwards the engine's events). Nothing per user lives in process memory.
 */
export type NoticePayload = { message: string; request?: QuotaRequestDTO | null; tokens?: number | null; reason?: string | null };

export async function insertNotice(db: Queryable, userId: string, kind: NoticeDTO['kind'], payload: NoticePayload, at: number): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO user_notices (user_id, kind, payload, created_at) VALUES ($1, $2, $3, $4) RETURNING id::text AS id`,
    [userId, kind, JSON.stringify(payload), new Date(at)],
  );
  return rows[0]!.id;
}

export async function listUnseenNotices(db: Queryable, userId: string, limit = 20): Promise<NoticeDTO[]> {
  const { rows } = await db.query<{ id: string; kind: NoticeDTO['kind']; payload: NoticePayload; created_at: Date }>(
    `SELECT id::text AS id, kind, payload, created_at FROM user_notices WHERE user_id = $1 AND seen_at IS NULL ORDER BY id LIMIT $2`,
    [userId, limit],
  );
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    createdAt: r.created_at.toISOString(),
    message: r.payload.message,
    request: r.payload.request ?? null,
    tokens: r.payload.tokens ?? null,
    reason: r.payload.reason ?? null,
  }));
}

/** Marks the caller's own notices seen (another user's ids are ignored). */
export async function markNoticesSeen(db: Queryable, userId: string, ids: string[]): Promise<number> {
  if (!ids.length) return 0;
  const r = await db.query(`UPDATE user_notices SET seen_at = now() WHERE user_id = $1 AND id = ANY($2::bigint[]) AND seen_at IS NULL`, [userId, ids]);
  return r.rowCount ?? 0;
}

export const grantNoticeText = (tokens: number, reason: string | null) =>
  `Você recebeu ${tokens.toLocaleString('pt-BR')} tokens adicionais.${reason ? ` Motivo: ${reason}` : ''}`;
export const resetNoticeText = (reason: string | null) => `Seu uso de tokens foi zerado pelo administrador.${reason ? ` Motivo: ${reason}` : ''}`;
