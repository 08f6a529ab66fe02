/**
 * docker-compose.override.yml, merged onto a stand-in of LibreChat's docker-compose.yml the way
 * `docker compose` merges files, must be a valid Compose file (official JSON schema), must only use
 * variables documented in .env.example, and must wire the plugin as designed.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import dotenv from 'dotenv';
import { Ajv } from 'ajv';
import draft07 from 'ajv/dist/refs/json-schema-draft-07.json';
import { configSchema } from '../../src/core/config';

const ROOT = resolve(__dirname, '..', '..', '..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
type Obj = Record<string, unknown>;
type Service = Obj & { environment?: unknown; depends_on?: unknown; volumes?: unknown[] };

const override = parse(read('docker-compose.override.yml')) as { services: Record<string, Service>; volumes: Obj };
const base = parse(read('server-extension/test/deploy/fixtures/librechat-compose.yml')) as { services: Record<string, Service>; volumes?: Obj };
const schema = JSON.parse(read('server-extension/test/deploy/fixtures/compose-spec.schema.json')) as Obj;

const envMap = (e: unknown): Record<string, string> =>
  Array.isArray(e) ? Object.fromEntries(e.map((x: string) => [x.split('=')[0]!, x.slice(x.indexOf('=') + 1)])) : ((e ?? {}) as Record<string, string>);
const dependsMap = (d: unknown): Record<string, Obj> =>
  Array.isArray(d) ? Object.fromEntries(d.map((s: string) => [s, { condition: 'service_started' }])) : ((d ?? {}) as Record<string, Obj>);
const volumeTarget = (v: unknown) => (typeof v === 'string' ? v.split(':')[1] : ((v as Obj).target as string));

/** Compose's merge rules for the keys we use: maps merge by key, volumes by container path, the rest overrides. */
function mergeService(a: Service, b: Service): Service {
  const out: Service = { ...a, ...b };
  if (a.environment || b.environment) out.environment = { ...envMap(a.environment), ...envMap(b.environment) };
  if (a.depends_on || b.depends_on) out.depends_on = { ...dependsMap(a.depends_on), ...dependsMap(b.depends_on) };
  if (a.volumes || b.volumes) {
    const byTarget = new Map<string, unknown>();
    for (const v of [...(a.volumes ?? []), ...(b.volumes ?? [])]) byTarget.set(volumeTarget(v)!, v);
    out.volumes = [...byTarget.values()];
  }
  return out;
}
function merge(a: typeof base, b: typeof override) {
  const services: Record<string, Service> = { ...a.services };
  for (const [name, svc] of Object.entries(b.services)) services[name] = services[name] ? mergeService(services[name]!, svc) : svc;
  return { services, volumes: { ...(a.volumes ?? {}), ...(b.volumes ?? {}) } };
}

// The schema names its meta-schema https://json-schema.org/draft-07/schema (no '#'); register draft-07 under that id.
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addMetaSchema({ ...draft07, $id: 'https://json-schema.org/draft-07/schema' });
const validate = ajv.compile(schema);

