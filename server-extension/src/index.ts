// Public surface of the server extension (what entry points and the LibreChat glue import).
export * from './core/config';
export * from './core/errors';
export * from './core/engine';
export * from './core/create-engine';
export * from './core/quota-store';
export { AdminService, type Actor } from './core/admin';
export { createLogger, type Logger } from './core/logger';
export { openDatabase, type Database } from './core/db';
export { migrate, findMigrationsDir } from './core/migrate';
