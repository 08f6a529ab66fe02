import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { createTestEngine, type TestEngine } from '../helpers/engine';
import { createLibreChatAuthenticator, readJwtSecrets, parseEnvFile } from '../../src/adapters/auth';
import { ADMIN, ALICE, BOB, SECRETS, USERS, accessToken, refreshToken } from './helpers';

let te: TestEngine;
beforeAll(async () => {
  te = await createTestEngine({ env: { SOLARIS_ADMIN_EMAILS: 'Boss@Example.com' } });
});
afterAll(() => te.cleanup());

function auth(over: Parameters<typeof createLibreChatAuthenticator>[0] extends infer O ? Partial<O> : never = {}) {
  return createLibreChatAuthenticator({
    engine: te.engine,
    config: te.config,
    secrets: () => SECRETS,
    userDirectory: async (id) => USERS[id] ?? null,
    cacheTtlMs: 0,
    sessionChecker: async () => true, // LibreChat's sessions as the glue would see them: all alive
    ...over,
  });
}

describe('LibreChat token authenticator', () => {
  it('accepts a valid access token and a valid refresh cookie, with the directory profile', async () => {
    const a = auth();
    const p1 = await a.authenticate({ authorization: `Bearer ${accessToken(ALICE)}` });
    expect(p1).toMatchObject({ userId: ALICE, email: 'alice@example.com', name: 'Alice', role: 'USER', isAdmin: false, via: 'bearer' });
    const p2 = await a.authenticate({ cookie: `other=1; refreshToken=${refreshToken(ADMIN)}` });
    expect(p2).toMatchObject({ userId: ADMIN, isAdmin: true, via: 'cookie' });
  });

  it('refuses forged, alg:none, expired, wrong-secret and refresh-as-access tokens', async () => {
    const a = auth();
    const none = jwt.sign({ id: ALICE, exp: Math.floor(Date.now() / 1000) + 600 }, '', { algorithm: 'none' });
    const hs512 = jwt.sign({ id: ALICE }, SECRETS.access, { algorithm: 'HS512', expiresIn: 600 });
    const forged = accessToken(ALICE).replace(/\.[^.]+$/, '.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    const tampered = (() => {
      const [h, , s] = accessToken(ALICE).split('.');
      const body = Buffer.from(JSON.stringify({ id: ADMIN, exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url');
      return `${h}.${body}.${s}`;
    })();
    const bad = [
      none,
      hs512,
      forged,
      tampered,
      accessToken(ALICE, { expiresIn: -10 }),
      accessToken(ALICE, { secret: 'wrong-secret' }),
      refreshToken(ALICE), // signed with the refresh secret
      refreshToken(ALICE, 's1', { secret: SECRETS.access }), // refresh-shaped, even with the access secret
      jwt.sign({ id: ALICE }, SECRETS.access, { algorithm: 'HS256', noTimestamp: true }), // no exp: never dies
      'not-a-jwt',
    ];
    for (const t of bad) expect(await a.authenticate({ authorization: `Bearer ${t}` }), t).toBeNull();
    // Cookie side: access token in the cookie, expired refresh, refresh signed with the access secret, openid provider.
    expect(await a.authenticate({ cookie: `refreshToken=${accessToken(ALICE)}` })).toBeNull();
    expect(await a.authenticate({ cookie: `refreshToken=${refreshToken(ALICE, 's', { expiresIn: -1 })}` })).toBeNull();
    expect(await a.authenticate({ cookie: `refreshToken=${refreshToken(ALICE, 's', { secret: SECRETS.access })}` })).toBeNull();
    expect(await a.authenticate({ cookie: `refreshToken=${refreshToken(ALICE)}; token_provider=openid` })).toBeNull();
    expect(await a.authenticate({})).toBeNull();
  });

  it('refuses a logged-out session and a user the directory no longer knows', async () => {
    const a = auth({ sessionChecker: async (_u, sid) => sid !== 'dead' });
    expect(await a.authenticate({ cookie: `refreshToken=${refreshToken(BOB, 'alive')}` })).not.toBeNull();
    expect(await a.authenticate({ cookie: `refreshToken=${refreshToken(BOB, 'dead')}` })).toBeNull();
    expect(await a.authenticate({ authorization: `Bearer ${accessToken('65a0000000000000000000ff')}` })).toBeNull();
  });

  it('without a session checker the refresh cookie is refused (a missing checker never means "every session valid"); bearer still works', async () => {
    const a = auth({ sessionChecker: undefined });
    expect(await a.authenticate({ cookie: `refreshToken=${refreshToken(BOB, 'alive')}` })).toBeNull();
    expect(await a.authenticate({ cookie: `refreshToken=${refreshToken(BOB, 'logged-out-long-ago')}` })).toBeNull();
    expect(await a.authenticate({ authorization: `Bearer ${accessToken(BOB)}` })).toMatchObject({ userId: BOB, via: 'bearer' });
  });

  it('makes admins from role ADMIN or SOLARIS_ADMIN_EMAILS (case-insensitive)', async () => {
    const a = auth({ userDirectory: async () => ({ email: 'boss@example.com', name: 'B', role: 'USER' }) });
    expect((await a.authenticate({ authorization: `Bearer ${accessToken(BOB)}` }))?.isAdmin).toBe(true);
  });

  it('reads the secrets lazily from the environment and from LIBRECHAT_TEMP_CREDENTIALS_PATH', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'solaris-creds-'));
    const file = join(dir, '.env.temp');
    const env: NodeJS.ProcessEnv = { LIBRECHAT_TEMP_CREDENTIALS_PATH: file };
    expect(readJwtSecrets(env)).toEqual({ access: undefined, refresh: undefined });
    writeFileSync(file, `# generated\nexport JWT_SECRET="from-file-access"\nJWT_REFRESH_SECRET=from-file-refresh\n`);
    expect(readJwtSecrets(env)).toEqual({ access: 'from-file-access', refresh: 'from-file-refresh' });
    env.JWT_SECRET = 'from-env';
    expect(readJwtSecrets(env).access).toBe('from-env');
    expect(parseEnvFile("A='x y'\nB=z # note\n")).toEqual({ A: 'x y', B: 'z' });

    // Default reader: process.env at request time (set after the authenticator was built).
    const a = createLibreChatAuthenticator({ engine: te.engine, config: te.config, userDirectory: async (id) => USERS[id] ?? null });
    const saved = process.env.JWT_SECRET;
    const token = accessToken(ALICE, { secret: 'late-secret' });
    try {
      delete process.env.JWT_SECRET;
      expect(await a.authenticate({ authorization: `Bearer ${token}` })).toBeNull();
      process.env.JWT_SECRET = 'late-secret';
      expect((await a.authenticate({ authorization: `Bearer ${token}` }))?.userId).toBe(ALICE);
    } finally {
      if (saved === undefined) delete process.env.JWT_SECRET;
      else process.env.JWT_SECRET = saved;
    }
  });

  it('default directory is users_cache; known users are upserted into it at most once per interval', async () => {
    const userId = '65a0000000000000000000c1';
    const a = createLibreChatAuthenticator({ engine: te.engine, config: te.config, secrets: () => SECRETS, cacheTtlMs: 0 });
    const p = await a.authenticate({ authorization: `Bearer ${accessToken(userId, { extra: { email: 'carol@example.com' } })}` });
    expect(p).toMatchObject({ userId, email: 'carol@example.com', role: null, isAdmin: false });
    const row = async () =>
      (await te.db.pool.query<{ email: string; last_seen_at: Date }>(`SELECT email, last_seen_at FROM users_cache WHERE user_id = $1`, [userId])).rows[0];
    await vi.waitFor(async () => expect((await row())?.email).toBe('carol@example.com'));
    const first = (await row())!.last_seen_at.getTime();
    await te.db.pool.query(`UPDATE users_cache SET role = 'ADMIN' WHERE user_id = $1`, [userId]);
    const again = await a.authenticate({ authorization: `Bearer ${accessToken(userId)}` });
    expect(again?.isAdmin).toBe(true); // the role comes from the directory, not the token
    await new Promise((r) => setTimeout(r, 50));
    expect((await row())!.last_seen_at.getTime()).toBe(first); // not touched again within the interval
  });
});
