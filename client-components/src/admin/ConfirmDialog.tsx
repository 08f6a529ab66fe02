import { useState } from 'react';
import { useSolaris } from '../provider';
import { SolDialog } from '../components/ui';

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
