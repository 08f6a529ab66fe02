import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ApiRoutes, ExtrasRoutes, type AdminUserDTO, type QuotaRequestDTO } from '@solaris/wire';
import { addDays, calendarDays, fillDays, makeFormatters } from '../src/i18n';
import { TokenCounter } from '../src/components/TokenCounter';
import { StatementPanel, periodDays } from '../src/components/StatementPanel';
import { QuotaRequestSection } from '../src/components/QuotaRequestSection';
import { AdminTab } from '../src/admin/AdminTab';
import { usageDays, usageRange } from '../src/admin/UsageCharts';
import { noUsage } from '../src/hooks';
import { balance, entry, fakeApi, quotaRequest as baseRequest, renderSolaris, type Call } from './helpers';

// The "browser" is in Manaus (UTC-4) while the deployment is in São Paulo (UTC-3): the quota resets on
// 2026-12-01 00:00 in São Paulo = 2026-11-30 23:00 in Manaus. Node applies a TZ change at runtime.
const browserTz = process.env.TZ;
beforeAll(() => {
  process.env.TZ = 'America/Manaus';
});
afterAll(() => {
  if (browserTz === undefined) delete process.env.TZ;
  else process.env.TZ = browserTz;
});

const RESET = '2026-12-01T03:00:00.000Z';

