import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ApiRoutes, type AuditEntryDTO } from '@solaris/wire';
import { AuditLog, AUDIT_PAGE } from '../src/admin/AuditLog';
import { balance, fakeApi, renderSolaris } from './helpers';

const entry = (i: number, p: Partial<AuditEntryDTO> = {}): AuditEntryDTO => ({
  id: String(100 - i),
  actorId: 'admin-1',
  actorEmail: 'root@ex.com',
  action: 'grant',
  targetUserId: 'u-ana',
  targetEmail: 'ana@ex.com',
  details: { tokens: 500 + i, reason: 'projeto X', expiresAt: null, periodKey: '2026-11' },
  createdAt: '2026-11-20T13:00:00Z',
  ...p,
});

function api() {
  const first = [
    entry(0, { action: 'plan.upsert', targetUserId: null, targetEmail: null, details: { id: 'pro', name: 'Pro', tokenLimit: 50_000, period: 'week', isDefault: false, modelWeights: { 'gpt-4o*': 1.5 } } }),
    entry(1, { action: 'request.open', actorId: 'u-bia', actorEmail: null, targetUserId: 'u-bia', targetEmail: 'bia@ex.com', details: { requestId: '7', tokens: 3000 } }),
    ...Array.from({ length: AUDIT_PAGE - 2 }, (_, i) => entry(i + 2)),
  ];
  const second = [entry(40, { action: 'reset', details: { reason: null, periodKey: '2026-11' } })];
  return fakeApi({
    [`GET ${ApiRoutes.balance}`]: () => balance(),
    [`GET ${ApiRoutes.adminPlans}`]: () => [{ id: 'pro', name: 'Pro', tokenLimit: 50_000, period: 'week', isDefault: false, modelWeights: {} }],
    [`GET ${ApiRoutes.adminAudit}`]: (c) => (c.query.get('cursor') ? { items: second, nextCursor: null } : { items: first, nextCursor: '81' }),
  });
}

describe('audit log in words', () => {
  it('labels actions, formats details, names who and whom by e-mail, pages 20 at a time', async () => {
    const a = api();
    renderSolaris(<AuditLog />, { fetch: a.fetch });
    const table = await screen.findByTestId('solaris-audit-table');
    const rows = within(table).getAllByTestId('solaris-audit-row');
    expect(rows).toHaveLength(AUDIT_PAGE);
    expect(a.calls.find((c) => c.path === ApiRoutes.adminAudit)?.query.get('limit')).toBe(String(AUDIT_PAGE));
    // a plan saved: label, details with the week in words and the weight with a decimal comma, no JSON
    expect(rows[0]).toHaveTextContent('Salvou um plano');
    expect(rows[0]).toHaveTextContent('período: por semana');
    expect(rows[0]).toHaveTextContent('limite: 50.000');
    expect(rows[0]).toHaveTextContent('pesos: gpt-4o*=1,5');
    expect(rows[0]).not.toHaveTextContent('{');
    expect(rows[0]).not.toHaveTextContent('plan.upsert');
    // a user's own request: who is their e-mail (not an id), and so is the target
    expect(rows[1]).toHaveTextContent('Pediu mais tokens');
    expect(within(rows[1] as HTMLElement).getAllByText('bia@ex.com')).toHaveLength(2);
    expect(rows[1]).not.toHaveTextContent('u-bia');
    // a grant: numbers through the formatter, empty values left out
    expect(rows[2]).toHaveTextContent('Concedeu tokens');
    expect(rows[2]).toHaveTextContent('ana@ex.com');
    expect(rows[2]).toHaveTextContent('tokens: 502');
    expect(rows[2]).not.toHaveTextContent('expira em');
    expect(screen.getByText('Página 1')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Mais recentes' })).toBeDisabled();

    await userEvent.click(screen.getByRole('button', { name: 'Mais antigos' }));
    await waitFor(() => expect(screen.getByText('Página 2')).toBeInTheDocument());
    const page2 = within(screen.getByTestId('solaris-audit-table')).getAllByTestId('solaris-audit-row');
    expect(page2).toHaveLength(1);
    expect(page2[0]).toHaveTextContent('Zerou o uso');
    expect(a.calls.filter((c) => c.path === ApiRoutes.adminAudit).at(-1)?.query.get('cursor')).toBe('81');
    expect(screen.getByRole('button', { name: 'Mais antigos' })).toBeDisabled();
    const calls = a.calls.length;
    await userEvent.click(screen.getByRole('button', { name: 'Mais recentes' }));
    expect(screen.getByText('Página 1')).toBeInTheDocument();
    expect(a.calls.length).toBe(calls); // kept, not refetched
  });
});
