import type { PeriodKind } from '@solaris/wire';
import { coreFormats } from '@solaris/wire/format';
import type { Locale } from '../i18n';
import { ptBR, type Messages } from './pt-BR';
import { en } from './en';

const TABLES: Record<Locale, Messages> = { 'pt-BR': ptBR, en };

/** IANA zones with a friendly name in the message tables; any other zone shows Intl's short name ("AMT", "GMT+0"). */
const FRIENDLY_ZONES: Record<string, (t: Messages) => string> = { 'America/Sao_Paulo': (t) => t.zoneBrasilia };

/**
 * Every date and time the user reads goes through these. `timeZone` is the deployment's zone
 * (BalanceDTO.timeZone): quota periods are calendar days/weeks/months *there*, so the reset date and the
 * statement rows are shown in it, whatever zone the browser is in. Without one (older server) or with a
 * zone this browser does not know, the browser's own zone is used and no zone name is added.
 */
export interface Formatters {
  locale: Locale;
  number(n: number): string;
  /** Up to two decimals (model weights): "1,5". */
  decimal(n: number): string;
  compact(n: number): string;
  percent(p: number): string;
  /** Money (USD), one rule everywhere (see @solaris/wire/format): "US$ 1,25", "< US$ 0,01". */
  money(n: number): string;
  /** The current period in words: "dezembro de 2026", "semana de 23/11 a 29/11", "dia 05/12". */
  period(b: { periodKind: PeriodKind; periodKey: string; periodStart: string; periodEnd: string; timeZone?: string }): string;
  /** A stored period key in words: "2026-12" → "dezembro de 2026", "2026-W49" → "semana 49 de 2026", "2026-12-05" → "05/12/2026". */
  periodKey(key: string): string;
  /** Short date and time ("01/12/2026, 00:00"), in `timeZone` when given. */
  dateTime(iso: string, timeZone?: string): string;
  /** Medium date and time ("1 de dez. de 2026, 00:00"), in `timeZone` when given. */
  date(iso: string, timeZone?: string): string;
  /**
   * A time shown on its own, in `timeZone` and saying so: "20/11/2026, 00:30 (horário de Brasília)".
   * (In a list, name the zone once in the header instead — `zoneLabel` — and use `dateTime` per row.)
   */
  dateTimeZoned(iso: string, timeZone?: string): string;
  /** A header or caption naming the zone once: "Quando (horário de Brasília)"; `label` alone without a usable zone. */
  zoneLabel(label: string, timeZone: string | undefined): string;
  /**
   * The instant at which calendar day `ymd` (YYYY-MM-DD) reaches wall-clock `time` (HH:MM:SS) in
   * `timeZone` (the browser's zone without a usable one), as ISO; null for an invalid day.
   */
  wallTime(ymd: string, time: string, timeZone?: string): string | null;
  /**
   * The calendar day (YYYY-MM-DD) that instant `at` (ms or ISO) falls on in `timeZone` (the browser's
   * zone without a usable one); null for an invalid instant. With `addDays` and `wallTime`, the way to
   * do day arithmetic in the deployment zone (never `toISOString().slice(0, 10)`: that is the UTC day).
   */
  dayOf(at: number | string, timeZone?: string): string | null;
  /** A calendar day key (YYYY-MM-DD, already a day of the deployment zone) as "01/12" (pt-BR). */
  day(ymd: string): string;
  /**
   * How to name `timeZone` next to a time of day: "horário de Brasília" / "Brasília time" for
   * America/Sao_Paulo, otherwise Intl's short name at `iso` (default now); '' without a usable zone.
   */
  zoneName(timeZone: string | undefined, iso?: string): string;
  /** When the quota resets, in the deployment zone and saying so: "1 de dez. de 2026, 00:00 (horário de Brasília)". */
  resetDate(b: { periodEnd: string; timeZone?: string }): string;
}

/** YYYY-MM-DD of a UTC midnight (a calendar day held as a UTC date: no zone involved). */
const ymdOf = (utcMidnight: number): string => new Date(utcMidnight).toISOString().slice(0, 10);

