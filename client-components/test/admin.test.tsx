import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ApiRoutes, type AdminUserDTO, type PlanDTO } from '@solaris/wire';
import { AdminTab } from '../src/admin/AdminTab';
import { balance, entry, fakeApi, renderSolaris, type Call } from './helpers';

function adminApi() {
  const users: AdminUserDTO[] = [
    { userId: 'u1', email: 'ana@ex.com', name: 'Ana', role: 'USER', lastSeenAt: '2026-11-20T10:00:00Z', planId: 'basic', limitOverride: null, balance: balance({ userId: 'u1', used: 9_500 }) },
    { userId: 'u2', email: 'bia@ex.com', name: null, role: 'USER', lastSeenAt: null, planId: 'pro', limitOverride: 50_000, balance: balance({ userId: 'u2', used: 1_000, limit: 50_000 }) },
  ];
  const plans: PlanDTO[] = [
    { id: 'basic', name: 'Básico', tokenLimit: 10_000, period: 'month', isDefault: true, modelWeights: {} },
    { id: 'pro', name: 'Pro', tokenLimit: 50_000, period: 'month', isDefault: false, modelWeights: { 'gpt-4o*': 2 } },
  ];
  const api = fakeApi({
    [`GET ${ApiRoutes.balance}`]: () => balance({ userId: 'admin' }),
    [`GET ${ApiRoutes.adminUsers}`]: (c: Call) => {
      const q = c.query.get('q') ?? '';
      const items = users.filter((u) => (u.email ?? '').includes(q));
      return { items, total: items.length };
    },
    [`GET /admin/users/:userId`]: (c: Call) => users.find((u) => c.path.endsWith(`/${u.userId}`)),
    [`GET /admin/users/:userId/statement`]: () => ({ items: [entry(1)], nextCursor: null, totals: { requests: 1, promptTokens: 101, completionTokens: 50, weightedTokens: 151, cost: 0.001 } }),
    [`POST /admin/users/:userId/grants`]: (c: Call) => {
      const body = c.body as { tokens: number };
      if (body.tokens > 1_000_000) return { status: 400, body: { error: { code: 'invalid_input', message: 'tokens: grande demais' } } };
      const u = users[0] as AdminUserDTO;
      u.balance = balance({ userId: 'u1', used: 9_500, granted: u.balance.granted + body.tokens });
      return u.balance;
    },
    [`PUT /admin/users/:userId/limit`]: (c: Call) => balance({ userId: 'u1', limit: (c.body as { limit: number }).limit }),
    [`POST /admin/users/:userId/reset`]: () => balance({ userId: 'u1', used: 0 }),
    [`PUT /admin/users/:userId/plan`]: () => ({ status: 404, body: { error: { code: 'not_found', message: 'plano não existe' } } }),
    [`GET ${ApiRoutes.adminPlans}`]: () => plans,
    [`POST ${ApiRoutes.adminPlans}`]: (c: Call) => {
      plans.push(c.body as PlanDTO);
      return c.body;
    },
    [`PUT /admin/plans/:planId`]: (c: Call) => c.body,
    [`GET ${ApiRoutes.adminAudit}`]: () => ({
      items: [{ id: 'a1', actorId: 'admin', actorEmail: 'root@ex.com', action: 'grant', targetUserId: 'u1', details: { tokens: 500 }, createdAt: '2026-11-20T10:00:00Z' }],
      nextCursor: null,
    }),
    [`GET ${ApiRoutes.adminUsageDaily}`]: () => [{ day: '2026-11-20', weightedTokens: 1234, promptTokens: 1000, completionTokens: 234, cost: 0.01, requests: 3 }],
    [`GET ${ApiRoutes.adminUsageByModel}`]: () => [{ model: 'gpt-4o-mini', weightedTokens: 1234, requests: 3, cost: 0.01 }],
  });
  return { ...api, users, plans };
}

