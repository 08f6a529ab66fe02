import { useMemo, useState, type FormEvent } from 'react';
import type { AccountLineDTO, BalanceDTO } from '@solaris/wire';
import { noUsage, useBalance, useDailyUsage, useStatement, useStatementCsvUrl, type StatementFilters } from '../hooks';
import { addDays, calendarDays, fillDays, type Formatters, type Messages } from '../i18n';
import { useSolaris, useSolarisStore } from '../provider';
import { BarChart, ErrorNote, SolDialog } from './ui';
import { PersonalLimit } from './PersonalLimit';
import { QuotaRequestSection } from './QuotaRequestSection';

interface Draft {
  period: 'current' | 'all';
  model: string;
  conversationId: string;
}

/**
 * The days (YYYY-MM-DD, deployment zone) the statement's daily chart shows: from the period's first day
 * to today, or to its last day if it is already over (`periodEnd` is exclusive: a reset at 00:00 of
 * the 1st ends the period on the 30th). Stepped with `addDays`, never in milliseconds.
 */
export function periodDays(
  b: Pick<BalanceDTO, 'periodStart' | 'periodEnd'> & { timeZone?: string },
  nowMs: number,
  fmt: Pick<Formatters, 'dayOf' | 'wallTime'>,
): string[] {
  const first = fmt.dayOf(b.periodStart, b.timeZone);
  const endDay = fmt.dayOf(b.periodEnd, b.timeZone);
  const today = fmt.dayOf(nowMs, b.timeZone);
  if (!first || !endDay || !today) return [];
  const endsAtMidnight = Date.parse(fmt.wallTime(endDay, '00:00:00', b.timeZone) ?? '') === Date.parse(b.periodEnd);
  const last = endsAtMidnight ? addDays(endDay, -1) : endDay;
  if (!last) return [];
  // A browser clock behind the period's start: its first day alone (and whatever days the server has).
  return calendarDays(first, today < last ? (today < first ? first : today) : last);
}

/**
 * The statement ("Extrato"): newest first, keyset-paged ("load more"), filters by period, model and
 * conversation, totals, a daily chart of the current period and CSV export of the same filters.
 * With `userId` (admin view) it reads that user's statement.
 */