/**
 * Calendar day `ymd` (YYYY-MM-DD) moved by `days` (negative = back): pure calendar arithmetic, so it
 * does not depend on any zone or on summer time ('2026-11-26', -29 → '2026-10-28'); null for an invalid day.
 */
export function addDays(ymd: string, days: number): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const base = Date.UTC(y, mo - 1, d);
  const check = new Date(base);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  return ymdOf(Date.UTC(y, mo - 1, d + days));
}

/** Longest run of days `calendarDays` lists (a year and a bit): a guard against a range gone wrong. */
const MAX_DAYS = 400;

/**
 * Every calendar day from `first` to `last` (YYYY-MM-DD, both included), stepped with `addDays`:
 * ['2026-11-29', '2026-11-30', '2026-12-01'] for ('2026-11-29', '2026-12-01'). [] when `last` is
 * before `first` or either is not a day.
 */
export function calendarDays(first: string, last: string): string[] {
  const days: string[] = [];
  if (addDays(last, 0) === null) return days;
  for (let d = addDays(first, 0); d !== null && d <= last && days.length < MAX_DAYS; d = addDays(d, 1)) days.push(d);
  return days;
}

/**
 * Per-day rows (the usage routes return only the days that had usage) spread over every day of `days`:
 * a day without a row gets `zero(day)`, so a chart of them shows the quiet days as empty bars instead
 * of squeezing the active ones together. A row for a day outside `days` is kept (in day order), never
 * dropped: its usage is real even if the client's idea of the range differs from the server's.
 */
export function fillDays<T extends { day: string }>(rows: readonly T[], days: readonly string[], zero: (day: string) => T): T[] {
  const byDay = new Map(rows.map((r) => [r.day, r]));
  const all = new Set([...days, ...byDay.keys()]);
  return [...all].sort().map((day) => byDay.get(day) ?? zero(day));
}