describe('AdminTab', () => {
  it('lists users with usage bars and state words; search and sort go to the server', async () => {
    const api = adminApi();
    renderSolaris(<AdminTab />, { fetch: api.fetch });
    const table = await screen.findByTestId('solaris-users-table');
    const rows = within(table).getAllByRole('row');
    expect(rows).toHaveLength(3);
    expect(rows[1]).toHaveTextContent('ana@ex.com');
    expect(rows[1]).toHaveTextContent('95%');
    expect(rows[1]).toHaveTextContent('Atenção');
    expect(within(rows[1] as HTMLElement).getByRole('meter', { name: 'ana@ex.com: 95%' })).toBeInTheDocument();
    expect(rows[2]).toHaveTextContent('limite próprio');

    await userEvent.type(screen.getByTestId('solaris-user-search'), 'bia');
    await waitFor(() => expect(within(screen.getByTestId('solaris-users-table')).getAllByRole('row')).toHaveLength(2));
    expect(api.calls.filter((c) => c.path === ApiRoutes.adminUsers).at(-1)?.query.get('q')).toBe('bia');
    await userEvent.selectOptions(screen.getByLabelText('Ordenar por'), 'email');
    await waitFor(() => expect(api.calls.filter((c) => c.path === ApiRoutes.adminUsers).at(-1)?.query.get('sort')).toBe('email'));
  });

  it('grants tokens after confirmation, shows the new balance, and shows server errors', async () => {
    const api = adminApi();
    renderSolaris(<AdminTab />, { fetch: api.fetch });
    await userEvent.click(await screen.findByRole('button', { name: 'Detalhe do usuário: ana@ex.com' }));
    const detail = await screen.findByTestId('solaris-user-detail');
    await within(detail).findByText('Básico — 10.000 tokens por mês');
    expect(await within(detail).findByTestId('solaris-statement-table')).toHaveTextContent('gpt-4o-mini');

    // bad input never reaches the server
    await userEvent.type(within(detail).getByTestId('solaris-grant-tokens'), '12abc');
    await userEvent.click(within(detail).getByRole('button', { name: 'Conceder' }));
    expect(within(detail).getByRole('alert')).toHaveTextContent('Informe um número inteiro maior que zero.');
    expect(api.calls.some((c) => c.method === 'POST')).toBe(false);

    await userEvent.clear(within(detail).getByTestId('solaris-grant-tokens'));
    await userEvent.type(within(detail).getByTestId('solaris-grant-tokens'), '5000');
    await userEvent.type(within(detail).getByTestId('solaris-grant-reason'), 'projeto X');
    await userEvent.click(within(detail).getByRole('button', { name: 'Conceder' }));
    const confirm = await screen.findByRole('alertdialog', { name: 'Confirmar' });
    expect(confirm).toHaveAccessibleDescription('Conceder 5.000 tokens de crédito extra a ana@ex.com?');
    // cancel sends nothing
    await userEvent.click(within(confirm).getByRole('button', { name: 'Cancelar' }));
    expect(api.calls.some((c) => c.method === 'POST')).toBe(false);

    await userEvent.click(within(detail).getByRole('button', { name: 'Conceder' }));
    await userEvent.click(within(await screen.findByRole('alertdialog')).getByRole('button', { name: 'Confirmar' }));
    expect(await within(detail).findByText('Salvo.')).toBeInTheDocument();
    const post = api.calls.find((c) => c.method === 'POST');
    expect(post?.path).toBe('/admin/users/u1/grants');
    expect(post?.body).toEqual({ tokens: 5000, reason: 'projeto X' });
    // a successful action empties its form: the next grant does not reuse the old reason
    expect(within(detail).getByTestId('solaris-grant-reason')).toHaveValue('');
    expect(within(detail).getByTestId('solaris-grant-tokens')).toHaveValue('');
    await waitFor(() => expect(within(detail).getByTestId('solaris-user-remaining')).toHaveTextContent('5.500'));
    // the users list and audit log were invalidated
    const usersCalls = api.calls.filter((c) => c.path === ApiRoutes.adminUsers).length;
    await userEvent.click(within(detail).getByRole('button', { name: 'Voltar' }));
    await waitFor(() => expect(api.calls.filter((c) => c.path === ApiRoutes.adminUsers).length).toBeGreaterThan(usersCalls));

    // server-side validation error is displayed with its code
    await userEvent.click(await screen.findByRole('button', { name: 'Detalhe do usuário: ana@ex.com' }));
    const d2 = await screen.findByTestId('solaris-user-detail');
    await userEvent.type(within(d2).getByTestId('solaris-grant-tokens'), '2000000');
    await userEvent.click(within(d2).getByRole('button', { name: 'Conceder' }));
    await userEvent.click(within(await screen.findByRole('alertdialog')).getByRole('button', { name: 'Confirmar' }));
    expect(await within(d2).findByRole('alert')).toHaveTextContent('Erro: tokens: grande demais (invalid_input)');
  });

  it('overrides the limit, resets usage, and reports a failed plan change', async () => {
    const api = adminApi();
    renderSolaris(<AdminTab />, { fetch: api.fetch });
    await userEvent.click(await screen.findByRole('button', { name: 'Detalhe do usuário: ana@ex.com' }));
    const detail = await screen.findByTestId('solaris-user-detail');
    await within(detail).findByText('Básico — 10.000 tokens por mês');
    const confirmWith = async (desc: RegExp) => {
      const dlg = await screen.findByRole('alertdialog');
      expect(dlg).toHaveAccessibleDescription(desc);
      await userEvent.click(within(dlg).getByRole('button', { name: 'Confirmar' }));
      await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    };

    await userEvent.type(within(detail).getByRole('textbox', { name: 'Limite' }), '20000');
    await userEvent.click(within(detail).getByRole('button', { name: 'Salvar limite' }));
    await confirmWith(/Definir o limite de ana@ex.com em 20.000\?/);
    expect(api.calls.find((c) => c.method === 'PUT' && c.path === '/admin/users/u1/limit')?.body).toEqual({ limit: 20000 });

    await userEvent.click(within(detail).getByRole('button', { name: 'Zerar uso' }));
    await confirmWith(/Zerar o uso de ana@ex.com neste período\?/);
    expect(api.calls.find((c) => c.path === '/admin/users/u1/reset')?.body).toEqual({ reason: null });

    await userEvent.selectOptions(within(detail).getByRole('combobox', { name: 'Plano' }), 'pro');
    await userEvent.click(within(detail).getByRole('button', { name: 'Trocar de plano' }));
    await confirmWith(/Passar ana@ex.com para o plano Pro\?/);
    expect(await within(detail).findByRole('alert')).toHaveTextContent('plano não existe (not_found)');
    expect(api.calls.find((c) => c.path === '/admin/users/u1/plan')?.body).toEqual({ planId: 'pro' });
  });

  it('tabs work by keyboard; plans editor creates a plan; audit, charts and live feed render', async () => {
    const api = adminApi();
    const { socket } = renderSolaris(<AdminTab />, { fetch: api.fetch, locale: 'en' });
    const usersTab = screen.getByRole('tab', { name: 'Users' });
    expect(usersTab).toHaveAttribute('aria-selected', 'true');
    usersTab.focus();
    await userEvent.keyboard('{ArrowRight}');
    expect(screen.getByRole('tab', { name: 'Requests' })).toHaveFocus();
    await userEvent.keyboard('{ArrowRight}');
    const plansTab = screen.getByRole('tab', { name: 'Plans' });
    expect(plansTab).toHaveFocus();
    expect(plansTab).toHaveAttribute('aria-selected', 'true');
    expect(screen.getByRole('tabpanel')).toHaveAttribute('aria-labelledby', plansTab.id);

    const form = await screen.findByTestId('solaris-plan-new');
    await userEvent.type(within(form).getByLabelText('ID'), 'team');
    await userEvent.type(within(form).getByLabelText('Name'), 'Team');
    await userEvent.type(within(form).getByLabelText('Token limit'), '250000');
    await userEvent.selectOptions(within(form).getByLabelText('Period'), 'week');
    // Model weights: a bad line is refused in the form, naming the line, before anything is sent.
    const weights = within(form).getByLabelText('Model weights');
    expect(weights).toHaveAccessibleDescription(/one per line, model=weight/);
    await userEvent.type(weights, 'gpt-4o*=2{enter}claude-3-opus*: 1,5{enter}bad line');
    await userEvent.click(within(form).getByRole('button', { name: 'New plan' }));
    expect(within(form).getByRole('alert')).toHaveTextContent('Invalid line: “bad line”');
    expect(weights).toHaveAttribute('aria-invalid', 'true');
    expect(screen.queryByRole('alertdialog')).toBeNull();
    await userEvent.type(weights, '{backspace}'.repeat('{enter}bad line'.length - 6));
    await userEvent.click(within(form).getByRole('button', { name: 'New plan' }));
    const dlg = await screen.findByRole('alertdialog', { name: 'Confirm' });
    expect(dlg).toHaveAccessibleDescription('Save plan Team?');
    await userEvent.click(within(dlg).getByRole('button', { name: 'Confirm' }));
    await screen.findByTestId('solaris-plan-team');
    expect(api.calls.find((c) => c.method === 'POST' && c.path === ApiRoutes.adminPlans)?.body).toEqual({
      id: 'team',
      name: 'Team',
      tokenLimit: 250000,
      period: 'week',
      isDefault: false,
      modelWeights: { 'gpt-4o*': 2, 'claude-3-opus*': 1.5 },
    });
    // An existing plan shows its weights, one per line.
    expect(within(screen.getByTestId('solaris-plan-pro')).getByLabelText('Model weights')).toHaveValue('gpt-4o*=2');

    screen.getByRole('tab', { name: 'Plans' }).focus();
    await userEvent.keyboard('{End}');
    expect(screen.getByRole('tab', { name: 'Live' })).toHaveFocus();
    expect(screen.getByText('Waiting for usage…')).toBeInTheDocument();
    await socket.emit('usage', { userId: 'u1', email: 'ana@ex.com', entry: entry(7), balance: balance({ used: 8_200 }) });
    expect(screen.getByTestId('solaris-live-feed')).toHaveTextContent('ana@ex.com · gpt-4o-mini · 157 tokens · 82%');
    // The server batches the feed (one `usage_batch` per window, oldest first): newest on top.
    await socket.emit('usage_batch', [
      { userId: 'u2', email: 'bia@ex.com', entry: entry(8), balance: balance({ used: 1_000 }) },
      { userId: 'u3', email: 'caio@ex.com', entry: entry(9), balance: balance({ used: 2_000 }) },
    ]);
    const feed = screen.getByTestId('solaris-live-feed').textContent ?? '';
    expect(feed.indexOf('caio@ex.com')).toBeGreaterThanOrEqual(0);
    expect(feed.indexOf('caio@ex.com')).toBeLessThan(feed.indexOf('bia@ex.com'));
    expect(feed.indexOf('bia@ex.com')).toBeLessThan(feed.indexOf('ana@ex.com'));

    await userEvent.click(screen.getByRole('tab', { name: 'Audit' }));
    const audit = await screen.findByTestId('solaris-audit-table');
    expect(audit).toHaveTextContent('root@ex.com');
    // in words: the action's label and its details, never the raw code or JSON
    expect(audit).toHaveTextContent('Granted tokens');
    expect(audit).toHaveTextContent('tokens: 500');
    expect(audit).not.toHaveTextContent('{');
    await userEvent.click(screen.getByRole('tab', { name: 'Usage' }));
    expect(await screen.findByRole('table', { name: 'Usage per model (tokens charged)' })).toHaveTextContent('gpt-4o-mini1.2K');
    expect(screen.getByRole('table', { name: 'Usage per day (tokens charged)' })).toHaveTextContent('11/201,234');
  });
});
