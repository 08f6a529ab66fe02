import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ApiRoutes, ExtrasRoutes, type QuotaRequestDTO, type RolePlanDTO, type WebhookDeliveryDTO, type WebhookEndpointDTO } from '@solaris/wire';
import { AdminButton, AdminTab } from '../src/admin/AdminTab';
import { balance, fakeApi, quotaRequest, renderSolaris, type Call } from './helpers';

const req = (id: string, p: Partial<QuotaRequestDTO> = {}): QuotaRequestDTO =>
  quotaRequest({ id, userId: `u${id}`, email: `user${id}@ex.com`, name: null, tokens: 4000, reason: 'relatório', createdAt: '2026-11-20T10:00:00.000Z', ...p });

function extrasApi() {
  let requests: QuotaRequestDTO[] = [req('1')];
  let roles: RolePlanDTO[] = [{ role: 'USER', planId: 'basic', updatedBy: 'admin', updatedAt: '2026-11-01T00:00:00Z' }];
  let hooks: WebhookEndpointDTO[] = [
    { id: 'env:0', name: 'ops', url: 'https://ops.example.com', events: ['user.blocked'], format: 'json', active: true, source: 'env', createdAt: null },
  ];
  const deliveries: WebhookDeliveryDTO[] = [
    { id: 'd1', endpointId: 'env:0', eventId: 'e1', eventType: 'user.blocked', attempt: 2, statusCode: 500, ok: false, error: 'HTTP 500', durationMs: 31, createdAt: '2026-11-20T10:00:00Z' },
  ];
  const pendingCount = () => requests.filter((r) => r.status === 'pending').length;
  const api = fakeApi({
    [`GET ${ApiRoutes.balance}`]: () => balance({ userId: 'admin' }),
    [`GET ${ApiRoutes.adminUsers}`]: () => ({ items: [], total: 0 }),
    [`GET ${ApiRoutes.adminPlans}`]: () => [
      { id: 'basic', name: 'Básico', tokenLimit: 10_000, period: 'month', isDefault: true },
      { id: 'pro', name: 'Pro', tokenLimit: 50_000, period: 'month', isDefault: false, autoApproveTokens: 2000 },
    ],
    [`GET ${ApiRoutes.adminAudit}`]: () => ({ items: [], nextCursor: null }),
    [`GET ${ExtrasRoutes.adminRequests}`]: (c: Call) => ({
      items: c.query.get('status') === 'all' ? requests : requests.filter((r) => r.status === 'pending'),
      pendingCount: pendingCount(),
    }),
    [`POST /admin/quota-requests/:requestId/approve`]: (c: Call) => {
      const id = c.path.split('/')[3] as string;
      const r = requests.find((x) => x.id === id) as QuotaRequestDTO;
      if (r.status !== 'pending') return { status: 409, body: { error: { code: 'conflict', message: `quota request ${id} is already ${r.status}` } } };
      const b = c.body as { tokens: number; message: string | null };
      Object.assign(r, { status: 'approved', grantedTokens: b.tokens, message: b.message });
      return r;
    },
    [`POST /admin/quota-requests/:requestId/deny`]: (c: Call) => {
      const id = c.path.split('/')[3] as string;
      const r = requests.find((x) => x.id === id) as QuotaRequestDTO;
      Object.assign(r, { status: 'denied', message: (c.body as { message: string | null }).message });
      return r;
    },
    [`GET ${ExtrasRoutes.adminRolePlans}`]: () => roles,
    [`PUT /admin/role-plans/:role`]: (c: Call) => {
      const role = decodeURIComponent(c.path.split('/')[3] as string);
      const planId = (c.body as { planId: string }).planId;
      if (planId === 'pro' && role === 'GHOST') return { status: 404, body: { error: { code: 'not_found', message: 'plan ghost does not exist' } } };
      roles = [...roles.filter((r) => r.role !== role), { role, planId, updatedBy: 'admin', updatedAt: '2026-11-20T00:00:00Z' }];
      return roles.at(-1);
    },
    [`DELETE /admin/role-plans/:role`]: (c: Call) => {
      roles = roles.filter((r) => r.role !== decodeURIComponent(c.path.split('/')[3] as string));
      return null;
    },
    [`PUT /admin/plans/:planId/auto-approve`]: (c: Call) => ({ planId: c.path.split('/')[3], autoApproveTokens: (c.body as { tokens: number | null }).tokens }),
    [`GET ${ExtrasRoutes.adminWebhooks}`]: () => hooks,
    [`POST ${ExtrasRoutes.adminWebhooks}`]: (c: Call) => {
      const b = c.body as WebhookEndpointDTO;
      const created = { id: 'w1', name: b.name ?? '', url: b.url, events: b.events ?? [], format: b.format ?? 'json', active: b.active ?? true, source: 'admin' as const, createdAt: '2026-11-20T00:00:00Z' };
      hooks = [...hooks, created];
      return { status: 201, body: { ...created, secret: 'whsec_abc123' } };
    },
    [`PUT /admin/webhooks/:endpointId`]: (c: Call) => {
      hooks = hooks.map((h) => (h.id === 'w1' ? { ...h, ...(c.body as object) } : h));
      return hooks.find((h) => h.id === 'w1');
    },
    [`DELETE /admin/webhooks/:endpointId`]: () => {
      hooks = hooks.filter((h) => h.id !== 'w1');
      return null;
    },
    [`POST /admin/webhooks/:endpointId/test`]: () => ({ status: 202, body: { eventId: 'evt-42' } }),
    [`GET ${ExtrasRoutes.adminWebhookDeliveries}`]: (c: Call) => deliveries.filter((d) => !c.query.get('endpointId') || d.endpointId === c.query.get('endpointId')),
  });
  return { ...api, requests, addRequest: (r: QuotaRequestDTO) => (requests = [...requests, r]), pendingCount };
}

