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
  /** Friendly name of America/Sao_Paulo, shown after a time of day: "00:00 (horário de Brasília)". */
  zoneBrasilia: 'horário de Brasília',
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
  statementDesc: 'Tudo o que mudou o seu saldo (uso, créditos, zeragens e mudanças de limite), do mais recente ao mais antigo.',
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
  noticeGrantTitle: 'Você recebeu tokens',
  noticeResetTitle: 'Seu uso foi zerado',
  noticeGrant: (n: string, reason: string | null) => `Você recebeu ${n} tokens adicionais.${reason ? ` Motivo: ${reason}` : ''}`,
  noticeReset: (reason: string | null) => `Seu uso de tokens foi zerado pelo administrador.${reason ? ` Motivo: ${reason}` : ''}`,
  lineTitle: 'Título da conversa',
  linePeriodStart: 'Início do período',
  lineGrant: 'Crédito adicional',
  lineGrantExpiry: 'Crédito expirado',
  lineReset: 'Uso zerado',
  lineLimit: 'Limite alterado',
  linePlan: 'Plano alterado',
  linePersonalCap: 'Limite pessoal alterado',
  lineAmount: 'Movimento',
  accountTitle: 'Saldo do período',
  accountLimit: 'Cota',
  accountGranted: 'Créditos adicionais',
  accountUsed: 'Usado',
  accountBalance: 'Saldo',
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
  planWeights: 'Pesos por modelo',
  planWeightsHint: 'Pesos por modelo: um por linha, modelo=peso (ex.: gpt-4o*=2 cobra o dobro de tokens). Valem para quem está no plano, no lugar do peso padrão da instalação; vazio = peso padrão. Mudanças valem para as próximas mensagens.',
  planWeightsEmpty: 'peso padrão da instalação',
  planWeightsInvalid: (line: string) => `Linha inválida: “${line}”. Use modelo=peso, com peso maior que 0 e até 1000 (máx. 50 linhas).`,
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
  /** Caption above a list of times, naming their zone once: "Horários (horário de Brasília)". */
  timesIn: (zone: string) => `Horários (${zone})`,
  demo: 'Demonstração',
  // quota requests (user)
  requestTitle: 'Pedir mais tokens',
  requestIntro: 'Peça mais tokens ao administrador. Só pode haver um pedido em aberto por vez.',
  requestTokens: 'Quantidade de tokens',
  requestSuggested: (avg: string, days: string) => `Sugestão pelo seu uso recente: ${avg} tokens/dia, ${days} dias até a renovação.`,
  requestAutoRule: (n: string) => `Pedidos de até ${n} tokens são aprovados na hora (uma vez por período).`,
  requestReason: 'Motivo (opcional)',
  requestSubmit: 'Enviar pedido',
  requestSent: 'Pedido enviado',
  requestPending: (n: string, when: string) => `Você pediu ${n} tokens em ${when}. Aguardando o administrador — você será avisado aqui.`,
  requestAlreadyOpen: 'Você já tem um pedido em aberto.',
  requestCancel: 'Cancelar pedido',
  requestCancelled: 'Pedido cancelado.',
  requestLastDenied: (n: string) => `Seu último pedido (${n} tokens) foi negado.`,
  decisionApprovedTitle: 'Pedido aprovado',
  decisionDeniedTitle: 'Pedido negado',
  decisionApproved: (n: string, auto: boolean) => (auto ? `Seu pedido de ${n} tokens foi aprovado automaticamente.` : `Seu pedido de tokens foi aprovado: +${n} tokens.`),
  decisionDenied: (n: string) => `Seu pedido de ${n} tokens foi negado.`,
  adminMessage: (m: string) => `Mensagem do administrador: ${m}`,
  // personal limit
  myLimitTitle: 'Meu limite',
  myLimitIntro: 'Um teto seu, abaixo da cota, e o percentual em que você quer ser avisado.',
  myCap: 'Limite pessoal (tokens)',
  myCapHint: (max: string) => `Vazio = sem limite pessoal. Máximo: ${max} (cota + concessões).`,
  myWarn: 'Avisar em (%)',
  myWarnHint: (d: string) => `Vazio = padrão (${d}%).`,
  myLimitSave: 'Salvar meu limite',
  myCapTooHigh: (max: string) => `O limite pessoal não pode passar de ${max} tokens.`,
  invalidPercent: 'Informe um percentual inteiro de 1 a 99.',
  invalidWholeNumber: 'Informe um número inteiro (ou deixe vazio).',
  personalCap: (n: string) => `Limite pessoal: ${n}`,
  // admin: quota requests
  tabRequests: 'Pedidos',
  pendingCount: (n: number) => (n === 1 ? '1 pedido pendente' : `${n} pedidos pendentes`),
  requestsShow: 'Mostrar',
  requestsPending: 'Pendentes',
  requestsAll: 'Todos',
  noRequests: 'Nenhum pedido.',
  colAsked: 'Pedido',
  colReason: 'Motivo',
  colWhen: 'Quando',
  colStatus: 'Situação',
  colDecision: 'Decisão',
  statusPending: 'pendente',
  statusApproved: 'aprovado',
  statusDenied: 'negado',
  statusCancelled: 'cancelado',
  autoApproved: 'automático',
  approve: 'Aprovar',
  deny: 'Negar',
  approveTitle: (who: string) => `Aprovar o pedido de ${who}`,
  denyTitle: (who: string) => `Negar o pedido de ${who}`,
  approveTokens: 'Tokens a conceder',
  expiresAt: 'Expira em (opcional)',
  /** Under the expiry date: the grant lasts to the end of that day in the deployment zone. */
  expiresHint: (zone: string) => `Vale até o fim do dia (23:59, ${zone}).`,
  messageToUser: 'Mensagem ao usuário (opcional)',
  confirmApprove: (n: string, who: string) => `Conceder ${n} tokens a ${who} e aprovar o pedido?`,
  confirmDeny: (who: string) => `Negar o pedido de ${who}?`,
  decided: 'Decisão registrada.',
  invalidDate: 'A data de expiração deve estar no futuro.',
  // admin: plans by role, auto-approval
  rolePlansTitle: 'Plano padrão por papel do LibreChat',
  rolePlansIntro: 'Quem aparece pela primeira vez recebe o plano do seu papel; o plano atribuído ao usuário continua valendo.',
  colRole: 'Papel',
  rolePlanSet: 'Definir',
  rolePlanRemove: 'Remover',
  noRolePlans: 'Nenhum papel com plano próprio: todos usam o plano padrão.',
  confirmRolePlan: (role: string, plan: string) => `Usar o plano ${plan} para o papel ${role}?`,
  confirmRemoveRolePlan: (role: string) => `Remover o plano padrão do papel ${role}?`,
  autoApproveTitle: 'Aprovação automática de pedidos',
  autoApproveIntro: 'Pedidos de até N tokens são aprovados na hora, uma vez por usuário e período. Vazio = desligada.',
  autoApproveTokens: (plan: string) => `${plan} — aprovar até (tokens)`,
  autoApproveOff: 'desligada',
  confirmAutoApprove: (plan: string, n: string) => `Aprovar automaticamente pedidos de até ${n} tokens no plano ${plan}?`,
  confirmAutoApproveOff: (plan: string) => `Desligar a aprovação automática do plano ${plan}?`,
  // admin: webhooks
  tabWebhooks: 'Webhooks',
  webhooksIntro: 'Eventos assinados (HMAC-SHA256) enviados aos seus sistemas, com novas tentativas.',
  whName: 'Nome',
  whUrl: 'URL',
  whEvents: 'Eventos',
  whAllEvents: 'todos',
  whEventsHint: 'Nenhum marcado = todos os eventos.',
  whFormat: 'Formato',
  whFormatJson: 'JSON assinado',
  whFormatSlack: 'Slack (texto)',
  whActive: 'Ativo',
  whInactive: 'inativo',
  whSourceEnv: 'do ambiente — somente leitura',
  whCreate: 'Adicionar endpoint',
  whNew: 'Novo endpoint',
  whEdit: 'Editar',
  whSave: 'Salvar endpoint',
  whDelete: 'Excluir',
  whTest: 'Enviar evento de teste',
  whSecretTitle: 'Segredo de assinatura',
  whSecretOnce: 'Copie agora: este segredo não será mostrado de novo.',
  whCopy: 'Copiar',
  whCopied: 'Copiado.',
  whTestQueued: (id: string) => `Evento de teste enfileirado (${id}).`,
  confirmWhCreate: (url: string) => `Adicionar o endpoint ${url}?`,
  confirmWhUpdate: (name: string) => `Salvar as mudanças em ${name}?`,
  confirmWhDelete: (name: string) => `Excluir o endpoint ${name}? Os eventos pendentes dele serão descartados.`,
  confirmWhTest: (name: string) => `Enviar um evento de teste para ${name}?`,
  whDeliveries: 'Entregas',
  whAllEndpoints: 'Todos os endpoints',
  colEndpoint: 'Endpoint',
  colEvent: 'Evento',
  colAttempt: 'Tentativa',
  colResult: 'Resultado',
  colDuration: 'Duração',
  whOk: 'entregue',
  whFailed: 'falhou',
  refresh: 'Atualizar',
  noWebhooks: 'Nenhum endpoint configurado.',
  noDeliveries: 'Nenhuma entrega ainda.',
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
  zoneBrasilia: 'Brasília time',
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
  statementDesc: 'Everything that changed your balance (usage, extra tokens, resets and limit changes), newest first.',
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
  noticeGrantTitle: 'You received tokens',
  noticeResetTitle: 'Your usage was reset',
  noticeGrant: (n: string, reason: string | null) => `You received ${n} extra tokens.${reason ? ` Reason: ${reason}` : ''}`,
  noticeReset: (reason: string | null) => `An administrator reset your token usage.${reason ? ` Reason: ${reason}` : ''}`,
  lineTitle: 'Conversation title',
  linePeriodStart: 'Period start',
  lineGrant: 'Extra tokens granted',
  lineGrantExpiry: 'Extra tokens expired',
  lineReset: 'Usage reset',
  lineLimit: 'Limit changed',
  linePlan: 'Plan changed',
  linePersonalCap: 'Personal limit changed',
  lineAmount: 'Change',
  accountTitle: 'Period balance',
  accountLimit: 'Quota',
  accountGranted: 'Extra tokens',
  accountUsed: 'Used',
  accountBalance: 'Balance',
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
  planWeights: 'Model weights',
  planWeightsHint: 'Model weights: one per line, model=weight (e.g. gpt-4o*=2 charges twice the tokens). They apply to users on the plan instead of the deployment weight; empty = deployment weight. Changes apply to the next messages.',
  planWeightsEmpty: 'deployment weight',
  planWeightsInvalid: (line) => `Invalid line: “${line}”. Use model=weight, weight above 0 and at most 1000 (max 50 lines).`,
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
  timesIn: (zone) => `Times (${zone})`,
  demo: 'Demo',
  requestTitle: 'Request more tokens',
  requestIntro: 'Ask your administrator for more tokens. You can have one open request at a time.',
  requestTokens: 'Amount of tokens',
  requestSuggested: (avg, days) => `Suggested from your recent use: ${avg} tokens/day, ${days} days until the reset.`,
  requestAutoRule: (n) => `Requests of up to ${n} tokens are approved at once (once per period).`,
  requestReason: 'Reason (optional)',
  requestSubmit: 'Send request',
  requestSent: 'Request sent',
  requestPending: (n, when) => `You asked for ${n} tokens on ${when}. Waiting for the administrator — you will be told here.`,
  requestAlreadyOpen: 'You already have an open request.',
  requestCancel: 'Cancel request',
  requestCancelled: 'Request cancelled.',
  requestLastDenied: (n) => `Your last request (${n} tokens) was denied.`,
  decisionApprovedTitle: 'Request approved',
  decisionDeniedTitle: 'Request denied',
  decisionApproved: (n, auto) => (auto ? `Your request for ${n} tokens was approved automatically.` : `Your token request was approved: +${n} tokens.`),
  decisionDenied: (n) => `Your request for ${n} tokens was denied.`,
  adminMessage: (m) => `Message from the administrator: ${m}`,
  myLimitTitle: 'My limit',
  myLimitIntro: 'Your own ceiling below the quota, and the percentage at which you want a warning.',
  myCap: 'Personal limit (tokens)',
  myCapHint: (max) => `Empty = no personal limit. Maximum: ${max} (quota + grants).`,
  myWarn: 'Warn me at (%)',
  myWarnHint: (d) => `Empty = default (${d}%).`,
  myLimitSave: 'Save my limit',
  myCapTooHigh: (max) => `The personal limit cannot exceed ${max} tokens.`,
  invalidPercent: 'Enter a whole percentage from 1 to 99.',
  invalidWholeNumber: 'Enter a whole number (or leave it empty).',
  personalCap: (n) => `Personal limit: ${n}`,
  tabRequests: 'Requests',
  pendingCount: (n) => (n === 1 ? '1 pending request' : `${n} pending requests`),
  requestsShow: 'Show',
  requestsPending: 'Pending',
  requestsAll: 'All',
  noRequests: 'No requests.',
  colAsked: 'Asked',
  colReason: 'Reason',
  colWhen: 'When',
  colStatus: 'Status',
  colDecision: 'Decision',
  statusPending: 'pending',
  statusApproved: 'approved',
  statusDenied: 'denied',
  statusCancelled: 'cancelled',
  autoApproved: 'automatic',
  approve: 'Approve',
  deny: 'Deny',
  approveTitle: (who) => `Approve ${who}'s request`,
  denyTitle: (who) => `Deny ${who}'s request`,
  approveTokens: 'Tokens to grant',
  expiresAt: 'Expires on (optional)',
  expiresHint: (zone) => `Valid to the end of that day (11:59 PM, ${zone}).`,
  messageToUser: 'Message to the user (optional)',
  confirmApprove: (n, who) => `Grant ${n} tokens to ${who} and approve the request?`,
  confirmDeny: (who) => `Deny ${who}'s request?`,
  decided: 'Decision recorded.',
  invalidDate: 'The expiry date must be in the future.',
  rolePlansTitle: 'Default plan per LibreChat role',
  rolePlansIntro: "Users seen for the first time get their role's plan; a plan assigned to the user still wins.",
  colRole: 'Role',
  rolePlanSet: 'Set',
  rolePlanRemove: 'Remove',
  noRolePlans: 'No role has its own plan: everyone gets the default plan.',
  confirmRolePlan: (role, plan) => `Use plan ${plan} for role ${role}?`,
  confirmRemoveRolePlan: (role) => `Remove the default plan of role ${role}?`,
  autoApproveTitle: 'Automatic approval of requests',
  autoApproveIntro: 'Requests of up to N tokens are approved at once, once per user and period. Empty = off.',
  autoApproveTokens: (plan) => `${plan} — approve up to (tokens)`,
  autoApproveOff: 'off',
  confirmAutoApprove: (plan, n) => `Approve requests of up to ${n} tokens automatically on plan ${plan}?`,
  confirmAutoApproveOff: (plan) => `Turn off automatic approval on plan ${plan}?`,
  tabWebhooks: 'Webhooks',
  webhooksIntro: 'Signed events (HMAC-SHA256) sent to your systems, with retries.',
  whName: 'Name',
  whUrl: 'URL',
  whEvents: 'Events',
  whAllEvents: 'all',
  whEventsHint: 'None ticked = every event.',
  whFormat: 'Format',
  whFormatJson: 'Signed JSON',
  whFormatSlack: 'Slack (text)',
  whActive: 'Active',
  whInactive: 'inactive',
  whSourceEnv: 'from the environment — read-only',
  whCreate: 'Add endpoint',
  whNew: 'New endpoint',
  whEdit: 'Edit',
  whSave: 'Save endpoint',
  whDelete: 'Delete',
  whTest: 'Send test event',
  whSecretTitle: 'Signing secret',
  whSecretOnce: 'Copy it now: this secret will not be shown again.',
  whCopy: 'Copy',
  whCopied: 'Copied.',
  whTestQueued: (id) => `Test event queued (${id}).`,
  confirmWhCreate: (url) => `Add the endpoint ${url}?`,
  confirmWhUpdate: (name) => `Save the changes to ${name}?`,
  confirmWhDelete: (name) => `Delete the endpoint ${name}? Its pending events are dropped.`,
  confirmWhTest: (name) => `Send a test event to ${name}?`,
  whDeliveries: 'Deliveries',
  whAllEndpoints: 'All endpoints',
  colEndpoint: 'Endpoint',
  colEvent: 'Event',
  colAttempt: 'Attempt',
  colResult: 'Result',
  colDuration: 'Duration',
  whOk: 'delivered',
  whFailed: 'failed',
  refresh: 'Refresh',
  noWebhooks: 'No endpoint configured.',
  noDeliveries: 'No deliveries yet.',
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