describe('docker-compose.override.yml', () => {
  const merged = merge(base, override);

  it('merged with LibreChat-shaped compose file validates against the Compose specification schema', () => {
    const ok = validate(merged);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    // The override alone is a valid Compose file too.
    expect(validate(override)).toBe(true);
  });

  it('the schema check is real: a wrong depends_on condition or an unknown key is rejected', () => {
    const broken = structuredClone(merged) as typeof merged;
    (broken.services.api!.depends_on as Record<string, Obj>).postgres = { condition: 'service_ready' };
    expect(validate(broken)).toBe(false);
    const unknown = structuredClone(merged) as typeof merged;
    (unknown.services.redis as Obj).healthchek = {};
    expect(validate(unknown)).toBe(false);
  });

  it('extends LibreChat api: plugin mounted read-only, preload in NODE_OPTIONS under environment, healthy dependencies', () => {
    const api = merged.services.api!;
    expect(api.image).toBe(base.services.api!.image); // no image rebuild, no fork
    expect(api.volumes).toContain('${SOLARIS_PLUGIN_DIR:-./solaris}:/solaris:ro');
    const env = api.environment as Record<string, string>;
    expect(env.NODE_OPTIONS).toBe('--require /solaris/librechat-plugin/register.cjs');
    expect(env.MONGO_URI).toBe('mongodb://mongodb:27017/LibreChat'); // LibreChat's own settings survive the merge
    expect(env.DATABASE_URL).toMatch(/@postgres:5432\/solaris$/);
    expect(env.REDIS_URL).toMatch(/@redis:6379\/0$/);
    const deps = api.depends_on as Record<string, Obj>;
    expect(deps).toMatchObject({
      mongodb: { condition: 'service_started' },
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
      litellm: { condition: 'service_healthy' },
      'solaris-migrate': { condition: 'service_completed_successfully' },
    });
  });

  it('postgres 15, redis 7 with appendonly, litellm with its own database, one-shot migrate from the build output', () => {
    const s = override.services;
    expect(s.postgres!.image).toMatch(/^postgres:15/);
    expect(s.postgres!.healthcheck).toBeDefined();
    expect((s.postgres!.volumes as string[]).some((v) => v.endsWith(':/var/lib/postgresql/data'))).toBe(true);
    expect(s.redis!.image).toMatch(/^redis:7/);
    expect((s.redis!.command as string[]).join(' ')).toContain('--appendonly yes');
    expect(s.redis!.healthcheck).toBeDefined();
    const litellmEnv = envMap(s.litellm!.environment);
    expect(litellmEnv.DATABASE_URL).toMatch(/@postgres:5432\/litellm$/);
    expect(litellmEnv.LITELLM_MASTER_KEY).toContain('${SOLARIS_LITELLM_MASTER_KEY:-${LITELLM_MASTER_KEY');
    expect(s.litellm!.volumes).toContain('./litellm/config.yaml:/app/config.yaml:ro');
    expect(s['solaris-migrate']!.command).toEqual(['node', '/solaris/server/cli.cjs', 'migrate']);
    expect(s['solaris-migrate']!.restart).toBe('no');
    // Files the override mounts from this repository exist.
    for (const svc of Object.values(s)) {
      for (const v of svc.volumes ?? []) {
        const src = typeof v === 'string' ? v.split(':')[0]! : '';
        if (src.startsWith('./litellm/')) expect(existsSync(join(ROOT, src)), src).toBe(true);
      }
    }
  });

  it('every ${VAR} it uses is documented in .env.example, and so is every configuration variable', () => {
    const used = new Set([...read('docker-compose.override.yml').matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!));
    expect(used.size).toBeGreaterThan(10);
    const example = read('.env.example');
    const documented = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
    expect([...used].filter((v) => !documented.has(v))).toEqual([]);
    expect(Object.keys(configSchema.shape).filter((v) => !documented.has(v))).toEqual([]);
    // Each variable line has a comment right above it.
    const lines = example.split('\n');
    lines.forEach((l, i) => {
      if (/^[A-Z][A-Z0-9_]*=/.test(l)) expect(lines[i - 1], l).toMatch(/^#/);
    });
  });
});

describe('docs/librechat-integration.md', () => {
  it('its compose snippet is an excerpt of the shipped override: same volumes, same environment values', () => {
    const doc = read('docs/librechat-integration.md');
    const block = /```yaml\n(# docker-compose\.override\.yml[\s\S]*?)```/.exec(doc)![1]!;
    const snippet = parse(block) as { services: { api: Service } };
    const api = override.services.api!;
    for (const v of snippet.services.api.volumes ?? []) expect(api.volumes).toContain(v);
    const env = envMap(api.environment);
    const shown = envMap(snippet.services.api.environment);
    expect(Object.keys(shown).length).toBeGreaterThan(3);
    for (const [k, v] of Object.entries(shown)) expect(`${k}: ${v}`).toBe(`${k}: ${env[k]}`);
  });
});

describe('.env.example appended to an operator\'s .env', () => {
  it('sets only SOLARIS_* names: the operator\'s provider keys survive, in dotenv and in compose (last one wins)', () => {
    const example = read('.env.example');
    const active = [...example.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1]!);
    expect(active.length).toBeGreaterThan(5);
    expect(active.filter((v) => !v.startsWith('SOLARIS_'))).toEqual([]);
    const operator = 'OPENAI_API_KEY=sk-operator\nANTHROPIC_API_KEY=sk-ant-operator\nLITELLM_MASTER_KEY=sk-theirs\nLITELLM_IMAGE=mine:1\n';
    const appended = dotenv.parse(operator + '\n' + example);
    expect(appended).toMatchObject({ OPENAI_API_KEY: 'sk-operator', ANTHROPIC_API_KEY: 'sk-ant-operator', LITELLM_MASTER_KEY: 'sk-theirs', LITELLM_IMAGE: 'mine:1' });
    // Compose's .env rules are the same for these lines (KEY=value, later wins): no shared name is redefined.
    for (const k of Object.keys(dotenv.parse(example))) expect(k).toMatch(/^SOLARIS_/);
  });
});

