import { useBalance } from '../hooks';
import { useSolaris, useSolarisStore, acknowledgeWarning } from '../provider';
import { SolDialog } from './ui';

/**
 * Opens on the server's `threshold` event (once per period and threshold, every tab); says what is left and
 * when it resets. The figures are the live balance's (the counter's): the event's snapshot was taken while
 * other answers could still hold reservations, so it could say "3 left" when 8 were.
 */
export function UsageWarningModal() {
  const { t, fmt } = useSolaris();
  const warning = useSolarisStore((s) => s.warning);
  const dismiss = useSolarisStore((s) => s.dismissWarning);
  const openStatement = useSolarisStore((s) => s.setStatementOpen);
  const close = () => {
    if (warning) acknowledgeWarning(warning);
    dismiss();
  };
  const live = useBalance().data;
  const b = warning ? (live && live.userId === warning.balance.userId ? live : warning.balance) : undefined;
  return (
    <SolDialog
      open={!!warning}
      onOpenChange={(o) => !o && close()}
      title={
        <>
          <span aria-hidden="true">⚠ </span>
          {t.warningTitle}
        </>
      }
      description={b ? t.warningBody(fmt.percent(b.percent), fmt.number(Math.max(0, b.remaining))) : undefined}
      size="sm"
      testId="solaris-warning-modal"
    >
      {b && (
        <>
          <p className="sol-strong">{t.resetsAt(fmt.resetDate(b))}</p>
          <div className="sol-actions">
            <button
              type="button"
              className="sol-btn"
              onClick={() => {
                close();
                openStatement(true);
              }}
            >
              {t.openStatement}
            </button>
            <button type="button" className="sol-btn sol-btn-primary" data-autofocus onClick={close}>
              {t.gotIt}
            </button>
          </div>
        </>
      )}
    </SolDialog>
  );
}
