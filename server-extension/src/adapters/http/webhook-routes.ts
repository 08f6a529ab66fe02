import { z } from 'zod';
import { ExtrasRoutes, WEBHOOK_EVENT_TYPES } from '@solaris/wire';
import type { Webhooks } from '../../core/webhooks';
import { route, type Route } from './route-table';
import * as v from './validation';

const webhookBody = z
  .object({
    name: z.string().trim().max(200).optional(),
    url: z.string().max(2000),
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).optional(),
    format: z.enum(['json', 'slack']).optional(),
    active: z.boolean().optional(),
  })
  .strict();
const endpointParams = z.object({ endpointId: z.string().min(1).max(64) }).strict();
const deliveriesQuery = z.object({ endpointId: z.string().min(1).max(64).optional(), limit: v.limitParam(200).optional() }).strict();

/** Webhook endpoints, a test event and the delivery log (core/webhooks, docs/webhooks.md). Admins only. */
export function webhookRoutes(webhooks: Webhooks): Route[] {
  const endpoints = webhooks.endpoints;
  return [
    route({ method: 'get', path: ExtrasRoutes.adminWebhooks, access: 'admin', input: { query: v.noQuery }, handler: () => endpoints.list() }),
    route({
      method: 'post',
      path: ExtrasRoutes.adminWebhooks,
      access: 'admin',
      mutation: true,
      status: 201,
      input: { body: webhookBody },
      handler: ({ body, actor }) => endpoints.create(body, actor),
    }),
    route({
      method: 'put',
      path: ExtrasRoutes.adminWebhook,
      access: 'admin',
      mutation: true,
      input: { params: endpointParams, body: webhookBody.partial() },
      handler: ({ params, body, actor }) => endpoints.update(params.endpointId, body, actor),
    }),
    route({
      method: 'delete',
      path: ExtrasRoutes.adminWebhook,
      access: 'admin',
      mutation: true,
      status: 204,
      input: { params: endpointParams },
      handler: ({ params, actor }) => endpoints.remove(params.endpointId, actor),
    }),
    route({
      method: 'post',
      path: ExtrasRoutes.adminWebhookTest,
      access: 'admin',
      mutation: true,
      status: 202,
      input: { params: endpointParams },
      handler: async ({ params, actor }) => ({ eventId: await webhooks.sendTest(params.endpointId, actor) }),
    }),
    route({
      method: 'get',
      path: ExtrasRoutes.adminWebhookDeliveries,
      access: 'admin',
      input: { query: deliveriesQuery },
      handler: ({ query }) => webhooks.dispatcher.deliveries(query),
    }),
  ];
}