export function StatementPanel({ userId, now = () => Date.now() }: { userId?: string; now?: () => number }) {
  const { t, fmt, options } = useSolaris();
  const { data: balance } = useBalance();
  // Rows in the deployment's zone (the one the periods follow), named once in the column header.
  const timeZone = balance?.timeZone;
  const [draft, setDraft] = useState<Draft>({ period: 'current', model: '', conversationId: '' });
  const [applied, setApplied] = useState<Draft>(draft);
  const periodKey = userId ? undefined : balance?.periodKey;

  const filters: StatementFilters = useMemo(
    () => ({
      period: applied.period === 'current' ? periodKey : undefined,
      model: applied.model.trim() || undefined,
      conversationId: applied.conversationId.trim() || undefined,
    }),
    [applied, periodKey],
  );
  // "current period" needs the balance's period key first; don't flash the all-time list meanwhile.
  const q = useStatement(filters, { userId, enabled: !!userId || applied.period === 'all' || !!periodKey });
  const csvUrl = useStatementCsvUrl(filters);
  const range = !userId && balance ? { from: balance.periodStart, to: balance.periodEnd } : null;
  const daily = useDailyUsage(range);
  // One bar per day of the period so far, quiet days at zero (the server returns only days with usage).
  const days = range && balance && daily.data?.length ? fillDays(daily.data, periodDays(balance, now(), fmt), noUsage) : [];

  const items = useMemo(() => q.data?.pages.flatMap((p) => p.items) ?? [], [q.data]);
  const totals = q.data?.pages[0]?.totals;
  const models = useMemo(() => Array.from(new Set(items.flatMap((i) => (i.kind === 'usage' ? [i.model] : [])))).sort(), [items]);
  const dl = `sol-models-${userId ?? 'me'}`;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setApplied(draft);
  };
  const clear = () => {
    const d: Draft = { period: 'current', model: '', conversationId: '' };
    setDraft(d);
    setApplied(d);
  };

  return (
    <section className="sol-statement" aria-label={t.statementTitle}>
      {!userId && options.quotaRequests !== false && (
        <div className="sol-cards">
          <PersonalLimit />
          <QuotaRequestSection />
        </div>
      )}
      <form className="sol-filters" onSubmit={submit} role="search">
        {!userId && (
          <label className="sol-filter-period">
            {t.filterPeriod}
            <select value={draft.period} onChange={(e) => setDraft({ ...draft, period: e.target.value as Draft['period'] })}>
              <option value="current">{balance ? fmt.period(balance) : '…'}</option>
              <option value="all">{t.periodAll}</option>
            </select>
          </label>
        )}
        <label>
          {t.filterModel}
          <input list={dl} value={draft.model} placeholder={t.modelAll} onChange={(e) => setDraft({ ...draft, model: e.target.value })} />
          <datalist id={dl}>
            {models.map((m) => (
              <option key={m} value={m} />
            ))}
          </datalist>
        </label>
        <label>
          {t.filterConversation}
          <input value={draft.conversationId} onChange={(e) => setDraft({ ...draft, conversationId: e.target.value })} />
        </label>
        <div className="sol-filter-buttons">
          <button type="submit" className="sol-btn sol-btn-primary">
            {t.applyFilters}
          </button>
          <button type="button" className="sol-btn" onClick={clear}>
            {t.clearFilters}
          </button>
          {!userId && (
            <a className="sol-btn" href={csvUrl} download="extrato-solaris.csv" data-testid="solaris-csv">
              <span aria-hidden="true">↓ </span>
              {t.exportCsv}
            </a>
          )}
        </div>
      </form>

      {totals?.account && (
        <dl className="sol-totals" aria-label={t.accountTitle} data-testid="solaris-statement-account">
          <div>
            <dt>{t.accountLimit}</dt>
            <dd>{fmt.number(totals.account.limit)}</dd>
          </div>
          <div>
            <dt>{t.accountGranted}</dt>
            <dd>{fmt.number(totals.account.granted)}</dd>
          </div>
          <div>
            <dt>{t.accountUsed}</dt>
            <dd data-testid="solaris-statement-used">{fmt.number(totals.account.used)}</dd>
          </div>
          <div>
            <dt>{t.accountBalance}</dt>
            <dd data-testid="solaris-statement-balance">{fmt.number(totals.account.balance)}</dd>
          </div>
        </dl>
      )}
      {totals && (
        <dl className="sol-totals" aria-label={t.totals}>
          <div>
            <dt>{t.requests}</dt>
            <dd>{fmt.number(totals.requests)}</dd>
          </div>
          <div>
            <dt>{t.colPrompt}</dt>
            <dd>{fmt.number(totals.promptTokens)}</dd>
          </div>
          <div>
            <dt>{t.colCompletion}</dt>
            <dd>{fmt.number(totals.completionTokens)}</dd>
          </div>
          <div>
            <dt>{t.colWeighted}</dt>
            <dd>{fmt.number(totals.weightedTokens)}</dd>
          </div>
          <div>
            <dt>{t.colCost}</dt>
            <dd>{fmt.money(totals.cost)}</dd>
          </div>
        </dl>
      )}

      {range && daily.data && (
        <BarChart
          caption={t.dailyChart}
          format={fmt.number}
          data={days.map((d) => ({ key: d.day, label: fmt.day(d.day), value: d.weightedTokens, title: `${fmt.day(d.day)}: ${fmt.number(d.weightedTokens)} tokens · ${fmt.number(d.requests)} ${t.requests.toLowerCase()}` }))}
        />
      )}

      {q.isError && <ErrorNote error={q.error} onRetry={() => void q.refetch()} />}
      {q.isLoading && <p className="sol-muted" role="status">{t.loading}</p>}
      {q.isSuccess && !items.some((i) => i.kind === 'usage') && <p className="sol-empty" role="status">{t.empty}</p>}
      {items.length > 0 && (
        <div className="sol-table-wrap" tabIndex={0} aria-label={t.statementTitle} role="region">
          <table className="sol-table sol-cards-narrow" data-testid="solaris-statement-table">
            <thead>
              <tr>
                <th scope="col">{fmt.zoneLabel(t.colDate, timeZone)}</th>
                <th scope="col">{t.colModel}</th>
                <th scope="col" className="sol-num">{t.colPrompt}</th>
                <th scope="col" className="sol-num">{t.colCompletion}</th>
                <th scope="col" className="sol-num">{t.colWeighted}</th>
                <th scope="col" className="sol-num">{t.colCost}</th>
                <th scope="col" className="sol-num">{t.colBalanceAfter}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) =>
                e.kind === 'usage' ? (
                  <tr key={e.id} data-testid="solaris-statement-row" data-kind={e.context === 'title' ? 'title' : 'usage'}>
                    <td className="sol-card-title" data-label={fmt.zoneLabel(t.colDate, timeZone)}>
                      {fmt.dateTime(e.createdAt, timeZone)}
                    </td>
                    <td data-label={t.colModel}>
                      {e.model}
                      {e.context === 'title' && <span className="sol-tag">{t.lineTitle}</span>}
                      {e.estimated && (
                        <span className="sol-tag" title={t.estimatedHint}>
                          ≈ {t.estimated}
                        </span>
                      )}
                    </td>
                    <td className="sol-num" data-label={t.colPrompt}>
                      {fmt.number(e.promptTokens)}
                    </td>
                    <td className="sol-num" data-label={t.colCompletion}>
                      {fmt.number(e.completionTokens)}
                    </td>
                    <td className="sol-num" data-label={t.colWeighted}>
                      {fmt.number(e.weightedTokens)}
                    </td>
                    <td className="sol-num" data-label={t.colCost}>
                      {fmt.money(e.cost)}
                    </td>
                    <td className="sol-num" data-label={t.colBalanceAfter}>
                      {fmt.number(e.balanceAfter)}
                    </td>
                  </tr>
                ) : (
                  <tr key={e.id} data-testid="solaris-statement-row" data-kind={e.kind} className="sol-line-account">
                    <td className="sol-card-title" data-label={fmt.zoneLabel(t.colDate, timeZone)}>
                      {fmt.dateTime(e.createdAt, timeZone)}
                    </td>
                    <td colSpan={3} data-label={t.colModel}>
                      <strong>{accountLineLabel(e, t)}</strong>
                      {accountLineDetail(e, fmt) && <span className="sol-muted"> · {accountLineDetail(e, fmt)}</span>}
                    </td>
                    <td className="sol-num" data-label={t.lineAmount}>
                      {e.kind === 'period_start' ? fmt.number(e.amount) : signed(e.amount, fmt)}
                    </td>
                    <td />
                    <td className="sol-num" data-label={t.colBalanceAfter}>
                      {fmt.number(e.balanceAfter)}
                    </td>
                  </tr>
                ),
              )}
            </tbody>
          </table>
        </div>
      )}
      {q.hasNextPage && (
        <button type="button" className="sol-btn" onClick={() => void q.fetchNextPage()} disabled={q.isFetchingNextPage}>
          {q.isFetchingNextPage ? t.loading : t.loadMore}
        </button>
      )}
    </section>
  );
}

