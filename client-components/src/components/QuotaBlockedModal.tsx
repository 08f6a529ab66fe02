import { useBalance } from '../hooks';
import { useSolaris, useSolarisStore } from '../provider';
import { SolDialog } from './ui';
import { QuotaRequestSection } from './QuotaRequestSection';

/**
 * Opens when a send is refused (`blocked`) or the balance reaches 100 %. One primary action: ask for more
 * tokens (when quota requests are on), else close. Escape, × and "Fechar" close it (the next refused send
 * opens it again). Closes by itself when a grant lifts the block (an admin grant or an approved request).
 * The percentage is the live balance's, the same figure the counter shows.
 */
export function QuotaBlockedModal() {
  const { t, fmt, options } = useSolaris();
  const blocked = useSolarisStore((s) => s.blocked);
  const clear = useSolarisStore((s) => s.clearBlocked);
  const openStatement = useSolarisStore((s) => s.setStatementOpen);
  const live = useBalance().data;
  const b = blocked ? (live && live.userId === blocked.balance.userId ? live : blocked.balance) : undefined;
  const requests = options.quotaRequests !== false;
  return (
    <SolDialog
      open={!!blocked}
      onOpenChange={(o) => !o && clear()}
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
            : t.blockedBody(fmt.percent(b?.percent ?? 100))
      }
    >
      {b && (
        <>
          <p className="sol-strong">{t.resetsAt(fmt.resetDate(b))}.</p>
          <p>{options.blockedHelpText ?? t.blockedHelp}</p>
          {requests && <QuotaRequestSection variant="inline" />}
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
            <button type="button" className={requests ? 'sol-btn' : 'sol-btn sol-btn-primary'} data-autofocus={requests ? undefined : true} onClick={clear}>
              {t.blockedAck}
            </button>
          </div>
        </>
      )}
    </SolDialog>
  );
}