const confirm = async (desc: string | RegExp) => {
  const dlg = await screen.findByRole('alertdialog', { name: /Confirmar|Confirm/ });
  expect(dlg).toHaveAccessibleDescription(desc);
  await userEvent.click(within(dlg).getByRole('button', { name: /Confirmar|Confirm/ }));
  await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
};

describe('Admin: quota requests', () => {
  it('live pending badge on the tab and the admin button; approve with an edited amount and expiry, deny with a message', async () => {
    const api = extrasApi();
    const { socket } = renderSolaris(
      <>
        <AdminButton />
        <AdminTab />
      </>,
      { fetch: api.fetch },
    );
    const tab = await screen.findByRole('tab', { name: 'Pedidos (1 pedido pendente)' });
    expect(screen.getByTestId('solaris-admin-button')).toHaveAccessibleName('Administração de tokens — 1 pedido pendente');

    // a new request arrives over the socket: both badges follow, the list refetches
    const r2 = req('2', { email: 'bia@ex.com', tokens: 1500, reason: null });
    api.addRequest(r2);
    await socket.emit('request', { request: r2, pendingCount: 2 });
    expect(tab).toHaveAccessibleName('Pedidos (2 pedidos pendentes)');
    expect(screen.getByTestId('solaris-admin-badge')).toHaveTextContent('2');

    await userEvent.click(tab);
    const table = await screen.findByTestId('solaris-requests-table');
    await waitFor(() => expect(within(table).getAllByTestId('solaris-request-row')).toHaveLength(2));
    expect(within(table).getAllByTestId('solaris-request-row')[0]).toHaveTextContent('user1@ex.com4.000relatório');

    // approve: amount editable, optional expiry, confirmation
    await userEvent.click(within(table).getByRole('button', { name: 'Aprovar: user1@ex.com' }));
    const form = screen.getByRole('form', { name: 'Aprovar o pedido de user1@ex.com' });
    const amount = within(form).getByLabelText('Tokens a conceder');
    expect(amount).toHaveFocus();
    expect(amount).toHaveValue('4000');
    await userEvent.clear(amount);
    await userEvent.type(amount, '2500');
    const next = new Date(Date.now() + 10 * 86_400_000);
    const ymd = `${next.getFullYear()}-${String(next.getMonth() + 1).padStart(2, '0')}-${String(next.getDate()).padStart(2, '0')}`;
    await userEvent.type(within(form).getByLabelText('Expira em (opcional)'), ymd);
    await userEvent.type(within(form).getByLabelText('Mensagem ao usuário (opcional)'), 'metade agora');
    await userEvent.click(within(form).getByRole('button', { name: 'Aprovar' }));
    await confirm('Conceder 2.500 tokens a user1@ex.com e aprovar o pedido?');
    expect(await screen.findByText('Decisão registrada.')).toBeInTheDocument();
    const approve = api.calls.find((c) => c.path === '/admin/quota-requests/1/approve');
    const body = approve?.body as { tokens: number; expiresAt: string; message: string };
    expect(body.tokens).toBe(2500);
    expect(body.message).toBe('metade agora');
    // End of that day in the deployment zone (the balance's America/Sao_Paulo, UTC-3), whatever the browser's.
    expect(body.expiresAt).toBe(new Date(Date.parse(`${ymd}T23:59:59.000Z`) + 3 * 3_600_000).toISOString());
    // the list was invalidated: only Bia's is pending now
    await waitFor(() => expect(within(screen.getByTestId('solaris-requests-table')).getAllByTestId('solaris-request-row')).toHaveLength(1));

    // deny with a message
    await userEvent.click(screen.getByRole('button', { name: 'Negar: bia@ex.com' }));
    const denyForm = screen.getByRole('form', { name: 'Negar o pedido de bia@ex.com' });
    expect(within(denyForm).queryByLabelText('Tokens a conceder')).toBeNull();
    await userEvent.type(within(denyForm).getByLabelText('Mensagem ao usuário (opcional)'), 'sem orçamento');
    await userEvent.click(within(denyForm).getByRole('button', { name: 'Negar' }));
    await confirm('Negar o pedido de bia@ex.com?');
    expect(api.calls.find((c) => c.path === '/admin/quota-requests/2/deny')?.body).toEqual({ message: 'sem orçamento' });
    expect(await screen.findByText('Nenhum pedido.')).toBeInTheDocument();

    // all: decided ones with their status in words
    await userEvent.selectOptions(screen.getByLabelText('Mostrar'), 'all');
    const all = await screen.findByTestId('solaris-requests-table');
    await waitFor(() => expect(within(all).getAllByTestId('solaris-request-row')).toHaveLength(2));
    expect(all).toHaveTextContent('aprovado');
    expect(all).toHaveTextContent('+2.500 “metade agora”');
    expect(all).toHaveTextContent('negado');
  });

  it('shows a conflict when someone else decided first; bad amounts never reach the server (English)', async () => {
    const api = extrasApi();
    renderSolaris(<AdminTab />, { fetch: api.fetch, locale: 'en' });
    await userEvent.click(await screen.findByRole('tab', { name: /^Requests/ }));
    await userEvent.click(await screen.findByRole('button', { name: 'Approve: user1@ex.com' }));
    const form = screen.getByRole('form', { name: "Approve user1@ex.com's request" });
    await userEvent.clear(within(form).getByLabelText('Tokens to grant'));
    await userEvent.type(within(form).getByLabelText('Tokens to grant'), '-5');
    await userEvent.click(within(form).getByRole('button', { name: 'Approve' }));
    expect(within(form).getByRole('alert')).toHaveTextContent('Enter a whole number greater than zero.');
    expect(screen.queryByRole('alertdialog')).toBeNull();

    await userEvent.clear(within(form).getByLabelText('Tokens to grant'));
    await userEvent.type(within(form).getByLabelText('Tokens to grant'), '100');
    (api.requests[0] as QuotaRequestDTO).status = 'approved'; // another admin was faster
    await userEvent.click(within(form).getByRole('button', { name: 'Approve' }));
    const dlg = await screen.findByRole('alertdialog', { name: 'Confirm' });
    await userEvent.click(within(dlg).getByRole('button', { name: 'Confirm' }));
    expect(await screen.findByText('Error: quota request 1 is already approved (conflict)')).toBeInTheDocument();
  });
});

