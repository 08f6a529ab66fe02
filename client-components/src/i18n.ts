/** UI strings: Brazilian Portuguese first, English second. Locale follows LibreChat's `lang`. */
export type Locale = 'pt-BR' | 'en';

const ptBR = {
  counterLabel: (pct: string, used: string, total: string) => `Uso de tokens: ${pct} (${used} de ${total})`,
  counterOpen: 'Abrir extrato',
  counterLoading: 'Carregando uso de tokens…',
  counterStale: 'Sem conexão — valores podem estar desatualizados',
  counterStaleShort: 'offline',
  counterLive: 'Atualizado ao vivo',
  resetsAt: (d: string) => `Renova em ${d}`,
  stateOk: 'Normal',
  stateWarning: 'Atenção',
  stateBlocked: 'Bloqueado',
  close: 'Fechar',
  gotIt: 'Entendi',
  openStatement: 'Ver extrato',
  warningTitle: 'Você está perto do limite',
  warningBody: (pct: string, left: string) => `Você já usou ${pct} da sua cota de tokens deste período. Restam ${left} tokens.`,
  blockedTitle: 'Cota de tokens esgotada',
  blockedBody: 'Você usou 100% da sua cota de tokens. Novas mensagens ficam bloqueadas até a renovação.',
  blockedInsufficient: (left: string) => `Seu saldo restante (${left} tokens) não é suficiente para esta mensagem. Novas mensagens ficam bloqueadas até a renovação.`,
  blockedInflight: 'Há muitas respostas em andamento ao mesmo tempo. Aguarde uma terminar e tente de novo.',
  blockedHelp: 'Para continuar antes disso, peça mais tokens ao administrador.',
  blockedContact: 'Pedir mais tokens',
  blockedAck: 'Entendi, fechar',
  unblocked: 'Sua cota foi liberada. Você já pode enviar mensagens.',
  statementTitle: 'Extrato de tokens',
  statementDesc: 'Cada requisição cobrada no seu saldo, da mais recente para a mais antiga.',
  filterPeriod: 'Período',
  periodCurrent: (k: string) => `Período atual (${k})`,
  periodAll: 'Todos',
  filterModel: 'Modelo',
  modelAll: 'Todos os modelos',
  filterConversation: 'Conversa (ID)',
  applyFilters: 'Filtrar',
  clearFilters: 'Limpar',
  exportCsv: 'Exportar CSV',
  colDate: 'Data',
  colModel: 'Modelo',
  colPrompt: 'Entrada',
  colCompletion: 'Saída',
  colWeighted: 'Tokens ponderados',
  colCost: 'Custo',
  colBalanceAfter: 'Saldo após',
  colConversation: 'Conversa',
  estimated: 'estimado',
  estimatedHint: 'Valor estimado: o provedor não informou o uso exato',
  totals: 'Totais',
  requests: 'Requisições',
  loadMore: 'Carregar mais',
  loading: 'Carregando…',
  empty: 'Nenhuma requisição neste filtro.',
  errorLoading: 'Não foi possível carregar.',
  retry: 'Tentar de novo',
  dailyChart: 'Uso diário (tokens ponderados)',
  modelChart: 'Uso por modelo (tokens ponderados)',
  noData: 'Sem dados no período.',
  adminOpen: 'Administração de tokens',
  adminTitle: 'Administração de tokens',
  adminDesc: 'Usuários, planos, auditoria e uso.',
  tabUsers: 'Usuários',
  tabPlans: 'Planos',
  tabAudit: 'Auditoria',
  tabUsage: 'Uso',
  tabLive: 'Ao vivo',
  search: 'Buscar por e-mail, nome ou ID',
  sortBy: 'Ordenar por',
  sortUsage: 'Uso',
  sortEmail: 'E-mail',
  sortLastSeen: 'Último acesso',
  colUser: 'Usuário',
  colPlan: 'Plano',
  colUsage: 'Uso',
  colState: 'Estado',
  colLastSeen: 'Último acesso',
  usersTotal: (n: string) => `${n} usuários`,
  noUsers: 'Nenhum usuário encontrado.',
  back: 'Voltar',
  userDetail: 'Detalhe do usuário',
  limit: 'Limite',
  granted: 'Concedido',
  used: 'Usado',
  reserved: 'Reservado',
  remaining: 'Restante',
  override: 'Limite próprio',
  none: 'nenhum',
  grantTitle: 'Conceder tokens',
  grantTokens: 'Tokens',
  reason: 'Motivo',
  grantAction: 'Conceder',
  overrideTitle: 'Limite próprio',
  overrideHint: 'Vazio = usar o limite do plano',
  overrideAction: 'Salvar limite',
  resetTitle: 'Zerar uso do período',
  resetAction: 'Zerar uso',
  planTitle: 'Trocar plano',
  planAction: 'Trocar plano',
  confirmTitle: 'Confirmar',
  confirm: 'Confirmar',
  cancel: 'Cancelar',
  confirmGrant: (n: string, who: string) => `Conceder ${n} tokens a ${who}?`,
  confirmOverride: (v: string, who: string) => `Definir o limite de ${who} como ${v}?`,
  confirmReset: (who: string) => `Zerar o uso do período de ${who}?`,
  confirmPlan: (plan: string, who: string) => `Mudar ${who} para o plano ${plan}?`,
  confirmPlanSave: (plan: string) => `Salvar o plano ${plan}?`,
  saved: 'Salvo.',
  errorPrefix: 'Erro',
  invalidNumber: 'Informe um número inteiro positivo.',
  planId: 'ID',
  planName: 'Nome',
  planLimit: 'Limite de tokens',
  planPeriod: 'Período',
  planDefault: 'Padrão',
  periodMonth: 'Mês',
  periodWeek: 'Semana',
  periodDay: 'Dia',
  save: 'Salvar',
  newPlan: 'Novo plano',
  yes: 'sim',
  no: 'não',
  auditWhen: 'Quando',
  auditWho: 'Quem',
  auditAction: 'Ação',
  auditTarget: 'Alvo',
  auditDetails: 'Detalhes',
  liveEmpty: 'Aguardando uso…',
  liveTitle: 'Uso ao vivo',
  demo: 'Demonstração',
};
export type Messages = typeof ptBR;

