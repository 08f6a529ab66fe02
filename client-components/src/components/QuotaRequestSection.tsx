import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useCancelRequest, useOpenRequest, useRequestSuggestion } from '../quota-request-hooks';
import { useDeploymentTimeZone } from '../hooks';
import { useSolaris, useSolarisStore } from '../provider';
import { ApiError } from '../api/client';
import { ErrorNote, Notice, positiveInt } from './ui';

/**
 * "Pedir mais tokens": amount pre-filled from the server's suggestion (recent daily use × days left),
 * a short reason, one open request at a time (a 409 shows the open one), cancel. Used in the block
 * modal and in the statement panel. The decision arrives live (`request_decided`, provider.tsx).
 * `inline` (block modal): no heading or intro of its own (the modal already says it), just the button.
 */
export function QuotaRequestSection({ startOpen = false, variant = 'card' }: { startOpen?: boolean; variant?: 'card' | 'inline' }) {
  const { t, fmt } = useSolaris();
  const suggestion = useRequestSuggestion();
  const openReq = useOpenRequest();
  const cancel = useCancelRequest();
  const decision = useSolarisStore((s) => s.decision);
  // When the request was sent, in the deployment's zone (the user's balance), saying which.
  const timeZone = useDeploymentTimeZone();
  const [expanded, setExpanded] = useState(startOpen);
  const [tokens, setTokens] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [conflict, setConflict] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const sentRef = useRef<HTMLHeadingElement>(null);
  const firstFieldRef = useRef<HTMLInputElement>(null);
  const hintId = useId();
  const s = suggestion.data;
  const open = s?.open ?? null;

  // Pre-fill once the suggestion arrives (and again after a request was decided or cancelled).
  const prefilled = useRef(false);
  useEffect(() => {
    if (open) prefilled.current = false;
    else if (s && !prefilled.current) {
      prefilled.current = true;
      setTokens(String(s.tokens));
    }
  }, [s, open]);
  // Keyboard users keep their place: focus follows the section's state change (form ↔ "sent").
  const hadOpen = useRef(!!open);
  useEffect(() => {
    if (open && !hadOpen.current) sentRef.current?.focus();
    hadOpen.current = !!open;
  }, [open]);
  useEffect(() => {
    if (expanded) firstFieldRef.current?.focus();
  }, [expanded]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setNotice(null);
    const n = positiveInt(tokens);
    if (n === null) return setError(new Error(t.invalidNumber));
    try {
      const r = await openReq.mutateAsync({ tokens: n, reason: reason.trim() || null });
      setReason('');
      setExpanded(false);
      if (r.status === 'approved') setNotice(t.decisionApproved(fmt.number(r.grantedTokens ?? r.tokens), r.autoApproved));
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        setConflict(true);
        setExpanded(false);
        void suggestion.refetch();
      } else setError(err);
    }
  };
  const onCancel = async () => {
    if (!open) return;
    setError(null);
    try {
      await cancel.mutateAsync(open.id);
      setConflict(false);
      setNotice(t.requestCancelled);
    } catch (err) {
      setError(err);
    }
  };

  const lastDenied = decision && decision.request.status === 'denied' && !open ? decision.request : null;
  // An approval — live, or made while the user was away (a stored notice, shown at load) — keeps its place here too.
  const lastApproved = decision && decision.request.status === 'approved' && !open ? decision.request : null;

  const inline = variant === 'inline';
  // The hint names the very amount pre-filled; when that is the floor, it says so and what the pace alone would need.
  const hint = s
    ? (() => {
        const days = t.days(s.daysLeft, fmt.number(s.daysLeft));
        const need = s.avgDailyUse * s.daysLeft;
        return s.tokens <= s.minimum && need < s.minimum
          ? t.requestHintMin(fmt.number(s.tokens), fmt.number(s.avgDailyUse), days, fmt.number(need))
          : t.requestHint(fmt.number(s.tokens), fmt.number(s.avgDailyUse), days);
      })()
    : '';
  return (
    <section className={inline ? 'sol-request sol-request-inline' : 'sol-card sol-request'} aria-labelledby={inline ? undefined : `${hintId}-h`} aria-label={inline ? t.requestTitle : undefined} data-testid="solaris-request">
      {!inline && <h3 id={`${hintId}-h`}>{t.requestTitle}</h3>}
      {suggestion.isError && <ErrorNote error={suggestion.error} onRetry={() => void suggestion.refetch()} />}
      {error !== null && <ErrorNote error={error} />}
      {notice && <Notice>{notice}</Notice>}
      {lastDenied && (
        <p className="sol-warn-note" data-testid="solaris-request-denied">
          <span aria-hidden="true">✕ </span>
          {t.requestLastDenied(fmt.number(lastDenied.tokens))}
          {lastDenied.message && ` ${t.adminMessage(lastDenied.message)}`}
        </p>
      )}
      {lastApproved && (
        <p className="sol-ok-note" data-testid="solaris-request-approved">
          <span aria-hidden="true">✓ </span>
          {t.decisionApproved(fmt.number(lastApproved.grantedTokens ?? lastApproved.tokens), lastApproved.autoApproved)}
          {lastApproved.message && ` ${t.adminMessage(lastApproved.message)}`}
        </p>
      )}
      {open ? (
        <div data-testid="solaris-request-sent">
          <h4 ref={sentRef} tabIndex={-1}>
            <span aria-hidden="true">✉ </span>
            {t.requestSent}
          </h4>
          {conflict && <p className="sol-warn-note">{t.requestAlreadyOpen}</p>}
          <p role="status">{t.requestPending(fmt.number(open.tokens), fmt.dateTimeZoned(open.createdAt, timeZone))}</p>
          {open.reason && <p className="sol-muted">“{open.reason}”</p>}
          <div className="sol-row">
            <button type="button" className="sol-btn" onClick={() => void onCancel()} disabled={cancel.isPending}>
              {t.requestCancel}
            </button>
          </div>
        </div>
      ) : expanded ? (
        <form onSubmit={(e) => void submit(e)} aria-label={t.requestTitle} className="sol-request-form">
          <label>
            {t.requestTokens}
            <input ref={firstFieldRef} inputMode="numeric" required value={tokens} onChange={(e) => setTokens(e.target.value)} aria-describedby={hintId} data-testid="solaris-request-tokens" />
          </label>
          {s && (
            <p id={hintId} className="sol-muted sol-small" data-testid="solaris-request-hint">
              {hint}
              {s.autoApproveTokens !== null && s.autoApproveAvailable && ` ${t.requestAutoRule(fmt.number(s.autoApproveTokens))}`}
            </p>
          )}
          <label>
            {t.requestReason}
            <textarea value={reason} maxLength={500} rows={2} onChange={(e) => setReason(e.target.value)} data-testid="solaris-request-reason" />
          </label>
          <div className="sol-row">
            <button type="submit" className="sol-btn sol-btn-primary" disabled={openReq.isPending}>
              {t.requestSubmit}
            </button>
            <button type="button" className="sol-btn" onClick={() => setExpanded(false)}>
              {t.cancel}
            </button>
          </div>
        </form>
      ) : (
        <>
          {!inline && <p className="sol-muted sol-small">{t.requestIntro}</p>}
          <div className="sol-row">
            <button type="button" className="sol-btn sol-btn-primary" onClick={() => setExpanded(true)} disabled={!s} data-testid="solaris-request-open" data-autofocus={inline ? true : undefined}>
              {t.requestTitle}
            </button>
          </div>
        </>
      )}
    </section>
  );
}
