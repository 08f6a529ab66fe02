import { ApiRoutes } from '@solaris/wire';
import type { QuotaEngine } from '../../core/engine';
import { SolarisError, invalid } from '../../core/errors';
import { ANSWERED, JsonText, bodyOf, route, type Route } from './route-table';
import { csvLabel, streamStatementCsv } from './statement-csv';
import * as v from './validation';

export interface AdminRoutesDeps {
  engine: QuotaEngine;
  tz: string;
  formatDate: (iso: string) => string;
}

/** A plan body that says `limit` (the CLI's old flag, the override's field) gets told the field's name. */
const planHint = (b: unknown): unknown => {
  if (b && typeof b === 'object' && 'limit' in b && !('tokenLimit' in b)) {
    throw invalid('A plan\'s limit is `tokenLimit` (tokens per period), not `limit`', { field: 'tokenLimit' });
  }
  return b;
};

/**
 * The admin tab: users, their statements, grants, resets, limits and plans, plans, audit log, usage.
 * Changes go through engine.admin (audit log inside). The grant / reset / limit / plan routes check their body
 * before the user id (written first in `input`), as they always did.
 */
export function adminRoutes({ engine, tz, formatDate }: AdminRoutesDeps): Route[] {
  const admin = engine.admin;
  const range = (q: { from?: string; to?: string }) => v.usageRange(q, tz, engine.clock());
  return [
    route({ method: 'get', path: ApiRoutes.adminUsers, access: 'admin', input: { query: v.adminUsersQuery }, handler: ({ query }) => admin.listUsers(query) }),
    route({ method: 'get', path: ApiRoutes.adminUser, access: 'admin', input: { params: v.userIdParams }, handler: ({ params }) => admin.userDetail(params.userId) }),
    route({
      method: 'get',
      path: ApiRoutes.adminUserStatement,
      access: 'admin',
      input: { params: v.userIdParams, query: v.statementQuery },
      handler: async ({ params, query }) => new JsonText(await engine.statementJson(params.userId, v.toStatementQuery(query, tz))),
    }),
    route({
      method: 'get',
      path: ApiRoutes.adminUserStatementCsv,
      access: 'admin',
      input: { params: v.userIdParams, query: v.statementCsvQuery },
      handler: async ({ params: { userId }, query, res }) => {
        const q = v.toStatementQuery(query, tz);
        await streamStatementCsv(res, { engine, userId, query: q, label: `${userId}-${csvLabel(engine, q)}`, formatDate });
        return ANSWERED;
      },
    }),
    route({
      method: 'post',
      path: ApiRoutes.adminGrant,
      access: 'admin',
      mutation: true,
      input: { body: v.grantBody, params: v.userIdParams },
      handler: ({ body, params, actor }) => admin.grant({ userId: params.userId, ...body }, actor),
    }),
    route({
      method: 'post',
      path: ApiRoutes.adminReset,
      access: 'admin',
      mutation: true,
      input: { body: v.resetBody, params: v.userIdParams },
      handler: ({ body, params, actor }) => admin.reset({ userId: params.userId, reason: body.reason ?? null }, actor),
    }),
    route({
      method: 'put',
      path: ApiRoutes.adminOverride,
      access: 'admin',
      mutation: true,
      input: { body: v.limitBody, params: v.userIdParams },
      handler: ({ body, params, actor }) => admin.setLimitOverride({ userId: params.userId, limit: body.limit }, actor),
    }),
    route({
      method: 'put',
      path: ApiRoutes.adminAssignPlan,
      access: 'admin',
      mutation: true,
      input: { body: v.assignPlanBody, params: v.userIdParams },
      handler: ({ body, params, actor }) => admin.assignPlan({ userId: params.userId, planId: body.planId }, actor),
    }),
    route({ method: 'get', path: ApiRoutes.adminPlans, access: 'admin', input: { query: v.noQuery }, handler: () => admin.listPlans() }),
    route({
      method: 'post',
      path: ApiRoutes.adminPlans,
      access: 'admin',
      mutation: true,
      status: 201,
      // No `input`: the hint about `limit` must come before the schema's own complaint.
      handler: async ({ req, actor }) => {
        const b = v.parse(v.planBody, planHint(bodyOf(req)), 'body');
        const existing = await admin.listPlans();
        if (existing.some((p) => p.id === b.id)) throw new SolarisError('conflict', `plan ${b.id} already exists; use PUT to change it`);
        return admin.upsertPlan(b, actor);
      },
    }),
    route({
      method: 'put',
      path: ApiRoutes.adminPlan,
      access: 'admin',
      mutation: true,
      input: { params: v.planIdParams },
      handler: async ({ params: { planId }, req, actor }) => {
        const b = v.parse(v.planUpdateBody, planHint(bodyOf(req)), 'body');
        if (b.id !== undefined && b.id !== planId) throw invalid('id in the body must match the path', { field: 'id' });
        const current = (await admin.listPlans()).find((p) => p.id === planId);
        if (!current) throw new SolarisError('not_found', `plan ${planId} does not exist`);
        // isDefault left out keeps the plan's current flag (so renaming the default plan keeps it default).
        return admin.upsertPlan({ ...b, id: planId, isDefault: b.isDefault ?? current.isDefault }, actor);
      },
    }),
    route({ method: 'get', path: ApiRoutes.adminAudit, access: 'admin', input: { query: v.auditQuery }, handler: ({ query }) => admin.auditLog(query) }),
    route({
      method: 'get',
      path: ApiRoutes.adminUsageDaily,
      access: 'admin',
      input: { query: v.adminRangeQuery },
      handler: ({ query }) => admin.usageDaily(query.userId ?? null, range(query)),
    }),
    route({
      method: 'get',
      path: ApiRoutes.adminUsageByModel,
      access: 'admin',
      input: { query: v.rangeQuery },
      handler: ({ query }) => admin.usageByModel(range(query)),
    }),
  ];
}
