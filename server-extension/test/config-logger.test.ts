/**
 * Start-up configuration (a bad value stops the process with one line naming the variable) and the JSON
 * logger (request ids kept, secrets never written). Output is captured through the logger's `stream` option.
 */
import { PassThrough } from 'node:stream';
import { ConfigError, loadConfig } from '../src/core/config';
import { createLogger } from '../src/core/logger';

describe('config', () => {
  it('defaults: embedded mode, São Paulo periods, 80/100 % thresholds', () => {
    const c = loadConfig({});
    expect(c.DATABASE_URL ?? null).toBeNull();
    expect(c.REDIS_URL ?? null).toBeNull();
    expect(c).toMatchObject({ SOLARIS_TIMEZONE: 'America/Sao_Paulo', SOLARIS_THRESHOLDS: [80, 100], SOLARIS_MAX_INFLIGHT: 4 });
    expect(loadConfig({ SOLARIS_THRESHOLDS: '100, 50,80', REDIS_URL: '' })).toMatchObject({ SOLARIS_THRESHOLDS: [50, 80, 100] });
    expect(loadConfig({ SOLARIS_MODEL_WEIGHTS: '{"gpt-4o*":2}' }).SOLARIS_MODEL_WEIGHTS).toEqual({ 'gpt-4o*': 2 });
  });

  it.each([
    ['SOLARIS_MAX_INFLIGHT', 'muitos'],
    ['SOLARIS_MAX_INFLIGHT', '0'],
    ['SOLARIS_RESERVATION_TTL_MS', '1.5'],
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', 'localhost 6379'],
    ['SOLARIS_TIMEZONE', 'Mars/Olympus_Mons'],
    ['SOLARIS_THRESHOLDS', '80,abc'],
    ['SOLARIS_MODEL_WEIGHTS', '{"gpt-4o*":-2}'],
    ['SOLARIS_MODEL_WEIGHTS', '{not json'],
    ['SOLARIS_PRICES', '{"gpt-4o":{"prompt":"cheap"}}'],
    ['SOLARIS_FAIL_MODE', 'maybe'],
    ['PORT', '70000'],
    ['LOG_LEVEL', 'loud'],
  ])('%s=%s → ConfigError naming the variable, in one line', (name, value) => {
    let err: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toContain(name);
    expect(message).not.toContain('\n');
    expect(message.length).toBeLessThan(300);
  });
});

describe('logger', () => {
  function capture() {
    const stream = new PassThrough();
    const lines: string[] = [];
    stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
    return { logger: createLogger({ stream, level: 'debug', service: 'test' }), lines };
  }
  const flush = () => new Promise((r) => setImmediate(r));

  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJpZCI6IjY2NTBmMWMyIiwidXNlcm5hbWUiOiJhbmEifQ.c2lnbmF0dXJlLXZhbHVlLTEyMw';
  const secrets = ['sk-live-9f8e7d6c5b4a3210abcdef', 'hunter2-db-password', 'refresh-cookie-value-123', jwt, 'master-key-0123456789', 'webhook-secret-abcdef'];

  it('writes one JSON object per line with the request id, and redacts secrets wherever they are', async () => {
    const { logger, lines } = capture();
    logger.info('proxy request', {
      requestId: 'req-42',
      userId: '6650f1c2e4b0a1b2c3d4e5f6',
      promptTokens: 12,
      headers: { Authorization: `Bearer ${secrets[0]}`, cookie: `refreshToken=${secrets[2]}`, 'x-api-key': secrets[0], accept: 'text/event-stream' },
      db: { password: secrets[1], databaseUrl: `postgres://solaris:${secrets[1]}@db:5432/solaris` },
      config: { LITELLM_API_KEY: secrets[0], masterKey: secrets[4], SOLARIS_LITELLM_WEBHOOK_SECRET: secrets[5] },
      nested: [{ deeper: { token: jwt } }],
    });
    logger.warn(`upstream said: Authorization: Bearer ${secrets[0]} and jwt=${jwt}`);
    logger.error('failed', { error: new Error(`login failed for token ${jwt}`), requestId: 'req-43' });
    await flush();
    expect(lines).toHaveLength(3);
    const all = lines.join('\n');
    for (const s of secrets) expect(all).not.toContain(s);
    const first = JSON.parse(lines[0]!);
    expect(first).toMatchObject({ level: 'info', message: 'proxy request', requestId: 'req-42', service: 'test', promptTokens: 12 });
    expect(first.headers).toMatchObject({ Authorization: '[redacted]', cookie: '[redacted]', 'x-api-key': '[redacted]', accept: 'text/event-stream' });
    expect(first.userId).toBe('6650f1c2e4b0a1b2c3d4e5f6');
    expect(typeof first.timestamp).toBe('string');
    expect(JSON.parse(lines[2]!)).toMatchObject({ level: 'error', requestId: 'req-43' });
  });
});
