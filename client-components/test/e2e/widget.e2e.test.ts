// @vitest-environment node
/**
 * Real browser, real demo: headless Debian chromium (playwright-core) against `npm run demo`'s server
 * (built here into test-artifacts/, embedded Postgres, fake upstream). Screenshots go to test-artifacts/.
 * Without /usr/bin/chromium the test is skipped locally and fails in CI.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, buildDemo, freePort, hasChromium, launchChromium, login as loginAt, percentOf, requireChromiumInCi, send, startDemo, stopDemo, watchErrors } from './harness';

requireChromiumInCi();

describe.skipIf(!hasChromium)('widget in a real browser against the demo', () => {
  let demo: ChildProcess | undefined;
  let browser: Browser | undefined;
  let base = '';

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const built = await buildDemo('e2e-build');
    const port = await freePort();
    demo = await startDemo(built.server, built.widget, port);
    base = `http://127.0.0.1:${port}`;
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stopDemo(demo);
  }, 30_000);

  const login = (page: Page, userId: string) => loginAt(page, base, userId);

  it('warning at 80%, refusal and block modal at 100%, full statement, admin grant unblocks live', async () => {
    const ctx = await browser!.newContext({ viewport: { width: 1280, height: 800 }, locale: 'pt-BR' });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await login(page, 'demo-ana');

    const counter = page.getByTestId('solaris-counter');
    await expect.poll(() => counter.getAttribute('data-state'), { timeout: 15_000 }).toBe('ok');
    // mounted beside LibreChat's account button, not floating over the chat
    expect(await page.locator('#solaris-dock').getAttribute('data-placement')).toBe('nav-user');
    await page.screenshot({ path: join(ARTIFACTS, '01-counter.png') });

    const warning = page.getByTestId('solaris-warning-modal');
    const blocked = page.getByTestId('solaris-blocked-modal');
    let ok = 0;
    for (let i = 0; i < 20 && !(await warning.isVisible()); i++) {
      expect(await send(page, `Mensagem ${i + 1}: me explique cotas de tokens`)).toBe('ok');
      ok++;
      await page.waitForTimeout(300); // the threshold event arrives over socket.io
    }
    await expect.poll(() => warning.isVisible(), { timeout: 5_000 }).toBe(true);
    expect(await percentOf(counter)).toBeGreaterThanOrEqual(80);
    expect(await counter.getAttribute('data-state')).toBe('warning');
    await expect.poll(() => warning.getByText(/Restam [\d.]+ tokens/).isVisible()).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, '02-warning-modal.png') });
    await warning.getByRole('button', { name: 'Entendi' }).click();
    await expect.poll(() => warning.isVisible()).toBe(false);

    // keep chatting until the quota is used up (the last answer may overshoot 100 %)
    for (let i = 0; i < 20 && !(await blocked.isVisible()); i++) {
      const r = await send(page, `Mais uma pergunta ${i + 1}`);
      if (r === 'ok') ok++;
      await page.waitForTimeout(300);
    }
    await expect.poll(() => blocked.isVisible(), { timeout: 5_000 }).toBe(true);
    await blocked.getByRole('button', { name: 'Entendi' }).click();
    await expect.poll(() => blocked.isVisible()).toBe(false);

    // reaching the limit: the next send is refused and the block modal comes back
    await expect.poll(async () => (await send(page, 'Isto deve ser recusado')) === 'refused' || (await page.locator('.demo-msg.error').count()) > 0).toBe(true);
    await expect.poll(() => blocked.isVisible(), { timeout: 5_000 }).toBe(true);
    expect(await page.locator('.demo-msg.error').last().textContent()).toMatch(/cota|quota|limite/i);
    await page.screenshot({ path: join(ARTIFACTS, '03-blocked-modal.png') });

    // the statement lists every charged request, after the period's opening line
    await blocked.getByRole('button', { name: 'Ver extrato' }).click();
    const statement = page.getByTestId('solaris-statement');
    await expect.poll(() => statement.locator('[data-testid="solaris-statement-row"][data-kind="usage"]').count(), { timeout: 10_000 }).toBe(ok);
    expect(await statement.locator('[data-testid="solaris-statement-row"][data-kind="period_start"]').count()).toBe(1);
    // the summary is the counter: the balance it shows is the newest line's
    expect(await statement.getByTestId('solaris-statement-balance').textContent()).toBe(
      await statement.getByTestId('solaris-statement-row').first().locator('td').last().textContent(),
    );
    expect(await statement.getByLabel('Totais').textContent()).toContain(`Mensagens${ok}`);
    await page.screenshot({ path: join(ARTIFACTS, '04-statement.png') });
    await page.keyboard.press('Escape');
    await expect.poll(() => statement.isVisible()).toBe(false);

    // refused once more, so the block modal is open while the admin acts
    await send(page, 'Ainda bloqueado?');
    await expect.poll(() => blocked.isVisible(), { timeout: 5_000 }).toBe(true);
    const beforeGrant = await percentOf(counter);
    expect(beforeGrant).toBeGreaterThanOrEqual(95);

    // the admin grants tokens from the admin tab, in another browser session
    const adminCtx = await browser!.newContext({ viewport: { width: 1280, height: 800 }, locale: 'pt-BR' });
    const admin = await adminCtx.newPage();
    const adminErrors = watchErrors(admin);
    await login(admin, 'demo-admin');
    await admin.getByTestId('solaris-admin-button').click();
    const panel = admin.getByTestId('solaris-admin-panel');
    await panel.getByRole('button', { name: 'Detalhe do usuário: ana@demo.solaris' }).click();
    const detail = panel.getByTestId('solaris-user-detail');
    await detail.getByTestId('solaris-grant-tokens').fill('1000');
    await detail.getByRole('button', { name: 'Conceder' }).click();
    await admin.getByTestId('solaris-confirm').getByRole('button', { name: 'Confirmar' }).click();
    await expect.poll(() => detail.getByText('Salvo.').isVisible(), { timeout: 10_000 }).toBe(true);
    await admin.screenshot({ path: join(ARTIFACTS, '05-admin-tab.png') });

    // Ana's page, never reloaded: the counter drops below 100 % and the block modal closes by itself
    await expect.poll(() => percentOf(counter), { timeout: 10_000 }).toBeLessThan(100);
    expect(await counter.getAttribute('data-state')).not.toBe('blocked');
    await expect.poll(() => blocked.isVisible(), { timeout: 5_000 }).toBe(false);
    await page.screenshot({ path: join(ARTIFACTS, '06-after-grant.png') });
    expect(await send(page, 'Voltei!')).toBe('ok');

    // logout without reload hides the widget; another user gets their own counter
    await page.getByTestId('nav-user').click();
    await page.locator('#logout').click();
    await expect.poll(() => page.locator('#solaris-dock').evaluate((el) => getComputedStyle(el).visibility), { timeout: 10_000 }).toBe('hidden');
    await page.locator('[data-demo-user="demo-bruno"]').click();
    await expect.poll(async () => ((await counter.getAttribute('aria-label')) ?? '').includes('(0 de 1.200 usados)'), { timeout: 15_000 }).toBe(true);

    // LibreChat switches to dark mode and English: the widget follows without reload
    await page.getByTestId('nav-user').click();
    await page.locator('#toggle-theme').click();
    await page.locator('#toggle-lang').click();
    await page.getByTestId('nav-user').click(); // closes the account menu
    await expect.poll(async () => (await counter.getAttribute('aria-label')) ?? '', { timeout: 5_000 }).toMatch(/^Token usage: 0%, 1.2K left \(0 of 1,200 used\)/);
    await counter.click();
    const stmtEn = page.getByRole('dialog', { name: 'Token statement' });
    await expect.poll(() => stmtEn.getByText('No messages match these filters.').isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await page.locator('#solaris-layer').evaluate((h) => h.shadowRoot?.querySelector('.sol-overlay')?.getAttribute('data-theme'))).toBe('dark');
    await page.screenshot({ path: join(ARTIFACTS, '07-dark-english.png') });

    expect(errors).toEqual([]);
    expect(adminErrors).toEqual([]);
    await adminCtx.close();
    await ctx.close();
  }, 240_000);
});
