import { z } from 'zod';
import type { AdminQuotaRequestsPageDTO, BalanceDTO, QuotaRequestDTO, QuotaRequestStatus, QuotaRequestSuggestionDTO } from '@solaris/wire';
import type { QuotaEngine } from './engine';
import type { Actor } from './admin';
import type { Logger } from './logger';
import { SolarisError, invalid } from './errors';
import { loadPolicySnapshot } from './policy';
import { insertNotice } from './notices';
import { withTransaction, type Queryable } from './sql';
import { parseWith, userIdSchema } from './validation';

const MAX_TOKENS = 1_000_000_000_000;
const tokens = z.number().int('tokens must be a whole number').positive('tokens must be positive').max(MAX_TOKENS);
const message = z.string().trim().max(500).nullable().optional();
const openSchema = z.object({ tokens, reason: z.string().trim().max(500).nullable().optional() }).strict();
const approveSchema = z.object({ tokens: tokens.optional(), expiresAt: z.iso.datetime({ offset: true }).nullable().optional(), message }).strict();
const denySchema = z.object({ message }).strict();
const idSchema = z.string().regex(/^\d{1,18}$/, 'request id must be a number');
const listSchema = z.object({
  status: z.enum(['pending', 'approved', 'denied', 'cancelled', 'all']).default('pending'),
  limit: z.number().int().min(1).max(200).default(50),
});

/** System actor of automatic approvals (audit log). */
export const AUTO_APPROVER: Actor = { id: 'system:auto-approve', email: null };
/** Suggestions are at least this many tokens (or 5 % of the quota, whichever is larger), rounded up to 1,000. */
const SUGGESTION_FLOOR = 1_000;
const DAY_MS = 86_400_000;

interface Row {
  id: number;
  user_id: string;
  email: string | null;
  name: string | null;
  tokens: number;
  reason: string | null;
  period_key: string;
  status: QuotaRequestStatus;
  auto_approved: boolean;
  granted_tokens: number | null;
  grant_expires_at: Date | null;
  decision_message: string | null;
  decided_by: string | null;
  decided_at: Date | null;
  created_at: Date;
}
const SELECT = `SELECT r.*, c.email, c.name FROM quota_requests r LEFT JOIN users_cache c USING (user_id)`;

function toDTO(r: Row): QuotaRequestDTO {
  return {
    id: String(r.id),
    userId: r.user_id,
    email: r.email,
    name: r.name,
    tokens: Number(r.tokens),
    reason: r.reason,
    periodKey: r.period_key,
    status: r.status,
    autoApproved: r.auto_approved,
    grantedTokens: r.granted_tokens == null ? null : Number(r.granted_tokens),
    grantExpiresAt: r.grant_expires_at?.toISOString() ?? null,
    message: r.decision_message,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at?.toISOString() ?? null,
    createdAt: r.created_at.toISOString(),
  };
}

const fmt = (n: number) => n.toLocaleString('pt-BR');

/** The pt-BR line the user sees live when an admin decides. */
export function decisionMessage(r: QuotaRequestDTO): string {
  if (r.status === 'approved') {
    const base = r.autoApproved
      ? `Seu pedido de ${fmt(r.grantedTokens ?? r.tokens)} tokens foi aprovado automaticamente.`
      : `Seu pedido de tokens foi aprovado: +${fmt(r.grantedTokens ?? r.tokens)} tokens.`;
    return r.message ? `${base} Mensagem do administrador: ${r.message}` : base;
  }
  const base = `Seu pedido de ${fmt(r.tokens)} tokens foi negado.`;
  return r.message ? `${base} Mensagem do administrador: ${r.message}` : base;
}

/**
 * Quota requests: a user asks for more tokens (one open request at a time — partial unique index), an admin
 * approves (a grant through AdminService.grant, amount editable, optional expiry) or denies with a message.
 * Every decision is audited. Events: `request` (admins: any change, with the pending count) and
 * `request_decided` (the requester: pt-BR message and new balance). Plans may auto-approve small requests
 * (plans.auto_approve_tokens), once per user and period (unique index).
 */
export class QuotaRequests {
  constructor(
    private readonly engine: QuotaEngine,
    private readonly logger?: Logger,
  ) {}

  private get pool() {
    return this.engine.db.pool;
  }

  private async byId(db: Queryable, id: string, lock = false): Promise<Row> {
    const { rows } = await db.query<Row>(`${SELECT} WHERE r.id = $1${lock ? ' FOR UPDATE OF r' : ''}`, [id]);
    if (!rows[0]) throw new SolarisError('not_found', `quota request ${id} does not exist`);
    return rows[0];
  }