describe('Admin: plans by role and auto-approval', () => {
  it('sets and removes a role plan and sets / clears a plan auto-approval rule, each confirmed; errors shown', async () => {
    const api = extrasApi();
    renderSolaris(<AdminTab />, { fetch: api.fetch });
    await userEvent.click(screen.getByRole('tab', { name: 'Planos' }));
    const roles = await screen.findByTestId('solaris-role-plans');
    expect(await within(roles).findByRole('cell', { name: 'USER' })).toBeInTheDocument();

    await userEvent.type(within(roles).getByLabelText('Papel'), 'EDITOR');
    await waitFor(() => expect(within(roles).getByRole('option', { name: /^Pro/ })).toBeInTheDocument());
    await userEvent.selectOptions(within(roles).getByLabelText('Plano'), 'pro');
    await userEvent.click(within(roles).getByRole('button', { name: 'Definir' }));
    await confirm('Usar o plano Pro para o papel EDITOR?');
    expect(api.calls.find((c) => c.method === 'PUT' && c.path === '/admin/role-plans/EDITOR')?.body).toEqual({ planId: 'pro' });
    expect(await within(roles).findByRole('cell', { name: 'EDITOR' })).toBeInTheDocument();

    await userEvent.click(within(roles).getByRole('button', { name: 'Remover: USER' }));
    await confirm('Remover o plano padrão do papel USER?');
    expect(api.calls.some((c) => c.method === 'DELETE' && c.path === '/admin/role-plans/USER')).toBe(true);
    await waitFor(() => expect(within(roles).queryByRole('cell', { name: 'USER' })).toBeNull());

    await userEvent.type(within(roles).getByLabelText('Papel'), 'GHOST');
    await userEvent.selectOptions(within(roles).getByLabelText('Plano'), 'pro');
    await userEvent.click(within(roles).getByRole('button', { name: 'Definir' }));
    await confirm('Usar o plano Pro para o papel GHOST?');
    expect(await within(roles).findByRole('alert')).toHaveTextContent('plan ghost does not exist (not_found)');

    const auto = screen.getByTestId('solaris-auto-approve');
    expect(within(auto).getByTestId('solaris-auto-pro')).toHaveValue('2000'); // shown when the server sends it
    await userEvent.type(within(auto).getByTestId('solaris-auto-basic'), '500');
    await userEvent.click(within(within(auto).getByRole('form', { name: 'Aprovação automática de pedidos: Básico' })).getByRole('button', { name: 'Salvar' }));
    await confirm('Aprovar automaticamente pedidos de até 500 tokens no plano Básico?');
    expect(api.calls.find((c) => c.path === '/admin/plans/basic/auto-approve')?.body).toEqual({ tokens: 500 });
    await userEvent.clear(within(auto).getByTestId('solaris-auto-pro'));
    await userEvent.click(within(within(auto).getByRole('form', { name: 'Aprovação automática de pedidos: Pro' })).getByRole('button', { name: 'Salvar' }));
    await confirm('Desligar a aprovação automática do plano Pro?');
    expect(api.calls.find((c) => c.path === '/admin/plans/pro/auto-approve')?.body).toEqual({ tokens: null });
  });
});

