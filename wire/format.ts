/**
 * The one pt-BR / en formatter for every number, percentage, amount of money and date a person reads:
 * the widget (client-components/src/i18n) builds on it and the server's user-facing messages (the 402
 * text) use it, so "103,2%" in the block message is the same "103,2%" as on the counter.
 * Only `Intl` (built in): no dependency, safe to import from both sides (`@solaris/wire/format`).
 */
export type FormatLocale = 'pt-BR' | 'en';

export interface CoreFormats {
  locale: FormatLocale;
  /** Whole number with grouping: "1.234.567" / "1,234,567". */
  number(n: number): string;
  /** A number with up to two decimals (model weights): "1,5" / "1.5". */
  decimal(n: number): string;
  /** Short number: "100 mil" / "100K", "1,2 mi" / "1.2M". */
  compact(n: number): string;
  /** A percentage already in 0..100+ with at most one decimal: "103,2%" / "103.2%". */
  percent(p: number): string;
  /**
   * Money (USD), one rule everywhere: two decimals ("US$ 1,25" / "$1.25"); a non-zero amount below one
   * cent reads "< US$ 0,01" / "< $0.01" (a single request often costs a fraction of a cent).
   */
  money(usd: number): string;
  /** Short date and time ("05/12/2026, 14:30" / "12/5/2026, 2:30 PM") in `timeZone` (the process's zone without one or with an unknown one). */
  dateTime(iso: string, timeZone?: string): string;
  /** Date alone, medium ("5 de dez. de 2026" / "Dec 5, 2026"), in `timeZone`. */
  date(iso: string, timeZone?: string): string;
  /** Long month and year of an instant ("dezembro de 2026" / "December 2026") in `timeZone`. */
  monthYear(iso: string, timeZone?: string): string;
}

const cache = new Map<string, CoreFormats>();

/** Formatters for `locale`, built once per locale. */
export function coreFormats(locale: FormatLocale): CoreFormats {
  const hit = cache.get(locale);
  if (hit) return hit;
  const tag = locale === 'pt-BR' ? 'pt-BR' : 'en-US';
  const num = new Intl.NumberFormat(tag, { maximumFractionDigits: 0 });
  const dec = new Intl.NumberFormat(tag, { maximumFractionDigits: 2 });
  const compact = new Intl.NumberFormat(tag, { notation: 'compact', maximumFractionDigits: 1 });
  const pct = new Intl.NumberFormat(tag, { maximumFractionDigits: 1 });
  const money = new Intl.NumberFormat(tag, { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const dates = new Map<string, Intl.DateTimeFormat>();
  const dateFormat = (kind: 'short' | 'date' | 'month', timeZone: string | undefined): Intl.DateTimeFormat => {
    const key = `${kind} ${timeZone ?? ''}`;
    let f = dates.get(key);
    if (!f) {
      const opts: Intl.DateTimeFormatOptions =
        kind === 'short' ? { dateStyle: 'short', timeStyle: 'short' } : kind === 'date' ? { dateStyle: 'medium' } : { month: 'long', year: 'numeric' };
      try {
        f = new Intl.DateTimeFormat(tag, timeZone ? { ...opts, timeZone } : opts);
      } catch {
        f = new Intl.DateTimeFormat(tag, opts); // a zone this runtime does not know
      }
      dates.set(key, f);
    }
    return f;
  };
  const safeDate = (kind: 'short' | 'date' | 'month') => (iso: string, timeZone?: string) => {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? iso : dateFormat(kind, timeZone).format(d);
  };
  const f: CoreFormats = {
    locale,
    number: (n) => num.format(n),
    decimal: (n) => dec.format(n),
    compact: (n) => compact.format(n),
    percent: (p) => `${pct.format(p)}%`,
    money: (usd) => (usd !== 0 && Math.abs(usd) < 0.01 ? `< ${money.format(usd < 0 ? -0.01 : 0.01)}` : money.format(usd)),
    dateTime: safeDate('short'),
    date: safeDate('date'),
    monthYear: safeDate('month'),
  };
  cache.set(locale, f);
  return f;
}
