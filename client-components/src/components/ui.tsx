import { useRef, type KeyboardEvent, type ReactNode } from 'react';
import * as Dialog from '@radix-ui/react-dialog';
import type { QuotaState } from '@solaris/wire';
import { useSolaris } from '../provider';
import { ApiError } from '../api/client';

/** Focused element, looking through shadow roots (document.activeElement stops at the shadow host). */
export function deepActiveElement(): HTMLElement | null {
  let el: Element | null = document.activeElement;
  while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
  return el instanceof HTMLElement ? el : null;
}

const TABBABLE =
  'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

function tabbables(root: HTMLElement): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>(TABBABLE)).filter((el) => !el.closest('[hidden]') && !el.closest('[inert]'));
}

/** Wraps our own styles + theme around anything rendered outside the provider's DOM (portals). */
export function ThemeScope({ children, className }: { children: ReactNode; className?: string }) {
  const { theme, locale } = useSolaris();
  return (
    <div className={`sol-root${className ? ` ${className}` : ''}`} data-theme={theme} lang={locale}>
      {children}
    </div>
  );
}

export interface SolDialogProps {
  open: boolean;
  onOpenChange(open: boolean): void;
  title: ReactNode;
  description?: ReactNode;
  children?: ReactNode;
  /** false: Esc and clicks outside do nothing; the user must press a button (block modal). */
  dismissible?: boolean;
  size?: 'sm' | 'md' | 'lg' | 'full';
  role?: 'dialog' | 'alertdialog';
  testId?: string;
}

/**
 * Radix Dialog (labels, Esc, portal, layering) in non-modal mode plus our own focus trap and backdrop:
 * Radix's modal focus trap listens on `document`, where events from inside a Shadow DOM are retargeted
 * to the host, so it would fight every Tab inside the widget. This trap asks the dialog's own root.
 */
export function SolDialog({ open, onOpenChange, title, description, children, dismissible = true, size = 'md', role = 'dialog', testId }: SolDialogProps) {
  const { portalContainer, theme, locale, t } = useSolaris();
  const contentRef = useRef<HTMLDivElement>(null);
  const returnFocus = useRef<HTMLElement | null>(null);

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key !== 'Tab' || !contentRef.current) return;
    const root = contentRef.current;
    const items = tabbables(root);
    const first = items[0];
    const last = items[items.length - 1];
    if (!first || !last) {
      e.preventDefault();
      return;
    }
    const active = (root.getRootNode() as Document | ShadowRoot).activeElement;
    const inside = !!active && root.contains(active);
    if (e.shiftKey && (active === first || !inside)) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (active === last || !inside)) {
      e.preventDefault();
      first.focus();
    }
  };

  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange} modal={false}>
      <Dialog.Portal container={portalContainer}>
        <div
          className="sol-root sol-overlay"
          data-theme={theme}
          lang={locale}
          data-size={size}
          onMouseDown={(e) => {
            if (dismissible && e.target === e.currentTarget) onOpenChange(false);
          }}
        >
          <Dialog.Content
            ref={contentRef}
            role={role}
            aria-modal="true"
            className={`sol-dialog sol-dialog-${size}`}
            data-testid={testId}
            {...(description ? {} : { 'aria-describedby': undefined })}
            onKeyDown={onKeyDown}
            onEscapeKeyDown={(e) => {
              if (!dismissible) e.preventDefault();
            }}
            onInteractOutside={(e) => e.preventDefault()}
            onOpenAutoFocus={(e) => {
              e.preventDefault();
              returnFocus.current = deepActiveElement();
              const root = contentRef.current;
              const preferred = root?.querySelector<HTMLElement>('[data-autofocus]:not([disabled])') ?? (root ? tabbables(root)[0] : undefined);
              (preferred ?? root)?.focus();
            }}
            onCloseAutoFocus={(e) => {
              e.preventDefault();
              const el = returnFocus.current;
              if (el?.isConnected) el.focus();
            }}
            tabIndex={-1}
          >
            <div className="sol-dialog-head">
              <Dialog.Title className="sol-dialog-title">{title}</Dialog.Title>
              {dismissible && (
                <Dialog.Close className="sol-icon-btn" aria-label={t.close} title={t.close}>
                  <span aria-hidden="true">×</span>
                </Dialog.Close>
              )}
            </div>
            {description && <Dialog.Description className="sol-muted">{description}</Dialog.Description>}
            {children}
          </Dialog.Content>
        </div>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

/** Colour + icon + word: the state is never told by colour alone. */
export function StateBadge({ state }: { state: QuotaState }) {
  const { t } = useSolaris();
  const label = state === 'blocked' ? t.stateBlocked : state === 'warning' ? t.stateWarning : t.stateOk;
  const icon = state === 'blocked' ? '⊘' : state === 'warning' ? '⚠' : '✓';
  return (
    <span className="sol-badge" data-state={state}>
      <span aria-hidden="true">{icon}</span> {label}
    </span>
  );
}

export function UsageBar({ percent, state, label }: { percent: number; state: QuotaState; label: string }) {
  const clamped = Math.max(0, Math.min(100, percent));
  return (
    <span className="sol-bar" data-state={state} role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(clamped)} aria-label={label}>
      <span className="sol-bar-fill" style={{ width: `${clamped}%` }} />
    </span>
  );
}

export function ErrorNote({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useSolaris();
  const msg = error instanceof ApiError ? `${error.message} (${error.code})` : error instanceof Error ? error.message : String(error);
  return (
    <div className="sol-error" role="alert">
      <span aria-hidden="true">⚠ </span>
      {t.errorPrefix}: {msg}
      {onRetry && (
        <button type="button" className="sol-btn sol-btn-small" onClick={onRetry}>
          {t.retry}
        </button>
      )}
    </div>
  );
}

export { BarChart, type BarDatum } from './BarChart';

/** A success line (icon + words: colour is not the only signal). */
export function Notice({ children, testId }: { children: ReactNode; testId?: string }) {
  return (
    <p className="sol-notice" role="status" data-testid={testId}>
      <span aria-hidden="true">✓ </span>
      {children}
    </p>
  );
}

/** Whole positive number from a text field, or null. */
export const positiveInt = (s: string): number | null => (/^\d+$/.test(s.trim()) && Number(s) > 0 ? Number(s) : null);
