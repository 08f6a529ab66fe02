import { z } from 'zod';
import { ExtrasRoutes } from '@solaris/wire';
import type { QuotaRequests } from '../../core/quota-requests';
import { route, type Route } from './route-table';
import * as v from './validation';

const requestBody = z.object({ tokens: v.tokensField, reason: v.noteField }).strict();
const approveBody = z
  .object({ tokens: v.tokensField.optional(), expiresAt: z.iso.datetime({ offset: true }).nullable().optional(), message: v.noteField })
  .strict();
const denyBody = z.object({ message: v.noteField }).strict();
const requestIdParams = z.object({ requestId: z.string().regex(/^\d{1,18}$/, 'must be a number') }).strict();
const adminRequestsQuery = z
  .object({ status: z.enum(['pending', 'approved', 'denied', 'cancelled', 'all']).optional(), limit: v.limitParam(200).optional() })
  .strict();

/** "Request more tokens": the caller opens, lists and cancels their own; admins list and decide (core/quota-requests.ts). */
export function quotaRequestRoutes(requests: QuotaRequests): Route[] {
  return [
    route({
      method: 'get',
      path: ExtrasRoutes.myRequestSuggestion,
      access: 'user',
      input: { query: v.noQuery },
      handler: ({ userId }) => requests.suggestion(userId),
    }),
    route({ method: 'get', path: ExtrasRoutes.myRequests, access: 'user', input: { query: v.noQuery }, handler: ({ userId }) => requests.listMine(userId) }),
    route({
      method: 'post',
      path: ExtrasRoutes.myRequests,
      access: 'user',
      mutation: true,
      status: 201,
      input: { body: requestBody },
      handler: ({ userId, body }) => requests.open(userId, body),
    }),
    route({
      method: 'post',
      path: ExtrasRoutes.myRequestCancel,
      access: 'user',
      mutation: true,
      input: { params: requestIdParams },
      handler: ({ userId, params }) => requests.cancel(userId, params.requestId),
    }),
    route({ method: 'get', path: ExtrasRoutes.adminRequests, access: 'admin', input: { query: adminRequestsQuery }, handler: ({ query }) => requests.list(query) }),
    route({
      method: 'post',
      path: ExtrasRoutes.adminRequestApprove,
      access: 'admin',
      mutation: true,
      input: { params: requestIdParams, body: approveBody },
      handler: ({ params, body, actor }) => requests.approve(params.requestId, body, actor),
    }),
    route({
      method: 'post',
      path: ExtrasRoutes.adminRequestDeny,
      access: 'admin',
      mutation: true,
      input: { params: requestIdParams, body: denyBody },
      handler: ({ params, body, actor }) => requests.deny(params.requestId, body, actor),
    }),
  ];
}
