import { useSolaris, useSolarisStore } from '../provider';
import { SolDialog } from './ui';
import { QuotaRequestSection } from './QuotaRequestSection';

/**
 * Opens when a send is refused (`blocked`) or the balance reaches 100 %. Esc and outside clicks do
 * not close it: the user acknowledges explicitly. Closes by itself when a grant lifts the block (an
 * admin grant or an approved quota request, which can be asked for right here).
 */
export function QuotaBlockedModal() {
  const { t, fmt, options } = useSolaris();
  const blocked = useSolarisStore((s) => s.blocked);
  const clear = useSolarisStore((s) => s.clearBlocked);
  const openStatement = useSolarisStore((s) => s.setStatementOpen);
  const b = blocked?.balance;
  return (
    <SolDialog
      open={!!blocked}
      onOpenChange={() => undefined}
      dismissible={false}
      role="alertdialog"
      size="sm"
      testId="solaris-blocked-modal"
      title={
        <>
          <span aria-hidden="true">⊘ </span>
          {t.blockedTitle}
        </>
      }
      description={
        blocked?.reason === 'too_many_inflight'
          ? t.blockedInflight
          : b && b.percent < 100 // refused because the estimate of this message exceeds what is left
            ? t.blockedInsufficient(fmt.number(Math.max(0, b.remaining)))
            : t.blockedBody
      }
    >
      {b && (
        <>
          <p className="sol-strong">{t.resetsAt(fmt.resetDate(b))}</p>
          <p>{options.blockedHelpText ?? t.blockedHelp}</p>
          {options.quotaRequests !== false && <QuotaRequestSection />}
          {options.contactUrl && (
            <p>
              <a className="sol-link" href={options.contactUrl} target="_blank" rel="noreferrer">
                {t.blockedContact}
              </a>
            </p>
          )}
          <div className="sol-actions">
            <button
              type="button"
              className="sol-btn"
              onClick={() => {
                clear();
                openStatement(true);
              }}
            >
              {t.openStatement}
            </button>
            <button type="button" className="sol-btn sol-btn-primary" data-autofocus onClick={clear}>
              {t.blockedAck}
            </button>
          </div>
        </>
      )}
    </SolDialog>
  );
}
