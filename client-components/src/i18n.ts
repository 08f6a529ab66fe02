/** UI strings: Brazilian Portuguese first, English second. Locale follows LibreChat's `lang`. */
import { ptBR, type Messages } from './i18n/pt-BR';
import { en } from './i18n/en';

export type Locale = 'pt-BR' | 'en';
export type { Messages };
export { addDays, calendarDays, fillDays, makeFormatters, type Formatters } from './i18n/format';

export const MESSAGES: Record<Locale, Messages> = { 'pt-BR': ptBR, en };

/** Maps any BCP-47 tag to one of ours: Portuguese → pt-BR, anything else known → English. */
export function toLocale(tag: string | null | undefined): Locale | null {
  if (!tag) return null;
  const t = tag.trim().replace(/^"|"$/g, '').toLowerCase();
  if (!t) return null;
  if (t.startsWith('pt')) return 'pt-BR';
  return 'en';
}

/** LibreChat keeps the choice in localStorage `lang` (JSON string or raw) and mirrors it on `<html lang>`. */
export function detectLocale(doc: Document = document): Locale {
  let stored: string | null = null;
  try {
    stored = doc.defaultView?.localStorage.getItem('lang') ?? null;
  } catch {
    // storage disabled: fall back to <html lang>
  }
  return toLocale(stored) ?? toLocale(doc.documentElement.getAttribute('lang')) ?? 'pt-BR';
}
