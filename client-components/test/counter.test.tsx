import { screen, waitFor } from '@testing-library/react';
import { ApiRoutes } from '@solaris/wire';
import { TokenCounter } from '../src/components/TokenCounter';
import { FakeSocket, balance, fakeApi, renderSolaris } from './helpers';

describe('TokenCounter', () => {
  it('shows usage from REST in pt-BR, then follows socket balance events without polling', async () => {
    const api = fakeApi({ [`GET ${ApiRoutes.balance}`]: () => balance({ used: 1_234, limit: 10_000 }) });
    const { socket } = renderSolaris(<TokenCounter />, { fetch: api.fetch });
    const btn = await screen.findByTestId('solaris-counter');
    expect(btn).toHaveAccessibleName(/Uso de tokens: 12,3%, restam 8,8\smil \(1\.234 de 10\.000 usados\) — Normal\. Abrir extrato/);
    // what is left, on the badge itself (docs/usuarios.md promises it)
    expect(screen.getByTestId('solaris-counter-left')).toHaveTextContent('restam 8,8 mil');
    expect(screen.getByRole('tooltip')).toHaveTextContent('Normal · restam 8.766 de 10.000 tokens.');
    expect(btn).toHaveAttribute('data-state', 'ok');
    expect(screen.getByRole('tooltip')).toHaveTextContent(/Renova em 1 de dez\. de 2026/);

    await socket.emit('balance', balance({ used: 8_500 }));
    expect(btn).toHaveAttribute('data-state', 'warning');
    // State told by word and icon, not by colour only.
    expect(btn).toHaveAccessibleName(/85%.*Atenção/);
    expect(screen.getByRole('meter')).toHaveAttribute('aria-valuenow', '85');

    await socket.emit('balance', balance({ used: 10_300 }));
    expect(btn).toHaveAttribute('data-state', 'blocked');
    expect(btn).toHaveAccessibleName(/103%.*Bloqueado/);
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
    expect(btn).toHaveAttribute('data-stale-label', 'sem conexão');
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
    expect(btn).toHaveAccessibleName(/Token usage: 25%, 7\.5K left \(2,500 of 10,000 used\) — OK\. Open statement/);
    expect(screen.getByTestId('solaris-counter-left')).toHaveTextContent('7.5K left');
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
    expect(await screen.findByText('Nenhuma mensagem com estes filtros.')).toBeInTheDocument();
    // Escape closes it and gives focus back to the counter that opened it
    await userEvent.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(document.activeElement).toBe(btn);
  });
});

describe('counter tooltip placement (#15 item 7: cut at the rail edge)', () => {
  const rect = (x: number, y: number, w: number, h: number) => ({ x, y, left: x, top: y, width: w, height: h, right: x + w, bottom: y + h, toJSON: () => ({}) }) as DOMRect;
  const place = async (anchor: DOMRect, tipW: number, tipH: number, vw = 360, vh = 740) => {
    const { placeTooltip } = await import('../src/components/TokenCounter');
    const a = document.createElement('button');
    const tip = document.createElement('span');
    a.getBoundingClientRect = () => anchor;
    // a fixed tooltip: its box is where its left/top put it
    tip.getBoundingClientRect = () => rect(parseFloat(tip.style.left || '0'), parseFloat(tip.style.top || '0'), tipW, tipH);
    Object.defineProperty(document.documentElement, 'clientWidth', { configurable: true, value: vw });
    Object.defineProperty(window, 'innerHeight', { configurable: true, value: vh });
    placeTooltip(a, tip);
    return rect(parseFloat(tip.style.left), parseFloat(tip.style.top), tipW, tipH);
  };

  it('beside the counter in the rail when it fits, never past the screen edges', async () => {
    const beside = await place(rect(8, 600, 48, 60), 200, 50);
    expect(beside.left).toBe(64); // right of the rail's counter
    expect(beside.bottom).toBeLessThanOrEqual(740 - 8);
    // too wide to sit beside it on a 360 px phone: below/above it, clamped inside the screen
    const clamped = await place(rect(8, 690, 48, 40), 320, 60);
    expect(clamped.left).toBeGreaterThanOrEqual(8);
    expect(clamped.right).toBeLessThanOrEqual(360 - 8);
    expect(clamped.bottom).toBeLessThanOrEqual(740 - 8);
    expect(clamped.top).toBeGreaterThanOrEqual(8);
  });
});