describe('Admin: webhooks', () => {
  it('creates an endpoint and shows the secret once; edits, tests and deletes it; env endpoints are read-only; delivery log', async () => {
    const api = extrasApi();
    renderSolaris(<AdminTab />, { fetch: api.fetch });
    await userEvent.click(screen.getByRole('tab', { name: 'Integrações' }));
    const table = await screen.findByTestId('solaris-webhooks-table');
    const envRow = within(table).getAllByTestId('solaris-webhook-row')[0] as HTMLElement;
    expect(envRow).toHaveTextContent('definida no ambiente — somente leitura');
    expect(within(envRow).queryByRole('button', { name: /Excluir/ })).toBeNull();
    expect(within(envRow).queryByRole('button', { name: /Editar/ })).toBeNull();

    // delivery log: failure told in words and status code, not only colour
    const log = await screen.findByTestId('solaris-deliveries-table');
    expect(log).toHaveTextContent('user.blocked');
    expect(log).toHaveTextContent('falhou · HTTP 500');

    const form = screen.getByRole('form', { name: 'Nova integração' });
    await userEvent.type(within(form).getByLabelText('Nome'), 'slack');
    await userEvent.type(within(form).getByLabelText('Endereço (URL)'), 'https://hooks.example.com/x');
    await userEvent.selectOptions(within(form).getByLabelText('Formato'), 'slack');
    await userEvent.click(within(form).getByRole('checkbox', { name: 'quota_request.opened' }));
    await userEvent.click(within(form).getByRole('button', { name: 'Adicionar integração' }));
    await confirm('Adicionar a integração https://hooks.example.com/x?');
    expect(api.calls.find((c) => c.method === 'POST' && c.path === ExtrasRoutes.adminWebhooks)?.body).toEqual({
      name: 'slack',
      url: 'https://hooks.example.com/x',
      events: ['quota_request.opened'],
      format: 'slack',
      active: true,
    });
    const secret = await screen.findByTestId('solaris-webhook-secret');
    expect(secret).toHaveTextContent('whsec_abc123');
    expect(secret).toHaveTextContent('Copie agora: este segredo não será mostrado de novo.');
    await userEvent.click(within(secret).getByRole('button', { name: 'Fechar' }));
    expect(screen.queryByText('whsec_abc123')).toBeNull(); // gone for good: the list never carries it
    const row = await screen.findByRole('row', { name: /hooks\.example\.com/ });
    expect(row).toHaveTextContent('quota_request.opened');

    await userEvent.click(within(row).getByRole('button', { name: 'Editar: slack' }));
    const edit = screen.getByRole('form', { name: 'Editar: slack' });
    await userEvent.click(within(edit).getByRole('checkbox', { name: 'Ativo' }));
    await userEvent.click(within(edit).getByRole('button', { name: 'Salvar integração' }));
    await confirm('Salvar as mudanças em slack?');
    expect(api.calls.find((c) => c.method === 'PUT')?.body).toMatchObject({ active: false, url: 'https://hooks.example.com/x' });
    await waitFor(() => expect(screen.getByRole('row', { name: /hooks\.example\.com/ })).toHaveTextContent('inativo'));

    await userEvent.click(within(screen.getByRole('row', { name: /hooks\.example\.com/ })).getByRole('button', { name: 'Enviar evento de teste: slack' }));
    await confirm('Enviar um evento de teste para slack?');
    expect(await screen.findByText('Evento de teste na fila de envio (evt-42).')).toBeInTheDocument();

    await userEvent.click(within(screen.getByRole('row', { name: /hooks\.example\.com/ })).getByRole('button', { name: 'Excluir: slack' }));
    await confirm('Excluir a integração slack? Os eventos ainda não enviados a ela serão descartados.');
    expect(api.calls.some((c) => c.method === 'DELETE' && c.path === '/admin/webhooks/w1')).toBe(true);
    await waitFor(() => expect(screen.queryByRole('row', { name: /hooks\.example\.com/ })).toBeNull());
  });

  it('speaks English and filters the delivery log by endpoint', async () => {
    const api = extrasApi();
    renderSolaris(<AdminTab />, { fetch: api.fetch, locale: 'en' });
    await userEvent.click(screen.getByRole('tab', { name: 'Integrations' }));
    expect(await screen.findByRole('form', { name: 'New integration' })).toBeInTheDocument();
    const log = await screen.findByTestId('solaris-deliveries-table');
    expect(log).toHaveTextContent('failed · HTTP 500');
    await userEvent.selectOptions(screen.getByLabelText('Integration'), 'env:0');
    await waitFor(() => expect(api.calls.filter((c) => c.path === ExtrasRoutes.adminWebhookDeliveries).at(-1)?.query.get('endpointId')).toBe('env:0'));
  });
});
