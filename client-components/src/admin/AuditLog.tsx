import { useState } from 'react';
import type { AuditEntryDTO, PlanDTO } from '@solaris/wire';
import { useAuditLog, useDeploymentTimeZone, usePlans } from '../hooks';
import type { Formatters, Messages } from '../i18n';
import { useSolaris } from '../provider';
import { ErrorNote } from '../components/ui';

/** Rows per page: a page fits a laptop screen without an inner scroll box. */
export const AUDIT_PAGE = 20;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** One detail value in words: numbers and dates through the formatter, plans by name, weights as "modelo=peso". */
function detailValue(key: string, v: unknown, fmt: Formatters, t: Messages, plans: PlanDTO[] | undefined, timeZone: string | undefined): string {
  if (typeof v === 'number') return fmt.number(v);
  if (typeof v === 'boolean') return v ? t.yes : t.no;
  if (typeof v === 'string') {
    if (key === 'planId') return plans?.find((p) => p.id === v)?.name ?? v;
    if (key === 'period' && (v === 'month' || v === 'week' || v === 'day')) return t.planPer(v);
    if (key === 'periodKey') return fmt.periodKey(v);
    return ISO.test(v) ? fmt.dateTime(v, timeZone) : v;
  }
  if (Array.isArray(v)) return v.map((x) => detailValue(key, x, fmt, t, plans, timeZone)).join(', ');
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    return entries.length ? entries.map(([k, x]) => `${k}=${typeof x === 'number' ? fmt.decimal(x) : String(x)}`).join(', ') : '—';
  }
  return String(v);
}

/** The details of one audit row as "label: value" pairs, empty values left out. */
export function auditDetails(a: Pick<AuditEntryDTO, 'details'>, fmt: Formatters, t: Messages, plans?: PlanDTO[], timeZone?: string): Array<[string, string]> {
  return Object.entries(a.details ?? {})
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => [t.auditFields[k] ?? k, detailValue(k, v, fmt, t, plans, timeZone)]);
}

/**
 * The audit log in words: when, who did it and to whom (by e-mail), what (a pt-BR label, not the action
 * code) and the details as "label: value". Paged, 20 rows at a time, newest first (keyset pages of the
 * admin API, kept as they load so "newer" does not refetch).
 */
export function AuditLog() {
  const { t, fmt } = useSolaris();
  const q = useAuditLog(AUDIT_PAGE);
  const plans = usePlans();
  // Times in the deployment's zone, named once in the column header (see useDeploymentTimeZone).
  const timeZone = useDeploymentTimeZone();
  const [page, setPage] = useState(0);
  const pages = q.data?.pages ?? [];
  const shown = Math.min(page, Math.max(0, pages.length - 1));
  const items = pages[shown]?.items ?? [];
  const hasOlder = shown < pages.length - 1 || !!q.hasNextPage;
  const older = async () => {
    if (shown >= pages.length - 1) await q.fetchNextPage();
    setPage(shown + 1);
  };
  const whenLabel = fmt.zoneLabel(t.auditWhen, timeZone);
  return (
    <div>
      {q.isError && <ErrorNote error={q.error} onRetry={() => void q.refetch()} />}
      {q.isLoading && <p className="sol-muted" role="status">{t.loading}</p>}
      {q.isSuccess && items.length === 0 && <p className="sol-empty">{t.noData}</p>}
      {items.length > 0 && (
        <div className="sol-table-wrap">
          <table className="sol-table sol-cards-narrow" data-testid="solaris-audit-table">
            <thead>
              <tr>
                <th scope="col">{whenLabel}</th>
                <th scope="col">{t.auditWho}</th>
                <th scope="col">{t.auditAction}</th>
                <th scope="col">{t.auditTarget}</th>
                <th scope="col">{t.auditDetails}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((a) => {
                const details = auditDetails(a, fmt, t, plans.data, timeZone);
                const who = a.actorEmail ?? (a.actorId === a.targetUserId ? a.targetEmail : null) ?? a.actorId;
                return (
                  <tr key={a.id} data-testid="solaris-audit-row">
                    <td data-label={whenLabel}>{fmt.dateTime(a.createdAt, timeZone)}</td>
                    <td data-label={t.auditWho}>{who}</td>
                    <td className="sol-card-title" data-label={t.auditAction}>
                      {t.auditActions[a.action] ?? a.action}
                    </td>
                    <td data-label={t.auditTarget}>{a.targetEmail ?? a.targetUserId ?? '—'}</td>
                    <td data-label={t.auditDetails}>
                      {details.length === 0 ? (
                        '—'
                      ) : (
                        <ul className="sol-audit-details sol-small">
                          {details.map(([k, v]) => (
                            <li key={k}>
                              <span className="sol-muted">{k}:</span> {v}
                            </li>
                          ))}
                        </ul>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {(shown > 0 || hasOlder) && (
        <nav className="sol-pager" aria-label={t.tabAudit}>
          <button type="button" className="sol-btn" onClick={() => setPage(shown - 1)} disabled={shown === 0}>
            <span aria-hidden="true">← </span>
            {t.auditNewer}
          </button>
          <span className="sol-muted" aria-live="polite">
            {t.auditPage(fmt.number(shown + 1))}
          </span>
          <button type="button" className="sol-btn" onClick={() => void older()} disabled={!hasOlder || q.isFetchingNextPage}>
            {t.auditOlder}
            <span aria-hidden="true"> →</span>
          </button>
        </nav>
      )}
    </div>
  );
}
