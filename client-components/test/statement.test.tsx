import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ApiRoutes, ExtrasRoutes, type StatementPageDTO } from '@solaris/wire';
import { StatementPanel } from '../src/components/StatementPanel';
import { balance, entry, fakeApi, renderSolaris, type Call } from './helpers';

const account = { periodKey: '2026-11', limit: 10_000, granted: 500, used: 196, balance: 10_304 };
const totals = { requests: 3, promptTokens: 303, completionTokens: 150, weightedTokens: 453, cost: 0.0036, account };
const grantLine = {
  kind: 'grant' as const, id: 'grant:7', createdAt: '2026-11-20T12:00:02.500Z', periodKey: '2026-11', amount: 500, balanceAfter: 9498,
  tokens: 500, reason: 'Projeto X', limitBefore: null, limitAfter: null, planId: null,
};

function statementApi(opts: { failFirst?: boolean } = {}) {
  let failures = opts.failFirst ? 1 : 0;
  return fakeApi({
    [`GET ${ExtrasRoutes.myRequestSuggestion}`]: () => ({ tokens: 3000, avgDailyUse: 100, daysLeft: 10, minimum: 1000, autoApproveTokens: null, autoApproveAvailable: false, open: null }),
    [`GET ${ExtrasRoutes.mySettings}`]: () => ({ personalCap: null, warnPercent: null, maxPersonalCap: 10_000, defaultThresholds: [80, 100], balance: balance() }),
    [`GET ${ApiRoutes.balance}`]: () => balance(),
    [`GET ${ApiRoutes.usageDaily}`]: () => [
      { day: '2026-11-19', weightedTokens: 300, promptTokens: 200, completionTokens: 100, cost: 0.002, requests: 2 },
      { day: '2026-11-20', weightedTokens: 153, promptTokens: 103, completionTokens: 50, cost: 0.001, requests: 1 },
    ],
    [`GET ${ApiRoutes.statement}`]: (c: Call): { status?: number; body: StatementPageDTO | object } => {
      if (failures > 0) {
        failures--;
        return { status: 503, body: { error: { code: 'store_unavailable', message: 'Banco indisponível' } } };
      }
      if (c.query.get('model') === 'nada') return { body: { items: [], nextCursor: null, totals: { ...totals, requests: 0 } } };
      if (c.query.get('cursor') === 'k2') return { body: { items: [entry(1, { estimated: true, model: 'claude-3' })], nextCursor: null, totals } };
      return { body: { items: [entry(3, { context: 'title' }), grantLine, entry(2)], nextCursor: 'k2', totals } };
    },
  });
}

describe('StatementPanel', () => {
  it('lists rows newest first, pages by keyset cursor, shows totals, chart and the estimated flag', async () => {
    const api = statementApi();
    renderSolaris(<StatementPanel />, { fetch: api.fetch });
    const table = await screen.findByTestId('solaris-statement-table');
    let rows = within(table).getAllByTestId('solaris-statement-row');
    expect(rows).toHaveLength(3);
    // A title generation is named; a grant is a line of its own, with its amount and the admin's reason.
    expect(rows[0]).toHaveTextContent('Título da conversa');
    expect(rows[1]).toHaveTextContent('Crédito extra');
    expect(rows[1]).toHaveTextContent('Projeto X');
    expect(rows[1]).toHaveTextContent('+500');
    expect(rows[2]).not.toHaveTextContent('Título da conversa');
    expect(rows[0]).toHaveTextContent('gpt-4o-mini');
    expect(rows[0]).toHaveTextContent('103'); // prompt tokens of entry 3
    expect(rows[0]).toHaveTextContent('US$'); // cost, pt-BR currency
    expect(rows[0]).toHaveTextContent('8.997'); // balance after, pt-BR grouping
    const first = api.calls.find((c) => c.path === ApiRoutes.statement);
    expect(first?.query.get('period')).toBe('2026-11');
    expect(first?.query.get('cursor')).toBeNull();

    const totalsEl = screen.getByLabelText('Totais');
    expect(totalsEl).toHaveTextContent('Mensagens3');
    expect(totalsEl).toHaveTextContent('453');
    // The period's account: what the counter says (used since the last reset), not the filter's usage.
    expect(screen.getByTestId('solaris-statement-used')).toHaveTextContent('196');
    expect(screen.getByTestId('solaris-statement-balance')).toHaveTextContent('10.304');

    // chart: visible SVG + the numbers for screen readers
    expect(await screen.findByRole('table', { name: 'Uso por dia (tokens cobrados)' })).toHaveTextContent('19/11300');

    await userEvent.click(screen.getByRole('button', { name: 'Carregar mais' }));
    await waitFor(() => expect(within(table).getAllByTestId('solaris-statement-row')).toHaveLength(4));
    rows = within(table).getAllByTestId('solaris-statement-row');
    expect(rows[3]).toHaveTextContent('claude-3');
    expect(within(rows[3] as HTMLElement).getByTitle('Valor estimado: o provedor do modelo não informou o uso exato')).toHaveTextContent('≈ estimado');
    expect(api.calls.filter((c) => c.path === ApiRoutes.statement).at(-1)?.query.get('cursor')).toBe('k2');
    expect(screen.queryByRole('button', { name: 'Carregar mais' })).toBeNull();
  });

  it('filters by period, model and conversation; CSV export carries the same filters; empty state', async () => {
    const api = statementApi();
    renderSolaris(<StatementPanel />, { fetch: api.fetch });
    await screen.findByTestId('solaris-statement-table');
    await userEvent.selectOptions(screen.getByLabelText('Período'), 'all');
    await userEvent.type(screen.getByLabelText('Modelo'), 'nada');
    await userEvent.type(screen.getByLabelText('ID da conversa'), 'conv-9');
    await userEvent.click(screen.getByRole('button', { name: 'Filtrar' }));
    expect(await screen.findByText('Nenhuma mensagem com estes filtros.')).toBeInTheDocument();
    const last = api.calls.filter((c) => c.path === ApiRoutes.statement).at(-1);
    expect(last?.query.get('model')).toBe('nada');
    expect(last?.query.get('conversationId')).toBe('conv-9');
    expect(last?.query.get('period')).toBeNull();
    const csv = screen.getByRole('link', { name: /Baixar planilha/ });
    expect(csv.getAttribute('href')).toBe('/solaris/api/statement.csv?model=nada&conversationId=conv-9');
    expect(csv).toHaveAttribute('download');

    await userEvent.click(screen.getByRole('button', { name: 'Limpar filtros' }));
    await screen.findByTestId('solaris-statement-table');
    expect(screen.getByRole('link', { name: /Baixar planilha/ }).getAttribute('href')).toBe('/solaris/api/statement.csv?period=2026-11');
  });

  it('shows the server error and retries', async () => {
    renderSolaris(<StatementPanel />, { fetch: statementApi({ failFirst: true }).fetch });
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Erro: Banco indisponível (store_unavailable)');
    await userEvent.click(within(alert).getByRole('button', { name: 'Tentar de novo' }));
    expect(await screen.findByTestId('solaris-statement-table')).toBeInTheDocument();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('refreshes when the socket reports a new ledger entry', async () => {
    const api = statementApi();
    const { socket } = renderSolaris(<StatementPanel />, { fetch: api.fetch });
    await screen.findByTestId('solaris-statement-table');
    const before = api.calls.filter((c) => c.path === ApiRoutes.statement).length;
    await socket.emit('ledger', entry(4));
    await waitFor(() => expect(api.calls.filter((c) => c.path === ApiRoutes.statement).length).toBeGreaterThan(before));
  });
});
