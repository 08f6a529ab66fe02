import type { ServerResponse } from 'node:http';
import type { Logger } from '../../core/logger';
import { upstreamFailure, type Upstream } from './upstream';

interface ModelsAnswer {
  status: number;
  body: Buffer;
  headers: Record<string, string>;
}

/**
 * GET /v1/models: passed through, a 200 reused for `cacheMs`, and concurrent misses share one upstream call
 * (LibreChat asks on every page load; the list changes only with LiteLLM's config).
 */
export function createModelsHandler(upstream: Upstream, cacheMs: number, logger?: Logger): (res: ServerResponse) => Promise<void> {
  let cache: (ModelsAnswer & { until: number }) | null = null;
  let inflight: Promise<ModelsAnswer> | null = null;

  return async (res) => {
    const now = Date.now();
    if (cache && cache.until > now) {
      res.writeHead(cache.status, cache.headers);
      res.end(cache.body);
      return;
    }
    inflight ??= (async () => {
      try {
        const up = await upstream.get('/v1/models');
        const body = Buffer.from(await up.body.arrayBuffer());
        const headers = upstream.responseHeaders(up.headers, null);
        if (up.statusCode === 200) cache = { until: Date.now() + cacheMs, status: 200, body, headers };
        return { status: up.statusCode, body, headers };
      } finally {
        inflight = null;
      }
    })();
    try {
      const r = await inflight;
      res.writeHead(r.status, r.headers);
      res.end(r.body);
    } catch (e) {
      logger?.warn('upstream /v1/models failed', { err: e });
      upstreamFailure(res, e);
    }
  };
}
