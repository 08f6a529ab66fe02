import { useEffect, useState } from 'react';
import { detectLocale, type Locale } from './i18n';

export type Theme = 'light' | 'dark';

export function detectTheme(doc: Document = document): Theme {
  return doc.documentElement.classList.contains('dark') ? 'dark' : 'light';
}

/**
 * LibreChat toggles `dark` on <html> and rewrites <html lang> when the user changes language;
 * one observer on <html> attributes (plus `storage` for other tabs) follows both.
 */
export function useHtmlPreferences(overrides: { theme?: Theme; locale?: Locale }, doc: Document = document) {
  const [theme, setTheme] = useState<Theme>(() => overrides.theme ?? detectTheme(doc));
  const [locale, setLocale] = useState<Locale>(() => overrides.locale ?? detectLocale(doc));
  useEffect(() => {
    if (overrides.theme && overrides.locale) return;
    const update = () => {
      if (!overrides.theme) setTheme(detectTheme(doc));
      if (!overrides.locale) setLocale(detectLocale(doc));
    };
    update();
    const obs = new MutationObserver(update);
    obs.observe(doc.documentElement, { attributes: true, attributeFilter: ['class', 'lang'] });
    const win = doc.defaultView;
    win?.addEventListener('storage', update);
    return () => {
      obs.disconnect();
      win?.removeEventListener('storage', update);
    };
  }, [doc, overrides.theme, overrides.locale]);
  return { theme: overrides.theme ?? theme, locale: overrides.locale ?? locale };
}
