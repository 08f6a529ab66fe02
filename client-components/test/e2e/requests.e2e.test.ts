// @vitest-environment node
/**
 * Quota requests in a real browser against the demo (headless chromium, embedded Postgres, fake upstream):
 * a blocked user asks for more from the block modal → the admin, in another browser session, sees it arrive
 * live (badge) and approves → the user's block modal closes by itself, a pt-BR notice shows the server's
 * message and the next chat passes. Then the deny path from the statement, and the audit rows. A webhook
 * endpoint created in the admin tab (secret shown once) receives the request events, signed with that secret.
 * Screenshots: test-artifacts/r*.png.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import type { AdminQuotaRequestsPageDTO, AuditEntryDTO } from '@solaris/wire';
import { ARTIFACTS, buildDemo, freePort, hasChromium, launchChromium, login, requireChromiumInCi, send, startDemo, stopDemo, watchErrors } from './harness';

requireChromiumInCi();

/** docs/webhooks.md's receiver: HMAC-SHA256 of `<t>.<raw body>`, constant-time compare, 5-minute window. */
function verify(secret: string, header: string, raw: string): boolean {
  const f = Object.fromEntries(header.split(',').map((kv) => kv.split('=') as [string, string]));
  const t = Number(f.t);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > 300) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${raw}`).digest();
  const got = Buffer.from(f.v1 ?? '', 'hex');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

interface Received {
  type: string;
  signature: string;
  raw: string;
}
async function startReceiver(): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      received.push({ type: String(req.headers['x-solaris-event-type']), signature: String(req.headers['x-solaris-signature']), raw });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks/solaris`, received };
}