/** IANA zones with a friendly name in the message tables; any other zone shows Intl's short name ("AMT", "GMT+0"). */
const FRIENDLY_ZONES: Record<string, (t: Messages) => string> = { 'America/Sao_Paulo': (t) => t.zoneBrasilia };

/**
 * Every date and time the user reads goes through these. `timeZone` is the deployment's zone
 * (BalanceDTO.timeZone): quota periods are calendar days/weeks/months *there*, so the reset date and the
 * statement rows are shown in it, whatever zone the browser is in. Without one (older server) or with a
 * zone this browser does not know, the browser's own zone is used and no zone name is added.
 */
export interface Formatters {
  locale: Locale;
  number(n: number): string;
  compact(n: number): string;
  percent(p: number): string;
  usd(n: number): string;
  /** Short date and time ("01/12/2026, 00:00"), in `timeZone` when given. */
  dateTime(iso: string, timeZone?: string): string;
  /** Medium date and time ("1 de dez. de 2026, 00:00"), in `timeZone` when given. */
  date(iso: string, timeZone?: string): string;
  /**
   * A time shown on its own, in `timeZone` and saying so: "20/11/2026, 00:30 (horário de Brasília)".
   * (In a list, name the zone once in the header instead — `zoneLabel` — and use `dateTime` per row.)
   */
  dateTimeZoned(iso: string, timeZone?: string): string;
  /** A header or caption naming the zone once: "Quando (horário de Brasília)"; `label` alone without a usable zone. */
  zoneLabel(label: string, timeZone: string | undefined): string;
  /**
   * The instant at which calendar day `ymd` (YYYY-MM-DD) reaches wall-clock `time` (HH:MM:SS) in
   * `timeZone` (the browser's zone without a usable one), as ISO; null for an invalid day.
   */
  wallTime(ymd: string, time: string, timeZone?: string): string | null;
  /**
   * The calendar day (YYYY-MM-DD) that instant `at` (ms or ISO) falls on in `timeZone` (the browser's
   * zone without a usable one); null for an invalid instant. With `addDays` and `wallTime`, the way to
   * do day arithmetic in the deployment zone (never `toISOString().slice(0, 10)`: that is the UTC day).
   */
  dayOf(at: number | string, timeZone?: string): string | null;
  /** A calendar day key (YYYY-MM-DD, already a day of the deployment zone) as "01/12" (pt-BR). */
  day(ymd: string): string;
  /**
   * How to name `timeZone` next to a time of day: "horário de Brasília" / "Brasília time" for
   * America/Sao_Paulo, otherwise Intl's short name at `iso` (default now); '' without a usable zone.
   */
  zoneName(timeZone: string | undefined, iso?: string): string;
  /** When the quota resets, in the deployment zone and saying so: "1 de dez. de 2026, 00:00 (horário de Brasília)". */
  resetDate(b: { periodEnd: string; timeZone?: string }): string;
}

