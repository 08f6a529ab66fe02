import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ApiRoutes, ExtrasRoutes, type QuotaRequestDTO, type QuotaRequestSuggestionDTO } from '@solaris/wire';
import { SolarisOverlay } from '../src/components/SolarisOverlay';
import { TokenCounter } from '../src/components/TokenCounter';
import { balance, fakeApi, quotaRequest, renderSolaris, type Call } from './helpers';

const blockedBalance = balance({ used: 10_050 });

const request = quotaRequest;

/** A tiny in-memory server for one user's requests: one open at a time (409 otherwise), like the real one. */
function requestsApi(opts: { open?: QuotaRequestDTO | null; failOpen?: boolean } = {}) {
  let open: QuotaRequestDTO | null = opts.open ?? null;
  const suggestion = (): QuotaRequestSuggestionDTO => ({ tokens: 3000, avgDailyUse: 420, daysLeft: 9, minimum: 1000, autoApproveTokens: 500, autoApproveAvailable: true, open });
  const api = fakeApi({
    [`GET ${ApiRoutes.balance}`]: () => blockedBalance,
    [`GET ${ApiRoutes.statement}`]: () => ({ items: [], nextCursor: null, totals: { requests: 0, promptTokens: 0, completionTokens: 0, weightedTokens: 0, cost: 0 } }),
    [`GET ${ApiRoutes.usageDaily}`]: () => [],
    [`GET ${ExtrasRoutes.mySettings}`]: () => ({ personalCap: null, warnPercent: null, maxPersonalCap: 10_000, defaultThresholds: [80, 100], balance: blockedBalance }),
    [`GET ${ExtrasRoutes.myRequestSuggestion}`]: suggestion,
    [`GET ${ExtrasRoutes.myRequests}`]: () => (open ? [open] : []),
    [`POST ${ExtrasRoutes.myRequests}`]: (c: Call) => {
      if (opts.failOpen) return { status: 503, body: { error: { code: 'store_unavailable', message: 'Banco indisponível' } } };
      if (open) return { status: 409, body: { error: { code: 'conflict', message: 'Você já tem um pedido em aberto / you already have an open request' } } };
      const b = c.body as { tokens: number; reason: string | null };
      open = request({ tokens: b.tokens, reason: b.reason });
      return { status: 201, body: open };
    },
    [`POST /me/quota-requests/:requestId/cancel`]: () => {
      const r = { ...(open as QuotaRequestDTO), status: 'cancelled' as const };
      open = null;
      return r;
    },
  });
  return { ...api, setOpen: (r: QuotaRequestDTO | null) => (open = r) };
}

function app() {
  return (
    <>
      <TokenCounter />
      <SolarisOverlay />
    </>
  );
}

async function blockedModal(socket: { emit: (e: 'blocked', p: { userId: string; reason: 'quota_exceeded'; balance: typeof blockedBalance }) => Promise<void> }) {
  await screen.findByTestId('solaris-counter');
  await socket.emit('blocked', { userId: 'u1', reason: 'quota_exceeded', balance: blockedBalance });
  return screen.findByRole('alertdialog', { name: /Sua cota de tokens acabou/ });
}

