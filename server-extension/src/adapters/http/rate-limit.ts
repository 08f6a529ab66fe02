import type { RequestHandler } from 'express';
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

/** Consumes one point for the authenticated user; 429 `rate_limited` with Retry-After when exhausted. */
export function rateLimit(limiter: RateLimiterAbstract): RequestHandler {
  return async (_req, res, next) => {
    try {
      await limiter.consume(principalOf(res).userId);
      next();
    } catch (e) {
      if (e instanceof RateLimiterRes) {
        const retryAfterSeconds = Math.max(1, Math.ceil(e.msBeforeNext / 1000));
        next(new SolarisError('rate_limited', 'Too many requests; try again shortly', { retryAfterSeconds }));
      } else next(e);
    }
  };
}
