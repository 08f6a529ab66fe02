import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ExtrasRoutes, WEBHOOK_EVENT_TYPES } from '@solaris/wire';
import type { QuotaEngine } from '../../core/engine';
import type { Actor } from '../../core/admin';
import type { SolarisExtras } from '../../core/extras';
import { SolarisError } from '../../core/errors';
import { roleSchema } from '../../core/role-plans';
import { listUnseenNotices, markNoticesSeen } from '../../core/notices';
import { principalOf } from './principal';
import { DEFAULT_RATE_LIMITS, createLimiter, rateLimit, type RateLimitOptions } from './rate-limit';
import * as v from './validation';

export interface ExtrasRouterDeps {
  engine: QuotaEngine;
  extras: SolarisExtras;
  redis?: Redis | null;
  rateLimits?: RateLimitOptions;
}

type Handler = (req: Request, res: Response) => Promise<void>;
const h =
  (fn: Handler): RequestHandler =>
  (req, res, next) =>
    fn(req, res).catch(next);

const MAX_TOKENS = 1_000_000_000_000;
const tokens = z.number().int('must be a whole number').positive('must be positive').max(MAX_TOKENS);
const note = z.string().trim().max(500).nullable().optional();
const settingsBody = z
  .object({
    personalCap: z.number().int('must be a whole number').min(0).max(MAX_TOKENS).nullable(),
    warnPercent: z.number().int('must be a whole number').min(1, 'must be 1-99').max(99, 'must be 1-99').nullable(),
  })
  .strict();
const requestBody = z.object({ tokens, reason: note }).strict();
const approveBody = z.object({ tokens: tokens.optional(), expiresAt: z.iso.datetime({ offset: true }).nullable().optional(), message: note }).strict();
const noticesSeenBody = z.object({ ids: z.array(z.string().regex(/^\d{1,18}$/, 'must be a notice id')).min(1).max(100) }).strict();
const denyBody = z.object({ message: note }).strict();
const requestIdParams = z.object({ requestId: z.string().regex(/^\d{1,18}$/, 'must be a number') }).strict();
const limitParam = (max: number) => z.string().regex(/^\d{1,4}$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(1).max(max));
const adminRequestsQuery = z.object({ status: z.enum(['pending', 'approved', 'denied', 'cancelled', 'all']).optional(), limit: limitParam(200).optional() }).strict();
const roleParams = z.object({ role: roleSchema }).strict();
const rolePlanBody = z.object({ planId: z.string().min(1).max(64) }).strict();
const autoApproveBody = z.object({ tokens: tokens.nullable() }).strict();
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
const deliveriesQuery = z.object({ endpointId: z.string().min(1).max(64).optional(), limit: limitParam(200).optional() }).strict();

/**
 * Routes for personal caps, quota requests, plans by role and webhooks (paths: ExtrasRoutes in the wire).
 * Mounted INSIDE the API router (createApiRouter), after its authentication, rate limit and JSON parsing,
 * so `principalOf(res)` is set and errors reach its error handler. Admin routes check `isAdmin` here too.
 */