  async pendingCount(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM quota_requests WHERE status = 'pending'`);
    return rows[0]!.n;
  }

  /** Amount to pre-fill: average daily use of the last 7 days × days left in the period, minus what is left. */
  async suggestion(userIdRaw: string): Promise<QuotaRequestSuggestionDTO> {
    const userId = parseWith(userIdSchema, userIdRaw);
    const now = this.engine.clock();
    const [balance, used7, plan, open] = await Promise.all([
      this.engine.balance(userId),
      this.pool.query<{ w: number }>(`SELECT COALESCE(sum(weighted_tokens), 0) AS w FROM ledger WHERE user_id = $1 AND created_at > $2 AND created_at <= $3`, [
        userId,
        new Date(now - 7 * DAY_MS),
        new Date(now),
      ]),
      this.autoRule(this.pool, userId),
      this.pool.query<Row>(`${SELECT} WHERE r.user_id = $1 AND r.status = 'pending'`, [userId]),
    ]);
    const avg = Number(used7.rows[0]!.w) / 7;
    const daysLeft = Math.max(1, Math.ceil((Date.parse(balance.periodEnd) - now) / DAY_MS));
    const minimum = Math.max(SUGGESTION_FLOOR, Math.ceil((balance.limit * 0.05) / 1000) * 1000);
    const need = Math.ceil(avg * daysLeft) - Math.max(0, balance.remaining);
    return {
      tokens: Math.ceil(Math.max(minimum, need) / 1000) * 1000,
      avgDailyUse: Math.round(avg),
      daysLeft,
      minimum,
      autoApproveTokens: plan.limit,
      autoApproveAvailable: plan.limit !== null && !plan.used,
      open: open.rows[0] ? toDTO(open.rows[0]) : null,
    };
  }

  /** The user's plan auto-approval rule and whether this period's automatic approval is used. */
  private async autoRule(db: Queryable, userId: string): Promise<{ limit: number | null; used: boolean; periodKey: string }> {
    const snap = await loadPolicySnapshot(db, userId, this.engine.clock(), this.engine.config.SOLARIS_TIMEZONE);
    const { rows } = await db.query<{ auto: number | null; used: boolean }>(
      `SELECT (SELECT auto_approve_tokens FROM plans WHERE id = $1) AS auto,
              EXISTS (SELECT 1 FROM quota_requests WHERE user_id = $2 AND period_key = $3 AND auto_approved) AS used`,
      [snap.planId, userId, snap.periodKey],
    );
    return { limit: rows[0]!.auto == null ? null : Number(rows[0]!.auto), used: rows[0]!.used, periodKey: snap.periodKey };
  }

  async listMine(userIdRaw: string, limit = 20): Promise<QuotaRequestDTO[]> {
    const userId = parseWith(userIdSchema, userIdRaw);
    const { rows } = await this.pool.query<Row>(`${SELECT} WHERE r.user_id = $1 ORDER BY r.created_at DESC, r.id DESC LIMIT $2`, [userId, limit]);
    return rows.map(toDTO);
  }

  async list(input: { status?: string; limit?: number } = {}): Promise<AdminQuotaRequestsPageDTO> {
    const q = parseWith(listSchema, input);
    const [{ rows }, pendingCount] = await Promise.all([
      this.pool.query<Row>(
        `${SELECT} WHERE ($1 = 'all' OR r.status = $1)
         ORDER BY CASE WHEN r.status = 'pending' THEN r.created_at END ASC NULLS LAST, r.decided_at DESC NULLS LAST, r.id DESC LIMIT $2`,
        [q.status, q.limit],
      ),
      this.pendingCount(),
    ]);
    return { items: rows.map(toDTO), pendingCount };
  }

  /** Opens a request (409 `conflict` when one is open). Small ones may be approved at once by the plan rule. */
  async open(userIdRaw: string, input: unknown): Promise<QuotaRequestDTO> {
    const userId = parseWith(userIdSchema, userIdRaw);
    const i = parseWith(openSchema, input);
    const now = this.engine.clock();
    let row: Row;
    try {
      row = await withTransaction(this.pool, async (c) => {
        const snap = await loadPolicySnapshot(c, userId, now, this.engine.config.SOLARIS_TIMEZONE);
        const { rows } = await c.query<{ id: number }>(
          `INSERT INTO quota_requests (user_id, tokens, reason, period_key, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
          [userId, i.tokens, i.reason || null, snap.periodKey, new Date(now)],
        );
        await c.query(`INSERT INTO audit_log (actor_id, action, target_user_id, details) VALUES ($1, 'request.open', $1, $2)`, [
          userId,
          JSON.stringify({ requestId: String(rows[0]!.id), tokens: i.tokens, reason: i.reason ?? null }),
        ]);
        return this.byId(c, String(rows[0]!.id));
      });
    } catch (e) {
      if ((e as { code?: string; constraint?: string }).constraint === 'quota_requests_one_open') {
        throw new SolarisError('conflict', 'Você já tem um pedido em aberto / you already have an open request');
      }
      throw e;
    }
    const auto = await this.autoRule(this.pool, userId);
    if (auto.limit !== null && !auto.used && i.tokens <= auto.limit) {
      try {
        return await this.decide(String(row.id), 'approved', { tokens: i.tokens }, AUTO_APPROVER, true);
      } catch (e) {
        // Lost a race for this period's automatic approval: the request stays open for an admin.
        if ((e as { constraint?: string }).constraint !== 'quota_requests_one_auto') throw e;
      }
    }
    const dto = toDTO(row);
    this.engine.events.emit('request', { request: dto, pendingCount: await this.pendingCount() });
    return dto;
  }

  async cancel(userIdRaw: string, idRaw: string): Promise<QuotaRequestDTO> {
    const userId = parseWith(userIdSchema, userIdRaw);
    const id = parseWith(idSchema, idRaw);
    const dto = await withTransaction(this.pool, async (c) => {
      const r = await this.byId(c, id, true);
      // Someone else's request looks like a missing one (no id probing).
      if (r.user_id !== userId) throw new SolarisError('not_found', `quota request ${id} does not exist`);
      if (r.status !== 'pending') throw new SolarisError('conflict', `quota request ${id} is already ${r.status}`);
      await c.query(`UPDATE quota_requests SET status = 'cancelled', decided_by = $2, decided_at = $3 WHERE id = $1`, [id, userId, new Date(this.engine.clock())]);
      await c.query(`INSERT INTO audit_log (actor_id, action, target_user_id, details) VALUES ($1, 'request.cancel', $1, $2)`, [userId, JSON.stringify({ requestId: id })]);
      return toDTO(await this.byId(c, id));
    });
    this.engine.events.emit('request', { request: dto, pendingCount: await this.pendingCount() });
    return dto;
  }

  async approve(idRaw: string, input: unknown, actor: Actor): Promise<QuotaRequestDTO> {
    return this.decide(parseWith(idSchema, idRaw), 'approved', parseWith(approveSchema, input ?? {}), actor, false);
  }

  async deny(idRaw: string, input: unknown, actor: Actor): Promise<QuotaRequestDTO> {
    return this.decide(parseWith(idSchema, idRaw), 'denied', parseWith(denySchema, input ?? {}), actor, false);
  }

  /**
   * Claims the request (row lock, status check, decision + audit row committed together), then writes the
   * grant through AdminService.grant (its own transaction and audit row). Claim first: two admins approving
   * at once grant once — the second finds it decided (409). The grant runs after the claim's commit, never
   * nested inside it (the embedded database has one connection); if it fails, the claim is undone.
   */
  private async decide(
    id: string,
    status: 'approved' | 'denied',
    d: { tokens?: number; expiresAt?: string | null; message?: string | null },
    actor: Actor,
    auto: boolean,
  ): Promise<QuotaRequestDTO> {
    const now = this.engine.clock();
    if (d.expiresAt && Date.parse(d.expiresAt) <= now) throw invalid('expiresAt must be in the future', { field: 'expiresAt' });
    const claimed = await withTransaction(this.pool, async (c) => {
      const r = await this.byId(c, id, true);
      if (r.status !== 'pending') throw new SolarisError('conflict', `quota request ${id} is already ${r.status}`);
      const granted = status === 'approved' ? (d.tokens ?? Number(r.tokens)) : null;
      await c.query(
        `UPDATE quota_requests SET status = $2, granted_tokens = $3, grant_expires_at = $4, decision_message = $5, decided_by = $6,
           decided_at = $7, auto_approved = $8 WHERE id = $1`,
        [id, status, granted, d.expiresAt ?? null, d.message || null, actor.id, new Date(now), auto],
      );
      await c.query(`INSERT INTO audit_log (actor_id, actor_email, action, target_user_id, details) VALUES ($1, $2, $3, $4, $5)`, [
        actor.id,
        actor.email ?? null,
        status === 'approved' ? (auto ? 'request.auto_approve' : 'request.approve') : 'request.deny',
        r.user_id,
        JSON.stringify({ requestId: id, asked: Number(r.tokens), granted, expiresAt: d.expiresAt ?? null, message: d.message ?? null }),
      ]);
      return { userId: r.user_id, granted };
    });
    let balance: BalanceDTO | null = null;
    if (claimed.granted !== null) {
      try {
        balance = await this.engine.admin.grant(
          { userId: claimed.userId, tokens: claimed.granted, reason: `Pedido #${id}${auto ? ' (aprovação automática)' : ''}`, expiresAt: d.expiresAt ?? null },
          actor,
          { notice: false }, // the decision's own notice below says it
        );
      } catch (e) {
        await this.pool
          .query(
            `UPDATE quota_requests SET status = 'pending', granted_tokens = NULL, grant_expires_at = NULL, decision_message = NULL,
               decided_by = NULL, decided_at = NULL, auto_approved = false WHERE id = $1 AND status = 'approved'`,
            [id],
          )
          .catch((undo: unknown) => this.logger?.error('quota request: undoing a failed approval failed', { requestId: id, error: undo }));
        throw e;
      }
    }
    const dto = toDTO(await this.byId(this.pool, id));
    balance ??= await this.engine.balance(dto.userId);
    this.logger?.info('quota request decided', { requestId: id, status, auto, actorId: actor.id });
    const message = decisionMessage(dto);
    // Kept until the user sees it: an approval made while they are offline is shown at their next visit.
    const noticeId = await insertNotice(this.pool, dto.userId, 'request_decided', { message, request: dto }, this.engine.clock());
    this.engine.events.emit('request_decided', { request: dto, balance, message, noticeId });
    this.engine.events.emit('request', { request: dto, pendingCount: await this.pendingCount() });
    return dto;
  }
}
