import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { QuotaRequestDTO, QuotaRequestStatus } from '@solaris/wire';
import { useAdminRequests, useDecideRequest, type RequestStatusFilter } from '../quota-request-hooks';
import { useDeploymentTimeZone } from '../hooks';
import { useSolaris, useSolarisStore } from '../provider';
import { ErrorNote, Notice, positiveInt } from '../components/ui';
import { ConfirmDialog, type PendingAction } from './ConfirmDialog';
import type { Messages } from '../i18n';

const STATUS_ICON: Record<QuotaRequestStatus, string> = { pending: '…', approved: '✓', denied: '✕', cancelled: '–' };
const statusWord = (t: Messages, s: QuotaRequestStatus) =>
  s === 'pending' ? t.statusPending : s === 'approved' ? t.statusApproved : s === 'denied' ? t.statusDenied : t.statusCancelled;

export function RequestStatus({ r }: { r: QuotaRequestDTO }) {
  const { t } = useSolaris();
  return (
    <span className="sol-status" data-status={r.status}>
      <span aria-hidden="true">{STATUS_ICON[r.status]} </span>
      {statusWord(t, r.status)}
      {r.autoApproved && ` (${t.autoApproved})`}
    </span>
  );
}

/** Pending-request count for badges: live from socket `request` events, seeded by one list fetch. */
export function usePendingRequests(): number | null {
  const n = useSolarisStore((s) => s.pendingRequests);
  useAdminRequests('pending', n === null);
  return n;
}

/** The number only; whoever shows it puts the words into its own accessible name. */
export function PendingBadge({ count }: { count: number | null }) {
  if (!count) return null;
  return (
    <span className="sol-count" aria-hidden="true" data-testid="solaris-pending-badge">
      {count}
    </span>
  );
}

function DecideForm({ request, approve, onAsk, onClose }: { request: QuotaRequestDTO; approve: boolean; onAsk(p: PendingAction): void; onClose(): void }) {
  const { t, fmt } = useSolaris();
  const decide = useDecideRequest();
  const [tokens, setTokens] = useState(String(request.tokens));
  const [expires, setExpires] = useState('');
  const [message, setMessage] = useState('');
  const [error, setError] = useState<unknown>(null);
  const first = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const who = request.email ?? request.name ?? request.userId;
  // The expiry day is a day of the deployment's zone (see useDeploymentTimeZone), like the quota periods.
  const timeZone = useDeploymentTimeZone();
  const zone = fmt.zoneName(timeZone);
  useEffect(() => first.current?.focus(), []);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const msg = message.trim() || null;
    if (!approve) {
      onAsk({ message: t.confirmDeny(who), run: () => decide.mutateAsync({ requestId: request.id, approve: false, input: { message: msg } }) });
      return;
    }
    const n = positiveInt(tokens);
    if (n === null) return setError(new Error(t.invalidNumber));
    // yyyy-mm-dd from the date input → end of that day there, ISO (the API wants an offset date-time).
    const expiresAt = expires ? fmt.wallTime(expires, '23:59:59', timeZone) : null;
    if (expires && (!expiresAt || Date.parse(expiresAt) <= Date.now())) return setError(new Error(t.invalidDate));
    onAsk({
      message: t.confirmApprove(fmt.number(n), who),
      run: () => decide.mutateAsync({ requestId: request.id, approve: true, input: { tokens: n, expiresAt, message: msg } }),
    });
  };
  const title = approve ? t.approveTitle(who) : t.denyTitle(who);
  return (
    <form className="sol-card" onSubmit={submit} aria-label={title} data-testid="solaris-decide-form">
      <h4>{title}</h4>
      <p className="sol-muted sol-small">
        {t.colAsked}: {fmt.number(request.tokens)}
        {request.reason && ` · “${request.reason}”`}
      </p>
      {error !== null && <ErrorNote error={error} />}
      <div className="sol-row">
        {approve && (
          <>
            <label>
              {t.approveTokens}
              <input ref={first} inputMode="numeric" required value={tokens} onChange={(e) => setTokens(e.target.value)} data-testid="solaris-approve-tokens" />
            </label>
            <label>
              {t.expiresAt}
              <input type="date" value={expires} onChange={(e) => setExpires(e.target.value)} aria-describedby={zone ? `sol-expires-${request.id}` : undefined} />
            </label>
            {zone && (
              <span id={`sol-expires-${request.id}`} className="sol-muted sol-small">
                {t.expiresHint(zone)}
              </span>
            )}
          </>
        )}
        <label className="sol-grow">
          {t.messageToUser}
          <textarea ref={approve ? undefined : first} rows={2} maxLength={500} value={message} onChange={(e) => setMessage(e.target.value)} data-testid="solaris-decision-message" />
        </label>
      </div>
      <div className="sol-row">
        <button type="submit" className={`sol-btn ${approve ? 'sol-btn-primary' : 'sol-btn-danger'}`}>
          {approve ? t.approve : t.deny}
        </button>
        <button type="button" className="sol-btn" onClick={onClose}>
          {t.cancel}
        </button>
      </div>
    </form>
  );
}

