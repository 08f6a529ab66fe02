import { act, screen, waitFor } from '@testing-library/react';
import { ApiRoutes } from '@solaris/wire';
import { TokenCounter } from '../src/components/TokenCounter';
import { UsageWarningModal } from '../src/components/UsageWarningModal';
import { detectLocale, toLocale } from '../src/i18n';
import { balance, fakeApi, renderSolaris } from './helpers';

afterEach(() => {
  localStorage.clear();
  document.documentElement.className = '';
  document.documentElement.removeAttribute('lang');
});

describe('language and theme follow LibreChat', () => {
  it('reads localStorage `lang` (JSON or raw), then <html lang>, defaulting to pt-BR', () => {
    expect(detectLocale()).toBe('pt-BR');
    document.documentElement.lang = 'en-US';
    expect(detectLocale()).toBe('en');
    localStorage.setItem('lang', JSON.stringify('pt-BR'));
    expect(detectLocale()).toBe('pt-BR');
    localStorage.setItem('lang', 'de-DE');
    expect(detectLocale()).toBe('en'); // other languages get English, our second language
    expect(toLocale('pt-PT')).toBe('pt-BR');
    expect(toLocale('')).toBeNull();
  });

  it('switches language and theme live when LibreChat changes <html>', async () => {
    const api = fakeApi({ [`GET ${ApiRoutes.balance}`]: () => balance({ used: 5_000 }) });
    const { socket } = renderSolaris(
      <>
        <TokenCounter />
        <UsageWarningModal />
      </>,
      { fetch: api.fetch, locale: undefined, theme: undefined },
    );
    const btn = await screen.findByTestId('solaris-counter');
    expect(btn).toHaveAccessibleName(/^Uso de tokens/);
    expect(btn.closest('[data-theme]')).toBeNull(); // the counter inherits its scope from the host
    act(() => {
      document.documentElement.lang = 'en';
      document.documentElement.classList.add('dark');
    });
    await waitFor(() => expect(btn).toHaveAccessibleName(/^Token usage: 50%/));
    await socket.emit('threshold', { userId: 'u1', threshold: 80, periodKey: '2026-11', balance: balance({ used: 8_000 }) });
    const dialog = await screen.findByRole('dialog', { name: /Your quota is almost used up/ });
    expect(dialog.closest('.sol-root')).toHaveAttribute('data-theme', 'dark');
    expect(dialog.closest('.sol-root')).toHaveAttribute('lang', 'en');
  });
});
