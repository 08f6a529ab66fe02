/**
 * Wire contract shared by the server extension and the client widget.
 * Types and constants only: no runtime dependency, no server code. Both sides import `@solaris/wire`.
 * One module per topic, all re-exported here (the number formatter is `@solaris/wire/format`).
 */
export * from './routes';
export * from './balance';
export * from './statement';
export * from './admin';
export * from './errors';
export * from './events';
export * from './extras';
export * from './webhooks';
