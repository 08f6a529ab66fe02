import type { AccountLineDTO, StatementItemDTO } from '@solaris/wire';

/**
 * Statement CSV for spreadsheets used in Brazil: `;` separator and decimal comma (what Excel/LibreOffice
 * expect under a pt-BR locale), a UTF-8 BOM so Excel reads accents, CRLF line ends (RFC 4180), dates in the
 * deployment time zone as `YYYY-MM-DD HH:MM:SS` (recognised as a date-time by both).
 */
export const CSV_SEPARATOR = ';';
export const CSV_BOM = '\uFEFF';

export const CSV_HEADER = [
  'data_hora',
  'lancamento',
  'modelo',
  'tokens_prompt',
  'tokens_resposta',
  'tokens_total',
  'tokens_ponderados',
  'custo_usd',
  'origem',
  'estimado',
  'conversa',
  'mensagem',
  'periodo',
  'valor',
  'saldo_apos',
  'motivo',
  'id_requisicao',
];

/** What each line of the account is, as the page's widget names it (pt-BR; the CSV is for Brazilian spreadsheets). */
export function csvLineLabel(e: StatementItemDTO): string {
  switch (e.kind) {
    case 'usage':
      return e.context === 'title' ? 'Título da conversa' : 'Uso';
    case 'period_start':
      return 'Início do período';
    case 'grant':
      return 'Crédito extra';
    case 'grant_expiry':
      return 'Crédito expirado';
    case 'reset':
      return 'Uso zerado';
    case 'limit':
      return limitLabel(e);
  }
}

function limitLabel(e: AccountLineDTO): string {
  if (e.reason === 'plan' || e.reason === 'role_plan' || e.reason === 'role') return 'Plano alterado';
  if (e.reason === 'personal_cap') return 'Limite pessoal alterado';
  return 'Limite alterado';
}

/** Quotes when needed; neutralises spreadsheet formulas in free text (model names come from clients). */
export function csvText(v: string | null): string {
  if (v == null) return '';
  let s = v;
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[";\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const decimal = (n: number) => String(Number(n.toFixed(10))).replace('.', ',');

export function csvDateFormatter(timeZone: string): (iso: string) => string {
  // sv-SE formats as "YYYY-MM-DD HH:MM:SS".
  const f = new Intl.DateTimeFormat('sv-SE', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  });
  return (iso) => f.format(new Date(iso));
}

export function csvRow(e: StatementItemDTO, formatDate: (iso: string) => string): string {
  if (e.kind !== 'usage') {
    const reason = e.kind === 'limit' ? (e.limitBefore == null ? '' : `${e.limitBefore} → ${e.limitAfter}`) : e.reason;
    return [formatDate(e.createdAt), csvLineLabel(e), '', '', '', '', '', '', '', '', '', '', e.periodKey, String(e.amount), String(e.balanceAfter), csvText(reason), csvText(e.id)].join(
      CSV_SEPARATOR,
    );
  }
  return [
    formatDate(e.createdAt),
    csvLineLabel(e),
    csvText(e.model),
    String(e.promptTokens),
    String(e.completionTokens),
    String(e.totalTokens),
    String(e.weightedTokens),
    decimal(e.cost),
    e.source,
    e.estimated ? 'sim' : 'não',
    csvText(e.conversationId),
    csvText(e.messageId),
    e.periodKey,
    String(e.amount),
    String(e.balanceAfter),
    '',
    csvText(e.requestId),
  ].join(CSV_SEPARATOR);
}