describe.skipIf(!hasChromium)('quota requests in a real browser against the demo', () => {
  let demo: ChildProcess | undefined;
  let browser: Browser | undefined;
  let base = '';
  let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    receiver = await startReceiver();
    const built = await buildDemo('e2e-build-requests');
    const port = await freePort();
    demo = await startDemo(built.server, built.widget, port);
    base = `http://127.0.0.1:${port}`;
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stopDemo(demo);
    receiver?.server.close();
  }, 30_000);

  /** Chats until the block modal shows, acknowledging the 80 % warning on the way. */
  async function chatUntilBlocked(page: Page) {
    const warning = page.getByTestId('solaris-warning-modal');
    const blocked = page.getByTestId('solaris-blocked-modal');
    for (let i = 0; i < 30 && !(await blocked.isVisible()); i++) {
      if (await warning.isVisible()) await warning.getByRole('button', { name: 'Entendi' }).click();
      if (await blocked.isVisible()) break;
      await send(page, `Pergunta ${i + 1} sobre cotas`);
      await page.waitForTimeout(150); // threshold / blocked events arrive over socket.io
    }
    await expect.poll(() => blocked.isVisible(), { timeout: 5_000 }).toBe(true);
    return blocked;
  }

  it('blocked user requests more → admin sees it live and approves → modal closes, chat passes; deny path; audit rows', async () => {
    const userCtx = await browser!.newContext({ viewport: { width: 1280, height: 800 }, locale: 'pt-BR' });
    const adminCtx = await browser!.newContext({ viewport: { width: 1280, height: 800 }, locale: 'pt-BR' });
    const page = await userCtx.newPage();
    const admin = await adminCtx.newPage();
    const errors = watchErrors(page);
    const adminErrors = watchErrors(admin);

    // the admin adds a webhook endpoint: the signing secret is shown once
    await login(admin, base, 'demo-admin');
    const adminButton = admin.getByTestId('solaris-admin-button');
    await adminButton.click();
    const panel = admin.getByTestId('solaris-admin-panel');
    await panel.getByRole('tab', { name: 'Integrações' }).click();
    const hookForm = panel.getByTestId('solaris-webhook-new');
    await hookForm.getByLabel('Nome').fill('ops');
    await hookForm.getByLabel('URL').fill(receiver!.url);
    await hookForm.getByRole('button', { name: 'Adicionar integração' }).click();
    await admin.getByTestId('solaris-confirm').getByRole('button', { name: 'Confirmar' }).click();
    const secretBox = panel.getByTestId('solaris-webhook-secret');
    await expect.poll(() => secretBox.isVisible(), { timeout: 10_000 }).toBe(true);
    const secret = (await secretBox.locator('code').textContent()) ?? '';
    expect(secret).toMatch(/^whsec_/);
    await admin.screenshot({ path: join(ARTIFACTS, 'r0-webhook-secret.png') });
    await secretBox.getByRole('button', { name: 'Fechar' }).click();
    expect(await panel.getByText(secret).count()).toBe(0); // never shown again
    await admin.keyboard.press('Escape');
    await expect.poll(() => panel.isVisible()).toBe(false);

    // Ana uses up her quota; the block modal offers "Pedir mais tokens"
    await login(page, base, 'demo-ana');
    await expect.poll(() => page.getByTestId('solaris-counter').getAttribute('data-state'), { timeout: 15_000 }).toBe('ok');
    const blocked = await chatUntilBlocked(page);
    await blocked.getByRole('button', { name: 'Pedir mais tokens' }).click();
    const amount = blocked.getByLabel('Quantidade de tokens');
    await expect.poll(() => amount.inputValue()).toMatch(/^\d+$/);
    expect(Number(await amount.inputValue())).toBeGreaterThanOrEqual(1000); // the server's suggestion, at least its floor
    await amount.fill('600');
    await blocked.getByLabel('Motivo (opcional)').fill('Preciso terminar o relatório hoje');
    await page.screenshot({ path: join(ARTIFACTS, 'r1-request-form.png') });
    await blocked.getByRole('button', { name: 'Enviar pedido' }).click();
    await expect.poll(() => blocked.getByRole('heading', { name: 'Pedido enviado' }).isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await blocked.getByTestId('solaris-request-sent').textContent()).toContain('Você pediu 600 tokens');
    await page.screenshot({ path: join(ARTIFACTS, 'r2-request-sent.png') });

    // the admin sees it arrive live on the ⚙ entry, then in the "Pedidos" tab with Ana's reason
    await expect.poll(() => adminButton.getAttribute('aria-label'), { timeout: 10_000 }).toBe('Administração de tokens — 1 pedido pendente');
    expect(await admin.getByTestId('solaris-admin-badge').textContent()).toBe('1');
    await admin.screenshot({ path: join(ARTIFACTS, 'r3-admin-badge.png'), clip: { x: 0, y: 560, width: 420, height: 240 } });
    await adminButton.click();
    const requestsTab = panel.getByRole('tab', { name: 'Pedidos (1 pedido pendente)' });
    await requestsTab.click();
    const row = panel.getByTestId('solaris-request-row').filter({ hasText: 'ana@demo.solaris' });
    await expect.poll(() => row.isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await row.textContent()).toContain('Preciso terminar o relatório hoje');
    await admin.screenshot({ path: join(ARTIFACTS, 'r3-admin-pending.png') });

    // approve a different amount, with a message, after confirmation
    await row.getByRole('button', { name: 'Aprovar: ana@demo.solaris' }).click();
    const form = panel.getByTestId('solaris-decide-form');
    await form.getByLabel('Tokens a conceder').fill('500');
    await form.getByLabel('Mensagem ao usuário (opcional)').fill('Bom trabalho');
    await form.getByRole('button', { name: 'Aprovar' }).click();
    await admin.getByTestId('solaris-confirm').getByRole('button', { name: 'Confirmar' }).click();
    await expect.poll(() => panel.getByText('Decisão registrada.').isVisible(), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => requestsTab.isVisible()).toBe(false); // badge gone: nothing pending
    expect(await admin.getByTestId('solaris-admin-badge').count()).toBe(0);

    // Ana's page, never reloaded: the block modal closes by itself and the server's pt-BR message shows
    await expect.poll(() => blocked.isVisible(), { timeout: 10_000 }).toBe(false);
    const notice = page.getByTestId('solaris-decision-notice');
    await expect.poll(() => notice.isVisible(), { timeout: 5_000 }).toBe(true);
    expect(await notice.textContent()).toContain('Seu pedido de tokens foi aprovado: +500 tokens. Mensagem do administrador: Bom trabalho');
    expect(await notice.getAttribute('role')).toBe('status');
    expect(await page.getByTestId('solaris-counter').getAttribute('data-state')).not.toBe('blocked');
    await page.screenshot({ path: join(ARTIFACTS, 'r4-approved.png') });
    expect(await send(page, 'Voltei a conversar!')).toBe('ok');
    await notice.getByRole('button', { name: 'Fechar' }).click();

    // deny path, from the statement this time
    await page.getByTestId('solaris-counter').click();
    const statement = page.getByTestId('solaris-statement');
    const section = statement.getByTestId('solaris-request');
    await section.getByRole('button', { name: 'Pedir mais tokens' }).click();
    await section.getByLabel('Motivo (opcional)').fill('Mais um pouco, por favor');
    await section.getByRole('button', { name: 'Enviar pedido' }).click();
    await expect.poll(() => section.getByRole('heading', { name: 'Pedido enviado' }).isVisible(), { timeout: 10_000 }).toBe(true);

    // the admin's panel is open on "Pedidos": the tab badge and the row arrive live
    await expect.poll(() => requestsTab.isVisible(), { timeout: 10_000 }).toBe(true);
    const row2 = panel.getByTestId('solaris-request-row').filter({ hasText: 'Mais um pouco, por favor' });
    await expect.poll(() => row2.isVisible(), { timeout: 10_000 }).toBe(true);
    await row2.getByRole('button', { name: 'Negar: ana@demo.solaris' }).click();
    await panel.getByTestId('solaris-decide-form').getByLabel('Mensagem ao usuário (opcional)').fill('Sem orçamento este mês');
    await panel.getByTestId('solaris-decide-form').getByRole('button', { name: 'Negar' }).click();
    await admin.getByTestId('solaris-confirm').getByRole('button', { name: 'Confirmar' }).click();
    await expect.poll(() => panel.getByText('Decisão registrada.').isVisible(), { timeout: 10_000 }).toBe(true);

    await expect.poll(() => notice.isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await notice.getAttribute('role')).toBe('alert');
    expect(await notice.textContent()).toContain('foi negado. Mensagem do administrador: Sem orçamento este mês');
    await expect.poll(() => section.getByTestId('solaris-request-denied').textContent(), { timeout: 5_000 }).toContain('Sem orçamento este mês');
    await page.screenshot({ path: join(ARTIFACTS, 'r5-denied.png') });
    await panel.getByLabel('Mostrar').selectOption('all');
    await expect.poll(() => panel.getByTestId('solaris-request-row').count(), { timeout: 10_000 }).toBe(2);
    await admin.screenshot({ path: join(ARTIFACTS, 'r6-admin-decided.png') });

    // webhooks: a test event from the admin tab; the delivery log lists every delivery
    await panel.getByRole('tab', { name: 'Integrações' }).click();
    await panel.getByRole('button', { name: 'Enviar evento de teste: ops' }).click();
    await admin.getByTestId('solaris-confirm').getByRole('button', { name: 'Confirmar' }).click();
    await expect.poll(() => panel.getByText(/Evento de teste na fila de envio/).isVisible(), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => receiver!.received.some((r) => r.type === 'test'), { timeout: 10_000 }).toBe(true);
    await panel.getByRole('button', { name: 'Atualizar' }).click();
    const log = panel.getByTestId('solaris-deliveries-table');
    await expect.poll(async () => (await log.textContent()) ?? '', { timeout: 10_000 }).toMatch(/test.*entregue · HTTP 200/);
    expect(await log.textContent()).toContain('quota_request.decided');
    await admin.screenshot({ path: join(ARTIFACTS, 'r7-webhooks.png') });
    // every event the receiver got verifies with the secret shown once
    const types = receiver!.received.map((r) => r.type);
    expect(types.filter((x) => x === 'quota_request.opened')).toHaveLength(2);
    expect(types.filter((x) => x === 'quota_request.decided')).toHaveLength(2);
    expect(receiver!.received.every((r) => verify(secret, r.signature, r.raw))).toBe(true);
    expect(verify('whsec_wrong', receiver!.received[0]!.signature, receiver!.received[0]!.raw)).toBe(false);
    await panel.getByRole('tab', { name: 'Planos' }).click();
    await expect.poll(() => panel.getByTestId('solaris-role-plans').isVisible(), { timeout: 10_000 }).toBe(true);
    await admin.screenshot({ path: join(ARTIFACTS, 'r8-plans.png'), fullPage: true });

    // audit rows and request states, from the API as the admin
    const audit = (await (await admin.request.get(`${base}/solaris/api/admin/audit?limit=50`)).json()) as { items: AuditEntryDTO[] };
    const actions = audit.items.filter((a) => a.targetUserId === 'demo-ana').map((a) => a.action);
    expect(actions.filter((a) => a === 'request.open')).toHaveLength(2);
    expect(actions).toContain('request.approve');
    expect(actions).toContain('request.deny');
    const approveRow = audit.items.find((a) => a.action === 'request.approve');
    expect(approveRow?.actorId).toBe('demo-admin');
    expect(approveRow?.details).toMatchObject({ asked: 600, granted: 500, message: 'Bom trabalho' });
    expect(audit.items.find((a) => a.action === 'grant' && a.targetUserId === 'demo-ana')?.details).toMatchObject({ tokens: 500 });
    const all = (await (await admin.request.get(`${base}/solaris/api/admin/quota-requests?status=all`)).json()) as AdminQuotaRequestsPageDTO;
    expect(all.pendingCount).toBe(0);
    expect(all.items.map((r) => r.status).sort()).toEqual(['approved', 'denied']);

    expect(errors).toEqual([]);
    expect(adminErrors).toEqual([]);
    await userCtx.close();
    await adminCtx.close();
  }, 90_000);
});