describe('dates in the deployment time zone', () => {
  it('the test process really is in another zone (the old formatting would say 30/11)', () => {
    expect(new Intl.DateTimeFormat('pt-BR', { dateStyle: 'short' }).format(new Date(RESET))).toBe('30/11/2026');
  });

  it('formats the reset date in BalanceDTO.timeZone and names the zone', () => {
    const pt = makeFormatters('pt-BR');
    const en = makeFormatters('en');
    const b = { periodEnd: RESET, timeZone: 'America/Sao_Paulo' };
    expect(pt.dateTime(RESET, b.timeZone)).toBe('01/12/2026, 00:00');
    expect(pt.resetDate(b)).toBe('1 de dez. de 2026, 00:00 (horário de Brasília)');
    expect(en.resetDate(b)).toBe('Dec 1, 2026, 12:00 AM (Brasília time)');
    // Another deployment zone: Intl's short name.
    expect(pt.resetDate({ periodEnd: RESET, timeZone: 'UTC' })).toBe('1 de dez. de 2026, 03:00 (UTC)');
    expect(en.resetDate({ periodEnd: '2027-01-01T05:00:00.000Z', timeZone: 'America/New_York' })).toBe('Jan 1, 2027, 12:00 AM (EST)');
  });

  it('falls back to the browser zone, without a zone name, for an older server or an unknown zone', () => {
    const pt = makeFormatters('pt-BR');
    expect(pt.resetDate({ periodEnd: RESET })).toBe('30 de nov. de 2026, 23:00');
    expect(pt.resetDate({ periodEnd: RESET, timeZone: 'Mars/Olympus_Mons' })).toBe('30 de nov. de 2026, 23:00');
    expect(pt.dateTime(RESET, 'Mars/Olympus_Mons')).toBe('30/11/2026, 23:00');
    expect(pt.zoneName(undefined)).toBe('');
    expect(pt.resetDate({ periodEnd: 'not a date', timeZone: 'America/Sao_Paulo' })).toBe('not a date (horário de Brasília)');
  });

  it('the counter says the quota renews on 01/12 at midnight, Brasília time — not 30/11 23:00', async () => {
    const api = fakeApi({ [`GET ${ApiRoutes.balance}`]: () => balance({ periodEnd: RESET, timeZone: 'America/Sao_Paulo' }) });
    renderSolaris(<TokenCounter />, { fetch: api.fetch });
    await screen.findByTestId('solaris-counter');
    const tip = screen.getByRole('tooltip');
    expect(tip).toHaveTextContent('Renova em 1 de dez. de 2026, 00:00 (horário de Brasília)');
    expect(tip).not.toHaveTextContent('30 de nov.');
  });

  it('statement rows are in the deployment zone, named once in the column header', async () => {
    const api = fakeApi({
      [`GET ${ExtrasRoutes.myRequestSuggestion}`]: () => ({ tokens: 3000, avgDailyUse: 100, daysLeft: 10, minimum: 1000, autoApproveTokens: null, autoApproveAvailable: false, open: null }),
      [`GET ${ExtrasRoutes.mySettings}`]: () => ({ personalCap: null, warnPercent: null, maxPersonalCap: 10_000, defaultThresholds: [80, 100], balance: balance() }),
      [`GET ${ApiRoutes.balance}`]: () => balance(),
      [`GET ${ApiRoutes.usageDaily}`]: () => [],
      // 03:30 UTC = 00:30 in São Paulo, 23:30 the day before in Manaus.
      [`GET ${ApiRoutes.statement}`]: () => ({
        items: [entry(1, { createdAt: '2026-11-20T03:30:00.000Z' })],
        nextCursor: null,
        totals: { requests: 1, promptTokens: 101, completionTokens: 50, weightedTokens: 151, cost: 0.0012 },
      }),
    });
    renderSolaris(<StatementPanel />, { fetch: api.fetch, locale: 'en' });
    const table = await screen.findByTestId('solaris-statement-table');
    expect(within(table).getByRole('columnheader', { name: 'Date (Brasília time)' })).toBeInTheDocument();
    const [row] = within(table).getAllByTestId('solaris-statement-row');
    expect(row).toHaveTextContent('11/20/26, 12:30 AM');
    expect(row).not.toHaveTextContent('11/19/26');
  });

  it('dateTimeZoned names the zone of a time shown on its own; zoneLabel names it once in a header', () => {
    const pt = makeFormatters('pt-BR');
    const en = makeFormatters('en');
    expect(pt.dateTimeZoned(AT, 'America/Sao_Paulo')).toBe('20/11/2026, 00:30 (horário de Brasília)');
    expect(en.dateTimeZoned(AT, 'UTC')).toBe('11/20/26, 3:30 AM (UTC)');
    expect(pt.dateTimeZoned(AT)).toBe('19/11/2026, 23:30'); // older server: browser zone, unnamed
    expect(en.zoneLabel('When', 'America/Sao_Paulo')).toBe('When (Brasília time)');
    expect(en.zoneLabel('When', undefined)).toBe('When');
    expect(en.zoneLabel('When', 'Mars/Olympus_Mons')).toBe('When');
  });

  it('a stored period key reads as words, in both languages (audit details)', () => {
    const pt = makeFormatters('pt-BR');
    const en = makeFormatters('en');
    expect(pt.periodKey('2026-12')).toBe('dezembro de 2026');
    expect(pt.periodKey('2026-W49')).toBe('semana 49 de 2026');
    expect(pt.periodKey('2026-12-05')).toBe('05/12/2026');
    expect(en.periodKey('2026-12')).toBe('December 2026');
    expect(en.periodKey('2026-W49')).toBe('week 49 of 2026');
    expect(en.periodKey('2026-12-05')).toBe('12/05/2026');
    expect(pt.periodKey('not-a-key')).toBe('not-a-key');
  });

  it('wallTime: a calendar day of the deployment zone reaching a wall-clock time, as an instant', () => {
    const pt = makeFormatters('pt-BR');
    expect(pt.wallTime('2026-12-10', '23:59:59', 'America/Sao_Paulo')).toBe('2026-12-11T02:59:59.000Z');
    expect(pt.wallTime('2026-12-10', '23:59:59', 'UTC')).toBe('2026-12-10T23:59:59.000Z');
    // Either side of New York's spring-forward (2027-03-14 02:00 EST → 03:00 EDT).
    expect(pt.wallTime('2027-03-13', '23:59:59', 'America/New_York')).toBe('2027-03-14T04:59:59.000Z');
    expect(pt.wallTime('2027-03-14', '23:59:59', 'America/New_York')).toBe('2027-03-15T03:59:59.000Z');
    // No usable zone: the browser's (Manaus, UTC-4).
    expect(pt.wallTime('2026-12-10', '23:59:59')).toBe('2026-12-11T03:59:59.000Z');
    expect(pt.wallTime('2026-12-10', '23:59:59', 'Mars/Olympus_Mons')).toBe('2026-12-11T03:59:59.000Z');
    expect(pt.wallTime('2026-02-30', '23:59:59', 'America/Sao_Paulo')).toBeNull();
    expect(pt.wallTime('10/12/2026', '23:59:59', 'America/Sao_Paulo')).toBeNull();
  });

  it('the user sees when they sent their quota request in the deployment zone, saying so', async () => {
    const open = quotaRequest({ userId: 'u1', createdAt: AT });
    const api = fakeApi({
      [`GET ${ApiRoutes.balance}`]: () => balance({ timeZone: 'America/Sao_Paulo' }),
      [`GET ${ExtrasRoutes.myRequestSuggestion}`]: () => ({ tokens: 3000, avgDailyUse: 100, daysLeft: 10, minimum: 1000, autoApproveTokens: null, autoApproveAvailable: false, open }),
    });
    renderSolaris(<QuotaRequestSection />, { fetch: api.fetch });
    const sent = await screen.findByTestId('solaris-request-sent');
    await waitFor(() => expect(within(sent).getByRole('status')).toHaveTextContent('Você pediu 3.000 tokens em 20/11/2026, 00:30 (horário de Brasília).'));
    expect(sent).not.toHaveTextContent('19/11/2026');
  });

  it('admin tab: users, requests, webhook deliveries, audit log and live feed in the deployment zone, named once per list', async () => {
    const users: AdminUserDTO[] = [
      { userId: 'u1', email: 'ana@ex.com', name: null, role: 'USER', lastSeenAt: AT, planId: 'basic', limitOverride: null, balance: balance({ userId: 'u1' }) },
    ];
    const api = fakeApi({
      // The admin's own balance: the one source of the zone in the admin tab.
      [`GET ${ApiRoutes.balance}`]: () => balance({ userId: 'admin', timeZone: 'America/Sao_Paulo' }),
      [`GET ${ApiRoutes.adminUsers}`]: () => ({ items: users, total: 1 }),
      [`GET ${ExtrasRoutes.adminRequests}`]: () => ({ items: [quotaRequest({ createdAt: AT })], pendingCount: 1 }),
      [`GET ${ExtrasRoutes.adminWebhooks}`]: () => [],
      [`GET ${ExtrasRoutes.adminWebhookDeliveries}`]: () => [
        { id: 'd1', endpointId: 'env:0', eventId: 'e1', eventType: 'user.blocked', attempt: 1, statusCode: 200, ok: true, error: null, durationMs: 12, createdAt: AT },
      ],
      [`GET ${ApiRoutes.adminAudit}`]: () => ({
        items: [{ id: 'a1', actorId: 'admin', actorEmail: 'root@ex.com', action: 'grant', targetUserId: 'u1', details: { tokens: 500 }, createdAt: AT }],
        nextCursor: null,
      }),
    });
    const { socket } = renderSolaris(<AdminTab />, { fetch: api.fetch, locale: 'en' });
    const expectInZone = (el: HTMLElement) => {
      expect(el).toHaveTextContent('11/20/26, 12:30 AM');
      expect(el).not.toHaveTextContent('11/19/26');
    };

    const usersTable = await screen.findByTestId('solaris-users-table');
    expect(await within(usersTable).findByRole('columnheader', { name: 'Last seen (Brasília time)' })).toBeInTheDocument();
    expectInZone(within(usersTable).getAllByRole('row')[1] as HTMLElement);

    await userEvent.click(screen.getByRole('tab', { name: /^Requests/ }));
    const requests = await screen.findByTestId('solaris-requests-table');
    expect(within(requests).getByRole('columnheader', { name: 'When (Brasília time)' })).toBeInTheDocument();
    expectInZone(within(requests).getByTestId('solaris-request-row'));

    await userEvent.click(screen.getByRole('tab', { name: 'Integrations' }));
    const deliveries = await screen.findByTestId('solaris-deliveries-table');
    expect(within(deliveries).getByRole('columnheader', { name: 'When (Brasília time)' })).toBeInTheDocument();
    expectInZone(within(deliveries).getAllByRole('row')[1] as HTMLElement);

    await userEvent.click(screen.getByRole('tab', { name: 'Audit' }));
    const audit = await screen.findByTestId('solaris-audit-table');
    expect(within(audit).getByRole('columnheader', { name: 'When (Brasília time)' })).toBeInTheDocument();
    const [, auditRow] = within(audit).getAllByRole('row');
    expectInZone(auditRow as HTMLElement);
    expect(auditRow).not.toHaveTextContent('Brasília'); // the zone is named once, in the header

    await userEvent.click(screen.getByRole('tab', { name: 'Live' }));
    expect(screen.queryByTestId('solaris-live-zone')).toBeNull(); // nothing listed yet, nothing to caption
    await socket.emit('usage', { userId: 'u1', email: 'ana@ex.com', entry: entry(7, { createdAt: AT }), balance: balance({ used: 8_200 }) });
    expect(screen.getByTestId('solaris-live-zone')).toHaveTextContent('Times are in Brasília time.');
    const feed = screen.getByTestId('solaris-live-feed');
    expect(feed).toHaveTextContent('11/20/26, 12:30 AM ana@ex.com · gpt-4o-mini');
    expect(feed).not.toHaveTextContent('11/19/26');
    expect(feed).not.toHaveTextContent('Brasília');
  });

  it('an approval expiring "on 10/12" lasts to the end of 10/12 in the deployment zone, not the browser\'s', async () => {
    const api = fakeApi({
      [`GET ${ApiRoutes.balance}`]: () => balance({ userId: 'admin', timeZone: 'America/Sao_Paulo' }),
      [`GET ${ApiRoutes.adminUsers}`]: () => ({ items: [], total: 0 }),
      [`GET ${ExtrasRoutes.adminRequests}`]: () => ({ items: [quotaRequest({ createdAt: AT })], pendingCount: 1 }),
      [`POST /admin/quota-requests/:requestId/approve`]: (c: Call) => ({ ...quotaRequest(), status: 'approved', grantedTokens: (c.body as { tokens: number }).tokens }),
    });
    renderSolaris(<AdminTab />, { fetch: api.fetch });
    await userEvent.click(screen.getByRole('tab', { name: /^Pedidos/ }));
    const table = await screen.findByTestId('solaris-requests-table');
    await userEvent.click(within(table).getByRole('button', { name: 'Aprovar: ana@ex.com' }));
    const form = screen.getByRole('form', { name: 'Aprovar o pedido de ana@ex.com' });
    const expires = within(form).getByLabelText('Expira em (opcional)');
    expect(expires).toHaveAccessibleDescription('Vale até o fim do dia (23:59, horário de Brasília).');
    const year = new Date().getUTCFullYear() + 1; // always in the future
    await userEvent.type(expires, `${year}-12-10`);
    await userEvent.click(within(form).getByRole('button', { name: 'Aprovar' }));
    const dlg = await screen.findByRole('alertdialog', { name: 'Confirmar' });
    await userEvent.click(within(dlg).getByRole('button', { name: 'Confirmar' }));
    await waitFor(() => expect(api.calls.some((c) => c.path === '/admin/quota-requests/7/approve')).toBe(true));
    const body = api.calls.find((c) => c.path === '/admin/quota-requests/7/approve')?.body as { expiresAt: string };
    // 23:59:59 in São Paulo (UTC-3), not 23:59:59 in Manaus (UTC-4) = 03:59:59Z.
    expect(body.expiresAt).toBe(`${year}-12-11T02:59:59.000Z`);
  });
});