export function makeFormatters(locale: Locale): Formatters {
  const tag = locale === 'pt-BR' ? 'pt-BR' : 'en-US';
  const t = TABLES[locale];
  const core = coreFormats(locale);
  const day = new Intl.DateTimeFormat(tag, { day: '2-digit', month: '2-digit', timeZone: 'UTC' });
  const fullDay = new Intl.DateTimeFormat(tag, { day: '2-digit', month: '2-digit', year: 'numeric', timeZone: 'UTC' });
  // One Intl.DateTimeFormat per (style, zone), built on first use; '' = the browser's zone.
  const cache = new Map<string, Intl.DateTimeFormat | null>();
  const inZone = (style: 'short' | 'medium' | 'zone' | 'parts', timeZone: string | undefined): Intl.DateTimeFormat | null => {
    const zone = timeZone ?? '';
    const key = `${style} ${zone}`;
    let f = cache.get(key);
    if (f === undefined) {
      const opts: Intl.DateTimeFormatOptions =
        style === 'zone'
          ? { timeZoneName: 'short' }
          : style === 'parts'
            ? { year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', hourCycle: 'h23' }
            : { dateStyle: style, timeStyle: 'short' };
      try {
        f = new Intl.DateTimeFormat(tag, zone ? { ...opts, timeZone: zone } : opts);
      } catch {
        f = null; // a zone this browser's Intl does not know
      }
      cache.set(key, f);
    }
    return f;
  };
  const usableZone = (timeZone: string | undefined) => (timeZone && inZone('zone', timeZone) ? timeZone : undefined);
  const formatDate = (style: 'short' | 'medium') => (iso: string, timeZone?: string) =>
    (inZone(style, usableZone(timeZone)) ?? (inZone(style, undefined) as Intl.DateTimeFormat)).format(new Date(iso));
  const zoneName = (timeZone: string | undefined, iso?: string): string => {
    const zone = usableZone(timeZone);
    if (!zone) return '';
    const friendly = FRIENDLY_ZONES[zone];
    if (friendly) return friendly(t);
    // The short name can depend on the instant (summer time): name it at the date shown.
    const at = new Date(iso ?? Date.now());
    const parts = (inZone('zone', zone) as Intl.DateTimeFormat).formatToParts(Number.isNaN(at.getTime()) ? new Date() : at);
    return parts.find((p) => p.type === 'timeZoneName')?.value ?? zone;
  };
  const safe = <A extends unknown[]>(f: (s: string, ...rest: A) => string) => (s: string, ...rest: A) => {
    try {
      return f(s, ...rest);
    } catch {
      return s;
    }
  };
  const date = safe(formatDate('medium'));
  const dateTime = safe(formatDate('short'));
  const zoneLabel = (label: string, timeZone: string | undefined) => {
    const zone = zoneName(timeZone);
    return zone ? `${label} (${zone})` : label;
  };
  // Wall clock of `zone` at instant `ms`, read back as if it were UTC: minus `ms`, the zone's offset there.
  const offsetAt = (zone: string, ms: number): number => {
    const parts = (inZone('parts', zone) as Intl.DateTimeFormat).formatToParts(new Date(ms));
    const n = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
    return Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second')) - Math.floor(ms / 1000) * 1000;
  };
  const wallTime = (ymd: string, time: string, timeZone?: string): string | null => {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd);
    const hms = /^(\d{2}):(\d{2}):(\d{2})$/.exec(time);
    if (!m || !hms) return null;
    const zone = usableZone(timeZone);
    if (!zone) {
      const local = new Date(`${ymd}T${time}`);
      return Number.isNaN(local.getTime()) ? null : local.toISOString();
    }
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const wall = Date.UTC(y, mo - 1, d, Number(hms[1]), Number(hms[2]), Number(hms[3]));
    const check = new Date(Date.UTC(y, mo - 1, d));
    if (Number.isNaN(wall) || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
    // Offset at the first guess, then again at the result (the two differ only across a DST change).
    let at = wall - offsetAt(zone, wall);
    at = wall - offsetAt(zone, at);
    return new Date(at).toISOString();
  };
  const dayOf = (at: number | string, timeZone?: string): string | null => {
    const ms = typeof at === 'number' ? at : Date.parse(at);
    if (!Number.isFinite(ms)) return null;
    const parts = (inZone('parts', usableZone(timeZone)) as Intl.DateTimeFormat).formatToParts(new Date(ms));
    const n = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
    return ymdOf(Date.UTC(n('year'), n('month') - 1, n('day')));
  };
  return {
    locale,
    number: core.number,
    decimal: core.decimal,
    compact: core.compact,
    percent: core.percent,
    money: core.money,
    period: (b) => {
      if (b.periodKind === 'month') return t.periodMonthOf(core.monthYear(b.periodStart, usableZone(b.timeZone)));
      if (b.periodKind === 'day') return t.periodDayOf(day.format(new Date(`${dayOf(b.periodStart, b.timeZone) ?? ''}T00:00:00Z`)));
      const last = dayOf(Date.parse(b.periodEnd) - 1, b.timeZone);
      const first = dayOf(b.periodStart, b.timeZone);
      return first && last ? t.periodWeekOf(day.format(new Date(`${first}T00:00:00Z`)), day.format(new Date(`${last}T00:00:00Z`))) : b.periodKey;
    },
    periodKey: (key) => {
      if (/^\d{4}-\d{2}$/.test(key)) return core.monthYear(`${key}-15T12:00:00Z`, 'UTC');
      if (/^\d{4}-\d{2}-\d{2}$/.test(key)) {
        const d = new Date(`${key}T12:00:00Z`);
        return Number.isNaN(d.getTime()) ? key : fullDay.format(d);
      }
      const w = /^(\d{4})-W(\d{2})$/.exec(key);
      return w ? t.periodWeekKey(Number(w[2]), w[1]!) : key;
    },
    dateTime,
    date,
    dateTimeZoned: (iso, timeZone) => {
      const zone = zoneName(timeZone, iso);
      const when = dateTime(iso, timeZone);
      return zone ? `${when} (${zone})` : when;
    },
    zoneLabel,
    wallTime,
    dayOf,
    day: safe((ymd) => day.format(new Date(`${ymd}T00:00:00Z`))),
    zoneName,
    resetDate: (b) => {
      const zone = zoneName(b.timeZone, b.periodEnd);
      const when = date(b.periodEnd, b.timeZone);
      return zone ? `${when} (${zone})` : when;
    },
  };
}

