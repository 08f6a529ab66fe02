import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ApiRoutes, ExtrasRoutes, type MySettingsDTO } from '@solaris/wire';
import { PersonalLimit } from '../src/components/PersonalLimit';
import { TokenCounter } from '../src/components/TokenCounter';
import { balance, fakeApi, renderSolaris, type Call } from './helpers';

function settingsApi() {
  let settings: MySettingsDTO = { personalCap: null, warnPercent: null, maxPersonalCap: 10_000, defaultThresholds: [80, 100], balance: balance({ used: 1_000 }) };
  return fakeApi({
    [`GET ${ApiRoutes.balance}`]: () => balance({ used: 1_000 }),
    [`GET ${ExtrasRoutes.mySettings}`]: () => settings,
    [`PUT ${ExtrasRoutes.mySettings}`]: (c: Call) => {
      const b = c.body as { personalCap: number | null; warnPercent: number | null };
      if (b.personalCap === 1) return { status: 400, body: { error: { code: 'invalid_input', message: 'personalCap: muito baixo' } } };
      const limit = b.personalCap ?? 10_000;
      const bal = balance({ used: 1_000, limit, ...(b.personalCap !== null && { personalCap: b.personalCap }), ...(b.warnPercent !== null && { warnPercent: b.warnPercent, thresholds: [b.warnPercent, 100] }) });
      settings = { ...settings, ...b, balance: bal };
      return settings;
    },
  });
}

const ui = (
  <>
    <TokenCounter />
    <PersonalLimit />
  </>
);

describe('PersonalLimit ("Meu limite")', () => {
  it('validates locally, saves cap and warning %, and the counter shows the personal cap', async () => {
    const api = settingsApi();
    renderSolaris(ui, { fetch: api.fetch });
    const section = await screen.findByTestId('solaris-my-limit');
    expect(within(section).getByRole('heading', { name: 'Meu limite' })).toBeInTheDocument();
    const cap = within(section).getByLabelText('Limite pessoal (tokens)');
    const warn = within(section).getByLabelText('Avisar em (%)');
    await waitFor(() => expect(cap).toHaveAccessibleDescription('Vazio = sem limite pessoal. No máximo 10.000 (cota + créditos extras).'));
    expect(warn).toHaveAccessibleDescription('Vazio = o padrão (80%).');

    // above quota + grants: refused before any request
    await userEvent.type(cap, '20000');
    await userEvent.click(within(section).getByRole('button', { name: 'Salvar meu limite' }));
    expect(within(section).getByRole('alert')).toHaveTextContent('O limite pessoal não pode passar de 10.000 tokens.');
    await userEvent.clear(cap);
    await userEvent.type(cap, '5000');
    await userEvent.type(warn, '150');
    await userEvent.click(within(section).getByRole('button', { name: 'Salvar meu limite' }));
    expect(within(section).getByRole('alert')).toHaveTextContent('Informe um percentual inteiro de 1 a 99.');
    expect(api.calls.some((c) => c.method === 'PUT')).toBe(false);

    await userEvent.clear(warn);
    await userEvent.type(warn, '70');
    await userEvent.click(within(section).getByRole('button', { name: 'Salvar meu limite' }));
    expect(await within(section).findByText('Salvo.')).toBeInTheDocument();
    expect(api.calls.find((c) => c.method === 'PUT')?.body).toEqual({ personalCap: 5000, warnPercent: 70 });
    // the counter now counts against the cap, and says so in words
    const counter = screen.getByTestId('solaris-counter');
    await waitFor(() => expect(counter).toHaveAccessibleName(/Uso de tokens: 20%, restam 4\smil \(1\.000 de 5\.000 usados\) — Normal\. Limite pessoal: 5\.000\. Abrir extrato/));
    expect(screen.getByRole('tooltip')).toHaveTextContent('Limite pessoal: 5.000');

    // empty fields clear both settings
    await userEvent.clear(cap);
    await userEvent.clear(warn);
    await userEvent.click(within(section).getByRole('button', { name: 'Salvar meu limite' }));
    await waitFor(() => expect(api.calls.filter((c) => c.method === 'PUT').at(-1)?.body).toEqual({ personalCap: null, warnPercent: null }));
    await waitFor(() => expect(counter).toHaveAccessibleName(/restam 9\smil \(1\.000 de 10\.000 usados\) — Normal\. Abrir extrato/));
  });

  it('shows the server error, in English', async () => {
    const api = settingsApi();
    renderSolaris(<PersonalLimit />, { fetch: api.fetch, locale: 'en' });
    const section = await screen.findByTestId('solaris-my-limit');
    const cap = within(section).getByLabelText('Personal limit (tokens)');
    await waitFor(() => expect(cap).toHaveAccessibleDescription('Empty = no personal limit. Maximum: 10,000 (quota + grants).'));
    await userEvent.type(cap, '1');
    await userEvent.click(within(section).getByRole('button', { name: 'Save my limit' }));
    expect(await within(section).findByRole('alert')).toHaveTextContent('Error: personalCap: muito baixo (invalid_input)');
  });
});
