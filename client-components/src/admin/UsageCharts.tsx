import { noUsage, useAdminUsageByModel, useAdminUsageDaily, useBalance, useDeploymentTimeZone } from '../hooks';
import { addDays, calendarDays, fillDays, type Formatters } from '../i18n';
import { useSolaris, useSolarisStore } from '../provider';
import { BarChart, ErrorNote } from '../components/ui';

/** Days in the usage charts: today and the 29 before it, calendar days of the deployment zone. */
export const USAGE_DAYS = 30;

/**
 * The charts' range as instants (the usage routes take `from` inclusive and `to` exclusive for an
 * instant): from 00:00 of the day USAGE_DAYS - 1 before today to 00:00 of tomorrow, "today" and "00:00"
 * being those of `timeZone` (the browser's zone without one). So it is always USAGE_DAYS whole days of
 * that zone, the same days the server buckets the ledger into — not UTC days, which in São Paulo
 * between 21:00 and 00:00 would already be tomorrow and leave the chart a day short.
 */
export function usageRange(nowMs: number, timeZone: string | undefined, fmt: Pick<Formatters, 'dayOf' | 'wallTime'>): { from: string; to: string } | null {
  const today = fmt.dayOf(nowMs, timeZone);
  return today ? rangeEndingOn(today, timeZone, fmt) : null;
}

function rangeEndingOn(today: string, timeZone: string | undefined, fmt: Pick<Formatters, 'wallTime'>): { from: string; to: string } | null {
  const first = addDays(today, -(USAGE_DAYS - 1));
  const tomorrow = addDays(today, 1);
  const from = first && fmt.wallTime(first, '00:00:00', timeZone);
  const to = tomorrow && fmt.wallTime(tomorrow, '00:00:00', timeZone);
  return from && to ? { from, to } : null;
}

/** The USAGE_DAYS day keys (YYYY-MM-DD) of the range ending on `today`, oldest first. */
export function usageDays(today: string): string[] {
  const first = addDays(today, -(USAGE_DAYS - 1));
  return first ? calendarDays(first, today) : [];
}

/** Usage over the last 30 days of the deployment zone (today included), per day and per model. */
export function UsageCharts({ now = () => Date.now() }: { now?: () => number }) {
  const { t, fmt } = useSolaris();
  // The zone is the admin's own balance (see useDeploymentTimeZone); wait for it rather than ask for
  // browser-zone days first and the right ones a moment later. No zone once loaded (older server) or
  // the balance failing: the browser's days.
  const balance = useBalance();
  const timeZone = useDeploymentTimeZone();
  const known = balance.data !== undefined || balance.isError;
  // Built from today's date there: the range (and the query key) only changes when that day does.
  const today = known ? fmt.dayOf(now(), timeZone) : null;
  const range = today ? rangeEndingOn(today, timeZone, fmt) : null;
  const daily = useAdminUsageDaily(range);
  // The server returns only the days with usage: one bar per day of the range all the same (quiet days
  // at zero), or 4 active days of 30 would read as 4 bars side by side, "every day". No usage at all: "no data".
  const days = daily.data?.length && today ? fillDays(daily.data, usageDays(today), noUsage) : [];
  const models = useAdminUsageByModel(range);
  return (
    <div className="sol-charts">
      {daily.isError && <ErrorNote error={daily.error} onRetry={() => void daily.refetch()} />}
      {daily.data && (
        <BarChart
          caption={t.dailyChart}
          format={fmt.number}
          data={days.map((d) => ({ key: d.day, label: fmt.day(d.day), value: d.weightedTokens, title: `${fmt.day(d.day)}: ${fmt.number(d.weightedTokens)} · ${fmt.money(d.cost)}` }))}
        />
      )}
      {models.isError && <ErrorNote error={models.error} onRetry={() => void models.refetch()} />}
      {models.data && (
        <BarChart
          horizontal
          caption={t.modelChart}
          format={fmt.compact}
          data={models.data.map((m) => ({ label: m.model, value: m.weightedTokens, title: `${m.model}: ${fmt.number(m.weightedTokens)} · ${fmt.number(m.requests)} ${t.requests.toLowerCase()} · ${fmt.money(m.cost)}` }))}
        />
      )}
    </div>
  );
}

/** Live usage feed (socket `usage` events in the `admins` room). */
export function LiveFeed() {
  const { t, fmt } = useSolaris();
  const feed = useSolarisStore((s) => s.feed);
  // Times in the deployment's zone (see useDeploymentTimeZone), named once above the list.
  const timeZone = useDeploymentTimeZone();
  const zone = fmt.zoneName(timeZone);
  return (
    <section aria-label={t.liveTitle}>
      {feed.length === 0 && <p className="sol-muted">{t.liveEmpty}</p>}
      {feed.length > 0 && zone && (
        <p className="sol-muted sol-small" data-testid="solaris-live-zone">
          {t.timesIn(zone)}
        </p>
      )}
      <ol className="sol-feed" aria-live="polite" data-testid="solaris-live-feed">
        {feed.map((e) => (
          <li key={e.entry.id}>
            <span className="sol-muted">{fmt.dateTime(e.entry.createdAt, timeZone)}</span> <strong>{e.email ?? e.userId}</strong> · {e.entry.model} ·{' '}
            {fmt.number(e.entry.weightedTokens)} tokens · {fmt.percent(e.balance.percent)}
          </li>
        ))}
      </ol>
    </section>
  );
}
