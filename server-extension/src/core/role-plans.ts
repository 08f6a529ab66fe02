import { z } from 'zod';
import type { RolePlanDTO } from '@solaris/wire';
import type { QuotaEngine } from './engine';
import type { Actor } from './admin';
import { SolarisError } from './errors';
import { withTransaction } from './sql';
import { CHANGE_TIME_SQL, changeTimeValues } from './statement';
import { parseWith } from './validation';

export const roleSchema = z.string().trim().min(1, 'role must not be empty').max(100, 'role is too long');
const planIdSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'planId: lowercase letters, digits, - and _ (max 64)');
const autoApproveSchema = z.number().int('tokens must be a whole number').positive('tokens must be positive').max(1_000_000_000_000).nullable();

interface Row {
  role: string;
  plan_id: string;
  updated_by: string | null;
  updated_at: Date;
}
const toDTO = (r: Row): RolePlanDTO => ({ role: r.role, planId: r.plan_id, updatedBy: r.updated_by, updatedAt: r.updated_at.toISOString() });

/**
 * Default plan per LibreChat role. Resolution lives in SQL (`solaris_effective_plan`): own plan, else the
 * role's, else the default plan. Changing a role's plan drops the cached counters of that role's users.
 */
export class RolePlans {
  constructor(private readonly engine: QuotaEngine) {}

  private get pool() {
    return this.engine.db.pool;
  }

  async list(): Promise<RolePlanDTO[]> {
    const { rows } = await this.pool.query<Row>(`SELECT * FROM role_plans ORDER BY role`);
    return rows.map(toDTO);
  }

  async set(input: { role: string; planId: string }, actor: Actor): Promise<RolePlanDTO> {
    const role = parseWith(roleSchema, input.role);
    const planId = parseWith(planIdSchema, input.planId);
    const row = await withTransaction(this.pool, async (c) => {
      const exists = await c.query(`SELECT 1 FROM plans WHERE id = $1`, [planId]);
      if (exists.rowCount === 0) throw new SolarisError('not_found', `plan ${planId} does not exist`);
      await c.query(CHANGE_TIME_SQL, changeTimeValues(this.engine.clock()));
      const { rows } = await c.query<Row>(
        `INSERT INTO role_plans (role, plan_id, updated_by, updated_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (role) DO UPDATE SET plan_id = EXCLUDED.plan_id, updated_by = EXCLUDED.updated_by, updated_at = now() RETURNING *`,
        [role, planId, actor.id],
      );
      await audit(c, actor, 'role_plan.set', { role, planId });
      return rows[0]!;
    });
    await this.invalidateRole(role);
    return toDTO(row);
  }

  async remove(roleRaw: string, actor: Actor): Promise<void> {
    const role = parseWith(roleSchema, roleRaw);
    await withTransaction(this.pool, async (c) => {
      await c.query(CHANGE_TIME_SQL, changeTimeValues(this.engine.clock()));
      const { rowCount } = await c.query(`DELETE FROM role_plans WHERE role = $1`, [role]);
      if (!rowCount) throw new SolarisError('not_found', `role ${role} has no plan`);
      await audit(c, actor, 'role_plan.remove', { role });
    });
    await this.invalidateRole(role);
  }

  /** Auto-approval rule of a plan: quota requests up to `tokens` are granted at once, once per period. */
  async setAutoApprove(input: { planId: string; tokens: number | null }, actor: Actor): Promise<{ planId: string; autoApproveTokens: number | null }> {
    const planId = parseWith(planIdSchema, input.planId);
    const tokens = parseWith(autoApproveSchema, input.tokens);
    await withTransaction(this.pool, async (c) => {
      const { rowCount } = await c.query(`UPDATE plans SET auto_approve_tokens = $2, updated_at = now() WHERE id = $1`, [planId, tokens]);
      if (!rowCount) throw new SolarisError('not_found', `plan ${planId} does not exist`);
      await audit(c, actor, 'plan.auto_approve', { planId, tokens });
    });
    return { planId, autoApproveTokens: tokens };
  }

  private async invalidateRole(role: string): Promise<void> {
    const { rows } = await this.pool.query<{ user_id: string }>(`SELECT user_id FROM users_cache WHERE role = $1`, [role]);
    for (const r of rows) await this.engine.store.invalidate(r.user_id);
  }
}

async function audit(c: { query: (q: string, p: unknown[]) => Promise<unknown> }, actor: Actor, action: string, details: Record<string, unknown>) {
  await c.query(`INSERT INTO audit_log (actor_id, actor_email, action, details) VALUES ($1, $2, $3, $4)`, [actor.id, actor.email ?? null, action, JSON.stringify(details)]);
}
