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
              const preferred = root?.querySelector<HTMLElement>('[data-autofocus]') ?? (root ? tabbables(root)[0] : undefined);
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

export interface BarDatum {
  /** Unique per bar (default: the label). */
  key?: string;
  label: string;
  value: number;
  title?: string;
}

/**
 * A small hand-made SVG bar chart (vertical, or horizontal for categories). Screen readers get the
 * numbers from a visually hidden table; sighted users get a <title> per bar.
 */
export function BarChart({ data, caption, horizontal = false, format }: { data: BarDatum[]; caption: string; horizontal?: boolean; format(n: number): string }) {
  const { t } = useSolaris();
  if (data.length === 0)
    return (
      <figure className="sol-chart">
        <figcaption>{caption}</figcaption>
        <p className="sol-muted">{t.noData}</p>
      </figure>
    );
  const max = Math.max(...data.map((d) => d.value), 1);
  let svg: ReactNode;
  if (horizontal) {
    const rowH = 22;
    const labelW = 120;
    const width = 420;
    const h = data.length * rowH;
    svg = (
      <svg viewBox={`0 0 ${width} ${h}`} width="100%" height={h} aria-hidden="true" focusable="false">
        {data.map((d, i) => {
          const w = Math.max(1, ((width - labelW - 70) * d.value) / max);
          return (
            <g key={d.key ?? d.label} transform={`translate(0 ${i * rowH})`}>
              <title>{d.title ?? `${d.label}: ${format(d.value)}`}</title>
              <text x={0} y={15} className="sol-chart-label">
                {d.label.length > 18 ? `${d.label.slice(0, 17)}…` : d.label}
              </text>
              <rect x={labelW} y={4} width={w} height={rowH - 8} rx={3} className="sol-chart-bar" />
              <text x={labelW + w + 6} y={15} className="sol-chart-value">
                {format(d.value)}
              </text>
            </g>
          );
        })}
      </svg>
    );
  } else {
    const h = 120;
    const gap = 4;
    // Bars at most 28 units wide: one day of data is a bar, not a wall.
    const bw = Math.max(3, Math.min(28, 600 / data.length - gap));
    const w = Math.max(120, data.length * (bw + gap));
    svg = (
      <svg viewBox={`0 0 ${w} ${h + 16}`} width={Math.min(w, 600)} height={h + 16} style={{ maxWidth: '100%' }} aria-hidden="true" focusable="false" preserveAspectRatio="xMinYMid meet">
        <line x1={0} x2={w} y1={h} y2={h} className="sol-chart-axis" />
        {data.map((d, i) => {
          const bh = Math.max(d.value > 0 ? 1 : 0, (h * d.value) / max);
          const x = i * (bw + gap);
          return (
            <g key={d.key ?? d.label}>
              <title>{d.title ?? `${d.label}: ${format(d.value)}`}</title>
              <rect x={x} y={h - bh} width={bw} height={bh} rx={2} className="sol-chart-bar" />
              {(data.length <= 10 || i === 0 || i === data.length - 1) && (
                <text x={x + bw / 2} y={h + 12} textAnchor="middle" className="sol-chart-label">
                  {d.label}
                </text>
              )}
            </g>
          );
        })}
      </svg>
    );
  }
  return (
    <figure className="sol-chart">
      <figcaption>{caption}</figcaption>
      {svg}
      <table className="sol-sr-only">
        <caption>{caption}</caption>
        <tbody>
          {data.map((d) => (
            <tr key={d.key ?? d.label}>
              <th scope="row">{d.label}</th>
              <td>{format(d.value)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

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