const en: Messages = {
  counterLabel: (pct, used, total) => `Token usage: ${pct} (${used} of ${total})`,
  counterOpen: 'Open statement',
  counterLoading: 'Loading token usage…',
  counterStale: 'Disconnected — figures may be out of date',
  counterStaleShort: 'offline',
  counterLive: 'Live',
  resetsAt: (d) => `Resets on ${d}`,
  stateOk: 'OK',
  stateWarning: 'Warning',
  stateBlocked: 'Blocked',
  close: 'Close',
  gotIt: 'Got it',
  openStatement: 'View statement',
  warningTitle: 'You are close to your limit',
  warningBody: (pct, left) => `You have used ${pct} of this period's token quota. ${left} tokens left.`,
  blockedTitle: 'Token quota used up',
  blockedBody: 'You have used 100% of your token quota. New messages are blocked until it resets.',
  blockedInsufficient: (left) => `Your remaining balance (${left} tokens) is not enough for this message. New messages are blocked until it resets.`,
  blockedInflight: 'Too many replies are running at once. Wait for one to finish and try again.',
  blockedHelp: 'To continue before then, ask your administrator for more tokens.',
  blockedContact: 'Request more tokens',
  blockedAck: 'I understand, close',
  unblocked: 'Your quota is available again. You can send messages.',
  statementTitle: 'Token statement',
  statementDesc: 'Every request charged to your balance, newest first.',
  filterPeriod: 'Period',
  periodCurrent: (k) => `Current period (${k})`,
  periodAll: 'All',
  filterModel: 'Model',
  modelAll: 'All models',
  filterConversation: 'Conversation (ID)',
  applyFilters: 'Filter',
  clearFilters: 'Clear',
  exportCsv: 'Export CSV',
  colDate: 'Date',
  colModel: 'Model',
  colPrompt: 'Prompt',
  colCompletion: 'Completion',
  colWeighted: 'Weighted tokens',
  colCost: 'Cost',
  colBalanceAfter: 'Balance after',
  colConversation: 'Conversation',
  estimated: 'estimated',
  estimatedHint: 'Estimated: the provider did not report exact usage',
  totals: 'Totals',
  requests: 'Requests',
  loadMore: 'Load more',
  loading: 'Loading…',
  empty: 'No requests match this filter.',
  errorLoading: 'Could not load.',
  retry: 'Try again',
  dailyChart: 'Daily usage (weighted tokens)',
  modelChart: 'Usage by model (weighted tokens)',
  noData: 'No data in this period.',
  adminOpen: 'Token administration',
  adminTitle: 'Token administration',
  adminDesc: 'Users, plans, audit and usage.',
  tabUsers: 'Users',
  tabPlans: 'Plans',
  tabAudit: 'Audit',
  tabUsage: 'Usage',
  tabLive: 'Live',
  search: 'Search by email, name or ID',
  sortBy: 'Sort by',
  sortUsage: 'Usage',
  sortEmail: 'Email',
  sortLastSeen: 'Last seen',
  colUser: 'User',
  colPlan: 'Plan',
  colUsage: 'Usage',
  colState: 'State',
  colLastSeen: 'Last seen',
  usersTotal: (n) => `${n} users`,
  noUsers: 'No users found.',
  back: 'Back',
  userDetail: 'User detail',
  limit: 'Limit',
  granted: 'Granted',
  used: 'Used',
  reserved: 'Reserved',
  remaining: 'Remaining',
  override: 'Own limit',
  none: 'none',
  grantTitle: 'Grant tokens',
  grantTokens: 'Tokens',
  reason: 'Reason',
  grantAction: 'Grant',
  overrideTitle: 'Own limit',
  overrideHint: 'Empty = use the plan limit',
  overrideAction: 'Save limit',
  resetTitle: 'Reset period usage',
  resetAction: 'Reset usage',
  planTitle: 'Change plan',
  planAction: 'Change plan',
  confirmTitle: 'Confirm',
  confirm: 'Confirm',
  cancel: 'Cancel',
  confirmGrant: (n, who) => `Grant ${n} tokens to ${who}?`,
  confirmOverride: (v, who) => `Set ${who}'s limit to ${v}?`,
  confirmReset: (who) => `Reset ${who}'s usage for this period?`,
  confirmPlan: (plan, who) => `Move ${who} to plan ${plan}?`,
  confirmPlanSave: (plan) => `Save plan ${plan}?`,
  saved: 'Saved.',
  errorPrefix: 'Error',
  invalidNumber: 'Enter a positive whole number.',
  planId: 'ID',
  planName: 'Name',
  planLimit: 'Token limit',
  planPeriod: 'Period',
  planDefault: 'Default',
  periodMonth: 'Month',
  periodWeek: 'Week',
  periodDay: 'Day',
  save: 'Save',
  newPlan: 'New plan',
  yes: 'yes',
  no: 'no',
  auditWhen: 'When',
  auditWho: 'Who',
  auditAction: 'Action',
  auditTarget: 'Target',
  auditDetails: 'Details',
  liveEmpty: 'Waiting for usage…',
  liveTitle: 'Live usage',
  demo: 'Demo',
};