// 02:30 UTC on the 27th = 23:30 on the 26th in São Paulo (22:30 in Manaus): UTC is already on the next
// day, which is the hour at which a range built from UTC days went wrong.
const LATE = '2026-11-27T02:30:00.000Z';

describe('the admin usage charts cover 30 calendar days of the deployment zone', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('dayOf and addDays: calendar days in a zone, and calendar arithmetic on them', () => {
    const pt = makeFormatters('pt-BR');
    expect(pt.dayOf(LATE, 'America/Sao_Paulo')).toBe('2026-11-26');
    expect(pt.dayOf(Date.parse(LATE), 'UTC')).toBe('2026-11-27');
    expect(pt.dayOf(LATE)).toBe('2026-11-26'); // no zone: the browser's (Manaus, 22:30)
    expect(pt.dayOf('2026-11-27T04:30:00.000Z')).toBe('2026-11-27');
    expect(pt.dayOf('not a date', 'UTC')).toBeNull();
    expect(addDays('2026-11-26', -29)).toBe('2026-10-28');
    expect(addDays('2026-11-26', 1)).toBe('2026-11-27');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2026-02-30', 1)).toBeNull();
  });

  it('usageRange: from 00:00 of the day 29 days before today to 00:00 of tomorrow, in the zone', () => {
    const pt = makeFormatters('pt-BR');
    const now = Date.parse(LATE);
    // Today in São Paulo is the 26th: 28/10 00:00 to 27/11 00:00 (UTC-3) = 30 whole days, the 26th included.
    // (The old code sent UTC days, 2026-10-29..2026-11-28, which the server reads as São Paulo days:
    // 29 days of past, 28/10 missing, plus two days that had not started yet.)
    expect(usageRange(now, 'America/Sao_Paulo', pt)).toEqual({ from: '2026-10-28T03:00:00.000Z', to: '2026-11-27T03:00:00.000Z' });
    // In UTC it is already the 27th.
    expect(usageRange(now, 'UTC', pt)).toEqual({ from: '2026-10-29T00:00:00.000Z', to: '2026-11-28T00:00:00.000Z' });
    // No zone (older server): the browser's days (Manaus, UTC-4).
    expect(usageRange(now, undefined, pt)).toEqual({ from: '2026-10-28T04:00:00.000Z', to: '2026-11-27T04:00:00.000Z' });
    // Across New York's fall-back (2026-11-01): still midnights there, 30 days and one hour apart.
    expect(usageRange(Date.parse('2026-11-20T12:00:00.000Z'), 'America/New_York', pt)).toEqual({
      from: '2026-10-22T04:00:00.000Z',
      to: '2026-11-21T05:00:00.000Z',
    });
  });

  it('the Usage tab asks for São Paulo days at 23:30 there (02:30 UTC the next day), once, and labels the buckets by them', async () => {
    vi.useFakeTimers({ toFake: ['Date'] }); // only the clock: react-query and user-event keep real timers
    vi.setSystemTime(new Date(LATE));
    const api = fakeApi({
      [`GET ${ApiRoutes.balance}`]: () => balance({ userId: 'admin', timeZone: 'America/Sao_Paulo' }),
      [`GET ${ApiRoutes.adminUsers}`]: () => ({ items: [], total: 0 }),
      [`GET ${ExtrasRoutes.adminRequests}`]: () => ({ items: [], pendingCount: 0 }),
      // The server buckets by São Paulo day: the 26th is today's bucket there.
      [`GET ${ApiRoutes.adminUsageDaily}`]: () => [{ day: '2026-11-26', weightedTokens: 1234, promptTokens: 1000, completionTokens: 234, cost: 0.01, requests: 3 }],
      [`GET ${ApiRoutes.adminUsageByModel}`]: () => [{ model: 'gpt-4o-mini', weightedTokens: 1234, requests: 3, cost: 0.01 }],
    });
    renderSolaris(<AdminTab />, { fetch: api.fetch });
    await userEvent.click(await screen.findByRole('tab', { name: 'Uso' }));
    expect(await screen.findByRole('table', { name: 'Uso por dia (tokens cobrados)' })).toHaveTextContent('26/11');
    await screen.findByRole('table', { name: 'Uso por modelo (tokens cobrados)' });
    for (const path of [ApiRoutes.adminUsageDaily, ApiRoutes.adminUsageByModel]) {
      const calls = api.calls.filter((c) => c.path === path);
      // One request, with the deployment's days: none first with the browser's while the zone loaded.
      expect(calls).toHaveLength(1);
      expect(Object.fromEntries(calls[0]!.query)).toEqual({ from: '2026-10-28T03:00:00.000Z', to: '2026-11-27T03:00:00.000Z' });
    }
  });
});

