import { useEffect, useState } from 'react';
import { useAdminUsers, useDeploymentTimeZone, usePlans, type AdminSort } from '../hooks';
import { useSolaris } from '../provider';
import { ErrorNote, StateBadge, UsageBar } from '../components/ui';

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const id = setTimeout(() => setV(value), ms);
    return () => clearTimeout(id);
  }, [value, ms]);
  return v;
}

export function UsersTable({ onSelect }: { onSelect(userId: string): void }) {
  const { t, fmt } = useSolaris();
  const [search, setSearch] = useState('');
  const [sort, setSort] = useState<AdminSort>('usage');
  const q = useDebounced(search.trim(), 250);
  const users = useAdminUsers(q, sort);
  const items = users.data?.items ?? [];
  // "Last seen" in the deployment's zone (see useDeploymentTimeZone), named once in the column header.
  const timeZone = useDeploymentTimeZone();
  const plans = usePlans();
  const planName = (id: string | null) => plans.data?.find((p) => p.id === id)?.name ?? id ?? plans.data?.find((p) => p.isDefault)?.name ?? '—';
  const lastSeenLabel = fmt.zoneLabel(t.colLastSeen, timeZone);
  return (
    <div className="sol-users">
      <div className="sol-filters" role="search">
        <label className="sol-grow">
          {t.search}
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} data-testid="solaris-user-search" />
        </label>
        <label>
          {t.sortBy}
          <select value={sort} onChange={(e) => setSort(e.target.value as AdminSort)}>
            <option value="usage">{t.sortUsage}</option>
            <option value="email">{t.sortEmail}</option>
            <option value="lastSeen">{t.sortLastSeen}</option>
          </select>
        </label>
      </div>
      {users.isError && <ErrorNote error={users.error} onRetry={() => void users.refetch()} />}
      {users.isLoading && <p className="sol-muted" role="status">{t.loading}</p>}
      {users.data && (
        <p className="sol-muted" role="status">
          {t.usersTotal(fmt.number(users.data.total))}
        </p>
      )}
      {users.isSuccess && items.length === 0 && <p className="sol-empty">{t.noUsers}</p>}
      {items.length > 0 && (
        <div className="sol-table-wrap">
          <table className="sol-table sol-cards-narrow" data-testid="solaris-users-table">
            <thead>
              <tr>
                <th scope="col">{t.colUser}</th>
                <th scope="col">{t.colPlan}</th>
                <th scope="col">{t.colUsage}</th>
                <th scope="col">{t.colState}</th>
                <th scope="col">{lastSeenLabel}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((u) => {
                const b = u.balance;
                const who = u.email ?? u.name ?? u.userId;
                return (
                  <tr key={u.userId}>
                    <td className="sol-card-title" data-label={t.colUser}>
                      <button type="button" className="sol-link-btn" onClick={() => onSelect(u.userId)} aria-label={`${t.userDetail}: ${who}`}>
                        {who}
                      </button>
                      {u.name && u.email && <div className="sol-muted sol-small">{u.name}</div>}
                    </td>
                    <td data-label={t.colPlan}>
                      {planName(b.planId ?? u.planId)}
                      {u.limitOverride !== null && <span className="sol-tag">{t.override}</span>}
                    </td>
                    <td className="sol-usage-cell" data-label={t.colUsage}>
                      <UsageBar percent={b.percent} state={b.state} label={`${who}: ${fmt.percent(b.percent)}`} />
                      <span className="sol-small">
                        {fmt.percent(b.percent)} · {fmt.compact(b.used)} / {fmt.compact(b.limit + b.granted)}
                      </span>
                    </td>
                    <td data-label={t.colState}>
                      <StateBadge state={b.state} />
                    </td>
                    <td data-label={lastSeenLabel}>{u.lastSeenAt ? fmt.dateTime(u.lastSeenAt, timeZone) : '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
