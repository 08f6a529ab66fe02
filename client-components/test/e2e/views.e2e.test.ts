// @vitest-environment node
/**
 * Every widget view at 360, 768 and 1280 px in a real browser (headless chromium, phone emulation) against
 * the demo: on screen, nothing scrolling sideways, axe-core clean (no serious/critical finding), Escape
 * closes every dialog and gives focus back to what opened it, and the numbers agree with the counter.
 * Screenshots: test-artifacts/screenshots/<width>/*.png (path printed).
 */
import { mkdirSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type { Browser, Locator, Page } from 'playwright-core';
import { ARTIFACTS, buildDemo, freePort, hasChromium, launchChromium, login, percentOf, requireChromiumInCi, send, startDemo, stopDemo, watchErrors } from './harness';
import { SCREENSHOTS, VIEWPORTS, axeSerious, expectNoSidewaysScroll, expectOnScreen, shot, type AxeFinding } from './views';

requireChromiumInCi();

/** The focused element's data-testid, looking through the widget's shadow roots. */
const focusedTestId = (page: Page) =>
  page.evaluate(() => {
    let el: Element | null = document.activeElement;
    while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
    return el?.getAttribute('data-testid') ?? el?.id ?? el?.tagName ?? null;
  });

/** "Restam 1.234" in the counter's label → 1234. */
const leftOf = async (counter: Locator): Promise<number> => Number(((await counter.getAttribute('aria-label')) ?? '').match(/restam ([\d.]+)/i)?.[1]?.replace(/\./g, '') ?? NaN);

describe.skipIf(!hasChromium)('every widget view at 360, 768 and 1280 px', () => {
  let demo: ChildProcess | undefined;
  let browser: Browser | undefined;
  let base = '';
  const axeLog: Record<string, AxeFinding[]> = {};

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const built = await buildDemo('e2e-build-views');
    const port = await freePort();
    demo = await startDemo(built.server, built.widget, port);
    base = `http://127.0.0.1:${port}`;
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stopDemo(demo);
    console.log(`[e2e] screenshots: ${SCREENSHOTS}/{360,768,1280}/`);
    console.log(`[e2e] axe (serious+critical) per view: ${JSON.stringify(Object.fromEntries(Object.entries(axeLog).map(([k, v]) => [k, v.length])))}`);
  }, 30_000);

  /** At each width: `check` (on screen, …), a screenshot and axe. */
  async function atEveryWidth(page: Page, name: string, check: (w: number) => Promise<void>) {
    for (const vp of VIEWPORTS) {
      await page.setViewportSize({ width: vp.width, height: vp.height });
      await page.waitForTimeout(150);
      await check(vp.width);
      await shot(page, vp, name);
      const found = await axeSerious(page);
      axeLog[`${name}@${vp.width}`] = found;
      expect(found, `${name} at ${vp.width}px`).toEqual([]);
    }
    await page.setViewportSize({ width: 360, height: 740 });
  }

  it('counter, both modals, request form, statement and every admin tab', async () => {
    const ctx = await browser!.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, locale: 'pt-BR' });
    const page = await ctx.newPage();
    const errors = watchErrors(page);
    await login(page, base, 'demo-ana');
    const counter = page.getByTestId('solaris-counter');
    await expect.poll(() => counter.getAttribute('data-state'), { timeout: 15_000 }).toBe('ok');

    // the demo page itself: the chat keeps the width, nothing scrolls sideways
    await atEveryWidth(page, '00-demo-page', async (w) => {
      await expectNoSidewaysScroll(page);
      // the chat column: all but the account rail on a phone (it was 60–90 px wide at 390 px)
      const chat = await page.locator('main.main').boundingBox();
      expect(chat!.width, `chat column at ${w}px`).toBeGreaterThanOrEqual(Math.min(w - 60, 440));
    });

    // the counter says how many tokens are left; its tooltip stays on screen (focus shows it)
    expect(await counter.textContent()).toMatch(/restam/);
    expect(await leftOf(counter)).toBe(190);
    await counter.focus();
    const tip = page.locator('#solaris-dock .sol-tooltip');
    await atEveryWidth(page, '01-counter', async () => {
      await expectOnScreen(page, counter, 'counter');
      await expectOnScreen(page, tip, 'counter tooltip');
    });
    expect(await tip.textContent()).toMatch(/\(horário de Brasília\)/);

    // 80 %: the warning names what the counter shows as left
    const warning = page.getByTestId('solaris-warning-modal');
    for (let i = 0; i < 20 && !(await warning.isVisible()); i++) {
      await send(page, `Mensagem ${i + 1}: me explique cotas`);
      await page.waitForTimeout(300);
    }
    await expect.poll(() => warning.isVisible(), { timeout: 5_000 }).toBe(true);
    await page.waitForTimeout(500); // the balance after the crossing message arrives too
    const left = await leftOf(counter);
    expect(await warning.textContent()).toContain(`Restam ${left.toLocaleString('pt-BR')} tokens`);
    await atEveryWidth(page, '02-warning-modal', async () => {
      await expectOnScreen(page, warning, 'warning modal');
      await expectNoSidewaysScroll(page, warning, 'warning modal');
    });
    await page.keyboard.press('Escape');
    await expect.poll(() => warning.isVisible()).toBe(false);

    // 100 %: the block modal says the counter's percentage, has one primary action, closes with Escape
    const blocked = page.getByTestId('solaris-blocked-modal');
    for (let i = 0; i < 20 && !(await blocked.isVisible()); i++) {
      await send(page, `Mais uma pergunta ${i + 1}`);
      await page.waitForTimeout(300);
    }
    await expect.poll(() => blocked.isVisible(), { timeout: 5_000 }).toBe(true);
    await page.waitForTimeout(500);
    const pct = await percentOf(counter);
    // the counter's own figures: its percentage at 100 % or more, else what is left (not enough for the message)
    expect(await blocked.textContent()).toContain(pct >= 100 ? `${pct.toLocaleString('pt-BR', { maximumFractionDigits: 1 })}%` : `Restam ${await leftOf(counter)} tokens`);
    expect(await blocked.locator('.sol-btn-primary').count()).toBe(1);
    expect(await blocked.getByText(/pedir mais tokens|peça mais tokens/i).count()).toBeLessThanOrEqual(2);
    await atEveryWidth(page, '03-blocked-modal', async () => {
      await expectOnScreen(page, blocked, 'block modal');
      await expectNoSidewaysScroll(page, blocked, 'block modal');
    });
    // the request form inside it
    await blocked.getByRole('button', { name: 'Pedir mais tokens' }).click();
    const amount = blocked.getByTestId('solaris-request-tokens');
    await expect.poll(() => amount.inputValue()).toMatch(/^\d+$/);
    // the hint names the amount pre-filled (never a different "suggestion" than the field)
    const hint = (await blocked.getByTestId('solaris-request-hint').textContent()) ?? '';
    expect(hint).toContain(`${Number(await amount.inputValue()).toLocaleString('pt-BR')} tokens`);
    await atEveryWidth(page, '04-request-form', async () => {
      await expectOnScreen(page, blocked, 'block modal with the request form');
      await expectNoSidewaysScroll(page, blocked, 'request form');
    });
    await page.keyboard.press('Escape');
    await expect.poll(() => blocked.isVisible()).toBe(false);

    // the statement: centred, on screen, rows as cards on a phone; Escape gives focus back to the counter
    await counter.click();
    const statement = page.getByTestId('solaris-statement');
    await expect.poll(() => statement.getByTestId('solaris-statement-row').count(), { timeout: 10_000 }).toBeGreaterThan(3);
    await atEveryWidth(page, '05-statement', async (w) => {
      const box = await expectOnScreen(page, statement, 'statement');
      const vw = await page.evaluate(() => innerWidth);
      expect(Math.abs(box.x - (vw - box.x - box.width)), `statement centred at ${w}px`).toBeLessThanOrEqual(2);
      await expectNoSidewaysScroll(page, statement, 'statement');
    });
    await page.keyboard.press('Escape');
    await expect.poll(() => statement.isVisible()).toBe(false);
    await expect.poll(() => focusedTestId(page)).toBe('solaris-counter');

    // admin, in another session
    const adminCtx = await browser!.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, locale: 'pt-BR' });
    const admin = await adminCtx.newPage();
    const adminErrors = watchErrors(admin);
    await login(admin, base, 'demo-admin');
    const adminButton = admin.getByTestId('solaris-admin-button');
    await adminButton.click();
    const panel = admin.getByTestId('solaris-admin-panel');
    await expect.poll(() => panel.getByTestId('solaris-users-table').isVisible(), { timeout: 10_000 }).toBe(true);
    await atEveryWidth(admin, '10-admin-users', async () => {
      await expectOnScreen(admin, panel, 'admin panel');
      await expectNoSidewaysScroll(admin, panel, 'admin users');
    });
    await panel.getByRole('button', { name: 'Detalhe do usuário: ana@demo.solaris' }).click();
    const detail = panel.getByTestId('solaris-user-detail');
    // a user on a plan shows its name, never "—"
    await expect.poll(() => detail.getByTestId('solaris-user-plan').textContent(), { timeout: 10_000 }).toBe('Básico (demo)');
    await detail.getByTestId('solaris-grant-tokens').fill('50');
    await detail.getByTestId('solaris-grant-reason').fill('Relatório do mês');
    await detail.getByRole('button', { name: 'Conceder' }).click();
    await admin.getByTestId('solaris-confirm').getByRole('button', { name: 'Confirmar' }).click();
    await expect.poll(() => detail.getByText('Salvo.').isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await detail.getByTestId('solaris-grant-reason').inputValue()).toBe(''); // the old reason is gone
    const planOption = await detail.getByLabel('Plano').locator('option').allTextContents();
    expect(planOption.join(' | ')).not.toMatch(/month|week|day|mil \//);
    await atEveryWidth(admin, '11-admin-user-detail', async () => {
      await expectNoSidewaysScroll(admin, panel, 'user detail');
    });
    for (const [tab, name] of [
      ['Pedidos', '12-admin-requests'],
      ['Planos', '13-admin-plans'],
      ['Integrações', '14-admin-webhooks'],
      ['Auditoria', '15-admin-audit'],
      ['Uso', '16-admin-usage'],
      ['Ao vivo', '17-admin-live'],
    ] as const) {
      await panel.getByRole('tab', { name: new RegExp(`^${tab}`) }).click();
      await admin.waitForTimeout(400);
      await atEveryWidth(admin, name, async () => {
        await expectNoSidewaysScroll(admin, panel, `admin ${tab}`);
      });
    }
    // the audit log in words: who and whom by e-mail, no raw action codes or JSON
    await panel.getByRole('tab', { name: 'Auditoria' }).click();
    const audit = panel.getByTestId('solaris-audit-table');
    await expect.poll(() => audit.isVisible(), { timeout: 10_000 }).toBe(true);
    const auditText = (await audit.textContent()) ?? '';
    expect(auditText).toContain('Concedeu tokens');
    expect(auditText).toContain('ana@demo.solaris');
    expect(auditText).not.toMatch(/plan\.upsert|request\.open|\{"/);
    await admin.keyboard.press('Escape');
    await expect.poll(() => panel.isVisible()).toBe(false);
    await expect.poll(() => focusedTestId(admin)).toBe('solaris-admin-button');

    expect(errors).toEqual([]);
    expect(adminErrors).toEqual([]);
    await adminCtx.close();
    await ctx.close();
  }, 300_000);
});