/** The statement in a dialog, opened by the counter or the modals. */
export function StatementDialog() {
  const { t } = useSolaris();
  const open = useSolarisStore((s) => s.statementOpen);
  const setOpen = useSolarisStore((s) => s.setStatementOpen);
  return (
    <SolDialog open={open} onOpenChange={setOpen} title={t.statementTitle} description={t.statementDesc} size="lg" testId="solaris-statement">
      {open && <StatementPanel />}
    </SolDialog>
  );
}

/** The name of an account line (the CSV export names them the same way: adapters/http/csv.ts). */
function accountLineLabel(e: AccountLineDTO, t: Messages): string {
  switch (e.kind) {
    case 'period_start':
      return t.linePeriodStart;
    case 'grant':
      return t.lineGrant;
    case 'grant_expiry':
      return t.lineGrantExpiry;
    case 'reset':
      return t.lineReset;
    case 'limit':
      return e.reason === 'plan' || e.reason === 'role_plan' || e.reason === 'role' ? t.linePlan : e.reason === 'personal_cap' ? t.linePersonalCap : t.lineLimit;
  }
}

function accountLineDetail(e: AccountLineDTO, fmt: Formatters): string | null {
  if (e.kind === 'limit') return e.limitBefore == null || e.limitAfter == null ? null : `${fmt.number(e.limitBefore)} → ${fmt.number(e.limitAfter)}`;
  if (e.kind === 'grant' || e.kind === 'reset') return e.reason;
  return null;
}

const signed = (n: number, fmt: Formatters) => (n > 0 ? `+${fmt.number(n)}` : fmt.number(n));