/** Admin "Pedidos": pending first (live), approve (amount editable, optional expiry) or deny with a message. */
export function QuotaRequestsAdmin() {
  const { t, fmt } = useSolaris();
  const [status, setStatus] = useState<RequestStatusFilter>('pending');
  const list = useAdminRequests(status);
  const pendingCount = useSolarisStore((s) => s.pendingRequests);
  const [deciding, setDeciding] = useState<{ request: QuotaRequestDTO; approve: boolean } | null>(null);
  const [pending, setPending] = useState<PendingAction | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const items = list.data?.items ?? [];
  // Times in the deployment's zone (see useDeploymentTimeZone), named once in the column header.
  const timeZone = useDeploymentTimeZone();

  const start = (request: QuotaRequestDTO, approve: boolean) => {
    setError(null);
    setNotice(null);
    setDeciding({ request, approve });
  };
  return (
    <div className="sol-requests-admin">
      <div className="sol-filters">
        <label>
          {t.requestsShow}
          <select value={status} onChange={(e) => setStatus(e.target.value as RequestStatusFilter)}>
            <option value="pending">{t.requestsPending}</option>
            <option value="all">{t.requestsAll}</option>
          </select>
        </label>
        <p className="sol-muted" role="status" data-testid="solaris-pending-count">
          {t.pendingCount(pendingCount ?? list.data?.pendingCount ?? 0)}
        </p>
      </div>
      {list.isError && <ErrorNote error={list.error} onRetry={() => void list.refetch()} />}
      {error !== null && <ErrorNote error={error} />}
      {notice && <Notice>{notice}</Notice>}
      {list.isLoading && <p className="sol-muted">{t.loading}</p>}
      {list.isSuccess && items.length === 0 && <p className="sol-empty">{t.noRequests}</p>}
      {items.length > 0 && (
        <div className="sol-table-wrap">
          <table className="sol-table sol-cards-narrow" data-testid="solaris-requests-table">
            <thead>
              <tr>
                <th scope="col">{t.colUser}</th>
                <th scope="col" className="sol-num">{t.colAsked}</th>
                <th scope="col">{t.colReason}</th>
                <th scope="col">{fmt.zoneLabel(t.colWhen, timeZone)}</th>
                <th scope="col">{t.colStatus}</th>
                <th scope="col">{t.colDecision}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((r) => {
                const who = r.email ?? r.name ?? r.userId;
                return (
                  <tr key={r.id} data-testid="solaris-request-row">
                    <td className="sol-card-title" data-label={t.colUser}>{who}</td>
                    <td className="sol-num" data-label={t.colAsked}>{fmt.number(r.tokens)}</td>
                    <td data-label={t.colReason}>{r.reason ?? '—'}</td>
                    <td data-label={fmt.zoneLabel(t.colWhen, timeZone)}>{fmt.dateTime(r.createdAt, timeZone)}</td>
                    <td data-label={t.colStatus}>
                      <RequestStatus r={r} />
                    </td>
                    <td data-label="">
                      {r.status === 'pending' ? (
                        <span className="sol-row">
                          <button type="button" className="sol-btn sol-btn-small" onClick={() => start(r, true)} aria-label={`${t.approve}: ${who}`}>
                            {t.approve}
                          </button>
                          <button type="button" className="sol-btn sol-btn-small sol-btn-danger" onClick={() => start(r, false)} aria-label={`${t.deny}: ${who}`}>
                            {t.deny}
                          </button>
                        </span>
                      ) : (
                        <span className="sol-small">
                          {r.grantedTokens !== null && `+${fmt.number(r.grantedTokens)} `}
                          {r.message && `“${r.message}”`}
                        </span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {deciding && (
        <DecideForm
          key={`${deciding.request.id}:${deciding.approve}`}
          request={deciding.request}
          approve={deciding.approve}
          onAsk={setPending}
          onClose={() => setDeciding(null)}
        />
      )}
      <ConfirmDialog
        pending={pending}
        onDone={(r) => {
          setPending(null);
          if (r.ok) {
            setDeciding(null);
            setNotice(t.decided);
          } else if (r.error) setError(r.error);
        }}
      />
    </div>
  );
}
