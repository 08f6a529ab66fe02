// Public surface of the server extension: what entry points and the LibreChat plugin import (the plugin imports
// nothing else of ours: lint-enforced, eslint.config.js).
export * from './core/config';
export * from './core/errors';
export * from './core/engine';
export * from './core/create-engine';
export * from './core/quota-store';
export { AdminService, type Actor } from './core/admin';
export { createLogger, type Logger } from './core/logger';
export { openDatabase, type Database } from './core/db';
export { migrate, findMigrationsDir } from './core/migrate';
export { createRedis } from './core/redis-client';
export { RetryQueue } from './core/retry-queue';
export { isPermanentFailure } from './core/store-errors';
// The one composition root (standalone, demo, LibreChat plugin).
export { createSolarisRuntime, type SolarisRuntime, type SolarisRuntimeOptions, type ListenOptions } from './runtime';
export type { AdmittedTurn } from './adapters/proxy/context';
export type { SolarisServer } from './app';
// Auth: LibreChat's tokens and secrets, the user directory and session checker the plugin provides.
export { accessTokenUser, readJwtSecrets, TtlCache, type JwtSecrets, type SessionChecker, type UserDirectory, type UserProfile } from './adapters/auth';
// HTTP helpers shared with the LibreChat gate: JSON answers, body reading, the 402 body, the proxy's tokenizer.
export { flatQuotaExceededBody, sendJson } from './adapters/proxy/http-errors';
export { BodyError, readRawBody } from './adapters/proxy/body';
export { countTextTokens } from './adapters/proxy/tokens';
// Side-effect free (core/text.ts imports nothing): the gate's preload takes it without the runtime bundle.
export { utf8Bytes } from './core/text';
