import { useAuditLog, useDeploymentTimeZone } from '../hooks';
import { useSolaris } from '../provider';
import { ErrorNote } from '../components/ui';

export function AuditLog() {
  const { t, fmt } = useSolaris();
  const q = useAuditLog();
  // Times in the deployment's zone, named once in the column header (see useDeploymentTimeZone).
  const timeZone = useDeploymentTimeZone();
  const items = q.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div>
      {q.isError && <ErrorNote error={q.error} onRetry={() => void q.refetch()} />}
      {q.isLoading && <p className="sol-muted" role="status">{t.loading}</p>}
      {q.isSuccess && items.length === 0 && <p className="sol-empty">{t.noData}</p>}
      {items.length > 0 && (
        <div className="sol-table-wrap">
          <table className="sol-table" data-testid="solaris-audit-table">
            <thead>
              <tr>
                <th scope="col">{fmt.zoneLabel(t.auditWhen, timeZone)}</th>
                <th scope="col">{t.auditWho}</th>
                <th scope="col">{t.auditAction}</th>
                <th scope="col">{t.auditTarget}</th>
                <th scope="col">{t.auditDetails}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((a) => (
                <tr key={a.id}>
                  <td>{fmt.dateTime(a.createdAt, timeZone)}</td>
                  <td>{a.actorEmail ?? a.actorId}</td>
                  <td>
                    <code>{a.action}</code>
                  </td>
                  <td>{a.targetUserId ?? '—'}</td>
                  <td className="sol-small">
                    <code>{JSON.stringify(a.details)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {q.hasNextPage && (
        <button type="button" className="sol-btn" onClick={() => void q.fetchNextPage()} disabled={q.isFetchingNextPage}>
          {t.loadMore}
        </button>
      )}
    </div>
  );
}