/** YYYY-MM-DD of a UTC midnight (a calendar day held as a UTC date: no zone involved). */
const ymdOf = (utcMidnight: number): string => new Date(utcMidnight).toISOString().slice(0, 10);

/**
 * Calendar day `ymd` (YYYY-MM-DD) moved by `days` (negative = back): pure calendar arithmetic, so it
 * does not depend on any zone or on summer time ('2026-11-26', -29 → '2026-10-28'); null for an invalid day.
 */
export function addDays(ymd: string, days: number): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const base = Date.UTC(y, mo - 1, d);
  const check = new Date(base);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  return ymdOf(Date.UTC(y, mo - 1, d + days));
}

/** Longest run of days `calendarDays` lists (a year and a bit): a guard against a range gone wrong. */
const MAX_DAYS = 400;

/**
 * Every calendar day from `first` to `last` (YYYY-MM-DD, both included), stepped with `addDays`:
 * ['2026-11-29', '2026-11-30', '2026-12-01'] for ('2026-11-29', '2026-12-01'). [] when `last` is
 * before `first` or either is not a day.
 */
export function calendarDays(first: string, last: string): string[] {
  const days: string[] = [];
  if (addDays(last, 0) === null) return days;
  for (let d = addDays(first, 0); d !== null && d <= last && days.length < MAX_DAYS; d = addDays(d, 1)) days.push(d);
  return days;
}

