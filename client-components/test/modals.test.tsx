import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ApiRoutes, ExtrasRoutes } from '@solaris/wire';
import { SolarisOverlay } from '../src/components/SolarisOverlay';
import { TokenCounter } from '../src/components/TokenCounter';
import { balance, fakeApi, renderSolaris } from './helpers';

const routes = () =>
  fakeApi({
    [`GET ${ApiRoutes.balance}`]: () => balance({ used: 7_000 }),
    [`GET ${ApiRoutes.statement}`]: () => ({ items: [], nextCursor: null, totals: { requests: 0, promptTokens: 0, completionTokens: 0, weightedTokens: 0, cost: 0 } }),
    [`GET ${ApiRoutes.usageDaily}`]: () => [],
    [`GET ${ExtrasRoutes.myRequestSuggestion}`]: () => ({ tokens: 3000, avgDailyUse: 100, daysLeft: 10, minimum: 1000, autoApproveTokens: null, autoApproveAvailable: false, open: null }),
    [`GET ${ExtrasRoutes.mySettings}`]: () => ({ personalCap: null, warnPercent: null, maxPersonalCap: 10_000, defaultThresholds: [80, 100], balance: balance({ used: 7_000 }) }),
  });

function app() {
  return (
    <>
      <TokenCounter />
      <SolarisOverlay />
    </>
  );
}

const threshold = (t: number, used: number, periodKey = '2026-11') => ({ userId: 'u1', threshold: t, periodKey, balance: balance({ used, periodKey }) });

beforeEach(() => localStorage.clear());

