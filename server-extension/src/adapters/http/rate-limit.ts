import type { RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { SolarisError } from '../../core/errors';
import { principalOf } from './principal';

export interface RateLimitRule {
  /** Requests allowed per window. */
  points: number;
  /** Window length in seconds. */
  duration: number;
}

export interface RateLimitOptions {
  /** Every authenticated API call, per user. Default 300 per minute. */
  api?: RateLimitRule;
  /** Admin mutations, per admin. Default 60 per minute. */
  adminMutations?: RateLimitRule;
}

export const DEFAULT_RATE_LIMITS: Required<RateLimitOptions> = {
  api: { points: 300, duration: 60 },
  adminMutations: { points: 60, duration: 60 },
};

/**
 * Shared across replicas when Redis is configured (RateLimiterRedis), with an in-memory insurance limiter so a
 * Redis outage does not fail the API; per process otherwise.
 */
export function createLimiter(name: string, rule: RateLimitRule, redis?: Redis | null): RateLimiterAbstract {
  const memory = new RateLimiterMemory({ keyPrefix: `solaris:rl:${name}`, points: rule.points, duration: rule.duration });
  if (!redis) return memory;
  return new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `solaris:rl:${name}`,
    points: rule.points,
    duration: rule.duration,
    insuranceLimiter: memory,
  });
}

const MAX_REFUSED = 10_000;

/**
 * One limiter as express middleware (`middleware`) or, for a read-only handler, taken alongside the handler's
 * own work (`alongside`): the Redis round trip then overlaps the queries instead of preceding them.
 */
export interface ApiRateLimit {
  /** Consumes one point for the authenticated user before continuing; 429 `rate_limited` with Retry-After when exhausted. */
  middleware: RequestHandler;
  /**
   * Runs `work` while the point is being consumed and answers its result only once the point is granted; a
   * refusal wins over the work's own outcome (same 429 as the middleware). For a caller this process saw refused
   * in the current window, the point is taken first, as the middleware does, so a caller over the limit costs at
   * most the queries of the one request that found out. When the middleware already took the point, only runs `work`.
   */
  alongside<T>(res: Response, work: () => Promise<T>): Promise<T>;
}

export function apiRateLimit(limiter: RateLimiterAbstract): ApiRateLimit {
  // Responses whose point this limiter's middleware already took (per limiter: another limiter's point is not ours).
  const admitted = new WeakSet<Response>();
  // userId -> ms epoch until which this process knows the caller is over the limit (the window's end).
  const refusedUntil = new Map<string, number>();

  const refusal = (msBeforeNext: number) =>
    new SolarisError('rate_limited', 'Too many requests; try again shortly', { retryAfterSeconds: Math.max(1, Math.ceil(msBeforeNext / 1000)) });

  async function consume(userId: string): Promise<void> {
    try {
      await limiter.consume(userId);
    } catch (e) {
      if (!(e instanceof RateLimiterRes)) throw e;
      if (refusedUntil.size >= MAX_REFUSED) refusedUntil.clear(); // a memo, not the limit: never grows without bound
      refusedUntil.set(userId, Date.now() + e.msBeforeNext);
      throw refusal(e.msBeforeNext);
    }
  }

  function knownRefused(userId: string): boolean {
    const until = refusedUntil.get(userId);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    refusedUntil.delete(userId);
    return false;
  }

  return {
    middleware: (_req, res, next) => {
      consume(principalOf(res).userId).then(() => {
        admitted.add(res);
        next();
      }, next);
    },
    async alongside(res, work) {
      if (admitted.has(res)) return work();
      const userId = principalOf(res).userId;
      if (knownRefused(userId)) {
        await consume(userId);
        return work();
      }
      const verdict = consume(userId);
      const [granted, done] = await Promise.allSettled([verdict, (async () => work())()]);
      if (granted.status === 'rejected') throw granted.reason;
      if (done.status === 'rejected') throw done.reason;
      return done.value;
    },
  };
}

/** Consumes one point for the authenticated user; 429 `rate_limited` with Retry-After when exhausted. */
export function rateLimit(limiter: RateLimiterAbstract): RequestHandler {
  return apiRateLimit(limiter).middleware;
}
