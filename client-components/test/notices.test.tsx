import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ExtrasRoutes, type NoticeDTO } from '@solaris/wire';
import { DecisionNotice } from '../src/components/DecisionNotice';
import { QuotaRequestSection } from '../src/components/QuotaRequestSection';
import { fakeApi, quotaRequest, renderSolaris } from './helpers';

/** What happened while the user was away is shown at the next visit, and marked seen only once closed (issue #18). */
describe('notices kept while offline', () => {
  const approval: NoticeDTO = {
    id: '41', kind: 'request_decided', createdAt: '2026-11-20T13:00:00.000Z', message: 'Seu pedido foi aprovado: +400 tokens. Mensagem do administrador: Bom trabalho',
    request: quotaRequest({ status: 'approved', grantedTokens: 400, message: 'Bom trabalho' }), tokens: null, reason: null,
  };
  const grant: NoticeDTO = { id: '42', kind: 'grant', createdAt: '2026-11-20T14:00:00.000Z', message: 'Você recebeu 1.000 tokens adicionais. Motivo: bônus', request: null, tokens: 1000, reason: 'bônus' };

  it('shows an approval and a grant made while offline at load; closing marks each seen', async () => {
    const api = fakeApi({
      [`GET ${ExtrasRoutes.myNotices}`]: () => [approval, grant],
      [`POST ${ExtrasRoutes.myNoticesSeen}`]: () => ({ seen: 1 }),
    });
    renderSolaris(<DecisionNotice />, { fetch: api.fetch });
    expect(await screen.findByTestId('solaris-decision-notice')).toHaveTextContent('Bom trabalho');
    expect(screen.getByTestId('solaris-notice')).toHaveTextContent('Você recebeu 1.000 tokens adicionais');
    expect(api.calls.filter((c) => c.path === ExtrasRoutes.myNoticesSeen)).toEqual([]); // not seen until closed
    const closes = screen.getAllByRole('button', { name: 'Fechar' });
    for (const b of closes) await userEvent.click(b);
    await waitFor(() => expect(api.calls.filter((c) => c.path === ExtrasRoutes.myNoticesSeen).flatMap((c) => (c.body as { ids: string[] }).ids).sort()).toEqual(['41', '42']));
  });

  it('the request card shows the approval made while offline (not its default state)', async () => {
    const api = fakeApi({
      [`GET ${ExtrasRoutes.myNotices}`]: () => [approval],
      [`GET ${ExtrasRoutes.myRequestSuggestion}`]: () => ({ tokens: 3000, avgDailyUse: 100, daysLeft: 10, minimum: 1000, autoApproveTokens: null, autoApproveAvailable: false, open: null }),
    });
    renderSolaris(
      <>
        <DecisionNotice />
        <QuotaRequestSection />
      </>,
      { fetch: api.fetch },
    );
    const card = await screen.findByTestId('solaris-request-approved');
    expect(card).toHaveTextContent('400');
    expect(card).toHaveTextContent('Bom trabalho');
  });
});
