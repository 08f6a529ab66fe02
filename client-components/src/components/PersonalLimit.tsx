import { useEffect, useId, useState, type FormEvent } from 'react';
import { DEFAULT_WARN_PERCENT } from '@solaris/wire';
import { useMySettings, useSaveMySettings } from '../personal-settings-hooks';
import { useSolaris } from '../provider';
import { ErrorNote, Notice } from './ui';

/** '' → null, a whole number → it, anything else → NaN (shown as an error, never sent). */
const optionalInt = (raw: string): number | null => {
  const s = raw.trim();
  if (s === '') return null;
  return /^\d+$/.test(s) ? Number(s) : NaN;
};

/**
 * "Meu limite": the user's own monthly cap (≤ quota + grants; the gate enforces it server-side) and
 * the percentage at which they want the warning. Empty fields clear the setting.
 */
export function PersonalLimit() {
  const { t, fmt } = useSolaris();
  const settings = useMySettings();
  const save = useSaveMySettings();
  const [cap, setCap] = useState('');
  const [warn, setWarn] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const id = useId();
  const d = settings.data;

  useEffect(() => {
    if (!d) return;
    setCap(d.personalCap === null ? '' : String(d.personalCap));
    setWarn(d.warnPercent === null ? '' : String(d.warnPercent));
  }, [d]);

  const defaultWarn = d ? Math.min(...d.defaultThresholds.filter((x) => x < 100), DEFAULT_WARN_PERCENT) : DEFAULT_WARN_PERCENT;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    const personalCap = optionalInt(cap);
    const warnPercent = optionalInt(warn);
    if (Number.isNaN(personalCap)) return setError(new Error(t.invalidWholeNumber));
    if (d && personalCap !== null && personalCap > d.maxPersonalCap) return setError(new Error(t.myCapTooHigh(fmt.number(d.maxPersonalCap))));
    if (warnPercent !== null && (Number.isNaN(warnPercent) || warnPercent < 1 || warnPercent > 99)) return setError(new Error(t.invalidPercent));
    try {
      await save.mutateAsync({ personalCap, warnPercent });
      setSaved(true);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section className="sol-card" aria-labelledby={`${id}-h`} data-testid="solaris-my-limit">
      <h3 id={`${id}-h`}>{t.myLimitTitle}</h3>
      <p className="sol-muted sol-small">{t.myLimitIntro}</p>
      {settings.isError && <ErrorNote error={settings.error} onRetry={() => void settings.refetch()} />}
      {error !== null && <ErrorNote error={error} />}
      {saved && <Notice>{t.saved}</Notice>}
      <form onSubmit={(e) => void submit(e)} aria-label={t.myLimitTitle} className="sol-stack">
        <div className="sol-row sol-row-top">
          <div className="sol-field sol-grow">
            <label>
              {t.myCap}
              <input inputMode="numeric" value={cap} onChange={(e) => setCap(e.target.value)} placeholder={t.none} aria-describedby={`${id}-cap`} data-testid="solaris-my-cap" />
            </label>
            <span id={`${id}-cap`} className="sol-muted sol-small">
              {t.myCapHint(d ? fmt.number(d.maxPersonalCap) : '…')}
            </span>
          </div>
          <div className="sol-field sol-field-narrow">
            <label>
              {t.myWarn}
              <input inputMode="numeric" value={warn} onChange={(e) => setWarn(e.target.value)} placeholder={String(defaultWarn)} aria-describedby={`${id}-warn`} size={4} data-testid="solaris-my-warn" />
            </label>
            <span id={`${id}-warn`} className="sol-muted sol-small">
              {t.myWarnHint(String(defaultWarn))}
            </span>
          </div>
        </div>
        <div className="sol-row">
          <button type="submit" className="sol-btn" disabled={!d || save.isPending}>
            {t.myLimitSave}
          </button>
        </div>
      </form>
    </section>
  );
}
