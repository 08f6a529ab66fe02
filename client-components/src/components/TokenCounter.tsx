import { useId } from 'react';
import { useBalance } from '../hooks';
import { useSolaris, useSolarisStore } from '../provider';
import { UsageBar } from './ui';

const ICON = { ok: '●', warning: '▲', blocked: '⊘' } as const;

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

  if (!b) {
    return (
      <span className="sol-counter" data-state="loading" aria-busy={isLoading} aria-label={t.counterLoading}>
        <span className="sol-muted">…</span>
      </span>
    );
  }
  const total = b.limit + b.granted;
  const pct = fmt.percent(b.percent);
  const stateWord = b.state === 'blocked' ? t.stateBlocked : b.state === 'warning' ? t.stateWarning : t.stateOk;
  // With a personal cap, `limit` is already min(quota, cap): the numbers show the cap; say so in words too.
  const capNote = b.personalCap != null ? ` ${t.personalCap(fmt.number(b.personalCap))}.` : '';
  const label = `${t.counterLabel(pct, fmt.number(b.used + b.reserved), fmt.number(total))} — ${stateWord}.${capNote} ${t.counterOpen}`;
  return (
    <span className="sol-counter-wrap">
      <button
        type="button"
        className="sol-counter"
        data-state={b.state}
        data-stale={connected ? undefined : 'true'}
        data-testid="solaris-counter"
        aria-label={label}
        aria-describedby={tipId}
        onClick={() => (onOpen ? onOpen() : openStatement(true))}
      >
        <span className="sol-counter-icon" aria-hidden="true">
          {ICON[b.state]}
        </span>
        {!compact && (
          <span className="sol-counter-text" aria-hidden="true">
            {fmt.compact(b.used + b.reserved)} / {fmt.compact(total)}
          </span>
        )}
        {b.personalCap != null && (
          <span className="sol-counter-cap" aria-hidden="true" title={t.personalCap(fmt.number(b.personalCap))}>
            ≤
          </span>
        )}
        <span className="sol-counter-pct" aria-hidden="true">
          {pct}
        </span>
        <UsageBar percent={b.percent} state={b.state} label={pct} />
        {!connected && (
          <span className="sol-counter-stale" aria-hidden="true">
            {t.counterStaleShort}
          </span>
        )}
      </button>
      <span role="tooltip" id={tipId} className="sol-tooltip">
        {stateWord} · {b.personalCap != null && `${t.personalCap(fmt.number(b.personalCap))} · `}
        {t.resetsAt(fmt.resetDate(b))} · {connected ? t.counterLive : t.counterStale}
      </span>
    </span>
  );
}
