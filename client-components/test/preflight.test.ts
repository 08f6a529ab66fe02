import { chromiumPreflight } from './e2e/preflight';

describe('browser tests without chromium', () => {
  it('CI: the run fails instead of skipping', () => {
    expect(() => chromiumPreflight({ CI: 'true' }, '/nope/chromium', () => false)).toThrow(/missing: the browser tests must run in CI/);
  });
  it('outside CI: a boxed message says what is skipped and why', () => {
    const m = chromiumPreflight({}, '/nope/chromium', () => false)!;
    expect(m).toMatch(/SKIPPED: the real-browser tests/);
    expect(m).toMatch(/why: \/nope\/chromium not found — install it with: apt-get install chromium/);
    expect(m.split('\n')[0]).toMatch(/^!+$/);
  });
  it('with chromium: nothing to say', () => {
    expect(chromiumPreflight({ CI: 'true' }, '/usr/bin/chromium', () => true)).toBeNull();
  });
});
