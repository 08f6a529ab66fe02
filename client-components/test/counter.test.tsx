import { screen, waitFor } from '@testing-library/react';
import { ApiRoutes } from '@solaris/wire';
import { TokenCounter } from '../src/components/TokenCounter';
import { FakeSocket, balance, fakeApi, renderSolaris } from './helpers';

describe('TokenCounter', () => {
  it('shows usage from REST in pt-BR, then follows socket balance events without polling', async () => {
    const api = fakeApi({ [`GET ${ApiRoutes.balance}`]: () => balance({ used: 1_234, limit: 10_000 }) });
    const { socket } = renderSolaris(<TokenCounter />, { fetch: api.fetch });
    const btn = await screen.findByTestId('solaris-counter');
    expect(btn).toHaveAccessibleName(/Uso de tokens: 12,3% \(1\.234 de 10\.000\) — Normal\. Abrir extrato/);
    expect(btn).toHaveAttribute('data-state', 'ok');
    expect(screen.getByRole('tooltip')).toHaveTextContent(/Renova em 1 de dez\. de 2026/);

    await socket.emit('balance', balance({ used: 8_500 }));
    expect(btn).toHaveAttribute('data-state', 'warning');
    // State told by word and icon, not by colour only.
    expect(btn).toHaveAccessibleName(/85% .*Atenção/);
    expect(screen.getByRole('meter')).toHaveAttribute('aria-valuenow', '85');

    await socket.emit('balance', balance({ used: 10_300 }));
    expect(btn).toHaveAttribute('data-state', 'blocked');
    expect(btn).toHaveAccessibleName(/103% .*Bloqueado/);
    expect(screen.getByRole('meter')).toHaveAttribute('aria-valuenow', '100');
    expect(api.calls.filter((c) => c.path === ApiRoutes.balance)).toHaveLength(1);
  });

  it('marks itself stale while the socket is down and refetches on reconnect', async () => {
    let used = 100;
    const api = fakeApi({ [`GET ${ApiRoutes.balance}`]: () => balance({ used }) });
    const { socket } = renderSolaris(<TokenCounter />, { fetch: api.fetch });
    const btn = await screen.findByTestId('solaris-counter');
    expect(btn).not.toHaveAttribute('data-stale');
    await socket.drop();
    expect(btn).toHaveAttribute('data-stale', 'true');
    expect(screen.getByText('offline')).toBeInTheDocument();
    expect(screen.getByRole('tooltip')).toHaveTextContent('Sem conexão');
    used = 5_000;
    await socket.restore();
    await waitFor(() => expect(btn).toHaveAccessibleName(/50%/));
    expect(btn).not.toHaveAttribute('data-stale');
  });

  it('is not "offline" while the first connection is still being made', async () => {
    const api = fakeApi({ [`GET ${ApiRoutes.balance}`]: () => balance() });
    const socket = new FakeSocket();
    socket.connected = false;
    renderSolaris(<TokenCounter />, { fetch: api.fetch, socket });
    const btn = await screen.findByTestId('solaris-counter');
    expect(btn).not.toHaveAttribute('data-stale');
    await socket.restore();
    await socket.drop();
    expect(btn).toHaveAttribute('data-stale', 'true');
  });

  it('speaks English when LibreChat is in English and ignores other users’ balances', async () => {
    const api = fakeApi({ [`GET ${ApiRoutes.balance}`]: () => balance({ used: 2_500 }) });
    const { socket } = renderSolaris(<TokenCounter />, { fetch: api.fetch, locale: 'en' });
    const btn = await screen.findByTestId('solaris-counter');
    expect(btn).toHaveAccessibleName(/Token usage: 25% \(2,500 of 10,000\) — OK\. Open statement/);
    expect(screen.getByRole('tooltip')).toHaveTextContent(/Resets on Dec 1, 2026/);
    await socket.emit('balance', balance({ userId: 'someone-else', used: 9_900 }));
    expect(btn).toHaveAccessibleName(/25%/);
  });

  it('opens the statement dialog on click (keyboard too)', async () => {
    const api = fakeApi({
      [`GET ${ApiRoutes.balance}`]: () => balance(),
      [`GET ${ApiRoutes.statement}`]: () => ({ items: [], nextCursor: null, totals: { requests: 0, promptTokens: 0, completionTokens: 0, weightedTokens: 0, cost: 0 } }),
      [`GET ${ApiRoutes.usageDaily}`]: () => [],
    });
    const { StatementDialog } = await import('../src/components/StatementPanel');
    renderSolaris(
      <>
        <TokenCounter />
        <StatementDialog />
      </>,
      { fetch: api.fetch },
    );
    const btn = await screen.findByTestId('solaris-counter');
    btn.focus();
    const { default: userEvent } = await import('@testing-library/user-event');
    await userEvent.keyboard('{Enter}');
    expect(await screen.findByRole('dialog', { name: 'Extrato de tokens' })).toBeInTheDocument();
    expect(await screen.findByText('Nenhuma requisição neste filtro.')).toBeInTheDocument();
  });
});
