import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { Redis } from 'ioredis';
import { ApiRoutes } from '@solaris/wire';
import type { QuotaEngine } from '../../core/engine';
import type { SolarisConfig } from '../../core/config';
import type { Logger } from '../../core/logger';
import { SolarisError, invalid } from '../../core/errors';
import type { Authenticator } from '../auth/types';
import { errorHandler, notFound } from './errors';
import { DEFAULT_RATE_LIMITS, apiRateLimit, createLimiter, rateLimit, type RateLimitOptions } from './rate-limit';
import { csvDateFormatter } from './csv';
import { adminOnly, mountRoutes } from './route-table';
import { myRoutes } from './my-routes';
import { adminRoutes } from './admin-routes';
import { personalSettingsRoutes } from './personal-settings-routes';
import { noticeRoutes } from './notice-routes';
import { quotaRequestRoutes } from './quota-request-routes';
import { rolePlanRoutes } from './role-plan-routes';
import { webhookRoutes } from './webhook-routes';
import type { FeatureServices } from '../../core/feature-services';

export interface ApiRouterDeps {
  engine: QuotaEngine;
  authenticator: Authenticator;
  config: SolarisConfig;
  /** When set, rate limits are shared by every replica. */
  redis?: Redis | null;
  logger?: Logger;
  rateLimits?: RateLimitOptions;
  /** Max JSON body (default 16 kB: our bodies are a handful of fields). */
  jsonLimit?: string;
  /** Personal caps, quota requests, role plans, webhooks (core/feature-services.ts): their routes are mounted when set. */
  extras?: FeatureServices;
}

/** The CSV of one user's statement (ApiRoutes.adminUserStatementCsv). */
export const ADMIN_USER_STATEMENT_CSV = ApiRoutes.adminUserStatementCsv;

/**
 * The REST API the widget calls, mounted at API_PREFIX. Everything is per caller: user routes read only the
 * principal's own id; /admin/* needs `isAdmin`; admin changes go through engine.admin (audit log inside).
 * The routes themselves are tables (`*-routes.ts`) mounted by route-table.ts.
 */
export function createApiRouter(deps: ApiRouterDeps): Router {
  const { engine, authenticator, config } = deps;
  const tz = config.SOLARIS_TIMEZONE;
  const limits = { ...DEFAULT_RATE_LIMITS, ...deps.rateLimits };
  const apiLimiter = apiRateLimit(createLimiter('api', limits.api, deps.redis));
  const formatDate = csvDateFormatter(tz);
  const r = Router({ caseSensitive: true, strict: false });

  r.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });

  const authenticate = async (req: Request, res: Response) => {
    const principal = await authenticator.authenticate(req.headers);
    if (!principal) throw new SolarisError('unauthorized', 'Sessão não encontrada ou expirada / not signed in');
    res.locals.principal = principal;
  };
  r.use((req, res, next) => {
    authenticate(req, res).then(() => next(), next);
  });
  // Every route takes its point here, before it runs, except the statement page (the widget's heaviest read):
  // it takes the same point alongside its queries (apiLimiter.alongside), so the Redis round trip overlaps them.
  r.use((req, res, next) => {
    if (req.method === 'GET' && req.path === ApiRoutes.statement) next();
    else apiLimiter.middleware(req, res, next);
  });

  // Bodies: JSON only. A form post (the one cross-site request a browser sends without a preflight) is refused.
  r.use((req, _res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.headers['content-type'] && !req.is('application/json')) {
      next(invalid('Content-Type must be application/json'));
      return;
    }
    next();
  });
  r.use(express.json({ limit: deps.jsonLimit ?? '16kb', strict: true, type: 'application/json' }));
  // Any /admin path, a route or not, answers 403 to a non-admin (admin routes also check it themselves).
  r.use('/admin', adminOnly);

  mountRoutes(r, [...myRoutes({ engine, tz, apiLimiter, formatDate }), ...adminRoutes({ engine, tz, formatDate })], {
    mutationLimiter: rateLimit(createLimiter('admin', limits.adminMutations, deps.redis)),
  });
  const x = deps.extras;
  if (x) {
    // The features' mutations (the caller's and the admins') share a budget of their own, keyed 'extras' as before.
    const mutationLimiter = rateLimit(createLimiter('extras', limits.adminMutations, deps.redis));
    const routes = [
      ...personalSettingsRoutes(x.settings),
      ...quotaRequestRoutes(x.requests),
      ...noticeRoutes(engine.db.pool),
      ...rolePlanRoutes(x.rolePlans),
      ...webhookRoutes(x.webhooks),
    ];
    mountRoutes(r, routes, { mutationLimiter });
  }

  r.use((_req: Request, _res: Response, next: NextFunction) => next(notFound()));
  r.use(errorHandler(deps.logger));
  return r;
}
