import { useCallback, useId, useRef } from 'react';
import { useBalance } from '../hooks';
import { useSolaris, useSolarisStore } from '../provider';
import { UsageBar } from './ui';

const ICON = { ok: '●', warning: '▲', blocked: '⊘' } as const;
const MARGIN = 8;

/**
 * Puts the tooltip beside `anchor` inside the viewport: right of it when there is room (the counter sits in
 * LibreChat's narrow left rail), else below or above it, always clamped to the screen. The tooltip is
 * `position: fixed`, so no `overflow: hidden` of the rail cuts it; an ancestor with a transform (the
 * floating placement) makes it relative to that ancestor instead, hence the measured correction.
 */
export function placeTooltip(anchor: HTMLElement, tip: HTMLElement): void {
  tip.style.left = '0px';
  tip.style.top = '0px';
  const origin = tip.getBoundingClientRect(); // where (0, 0) lands for this element
  const a = anchor.getBoundingClientRect();
  const vw = document.documentElement.clientWidth || window.innerWidth;
  const vh = window.innerHeight;
  const w = origin.width;
  const h = origin.height;
  let x: number;
  let y: number;
  if (a.right + MARGIN + w <= vw - MARGIN) {
    x = a.right + MARGIN;
    y = a.top + a.height / 2 - h / 2;
  } else {
    x = a.left + a.width / 2 - w / 2;
    y = a.bottom + MARGIN + h <= vh - MARGIN ? a.bottom + MARGIN : a.top - MARGIN - h;
  }
  x = Math.max(MARGIN, Math.min(x, vw - MARGIN - w));
  y = Math.max(MARGIN, Math.min(y, vh - MARGIN - h));
  tip.style.left = `${Math.round(x - origin.left)}px`;
  tip.style.top = `${Math.round(y - origin.top)}px`;
}

/**
 * Compact badge: used / limit, percent, bar, state colour + icon + word; tooltip with the reset date.
 * Live from socket `balance` events; dimmed with an "offline" tag while the socket is down.
 */
export function TokenCounter({ onOpen, compact = false }: { onOpen?: () => void; compact?: boolean }) {
  const { t, fmt } = useSolaris();
  const { data: b, isLoading } = useBalance();
  const connected = useSolarisStore((s) => s.connected) !== false;
  const openStatement = useSolarisStore((s) => s.setStatementOpen);
  const tipId = useId();
  const buttonRef = useRef<HTMLButtonElement>(null);
  const tipRef = useRef<HTMLSpanElement>(null);
  const place = useCallback(() => {
    if (buttonRef.current && tipRef.current) placeTooltip(buttonRef.current, tipRef.current);
  }, []);

  if (!b) {
    return (
      <span className="sol-counter" data-state="loading" aria-busy={isLoading} aria-label={t.counterLoading}>
        <span className="sol-muted">…</span>
      </span>
    );
  }
  const total = b.limit + b.granted;
  const left = Math.max(0, b.remaining);
  const pct = fmt.percent(b.percent);
  const stateWord = b.state === 'blocked' ? t.stateBlocked : b.state === 'warning' ? t.stateWarning : t.stateOk;
  // With a personal cap, `limit` is already min(quota, cap): the numbers show the cap; say so in words too.
  const capNote = b.personalCap != null ? ` ${t.personalCap(fmt.number(b.personalCap))}.` : '';
  const label = `${t.counterLabel(pct, fmt.number(b.used + b.reserved), fmt.number(total), fmt.compact(left))} — ${stateWord}.${capNote} ${t.counterOpen}`;
  return (
    <span className="sol-counter-wrap" onPointerEnter={place} onFocus={place}>
      <button
        ref={buttonRef}
        type="button"
        className="sol-counter"
        data-state={b.state}
        data-stale={connected ? undefined : 'true'}
        // Icon, cap mark and "offline" tag are drawn by CSS from these: the visible text stays exactly the
        // start of the accessible name ("12,3% restam 8,8 mil"), which voice-control users say to click it.
        data-icon={ICON[b.state]}
        data-stale-label={connected ? undefined : t.counterStaleShort}
        data-cap={b.personalCap != null ? '≤' : undefined}
        data-testid="solaris-counter"
        aria-label={label}
        aria-describedby={tipId}
        onClick={() => (onOpen ? onOpen() : openStatement(true))}
      >
        <span className="sol-counter-pct">
          {pct}
        </span>
        <span className="sol-counter-left" data-testid="solaris-counter-left">
          {compact ? (
            <>
              <span>{t.counterLeftWord}</span> <span>{fmt.compact(left)}</span>
            </>
          ) : (
            t.counterLeft(fmt.compact(left))
          )}
        </span>
        <UsageBar percent={b.percent} state={b.state} label={pct} />
      </button>
      <span role="tooltip" id={tipId} className="sol-tooltip" ref={tipRef}>
        {stateWord} · {t.counterTip(fmt.number(left), fmt.number(total))}. {b.personalCap != null && `${t.personalCap(fmt.number(b.personalCap))}. `}
        {t.resetsAt(fmt.resetDate(b))}. {connected ? t.counterLive : t.counterStale}
      </span>
    </span>
  );
}
