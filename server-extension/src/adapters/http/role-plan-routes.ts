import { z } from 'zod';
import { ExtrasRoutes } from '@solaris/wire';
import { roleSchema, type RolePlans } from '../../core/role-plans';
import { route, type Route } from './route-table';
import * as v from './validation';

const roleParams = z.object({ role: roleSchema }).strict();
const rolePlanBody = z.object({ planId: z.string().min(1).max(64) }).strict();
const autoApproveBody = z.object({ tokens: v.tokensField.nullable() }).strict();

/** Plans by LibreChat role, and each plan's auto-approved quota request size (core/role-plans.ts). Admins only. */
export function rolePlanRoutes(rolePlans: RolePlans): Route[] {
  return [
    route({ method: 'get', path: ExtrasRoutes.adminRolePlans, access: 'admin', input: { query: v.noQuery }, handler: () => rolePlans.list() }),
    route({
      method: 'put',
      path: ExtrasRoutes.adminRolePlan,
      access: 'admin',
      mutation: true,
      input: { params: roleParams, body: rolePlanBody },
      handler: ({ params, body, actor }) => rolePlans.set({ role: params.role, planId: body.planId }, actor),
    }),
    route({
      method: 'delete',
      path: ExtrasRoutes.adminRolePlan,
      access: 'admin',
      mutation: true,
      status: 204,
      input: { params: roleParams },
      handler: ({ params, actor }) => rolePlans.remove(params.role, actor),
    }),
    route({
      method: 'put',
      path: ExtrasRoutes.adminPlanAutoApprove,
      access: 'admin',
      mutation: true,
      input: { params: v.planIdParams, body: autoApproveBody },
      handler: ({ params, body, actor }) => rolePlans.setAutoApprove({ planId: params.planId, tokens: body.tokens }, actor),
    }),
  ];
}
