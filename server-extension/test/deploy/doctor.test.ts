/**
 * `solaris doctor` agrees with itself (issue #18): the metering line and the LiteLLM line never contradict each
 * other, and the change-me placeholders of .env.example are refused. Real Postgres for the database line.
 */
import { runDoctor } from '../../src/cli/doctor';
import { TEST_DATABASE_URL } from '../helpers/infra';

const lineOf = (rs: Awaited<ReturnType<typeof runDoctor>>, name: string) => rs.find((r) => r.name === name)!;

describe('solaris doctor', () => {
  it('only DATABASE_URL (source = proxy by default): LiteLLM is ✘ like the metering line, never "proxy is off"', async () => {
    const rs = await runDoctor({ DATABASE_URL: TEST_DATABASE_URL });
    expect(lineOf(rs, 'Metering setup')).toMatchObject({ ok: false });
    expect(lineOf(rs, 'Metering setup').detail).toMatch(/SOLARIS_PROXY_KEY and LITELLM_URL/);
    expect(lineOf(rs, 'LiteLLM').ok).toBe(false);
    expect(lineOf(rs, 'LiteLLM').detail).not.toMatch(/proxy is off/);
  });

  it('source = librechat without LiteLLM: both lines ✔ and say so', async () => {
    const rs = await runDoctor({ DATABASE_URL: TEST_DATABASE_URL, SOLARIS_METERING_SOURCE: 'librechat' });
    expect(lineOf(rs, 'Metering setup').ok).toBe(true);
    expect(lineOf(rs, 'LiteLLM')).toMatchObject({ ok: true, detail: expect.stringMatching(/proxy is off \(metering source = librechat\)/) });
  });

  it('refuses the change-me placeholders, naming the variables but not their values', async () => {
    const rs = await runDoctor({
      DATABASE_URL: TEST_DATABASE_URL, SOLARIS_METERING_SOURCE: 'librechat', SOLARIS_PROXY_KEY: 'change-me-proxy',
      SOLARIS_REDIS_PASSWORD: 'change-me-redis', SOLARIS_LITELLM_MASTER_KEY: 'sk-change-me',
    });
    const secrets = lineOf(rs, 'Secrets');
    expect(secrets.ok).toBe(false);
    expect(secrets.detail).toMatch(/^SOLARIS_LITELLM_MASTER_KEY, SOLARIS_PROXY_KEY, SOLARIS_REDIS_PASSWORD still hold/);
    expect(lineOf((await runDoctor({ DATABASE_URL: TEST_DATABASE_URL, SOLARIS_PROXY_KEY: 'a1b2c3' })), 'Secrets').ok).toBe(true);
  });
});
