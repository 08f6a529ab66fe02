import { screen, within } from '@testing-library/react';
import { ApiRoutes, ExtrasRoutes } from '@solaris/wire';
import { makeFormatters } from '../src/i18n';
import { TokenCounter } from '../src/components/TokenCounter';
import { StatementPanel } from '../src/components/StatementPanel';
import { balance, entry, fakeApi, renderSolaris } from './helpers';

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
});
