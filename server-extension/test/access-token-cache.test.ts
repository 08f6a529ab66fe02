/**
 * The gate's reading of LibreChat's access token keeps verified tokens until their `exp`: a second request with
 * the same token must give exactly what a fresh verification would (expiry, another secret, a forged signature).
 */
import jwt from 'jsonwebtoken';
import { accessTokenUser } from '../src/index';

const SECRET = 'access-cache-secret-4b1f0e9a';
const USER = '65c0000000000000000000a1';
const bearer = (t: string) => `Bearer ${t}`;

afterEach(() => {
  vi.useRealTimers();
});

describe('accessTokenUser with its verified-token memo', () => {
  it('answers a known token until its exp, then refuses it as jsonwebtoken would', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse('2026-12-06T12:00:00.000Z'));
    const token = jwt.sign({ id: USER, username: 'u', provider: 'local', email: 'u@x.io' }, SECRET, { expiresIn: 60 });
    expect(accessTokenUser(bearer(token), SECRET)).toBe(USER);
    vi.setSystemTime(Date.parse('2026-12-06T12:00:59.900Z'));
    expect(accessTokenUser(bearer(token), SECRET)).toBe(USER); // known: no second verification needed
    vi.setSystemTime(Date.parse('2026-12-06T12:01:00.000Z')); // exp reached
    expect(accessTokenUser(bearer(token), SECRET)).toBeNull();
    vi.setSystemTime(Date.parse('2026-12-06T12:00:30.000Z')); // a clock stepping back does not revive a forgotten token wrongly
    expect(accessTokenUser(bearer(token), SECRET)).toBe(USER);
  });

  it('a known token under another secret, a forged signature and a refresh token are refused', () => {
    const token = jwt.sign({ id: USER }, SECRET, { expiresIn: 900 });
    expect(accessTokenUser(bearer(token), SECRET)).toBe(USER);
    expect(accessTokenUser(bearer(token), 'rotated-secret-0000')).toBeNull();
    expect(accessTokenUser(bearer(token), undefined)).toBeNull();
    const [h, p, sig] = token.split('.');
    const forged = `${h}.${p}.${sig!.slice(0, -2)}${sig!.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(accessTokenUser(bearer(forged), SECRET)).toBeNull();
    const other = jwt.sign({ id: '65c0000000000000000000b2' }, 'attacker-secret', { expiresIn: 900 });
    expect(accessTokenUser(bearer(other), SECRET)).toBeNull();
    const refresh = jwt.sign({ id: USER, sessionId: 's1' }, SECRET, { expiresIn: 900 });
    expect(accessTokenUser(bearer(refresh), SECRET)).toBeNull();
    expect(accessTokenUser(bearer(token), SECRET)).toBe(USER);
  });
});
