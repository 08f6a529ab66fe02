import { z } from 'zod';
import type { MySettingsDTO } from '@solaris/wire';
import type { QuotaEngine } from './engine';
import { invalid } from './errors';
import { loadPolicySnapshot } from './policy';
import { USER_LOCK_SQL, withTransaction } from './sql';
import { parseWith, userIdSchema } from './validation';
import { CHANGE_TIME_SQL, changeTimeValues } from './statement';

const settingsSchema = z
  .object({
    personalCap: z.number().int('personalCap must be a whole number').min(0, 'personalCap must not be negative').max(1_000_000_000_000).nullable(),
    warnPercent: z.number().int('warnPercent must be a whole number').min(1, 'warnPercent must be 1-99').max(99, 'warnPercent must be 1-99').nullable(),
  })
  .strict();

/**
 * A user's own limits (LibreChat issue #15029): a cap below their quota and their warning percentage.
 * The cap lives in user_quotas and is applied in the policy snapshot (capacity = min(quota + grants, cap)),
 * so both stores — and therefore the gate and the proxy, through reserve — enforce it.
 */
export class PersonalSettings {
  constructor(private readonly engine: QuotaEngine) {}

  async get(userIdRaw: string): Promise<MySettingsDTO> {
    const userId = parseWith(userIdSchema, userIdRaw);
    const snap = await loadPolicySnapshot(this.engine.db.pool, userId, this.engine.clock(), this.engine.config.SOLARIS_TIMEZONE);
    return {
      personalCap: snap.personalCap,
      warnPercent: snap.warnPercent,
      maxPersonalCap: snap.baseLimit + snap.granted,
      defaultThresholds: this.engine.thresholds,
      balance: await this.engine.balance(userId),
    };
  }

  /** Sets both settings (null clears one). The user is the actor of the audit row. */
  async set(userIdRaw: string, input: unknown, actor: { id: string; email?: string | null }): Promise<MySettingsDTO> {
    const userId = parseWith(userIdSchema, userIdRaw);
    const s = parseWith(settingsSchema, input);
    await withTransaction(this.engine.db.pool, async (c) => {
      await c.query(USER_LOCK_SQL, [userId]);
      await c.query(CHANGE_TIME_SQL, changeTimeValues(this.engine.clock()));
      const snap = await loadPolicySnapshot(c, userId, this.engine.clock(), this.engine.config.SOLARIS_TIMEZONE);
      const max = snap.baseLimit + snap.granted;
      if (s.personalCap !== null && s.personalCap > max) {
        throw invalid(`personalCap: must be at most your quota (${max} tokens) / o limite pessoal não pode passar da sua cota`, { field: 'personalCap', max });
      }
      await c.query(
        `INSERT INTO user_quotas (user_id, personal_cap, warn_percent) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET personal_cap = EXCLUDED.personal_cap, warn_percent = EXCLUDED.warn_percent, updated_at = now()`,
        [userId, s.personalCap, s.warnPercent],
      );
      await c.query(`INSERT INTO audit_log (actor_id, actor_email, action, target_user_id, details) VALUES ($1, $2, 'personal.settings', $3, $4)`, [
        actor.id,
        actor.email ?? null,
        userId,
        JSON.stringify(s),
      ]);
    });
    await this.engine.store.invalidate(userId);
    const out = await this.get(userId);
    this.engine.events.emit('balance', out.balance);
    return out;
  }
}