/** The bars of a chart (by its screen-reader table's name): the day each says, its number, its bar height. */
function chartBars(name: string) {
  const table = screen.getByRole('table', { name });
  const figure = table.closest('figure') as HTMLElement;
  const rows = within(table).getAllByRole('row').map((r) => [within(r).getByRole('rowheader').textContent, within(r).getByRole('cell').textContent]);
  const bars = [...figure.querySelectorAll('svg g')].map((g) => ({
    title: g.querySelector('title')?.textContent ?? '',
    height: Number(g.querySelector('rect')?.getAttribute('height')),
  }));
  return { rows, bars };
}

const usageOn = (day: string, weightedTokens: number) => ({ ...noUsage(day), weightedTokens, promptTokens: weightedTokens, requests: 2, cost: 0.02 });

describe('the daily charts show every calendar day, quiet ones at zero', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('calendarDays / fillDays: day keys stepped with addDays, missing days zero, no row dropped', () => {
    expect(calendarDays('2026-12-30', '2027-01-02')).toEqual(['2026-12-30', '2026-12-31', '2027-01-01', '2027-01-02']);
    expect(calendarDays('2026-02-27', '2026-03-01')).toEqual(['2026-02-27', '2026-02-28', '2026-03-01']);
    expect(calendarDays('2026-11-05', '2026-11-05')).toEqual(['2026-11-05']);
    expect(calendarDays('2026-11-05', '2026-11-04')).toEqual([]);
    expect(calendarDays('2026-02-30', '2026-03-02')).toEqual([]);
    expect(calendarDays('2026-03-01', 'nope')).toEqual([]);
    // São Paulo's old DST change (first Sunday of November up to 2018): still one key per day.
    expect(calendarDays('2018-11-03', '2018-11-05')).toEqual(['2018-11-03', '2018-11-04', '2018-11-05']);
    const filled = fillDays([usageOn('2026-11-03', 5), usageOn('2026-11-01', 7)], calendarDays('2026-11-01', '2026-11-04'), noUsage);
    expect(filled.map((d) => [d.day, d.weightedTokens])).toEqual([
      ['2026-11-01', 7],
      ['2026-11-02', 0],
      ['2026-11-03', 5],
      ['2026-11-04', 0],
    ]);
    // A day the server has outside the client's range (an older server's zone differing from the browser's): kept, in order.
    expect(fillDays([usageOn('2026-10-31', 1)], ['2026-11-01'], noUsage).map((d) => d.day)).toEqual(['2026-10-31', '2026-11-01']);
    expect(usageDays('2026-11-26')).toHaveLength(30);
    expect(usageDays('2026-11-26')[0]).toBe('2026-10-28');
  });

  it('admin Usage: 2 active days of 30 give 30 buckets, 28 at zero, the two on their São Paulo days', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(LATE)); // 26/11 23:30 in São Paulo, 22:30 in Manaus
    const api = fakeApi({
      [`GET ${ApiRoutes.balance}`]: () => balance({ userId: 'admin', timeZone: 'America/Sao_Paulo' }),
      [`GET ${ApiRoutes.adminUsers}`]: () => ({ items: [], total: 0 }),
      [`GET ${ExtrasRoutes.adminRequests}`]: () => ({ items: [], pendingCount: 0 }),
      // The range's first day and today, both São Paulo days.
      [`GET ${ApiRoutes.adminUsageDaily}`]: () => [usageOn('2026-10-28', 500), usageOn('2026-11-26', 1234)],
      [`GET ${ApiRoutes.adminUsageByModel}`]: () => [{ model: 'gpt-4o-mini', weightedTokens: 1734, requests: 4, cost: 0.04 }],
    });
    renderSolaris(<AdminTab />, { fetch: api.fetch });
    await userEvent.click(await screen.findByRole('tab', { name: 'Uso' }));
    await screen.findByRole('table', { name: 'Uso por dia (tokens cobrados)' });
    const { rows, bars } = chartBars('Uso por dia (tokens cobrados)');
    const days = calendarDays('2026-10-28', '2026-11-26');
    expect(days).toHaveLength(30);
    const pt = makeFormatters('pt-BR');
    expect(rows).toEqual(days.map((d) => [pt.day(d), d === '2026-10-28' ? '500' : d === '2026-11-26' ? '1.234' : '0']));
    expect(rows.filter(([, v]) => v === '0')).toHaveLength(28);
    expect(bars).toHaveLength(30);
    expect(bars[0]?.height).toBeGreaterThan(0);
    expect(bars[29]?.height).toBe(120); // the larger day is the full height
    expect(bars.slice(1, 29).every((b) => b.height === 0)).toBe(true);
    expect(bars[1]?.title).toBe(`29/10: 0 · ${pt.money(0)}`);
    expect(bars[29]?.title).toBe(`26/11: 1.234 · ${pt.money(0.02)}`);
    // Nothing for 27/11 (already the day in UTC) nor 27/10.
    expect(rows.map(([d]) => d)).not.toContain('27/11');
    expect(rows.map(([d]) => d)).not.toContain('27/10');
  });

  it("statement: the period's days up to today, in the deployment zone, missing days zero", async () => {
    const api = fakeApi({
      [`GET ${ExtrasRoutes.myRequestSuggestion}`]: () => ({ tokens: 3000, avgDailyUse: 100, daysLeft: 10, minimum: 1000, autoApproveTokens: null, autoApproveAvailable: false, open: null }),
      [`GET ${ExtrasRoutes.mySettings}`]: () => ({ personalCap: null, warnPercent: null, maxPersonalCap: 10_000, defaultThresholds: [80, 100], balance: balance() }),
      // November in São Paulo: 01/11 00:00 (= 31/10 23:00 in Manaus) to 01/12 00:00.
      [`GET ${ApiRoutes.balance}`]: () => balance(),
      [`GET ${ApiRoutes.usageDaily}`]: () => [usageOn('2026-11-01', 300), usageOn('2026-11-20', 153)],
      [`GET ${ApiRoutes.statement}`]: () => ({ items: [], nextCursor: null, totals: { requests: 0, promptTokens: 0, completionTokens: 0, weightedTokens: 0, cost: 0 } }),
    });
    renderSolaris(<StatementPanel now={() => Date.parse(LATE)} />, { fetch: api.fetch });
    await screen.findByRole('table', { name: 'Uso por dia (tokens cobrados)' });
    const { rows, bars } = chartBars('Uso por dia (tokens cobrados)');
    // 01/11 to today (26/11 in São Paulo): 26 buckets, not the 2 the server sent, none for the future.
    const pt = makeFormatters('pt-BR');
    const days = calendarDays('2026-11-01', '2026-11-26');
    expect(rows).toEqual(days.map((d) => [pt.day(d), d === '2026-11-01' ? '300' : d === '2026-11-20' ? '153' : '0']));
    expect(rows.filter(([, v]) => v === '0')).toHaveLength(24);
    expect(bars).toHaveLength(26);
    expect(bars[0]?.title).toBe('01/11: 300 tokens · 2 mensagens');
    expect(bars[19]?.title).toBe('20/11: 153 tokens · 2 mensagens');
    expect(bars[25]?.title).toBe('26/11: 0 tokens · 0 mensagens');
    expect(bars.filter((b) => b.height > 0)).toHaveLength(2);
  });

  it('no usage at all in the period: "no data", not a row of empty bars', async () => {
    const api = fakeApi({
      [`GET ${ExtrasRoutes.myRequestSuggestion}`]: () => ({ tokens: 3000, avgDailyUse: 0, daysLeft: null, minimum: 1000, autoApproveTokens: null, autoApproveAvailable: false, open: null }),
      [`GET ${ExtrasRoutes.mySettings}`]: () => ({ personalCap: null, warnPercent: null, maxPersonalCap: 10_000, defaultThresholds: [80, 100], balance: balance() }),
      [`GET ${ApiRoutes.balance}`]: () => balance(),
      [`GET ${ApiRoutes.usageDaily}`]: () => [],
      [`GET ${ApiRoutes.statement}`]: () => ({ items: [], nextCursor: null, totals: { requests: 0, promptTokens: 0, completionTokens: 0, weightedTokens: 0, cost: 0 } }),
    });
    renderSolaris(<StatementPanel now={() => Date.parse(LATE)} />, { fetch: api.fetch });
    expect(await screen.findByText('Nenhum uso neste período.')).toBeInTheDocument();
    expect(screen.queryByRole('table', { name: 'Uso por dia (tokens cobrados)' })).toBeNull();
  });

  it('periodDays: from the first day to today, the whole period once over, a week, the browser zone without one', () => {
    const pt = makeFormatters('pt-BR');
    const nov = { periodStart: '2026-11-01T03:00:00.000Z', periodEnd: '2026-12-01T03:00:00.000Z', timeZone: 'America/Sao_Paulo' };
    const now = Date.parse(LATE);
    expect(periodDays(nov, now, pt)).toEqual(calendarDays('2026-11-01', '2026-11-26'));
    // A stale balance of a period already over: all its days, the reset day (01/12) not among them.
    expect(periodDays(nov, Date.parse('2026-12-02T12:00:00.000Z'), pt)).toEqual(calendarDays('2026-11-01', '2026-11-30'));
    // First instant of the period: one day.
    expect(periodDays(nov, Date.parse(nov.periodStart), pt)).toEqual(['2026-11-01']);
    // A week (Monday 23/11 to Monday 30/11), today Thursday 26/11 there.
    expect(periodDays({ periodStart: '2026-11-23T03:00:00.000Z', periodEnd: '2026-11-30T03:00:00.000Z', timeZone: 'America/Sao_Paulo' }, now, pt)).toEqual(
      calendarDays('2026-11-23', '2026-11-26'),
    );
    // No zone (older server): the browser's days (Manaus), where the period runs 31/10 23:00 to 30/11 23:00.
    expect(periodDays({ periodStart: nov.periodStart, periodEnd: nov.periodEnd }, Date.parse('2026-12-02T12:00:00.000Z'), pt)).toEqual(
      calendarDays('2026-10-31', '2026-11-30'),
    );
  });
});

// 03:30 UTC = 00:30 on the 20th in São Paulo, 23:30 on the 19th in Manaus.
const AT = '2026-11-20T03:30:00.000Z';

const quotaRequest = (p: Partial<QuotaRequestDTO> = {}): QuotaRequestDTO => baseRequest({ name: null, reason: 'relatório', createdAt: AT, ...p });
