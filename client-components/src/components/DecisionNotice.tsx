import { useCallback, useEffect, useRef } from 'react';
import { createPortal } from 'react-dom';
import { ExtrasRoutes, type NoticeDTO } from '@solaris/wire';
import { useSolaris, useSolarisStore } from '../provider';
import { ThemeScope } from './ui';

const AUTO_HIDE_MS = 20_000;

/**
 * The user's quota request was decided (socket `request_decided`): a toast with the server's ready-made
 * pt-BR line (English is composed here from the same request). Approved notices go away by themselves;
 * a denial stays until closed, since it carries the administrator's message.
 */
export function DecisionNotice() {
  const { t, fmt, locale, portalContainer, api } = useSolaris();
  const decision = useSolarisStore((s) => s.decision);
  const notice = useSolarisStore((s) => s.notice);
  const showDecision = useSolarisStore((s) => s.showDecision);
  const showNotice = useSolarisStore((s) => s.showNotice);
  const dismissDecision = useSolarisStore((s) => s.dismissDecision);
  const dismissNoticeState = useSolarisStore((s) => s.dismissNotice);
  const approved = decision?.request.status === 'approved';
  // Ids of the stored notices behind what is shown: marked seen when the user closes it (or it hides itself).
  const pending = useRef<{ decision: string[]; notice: string[] }>({ decision: [], notice: [] });
  const markSeen = useCallback(
    (ids: string[]) => {
      const unique = [...new Set(ids)];
      if (unique.length) void api.send('POST', ExtrasRoutes.myNoticesSeen, {}, { ids: unique }).catch(() => undefined);
    },
    [api],
  );
  // Stable while the decision is the same: the auto-hide timer below must not restart on every render.
  const dismiss = useCallback(() => {
    markSeen([...pending.current.decision, ...(decision?.noticeId ? [decision.noticeId] : [])]);
    pending.current.decision = [];
    dismissDecision();
  }, [markSeen, decision, dismissDecision]);
  const dismissNotice = () => {
    markSeen([...pending.current.notice, ...(notice ? [notice.id] : [])]);
    pending.current.notice = [];
    dismissNoticeState();
  };
  // At load: what happened while the user was away (an approval, a denial, a grant, a reset), until seen.
  useEffect(() => {
    let live = true;
    api.get<NoticeDTO[]>(ExtrasRoutes.myNotices).then(
      (list) => {
        if (!live || !Array.isArray(list) || list.length === 0) return;
        const decisions = list.filter((n) => n.kind === 'request_decided' && n.request);
        const others = list.filter((n) => n.kind !== 'request_decided');
        const lastDecision = decisions.at(-1);
        if (lastDecision) {
          pending.current.decision = decisions.map((n) => n.id);
          showDecision({ request: lastDecision.request!, message: lastDecision.message, noticeId: lastDecision.id });
        }
        const lastOther = others.at(-1);
        if (lastOther) {
          pending.current.notice = others.map((n) => n.id);
          showNotice(lastOther);
        }
      },
      () => undefined, // an older server without notices, or offline: nothing to show
    );
    return () => {
      live = false;
    };
  }, [api, showDecision, showNotice]);
  useEffect(() => {
    if (!decision || !approved) return;
    const id = setTimeout(dismiss, AUTO_HIDE_MS);
    return () => clearTimeout(id);
  }, [decision, approved, dismiss]);
  if (typeof document === 'undefined') return null;

  let text = '';
  if (decision) {
    const r = decision.request;
    if (locale === 'pt-BR') text = decision.message;
    else {
      text = approved ? t.decisionApproved(fmt.number(r.grantedTokens ?? r.tokens), r.autoApproved) : t.decisionDenied(fmt.number(r.tokens));
      if (r.message) text += ` ${t.adminMessage(r.message)}`;
    }
  }
  const noticeText = !notice
    ? ''
    : locale === 'pt-BR'
      ? notice.message
      : notice.kind === 'grant'
        ? t.noticeGrant(fmt.number(notice.tokens ?? 0), notice.reason)
        : t.noticeReset(notice.reason);
  return createPortal(
    <ThemeScope className="sol-toasts">
      {/* The region stays mounted so screen readers announce what is put into it. */}
      <div aria-live="polite" aria-atomic="false">
        {notice && (
          <div className="sol-toast" data-kind={notice.kind} role="status" data-testid="solaris-notice">
            <span className="sol-toast-icon" aria-hidden="true">
              {notice.kind === 'grant' ? '+' : '↺'}
            </span>
            <div className="sol-toast-body">
              <strong>{notice.kind === 'grant' ? t.noticeGrantTitle : t.noticeResetTitle}</strong>
              <p>{noticeText}</p>
            </div>
            <button type="button" className="sol-icon-btn" aria-label={t.close} onClick={dismissNotice}>
              <span aria-hidden="true">×</span>
            </button>
          </div>
        )}
        {decision && (
          <div className="sol-toast" data-kind={approved ? 'approved' : 'denied'} role={approved ? 'status' : 'alert'} data-testid="solaris-decision-notice">
            <span className="sol-toast-icon" aria-hidden="true">
              {approved ? '✓' : '✕'}
            </span>
            <div className="sol-toast-body">
              <strong>{approved ? t.decisionApprovedTitle : t.decisionDeniedTitle}</strong>
              <p>{text}</p>
            </div>
            <button type="button" className="sol-icon-btn" aria-label={t.close} onClick={dismiss}>
              <span aria-hidden="true">×</span>
            </button>
          </div>
        )}
      </div>
    </ThemeScope>,
    portalContainer ?? document.body,
  );
}
