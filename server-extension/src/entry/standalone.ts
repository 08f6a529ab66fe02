// `node dist/server/standalone.cjs`: metering proxy + REST API + socket.io + LiteLLM webhook + health/metrics on PORT.
import { ConfigError, loadConfig } from '../core/config';
import { createLogger } from '../core/logger';
import { createSolarisRuntime } from '../runtime';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  const logger = createLogger({ level: config.LOG_LEVEL, service: 'solaris-standalone' });
  // Bearer access tokens only: without LibreChat's sessions a refresh cookie cannot be checked (docs/security.md).
  const app = await createSolarisRuntime(config, { logger });
  await app.listen({ port: config.PORT, host: config.HOST });
  let signals = 0;
  const stop = (signal: string) => {
    signals += 1;
    if (signals > 1) process.exit(1); // a second Ctrl-C: do not wait
    logger.info('shutting down', { signal });
    app.shutdown().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.error('shutdown failed', { error: e });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => {
  // One line, no stack: most start-up failures are an unreachable database or a port in use.
  const err = e as { message?: string; code?: string };
  process.stderr.write(`solaris: failed to start: ${err.code ? `${err.code} ` : ''}${err.message ?? String(e)}\n`);
  process.exit(1);
});
