import { useState } from 'react';
import { useSolaris } from '../provider';
import { ErrorNote, Notice, SolDialog } from '../components/ui';

export interface PendingAction {
  message: string;
  run(): Promise<unknown>;
}

/** Every admin mutation goes through this: a question, then the call; errors go back to the caller. */
export function ConfirmDialog({ pending, onDone }: { pending: PendingAction | null; onDone(result: { ok: true } | { ok: false; error: unknown }): void }) {
  const { t } = useSolaris();
  const [busy, setBusy] = useState(false);
  return (
    <SolDialog open={!!pending} onOpenChange={(o) => !o && !busy && onDone({ ok: false, error: null })} title={t.confirmTitle} description={pending?.message} size="sm" role="alertdialog" testId="solaris-confirm">
      <div className="sol-actions">
        <button type="button" className="sol-btn" disabled={busy} onClick={() => onDone({ ok: false, error: null })}>
          {t.cancel}
        </button>
        <button
          type="button"
          className="sol-btn sol-btn-primary"
          data-autofocus
          disabled={busy}
          onClick={async () => {
            if (!pending) return;
            setBusy(true);
            try {
              await pending.run();
              onDone({ ok: true });
            } catch (error) {
              onDone({ ok: false, error });
            } finally {
              setBusy(false);
            }
          }}
        >
          {t.confirm}
        </button>
      </div>
    </SolDialog>
  );
}

/**
 * ask → confirm → run, with the outcome shown in place: `notes` (error or "saved") where the caller wants
 * them, `dialog` anywhere in its tree. Shared by the admin editors.
 */
export function useConfirmedAction() {
  const { t } = useSolaris();
  const [pending, setPending] = useState<PendingAction | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const ask = (message: string, run: () => Promise<unknown>) => {
    setError(null);
    setNotice(null);
    setPending({ message, run });
  };
  const fail = (e: unknown) => {
    setNotice(null);
    setError(e);
  };
  const notes = (
    <>
      {error !== null && <ErrorNote error={error} />}
      {notice && <Notice>{notice}</Notice>}
    </>
  );
  const dialog = (
    <ConfirmDialog
      pending={pending}
      onDone={(r) => {
        setPending(null);
        if (r.ok) setNotice(t.saved);
        else if (r.error) setError(r.error);
      }}
    />
  );
  return { ask, fail, notes, dialog };
}