export function createExtrasRouter(deps: ExtrasRouterDeps): Router {
  const { extras } = deps;
  const limits = { ...DEFAULT_RATE_LIMITS, ...deps.rateLimits };
  const mutationLimiter = rateLimit(createLimiter('extras', limits.adminMutations, deps.redis));
  const r = Router({ caseSensitive: true, strict: false });
  const actorOf = (res: Response): Actor => {
    const p = principalOf(res);
    return { id: p.userId, email: p.email };
  };
  const body = (req: Request) => (req.body === undefined ? {} : req.body);
  const me = (res: Response) => principalOf(res).userId;

  // ---------- the caller's own settings and requests ----------
  r.get(
    ExtrasRoutes.mySettings,
    h(async (req, res) => {
      v.parse(v.noQuery, req.query, 'query');
      res.json(await extras.settings.get(me(res)));
    }),
  );
  r.put(
    ExtrasRoutes.mySettings,
    mutationLimiter,
    h(async (req, res) => {
      const b = v.parse(settingsBody, body(req), 'body');
      res.json(await extras.settings.set(me(res), b, actorOf(res)));
    }),
  );
  r.get(
    ExtrasRoutes.myRequestSuggestion,
    h(async (req, res) => {
      v.parse(v.noQuery, req.query, 'query');
      res.json(await extras.requests.suggestion(me(res)));
    }),
  );
  r.get(
    ExtrasRoutes.myRequests,
    h(async (req, res) => {
      v.parse(v.noQuery, req.query, 'query');
      res.json(await extras.requests.listMine(me(res)));
    }),
  );
  r.post(
    ExtrasRoutes.myRequests,
    mutationLimiter,
    h(async (req, res) => {
      const b = v.parse(requestBody, body(req), 'body');
      res.status(201).json(await extras.requests.open(me(res), b));
    }),
  );
  r.get(
    ExtrasRoutes.myNotices,
    h(async (req, res) => {
      v.parse(v.noQuery, req.query, 'query');
      res.json(await listUnseenNotices(deps.engine.db.pool, me(res)));
    }),
  );
  r.post(
    ExtrasRoutes.myNoticesSeen,
    mutationLimiter,
    h(async (req, res) => {
      const b = v.parse(noticesSeenBody, body(req), 'body');
      res.json({ seen: await markNoticesSeen(deps.engine.db.pool, me(res), b.ids) });
    }),
  );
  r.post(
    ExtrasRoutes.myRequestCancel,
    mutationLimiter,
    h(async (req, res) => {
      const { requestId } = v.parse(requestIdParams, req.params, 'params');
      res.json(await extras.requests.cancel(me(res), requestId));
    }),
  );

  // ---------- admin ----------
  const admin: RequestHandler = (_req, res, next) =>
    next(principalOf(res).isAdmin ? undefined : new SolarisError('forbidden', 'Apenas administradores / admins only'));

  r.get(
    ExtrasRoutes.adminRequests,
    admin,
    h(async (req, res) => {
      res.json(await extras.requests.list(v.parse(adminRequestsQuery, req.query, 'query')));
    }),
  );
  r.post(
    ExtrasRoutes.adminRequestApprove,
    admin,
    mutationLimiter,
    h(async (req, res) => {
      const { requestId } = v.parse(requestIdParams, req.params, 'params');
      res.json(await extras.requests.approve(requestId, v.parse(approveBody, body(req), 'body'), actorOf(res)));
    }),
  );
  r.post(
    ExtrasRoutes.adminRequestDeny,
    admin,
    mutationLimiter,
    h(async (req, res) => {
      const { requestId } = v.parse(requestIdParams, req.params, 'params');
      res.json(await extras.requests.deny(requestId, v.parse(denyBody, body(req), 'body'), actorOf(res)));
    }),
  );
  r.get(
    ExtrasRoutes.adminRolePlans,
    admin,
    h(async (req, res) => {
      v.parse(v.noQuery, req.query, 'query');
      res.json(await extras.rolePlans.list());
    }),
  );
  r.put(
    ExtrasRoutes.adminRolePlan,
    admin,
    mutationLimiter,
    h(async (req, res) => {
      const { role } = v.parse(roleParams, req.params, 'params');
      const b = v.parse(rolePlanBody, body(req), 'body');
      res.json(await extras.rolePlans.set({ role, planId: b.planId }, actorOf(res)));
    }),
  );
  r.delete(
    ExtrasRoutes.adminRolePlan,
    admin,
    mutationLimiter,
    h(async (req, res) => {
      const { role } = v.parse(roleParams, req.params, 'params');
      await extras.rolePlans.remove(role, actorOf(res));
      res.status(204).end();
    }),
  );
  r.put(
    ExtrasRoutes.adminPlanAutoApprove,
    admin,
    mutationLimiter,
    h(async (req, res) => {
      const { planId } = v.parse(v.planIdParams, req.params, 'params');
      const b = v.parse(autoApproveBody, body(req), 'body');
      res.json(await extras.rolePlans.setAutoApprove({ planId, tokens: b.tokens }, actorOf(res)));
    }),
  );
  r.get(
    ExtrasRoutes.adminWebhooks,
    admin,
    h(async (req, res) => {
      v.parse(v.noQuery, req.query, 'query');
      res.json(await extras.webhooks.endpoints.list());
    }),
  );
  r.post(
    ExtrasRoutes.adminWebhooks,
    admin,
    mutationLimiter,
    h(async (req, res) => {
      res.status(201).json(await extras.webhooks.endpoints.create(v.parse(webhookBody, body(req), 'body'), actorOf(res)));
    }),
  );
  r.put(
    ExtrasRoutes.adminWebhook,
    admin,
    mutationLimiter,
    h(async (req, res) => {
      const { endpointId } = v.parse(endpointParams, req.params, 'params');
      res.json(await extras.webhooks.endpoints.update(endpointId, v.parse(webhookBody.partial(), body(req), 'body'), actorOf(res)));
    }),
  );
  r.delete(
    ExtrasRoutes.adminWebhook,
    admin,
    mutationLimiter,
    h(async (req, res) => {
      const { endpointId } = v.parse(endpointParams, req.params, 'params');
      await extras.webhooks.endpoints.remove(endpointId, actorOf(res));
      res.status(204).end();
    }),
  );
  r.post(
    ExtrasRoutes.adminWebhookTest,
    admin,
    mutationLimiter,
    h(async (req, res) => {
      const { endpointId } = v.parse(endpointParams, req.params, 'params');
      res.status(202).json({ eventId: await extras.webhooks.sendTest(endpointId, actorOf(res)) });
    }),
  );
  r.get(
    ExtrasRoutes.adminWebhookDeliveries,
    admin,
    h(async (req, res) => {
      const q = v.parse(deliveriesQuery, req.query, 'query');
      res.json(await extras.webhooks.dispatcher.deliveries(q));
    }),
  );
  return r;
}