describe('litellm/config.yaml and the librechat.yaml snippet', () => {
  it('LiteLLM: OpenAI, Anthropic and a local model; stream usage with cost; master key and database from env', () => {
    const c = parse(read('litellm/config.yaml')) as {
      model_list: Array<{ model_name: string; litellm_params: Obj }>;
      litellm_settings: Obj;
      general_settings: Obj;
    };
    const providers = c.model_list.map((m) => String(m.litellm_params.model).split('/')[0]);
    expect(providers).toEqual(expect.arrayContaining(['openai', 'anthropic', 'ollama_chat']));
    expect(c.general_settings.always_include_stream_usage).toBe(true);
    expect(c.litellm_settings.include_cost_in_streaming_usage).toBe(true);
    expect(c.general_settings.master_key).toBe('os.environ/LITELLM_MASTER_KEY');
    expect(c.general_settings.database_url).toBe('os.environ/DATABASE_URL');
    for (const m of c.model_list) for (const v of Object.values(m.litellm_params)) if (/key/i.test(JSON.stringify(v))) expect(String(v)).toMatch(/^os\.environ\//);
  });

  it('the optional generic_api callback, once uncommented, targets our ingestion endpoint', () => {
    const uncommented = read('litellm/config.yaml').replace(/^(\s*)# ?(callbacks:|callback_settings:| {2})/gm, '$1$2');
    const c = parse(uncommented) as { callback_settings: Record<string, Obj>; litellm_settings: Obj };
    const cb = c.callback_settings.solaris_usage!;
    expect(cb.callback_type).toBe('generic_api');
    expect(cb.endpoint).toBe('http://api:3080/solaris/litellm/usage');
    expect(c.litellm_settings.callbacks).toEqual(['solaris_usage']);
  });

  it('librechat.yaml: custom endpoint through the metering proxy with the per-user headers', () => {
    const y = parse(read('librechat-plugin/librechat.yaml')) as { endpoints: { custom: Array<Obj & { headers: Record<string, string>; models: Obj }> } };
    const ep = y.endpoints.custom[0]!;
    expect(ep.baseURL).toMatch(/\/solaris\/v1$/);
    expect(ep.apiKey).toBe('${SOLARIS_PROXY_KEY}');
    expect(ep.headers).toMatchObject({
      'X-Solaris-User-Id': '{{LIBRECHAT_USER_ID}}',
      'X-Solaris-User-Email': '{{LIBRECHAT_USER_EMAIL}}',
      'X-Solaris-Conversation-Id': '{{LIBRECHAT_BODY_CONVERSATIONID}}',
      'X-Solaris-Message-Id': '{{LIBRECHAT_BODY_MESSAGEID}}',
    });
    expect(ep.models.fetch).toBe(true);
  });
});
