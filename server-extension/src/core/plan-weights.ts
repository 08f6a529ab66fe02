import type pg from 'pg';
import { GlobTable } from './pricing';
import type { Logger } from './logger';

/**
 * Model weights of each plan (plans.model_weights), cached in the process. Plans are deployment
 * configuration, the same for every replica, not per-user state: a replica that did not make a change
 * sees it within `ttlMs`; the one that made it at once (invalidate()).
 *
 * The hot path pays nothing when no plan weights a model itself (`weighsModel` is a cached map lookup):
 * only then does a decision need to know the user's plan.
 */
export class PlanWeights {
  private tables = new Map<string, GlobTable<number>>();
  /** model → planId → weight, for the models seen since the last load (bounded). */
  private perModel = new Map<string, Map<string, number>>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly opts: { ttlMs?: number; logger?: Logger } = {},
  ) {}

  /** Reload at the next use (after a local plan change). */
  invalidate(): void {
    this.loadedAt = Number.NEGATIVE_INFINITY;
  }

  /**
   * The weights plans give this model themselves (empty: the deployment table decides for everyone).
   * Synchronous while the tables are fresh — the hot path pays no promise — else a promise of the reload.
   */
  forModel(model: string): ReadonlyMap<string, number> | Promise<ReadonlyMap<string, number>> {
    if (Date.now() - this.loadedAt >= (this.opts.ttlMs ?? 10_000)) return this.refresh().then(() => this.lookup(model));
    return this.lookup(model);
  }

  private lookup(model: string): ReadonlyMap<string, number> {
    let m = this.perModel.get(model);
    if (!m) {
      m = new Map();
      for (const [planId, table] of this.tables) {
        const w = table.get(model);
        if (w !== undefined) m.set(planId, w);
      }
      if (this.perModel.size >= 1000) this.perModel.clear();
      this.perModel.set(model, m);
    }
    return m;
  }

  private refresh(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    try {
      const { rows } = await this.pool.query<{ id: string; model_weights: Array<[string, number]> }>({
        name: 'solaris_plan_weights',
        text: `SELECT id, model_weights FROM plans WHERE jsonb_array_length(model_weights) > 0`,
      });
      this.tables = new Map(rows.map((r) => [r.id, new GlobTable(Object.fromEntries(r.model_weights))]));
      this.perModel = new Map();
      this.loadedAt = Date.now();
    } catch (e) {
      // Postgres down: decisions go on (Redis store) with the tables last loaded; try again in a second.
      this.opts.logger?.warn('plan weights not reloaded (using the last ones)', { err: e });
      this.loadedAt = Date.now() - (this.opts.ttlMs ?? 10_000) + 1000;
    }
  }
}
