import { act, screen, waitFor } from '@testing-library/react';
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
    const dialog = await screen.findByRole('dialog', { name: /Sua cota está quase no fim/ });
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
    expect(await screen.findByRole('dialog', { name: /quase no fim/ })).toBeInTheDocument();
  });

  it('says what the counter says is left, following the live balance after the event (#15 item 10: "3 left" when 8 were)', async () => {
    const { socket } = renderSolaris(app(), { fetch: routes().fetch });
    const counter = await screen.findByTestId('solaris-counter');
    // at the crossing another answer still held a reservation: 8.200 used + 1.000 reserved
    await socket.emit('threshold', threshold(80, 8_200));
    await socket.emit('balance', balance({ used: 8_200, reserved: 1_000 }));
    const dialog = await screen.findByRole('dialog', { name: /quase no fim/ });
    expect(dialog).toHaveAccessibleDescription(/Restam 800 tokens\./);
    // the reservation is released: the counter and the warning both say 1.800
    await socket.emit('balance', balance({ used: 8_200 }));
    await waitFor(() => expect(dialog).toHaveAccessibleDescription(/Restam 1\.800 tokens\./));
    expect(counter).toHaveAccessibleName(/restam 1,8\smil/);
  });

  it('shows the warning again when the threshold fires again in the same period (after an admin reset)', async () => {
    const { socket } = renderSolaris(app(), { fetch: routes().fetch });
    await screen.findByTestId('solaris-counter');
    const first = { ...threshold(80, 8_200), firedAt: '2026-11-10T12:00:00.000Z' };
    await socket.emit('threshold', first);
    await screen.findByRole('dialog', { name: /quase no fim/ });
    await userEvent.click(screen.getByRole('button', { name: 'Entendi' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    await socket.emit('threshold', first); // the same firing echoed: acknowledged already
    expect(screen.queryByRole('dialog')).toBeNull();
    await socket.emit('threshold', { ...threshold(80, 8_100), firedAt: '2026-11-20T09:30:00.000Z' });
    expect(await screen.findByRole('dialog', { name: /quase no fim/ })).toBeInTheDocument();
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
  it('opens on a refused send with the counter’s percentage; one primary action; traps focus; Esc closes and gives focus back; a grant closes it', async () => {
    const { socket } = renderSolaris(app(), { fetch: routes().fetch, blockedHelpText: 'Fale com ti@solaris.com.br' });
    const counter = await screen.findByTestId('solaris-counter');
    counter.focus();
    await socket.emit('blocked', { userId: 'u1', reason: 'quota_exceeded', balance: balance({ used: 12_000 }) });
    const dialog = await screen.findByRole('alertdialog', { name: /Sua cota de tokens acabou/ });
    expect(dialog).toHaveAttribute('aria-modal', 'true');
    // the same figure as the counter (120 %), never a fixed "100%"
    expect(dialog).toHaveAccessibleDescription('Você usou 120% da sua cota de tokens deste período. Novas mensagens ficam bloqueadas até a renovação.');
    expect(counter).toHaveAccessibleName(/120%/);
    expect(dialog).toHaveTextContent('Renova em 1 de dez. de 2026');
    expect(dialog).toHaveTextContent('Fale com ti@solaris.com.br');
    // one primary action (ask for more), said once as a button
    const ask = await screen.findByRole('button', { name: 'Pedir mais tokens' });
    await waitFor(() => expect(ask).toBeEnabled());
    expect(dialog.querySelectorAll('.sol-btn-primary')).toHaveLength(1);
    expect(ask).toHaveClass('sol-btn-primary');
    expect(screen.getAllByText(/pedir mais tokens/i)).toHaveLength(1);

    // focus stays inside: Tab from the last button wraps to the first (×)
    const ack = screen.getByRole('button', { name: 'Entendi' });
    ack.focus();
    await userEvent.tab();
    expect(screen.getByRole('button', { name: 'Fechar' })).toHaveFocus();
    await userEvent.tab({ shift: true });
    expect(ack).toHaveFocus();

    // Esc closes it (#15 item 10) and focus goes back to what had it
    await userEvent.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    expect(counter).toHaveFocus();

    // refused again: it comes back; an admin grant arrives live: it goes away by itself
    await socket.emit('blocked', { userId: 'u1', reason: 'quota_exceeded', balance: balance({ used: 12_000 }) });
    await screen.findByRole('alertdialog');
    await socket.emit('balance', balance({ used: 12_000, granted: 10_000 }));
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    expect(screen.getByTestId('solaris-counter')).toHaveAttribute('data-state', 'ok');
  });

  it('opens when the balance reaches 100% and closes on acknowledgement; a later refusal opens it again', async () => {
    const { socket } = renderSolaris(app(), { fetch: routes().fetch, locale: 'en' });
    await screen.findByTestId('solaris-counter');
    await socket.emit('balance', balance({ used: 10_000 }));
    expect(await screen.findByRole('alertdialog', { name: /Your token quota is used up/ })).toHaveAccessibleDescription(
      "You have used 100% of this period's token quota. New messages are blocked until it resets.",
    );
    await userEvent.click(screen.getByRole('button', { name: 'Got it' }));
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
      'Restam 300 tokens, o que não basta para esta mensagem. Novas mensagens ficam bloqueadas até a renovação.',
    );
  });

  it('a 100% threshold event replaces a pending warning', async () => {
    const { socket } = renderSolaris(app(), { fetch: routes().fetch });
    await screen.findByTestId('solaris-counter');
    await socket.emit('threshold', threshold(80, 8_500));
    await screen.findByRole('dialog');
    await socket.emit('threshold', threshold(100, 10_200));
    await screen.findByRole('alertdialog');
    expect(screen.queryByRole('dialog', { name: /quase no fim/ })).toBeNull();
    // and the block modal can lead to the statement
    await userEvent.click(screen.getByRole('button', { name: 'Ver extrato' }));
    expect(await screen.findByRole('dialog', { name: 'Extrato de tokens' })).toBeInTheDocument();
  });
});
