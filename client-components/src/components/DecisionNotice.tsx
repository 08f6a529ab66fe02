import { useEffect } from 'react';
import { createPortal } from 'react-dom';
import { useSolaris, useSolarisStore } from '../provider';
import { ThemeScope } from './ui';

const AUTO_HIDE_MS = 20_000;

/**
 * The user's quota request was decided (socket `request_decided`): a toast with the server's ready-made
 * pt-BR line (English is composed here from the same request). Approved notices go away by themselves;
 * a denial stays until closed, since it carries the administrator's message.
 */
export function DecisionNotice() {
  const { t, fmt, locale, portalContainer } = useSolaris();
  const decision = useSolarisStore((s) => s.decision);
  const dismiss = useSolarisStore((s) => s.dismissDecision);
  const approved = decision?.request.status === 'approved';
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
  return createPortal(
    <ThemeScope className="sol-toasts">
      {/* The region stays mounted so screen readers announce what is put into it. */}
      <div aria-live="polite" aria-atomic="true">
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