describe('UsageWarningModal', () => {
  it('opens on the server threshold event with what is left and when it resets; once per period and threshold', async () => {
    const { socket } = renderSolaris(app(), { fetch: routes().fetch });
    await screen.findByTestId('solaris-counter');
    expect(screen.queryByRole('dialog')).toBeNull();

    // crossing 80% by balance alone does not open it: the server event is the source
    await socket.emit('balance', balance({ used: 8_100 }));
    expect(screen.queryByRole('dialog')).toBeNull();

    await socket.emit('threshold', threshold(80, 8_200));
    const dialog = await screen.findByRole('dialog', { name: /Você está perto do limite/ });
    expect(dialog).toHaveAttribute('aria-modal', 'true');
    expect(dialog).toHaveAccessibleDescription('Você já usou 82% da sua cota de tokens deste período. Restam 1.800 tokens.');
    expect(dialog).toHaveTextContent('Renova em 1 de dez. de 2026');
    // the primary action has focus; Esc closes
    expect(screen.getByRole('button', { name: 'Entendi' })).toHaveFocus();
    await userEvent.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());

    // the same event again (reconnect, another tab's echo): not shown twice
    await socket.emit('threshold', threshold(80, 8_300));
    expect(screen.queryByRole('dialog')).toBeNull();
    // a new period is a new warning
    await socket.emit('threshold', threshold(80, 8_000, '2026-12'));
    expect(await screen.findByRole('dialog', { name: /perto do limite/ })).toBeInTheDocument();
  });

  it('shows the warning again when the threshold fires again in the same period (after an admin reset)', async () => {
    const { socket } = renderSolaris(app(), { fetch: routes().fetch });
    await screen.findByTestId('solaris-counter');
    const first = { ...threshold(80, 8_200), firedAt: '2026-11-10T12:00:00.000Z' };
    await socket.emit('threshold', first);
    await screen.findByRole('dialog', { name: /perto do limite/ });
    await userEvent.click(screen.getByRole('button', { name: 'Entendi' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    await socket.emit('threshold', first); // the same firing echoed: acknowledged already
    expect(screen.queryByRole('dialog')).toBeNull();
    await socket.emit('threshold', { ...threshold(80, 8_100), firedAt: '2026-11-20T09:30:00.000Z' });
    expect(await screen.findByRole('dialog', { name: /perto do limite/ })).toBeInTheDocument();
  });

  it('closes when another tab acknowledges it', async () => {
    const { socket } = renderSolaris(app(), { fetch: routes().fetch });
    await screen.findByTestId('solaris-counter');
    await socket.emit('threshold', threshold(80, 8_200));
    await screen.findByRole('dialog');
    act(() => {
      localStorage.setItem('solaris:warn-ack:u1:2026-11:80', '1');
      window.dispatchEvent(new StorageEvent('storage', { key: 'solaris:warn-ack:u1:2026-11:80', newValue: '1' }));
    });
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
  });

  it('respects a configured threshold', async () => {
    const { socket } = renderSolaris(app(), { fetch: routes().fetch, warnAt: 90 });
    await screen.findByTestId('solaris-counter');
    await socket.emit('threshold', threshold(80, 8_200));
    expect(screen.queryByRole('dialog')).toBeNull();
    await socket.emit('threshold', threshold(90, 9_100));
    expect(await screen.findByRole('dialog')).toHaveAccessibleDescription(/91%/);
  });
});

describe('QuotaBlockedModal', () => {
  it('opens on a refused send, ignores Esc and outside clicks, traps focus, closes when a grant unblocks', async () => {
    const { socket } = renderSolaris(app(), { fetch: routes().fetch, blockedHelpText: 'Fale com ti@solaris.com.br' });
    await screen.findByTestId('solaris-counter');
    await socket.emit('blocked', { userId: 'u1', reason: 'quota_exceeded', balance: balance({ used: 10_050 }) });
    const dialog = await screen.findByRole('alertdialog', { name: /Cota de tokens esgotada/ });
    expect(dialog).toHaveAttribute('aria-modal', 'true');
    expect(dialog).toHaveTextContent('Renova em 1 de dez. de 2026');
    expect(dialog).toHaveTextContent('Fale com ti@solaris.com.br');
    expect(screen.queryByRole('button', { name: 'Fechar' })).toBeNull(); // no ×: acknowledgement required

    await userEvent.keyboard('{Escape}');
    fireEvent.mouseDown(dialog.parentElement as HTMLElement);
    expect(screen.getByRole('alertdialog')).toBeInTheDocument();

    // focus stays inside: Tab from the last button wraps to the first ("request more tokens")
    const ack = screen.getByRole('button', { name: 'Entendi, fechar' });
    const ask = await screen.findByRole('button', { name: 'Pedir mais tokens' });
    await waitFor(() => expect(ask).toBeEnabled());
    expect(ack).toHaveFocus();
    await userEvent.tab();
    expect(ask).toHaveFocus();
    await userEvent.tab({ shift: true });
    expect(ack).toHaveFocus();
    await userEvent.tab({ shift: true });
    expect(screen.getByRole('button', { name: 'Ver extrato' })).toHaveFocus();

    // an admin grant arrives live: the modal goes away by itself and the counter drops below 100%
    await socket.emit('balance', balance({ used: 10_050, granted: 5_000 }));
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    expect(screen.getByTestId('solaris-counter')).toHaveAttribute('data-state', 'ok');
  });

  it('opens when the balance reaches 100% and closes on acknowledgement; a later refusal opens it again', async () => {
    const { socket } = renderSolaris(app(), { fetch: routes().fetch, locale: 'en' });
    await screen.findByTestId('solaris-counter');
    await socket.emit('balance', balance({ used: 10_000 }));
    expect(await screen.findByRole('alertdialog', { name: /Token quota used up/ })).toHaveAccessibleDescription(
      'You have used 100% of your token quota. New messages are blocked until it resets.',
    );
    await userEvent.click(screen.getByRole('button', { name: 'I understand, close' }));
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    // still blocked: a further balance event does not reopen it, a refused send does
    await socket.emit('balance', balance({ used: 10_001 }));
    expect(screen.queryByRole('alertdialog')).toBeNull();
    await socket.emit('blocked', { userId: 'u1', reason: 'too_many_inflight', balance: balance({ used: 10_001 }) });
    expect(await screen.findByRole('alertdialog')).toHaveAccessibleDescription(/Too many replies are running/);
  });

  it('explains a refusal below 100% (what is left is not enough for this message)', async () => {
    const { socket } = renderSolaris(app(), { fetch: routes().fetch });
    await screen.findByTestId('solaris-counter');
    await socket.emit('blocked', { userId: 'u1', reason: 'quota_exceeded', balance: balance({ used: 9_700 }) });
    expect(await screen.findByRole('alertdialog')).toHaveAccessibleDescription(
      'Seu saldo restante (300 tokens) não é suficiente para esta mensagem. Novas mensagens ficam bloqueadas até a renovação.',
    );
  });

  it('a 100% threshold event replaces a pending warning', async () => {
    const { socket } = renderSolaris(app(), { fetch: routes().fetch });
    await screen.findByTestId('solaris-counter');
    await socket.emit('threshold', threshold(80, 8_500));
    await screen.findByRole('dialog');
    await socket.emit('threshold', threshold(100, 10_200));
    await screen.findByRole('alertdialog');
    expect(screen.queryByRole('dialog', { name: /perto do limite/ })).toBeNull();
    // and the block modal can lead to the statement
    await userEvent.click(screen.getByRole('button', { name: 'Ver extrato' }));
    expect(await screen.findByRole('dialog', { name: 'Extrato de tokens' })).toBeInTheDocument();
  });
});