/**
 * Per-day rows (the usage routes return only the days that had usage) spread over every day of `days`:
 * a day without a row gets `zero(day)`, so a chart of them shows the quiet days as empty bars instead
 * of squeezing the active ones together. A row for a day outside `days` is kept (in day order), never
 * dropped: its usage is real even if the client's idea of the range differs from the server's.
 */
export function fillDays<T extends { day: string }>(rows: readonly T[], days: readonly string[], zero: (day: string) => T): T[] {
  const byDay = new Map(rows.map((r) => [r.day, r]));
  const all = new Set([...days, ...byDay.keys()]);
  return [...all].sort().map((day) => byDay.get(day) ?? zero(day));
}

export function makeFormatters(locale: Locale): Formatters {
  const tag = locale === 'pt-BR' ? 'pt-BR' : 'en-US';
  const t = MESSAGES[locale];
  const num = new Intl.NumberFormat(tag, { maximumFractionDigits: 0 });
  const compact = new Intl.NumberFormat(tag, { notation: 'compact', maximumFractionDigits: 1 });
  const pct = new Intl.NumberFormat(tag, { maximumFractionDigits: 1 });
  const usd = new Intl.NumberFormat(tag, { style: 'currency', currency: 'USD', maximumFractionDigits: 4, minimumFractionDigits: 2 });
  // A single request often costs fractions of a cent: keep two significant digits instead of "US$ 0,00".
  const usdSmall = new Intl.NumberFormat(tag, { style: 'currency', currency: 'USD', maximumSignificantDigits: 2 });
  const day = new Intl.DateTimeFormat(tag, { day: '2-digit', month: '2-digit', timeZone: 'UTC' });
  // One Intl.DateTimeFormat per (style, zone), built on first use; '' = the browser's zone.
  const cache = new Map<string, Intl.DateTimeFormat | null>();
  const inZone = (style: 'short' | 'medium' | 'zone' | 'parts', timeZone: string | undefined): Intl.DateTimeFormat | null => {
    const zone = timeZone ?? '';
    const key = `${style} ${zone}`;
    let f = cache.get(key);
    if (f === undefined) {
      const opts: Intl.DateTimeFormatOptions =
        style === 'zone'
          ? { timeZoneName: 'short' }
          : style === 'parts'
            ? { year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', hourCycle: 'h23' }
            : { dateStyle: style, timeStyle: 'short' };
      try {
        f = new Intl.DateTimeFormat(tag, zone ? { ...opts, timeZone: zone } : opts);
      } catch {
        f = null; // a zone this browser's Intl does not know
      }
      cache.set(key, f);
    }
    return f;
  };
  const usableZone = (timeZone: string | undefined) => (timeZone && inZone('zone', timeZone) ? timeZone : undefined);
  const formatDate = (style: 'short' | 'medium') => (iso: string, timeZone?: string) =>
    (inZone(style, usableZone(timeZone)) ?? (inZone(style, undefined) as Intl.DateTimeFormat)).format(new Date(iso));
  const zoneName = (timeZone: string | undefined, iso?: string): string => {
    const zone = usableZone(timeZone);
    if (!zone) return '';
    const friendly = FRIENDLY_ZONES[zone];
    if (friendly) return friendly(t);
    // The short name can depend on the instant (summer time): name it at the date shown.
    const at = new Date(iso ?? Date.now());
    const parts = (inZone('zone', zone) as Intl.DateTimeFormat).formatToParts(Number.isNaN(at.getTime()) ? new Date() : at);
    return parts.find((p) => p.type === 'timeZoneName')?.value ?? zone;
  };
  const safe = <A extends unknown[]>(f: (s: string, ...rest: A) => string) => (s: string, ...rest: A) => {
    try {
      return f(s, ...rest);
    } catch {
      return s;
    }
  };
  const date = safe(formatDate('medium'));
  const dateTime = safe(formatDate('short'));
  const zoneLabel = (label: string, timeZone: string | undefined) => {
    const zone = zoneName(timeZone);
    return zone ? `${label} (${zone})` : label;
  };
  // Wall clock of `zone` at instant `ms`, read back as if it were UTC: minus `ms`, the zone's offset there.
  const offsetAt = (zone: string, ms: number): number => {
    const parts = (inZone('parts', zone) as Intl.DateTimeFormat).formatToParts(new Date(ms));
    const n = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
    return Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second')) - Math.floor(ms / 1000) * 1000;
  };
  const wallTime = (ymd: string, time: string, timeZone?: string): string | null => {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd);
    const hms = /^(\d{2}):(\d{2}):(\d{2})$/.exec(time);
    if (!m || !hms) return null;
    const zone = usableZone(timeZone);
    if (!zone) {
      const local = new Date(`${ymd}T${time}`);
      return Number.isNaN(local.getTime()) ? null : local.toISOString();
    }
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const wall = Date.UTC(y, mo - 1, d, Number(hms[1]), Number(hms[2]), Number(hms[3]));
    const check = new Date(Date.UTC(y, mo - 1, d));
    if (Number.isNaN(wall) || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
    // Offset at the first guess, then again at the result (the two differ only across a DST change).
    let at = wall - offsetAt(zone, wall);
    at = wall - offsetAt(zone, at);
    return new Date(at).toISOString();
  };
  const dayOf = (at: number | string, timeZone?: string): string | null => {
    const ms = typeof at === 'number' ? at : Date.parse(at);
    if (!Number.isFinite(ms)) return null;
    const parts = (inZone('parts', usableZone(timeZone)) as Intl.DateTimeFormat).formatToParts(new Date(ms));
    const n = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
    return ymdOf(Date.UTC(n('year'), n('month') - 1, n('day')));
  };
  return {
    locale,
    number: (n) => num.format(n),
    compact: (n) => compact.format(n),
    percent: (p) => `${pct.format(p)}%`,
    usd: (n) => (n !== 0 && Math.abs(n) < 0.01 ? usdSmall.format(n) : usd.format(n)),
    dateTime,
    date,
    dateTimeZoned: (iso, timeZone) => {
      const zone = zoneName(timeZone, iso);
      const when = dateTime(iso, timeZone);
      return zone ? `${when} (${zone})` : when;
    },
    zoneLabel,
    wallTime,
    dayOf,
    day: safe((ymd) => day.format(new Date(`${ymd}T00:00:00Z`))),
    zoneName,
    resetDate: (b) => {
      const zone = zoneName(b.timeZone, b.periodEnd);
      const when = date(b.periodEnd, b.timeZone);
      return zone ? `${when} (${zone})` : when;
    },
  };
}