describe('Quota requests (user)', () => {
  it('asks from the block modal with the suggested amount, shows "sent", cancels; keyboard only', async () => {
    const api = requestsApi();
    const { socket } = renderSolaris(app(), { fetch: api.fetch });
    const dialog = await blockedModal(socket);
    const ask = await within(dialog).findByRole('button', { name: 'Pedir mais tokens' });
    await waitFor(() => expect(ask).toBeEnabled());
    ask.focus();
    await userEvent.keyboard('{Enter}');

    const amount = within(dialog).getByLabelText('Quantidade de tokens');
    expect(amount).toHaveFocus(); // focus moves into the form
    expect(amount).toHaveValue('3000');
    expect(amount).toHaveAccessibleDescription(
      'Sugerimos 3.000 tokens: você usa cerca de 420 por dia e faltam 9 dias para a renovação. Pedidos de até 500 tokens são aprovados na hora (uma vez por período).',
    );
    await userEvent.clear(amount);
    await userEvent.type(amount, '5000');
    await userEvent.type(within(dialog).getByLabelText('Motivo (opcional)'), 'fechamento do trimestre');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Enviar pedido' }));

    const sent = await within(dialog).findByTestId('solaris-request-sent');
    expect(within(sent).getByRole('heading', { name: 'Pedido enviado' })).toHaveFocus();
    expect(sent).toHaveTextContent('Você pediu 5.000 tokens em');
    expect(sent).toHaveTextContent('“fechamento do trimestre”');
    expect(api.calls.find((c) => c.method === 'POST' && c.path === ExtrasRoutes.myRequests)?.body).toEqual({ tokens: 5000, reason: 'fechamento do trimestre' });

    await userEvent.click(within(sent).getByRole('button', { name: 'Cancelar pedido' }));
    expect(await within(dialog).findByText('Pedido cancelado.')).toBeInTheDocument();
    expect(api.calls.some((c) => c.path === '/me/quota-requests/7/cancel')).toBe(true);
    expect(await within(dialog).findByRole('button', { name: 'Pedir mais tokens' })).toBeInTheDocument();
  });

  it('one open request: a 409 shows the request already open (opened in another tab)', async () => {
    const api = requestsApi();
    const { socket } = renderSolaris(app(), { fetch: api.fetch });
    const dialog = await blockedModal(socket);
    const ask = await within(dialog).findByRole('button', { name: 'Pedir mais tokens' });
    await waitFor(() => expect(ask).toBeEnabled());
    await userEvent.click(ask);
    api.setOpen(request({ tokens: 2000, reason: 'outra aba' })); // the server now has one
    await userEvent.click(within(dialog).getByRole('button', { name: 'Enviar pedido' }));
    const sent = await within(dialog).findByTestId('solaris-request-sent');
    expect(sent).toHaveTextContent('Você já tem um pedido em aberto.');
    expect(sent).toHaveTextContent('Você pediu 2.000 tokens');
    expect(within(dialog).queryByRole('alert')).toBeNull(); // a conflict is a state, not an error
  });

  it('shows bad input and server errors without losing the form', async () => {
    const api = requestsApi({ failOpen: true });
    const { socket } = renderSolaris(app(), { fetch: api.fetch });
    const dialog = await blockedModal(socket);
    const ask = await within(dialog).findByRole('button', { name: 'Pedir mais tokens' });
    await waitFor(() => expect(ask).toBeEnabled());
    await userEvent.click(ask);
    const amount = within(dialog).getByLabelText('Quantidade de tokens');
    await userEvent.clear(amount);
    await userEvent.type(amount, '12abc');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Enviar pedido' }));
    expect(within(dialog).getByRole('alert')).toHaveTextContent('Informe um número inteiro maior que zero.');
    expect(api.calls.some((c) => c.method === 'POST')).toBe(false);

    await userEvent.clear(amount);
    await userEvent.type(amount, '4000');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Enviar pedido' }));
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('Erro: Banco indisponível (store_unavailable)');
    expect(within(dialog).getByLabelText('Quantidade de tokens')).toHaveValue('4000');
  });

  it('approval arrives live: the block modal closes by itself and a pt-BR notice shows the server message', async () => {
    const api = requestsApi({ open: request() });
    const { socket } = renderSolaris(app(), { fetch: api.fetch });
    const dialog = await blockedModal(socket);
    expect(await within(dialog).findByTestId('solaris-request-sent')).toHaveTextContent('Você pediu 3.000 tokens');

    const approved = request({ status: 'approved', grantedTokens: 2500, message: 'bom trabalho' });
    api.setOpen(null);
    await socket.emit('request_decided', {
      request: approved,
      balance: balance({ used: 10_050, granted: 2500 }),
      message: 'Seu pedido de tokens foi aprovado: +2.500 tokens. Mensagem do administrador: bom trabalho',
    });
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    const notice = screen.getByTestId('solaris-decision-notice');
    expect(notice).toHaveAttribute('role', 'status');
    expect(notice).toHaveTextContent('Pedido aprovado');
    expect(notice).toHaveTextContent('Seu pedido de tokens foi aprovado: +2.500 tokens. Mensagem do administrador: bom trabalho');
    expect(screen.getByTestId('solaris-counter')).toHaveAttribute('data-state', 'warning'); // 10.050 of 12.500: unblocked
    await userEvent.click(within(notice).getByRole('button', { name: 'Fechar' }));
    expect(screen.queryByTestId('solaris-decision-notice')).toBeNull();
  });

  it('denial in English: the modal stays, the notice (an alert) and the request section show the admin message', async () => {
    const api = requestsApi({ open: request() });
    const { socket } = renderSolaris(app(), { fetch: api.fetch, locale: 'en' });
    await screen.findByTestId('solaris-counter');
    await socket.emit('blocked', { userId: 'u1', reason: 'quota_exceeded', balance: blockedBalance });
    const dialog = await screen.findByRole('alertdialog', { name: /Your token quota is used up/ });
    expect(await within(dialog).findByTestId('solaris-request-sent')).toHaveTextContent('You asked for 3,000 tokens');

    api.setOpen(null);
    await socket.emit('request_decided', {
      request: request({ status: 'denied', message: 'orçamento esgotado' }),
      balance: blockedBalance,
      message: 'Seu pedido de 3.000 tokens foi negado. Mensagem do administrador: orçamento esgotado',
    });
    const notice = screen.getByTestId('solaris-decision-notice');
    expect(notice).toHaveAttribute('role', 'alert');
    expect(notice).toHaveTextContent('Request denied');
    expect(notice).toHaveTextContent('Your request for 3,000 tokens was denied. Message from the administrator: orçamento esgotado');
    expect(screen.getByRole('alertdialog')).toBeInTheDocument();
    expect(await within(dialog).findByTestId('solaris-request-denied')).toHaveTextContent(
      'Your last request (3,000 tokens) was denied. Message from the administrator: orçamento esgotado',
    );
    // and a new request can be made right away
    expect(await within(dialog).findByRole('button', { name: 'Request more tokens' })).toBeInTheDocument();
  });

  it('is offered in the statement before the block too', async () => {
    const api = requestsApi();
    renderSolaris(app(), { fetch: api.fetch });
    await userEvent.click(await screen.findByTestId('solaris-counter'));
    const statement = await screen.findByRole('dialog', { name: 'Extrato de tokens' });
    const section = within(statement).getByTestId('solaris-request');
    expect(within(section).getByRole('heading', { name: 'Pedir mais tokens' })).toBeInTheDocument();
    const ask = within(section).getByRole('button', { name: 'Pedir mais tokens' });
    await waitFor(() => expect(ask).toBeEnabled());
    await userEvent.click(ask);
    await userEvent.click(within(section).getByRole('button', { name: 'Enviar pedido' }));
    expect(await within(section).findByRole('heading', { name: 'Pedido enviado' })).toBeInTheDocument();
    expect(api.calls.find((c) => c.method === 'POST')?.body).toEqual({ tokens: 3000, reason: null });
  });
});
