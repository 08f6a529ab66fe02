import { useMemo } from 'react';
import { useAdminUsageByModel, useAdminUsageDaily, useDeploymentTimeZone } from '../hooks';
import { useSolaris, useSolarisStore } from '../provider';
import { BarChart, ErrorNote } from '../components/ui';

const DAY = 86_400_000;

/** Usage over the last 30 days, per day and per model. */
export function UsageCharts({ now = () => Date.now() }: { now?: () => number }) {
  const { t, fmt } = useSolaris();
  const range = useMemo(() => {
    const end = now();
    return { from: new Date(end - 29 * DAY).toISOString().slice(0, 10), to: new Date(end + DAY).toISOString().slice(0, 10) };
  }, [now]);
  const daily = useAdminUsageDaily(range);
  const models = useAdminUsageByModel(range);
  return (
    <div className="sol-charts">
      {daily.isError && <ErrorNote error={daily.error} onRetry={() => void daily.refetch()} />}
      {daily.data && (
        <BarChart
          caption={t.dailyChart}
          format={fmt.number}
          data={daily.data.map((d) => ({ label: fmt.day(d.day), value: d.weightedTokens, title: `${fmt.day(d.day)}: ${fmt.number(d.weightedTokens)} · ${fmt.usd(d.cost)}` }))}
        />
      )}
      {models.isError && <ErrorNote error={models.error} onRetry={() => void models.refetch()} />}
      {models.data && (
        <BarChart
          horizontal
          caption={t.modelChart}
          format={fmt.compact}
          data={models.data.map((m) => ({ label: m.model, value: m.weightedTokens, title: `${m.model}: ${fmt.number(m.weightedTokens)} · ${fmt.number(m.requests)} req. · ${fmt.usd(m.cost)}` }))}
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
            {fmt.number(e.entry.weightedTokens)} tok · {fmt.percent(e.balance.percent)}
          </li>
        ))}
      </ol>
    </section>
  );
}