export const MESSAGES: Record<Locale, Messages> = { 'pt-BR': ptBR, en };

/** Maps any BCP-47 tag to one of ours: Portuguese → pt-BR, anything else known → English. */
export function toLocale(tag: string | null | undefined): Locale | null {
  if (!tag) return null;
  const t = tag.trim().replace(/^"|"$/g, '').toLowerCase();
  if (!t) return null;
  if (t.startsWith('pt')) return 'pt-BR';
  return 'en';
}

/** LibreChat keeps the choice in localStorage `lang` (JSON string or raw) and mirrors it on `<html lang>`. */
export function detectLocale(doc: Document = document): Locale {
  let stored: string | null = null;
  try {
    stored = doc.defaultView?.localStorage.getItem('lang') ?? null;
  } catch {
    // storage disabled: fall back to <html lang>
  }
  return toLocale(stored) ?? toLocale(doc.documentElement.getAttribute('lang')) ?? 'pt-BR';
}

export interface Formatters {
  locale: Locale;
  number(n: number): string;
  compact(n: number): string;
  percent(p: number): string;
  usd(n: number): string;
  dateTime(iso: string): string;
  date(iso: string): string;
  day(ymd: string): string;
}

export function makeFormatters(locale: Locale): Formatters {
  const tag = locale === 'pt-BR' ? 'pt-BR' : 'en-US';
  const num = new Intl.NumberFormat(tag, { maximumFractionDigits: 0 });
  const compact = new Intl.NumberFormat(tag, { notation: 'compact', maximumFractionDigits: 1 });
  const pct = new Intl.NumberFormat(tag, { maximumFractionDigits: 1 });
  const usd = new Intl.NumberFormat(tag, { style: 'currency', currency: 'USD', maximumFractionDigits: 4, minimumFractionDigits: 2 });
  // A single request often costs fractions of a cent: keep two significant digits instead of "US$ 0,00".
  const usdSmall = new Intl.NumberFormat(tag, { style: 'currency', currency: 'USD', maximumSignificantDigits: 2 });
  const dt = new Intl.DateTimeFormat(tag, { dateStyle: 'short', timeStyle: 'short' });
  const d = new Intl.DateTimeFormat(tag, { dateStyle: 'medium', timeStyle: 'short' });
  const day = new Intl.DateTimeFormat(tag, { day: '2-digit', month: '2-digit', timeZone: 'UTC' });
  const safe = (f: (s: string) => string) => (s: string) => {
    try {
      return f(s);
    } catch {
      return s;
    }
  };
  return {
    locale,
    number: (n) => num.format(n),
    compact: (n) => compact.format(n),
    percent: (p) => `${pct.format(p)}%`,
    usd: (n) => (n !== 0 && Math.abs(n) < 0.01 ? usdSmall.format(n) : usd.format(n)),
    dateTime: safe((iso) => dt.format(new Date(iso))),
    date: safe((iso) => d.format(new Date(iso))),
    day: safe((ymd) => day.format(new Date(`${ymd}T00:00:00Z`))),
  };
}
