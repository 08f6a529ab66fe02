export { createApiRouter, ADMIN_USER_STATEMENT_CSV, type ApiRouterDeps } from './router';
export { toApiError, sendError, errorHandler } from './errors';
export { DEFAULT_RATE_LIMITS, type RateLimitOptions, type RateLimitRule } from './rate-limit';
export { CSV_HEADER, CSV_SEPARATOR } from './csv';
