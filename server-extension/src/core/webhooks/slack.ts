import type { WebhookEventEnvelope } from '@solaris/wire';

const n = (v: unknown) => (typeof v === 'number' ? v.toLocaleString('pt-BR') : String(v ?? '—'));
const who = (d: Record<string, unknown>) => String(d.email ?? d.name ?? d.userId ?? 'usuário');

/**
 * Slack-compatible body (`{text}`, also accepted by Mattermost, Rocket.Chat and Teams' Slack-compatible
 * hooks): one line of Brazilian Portuguese per event.
 */
export function slackText(ev: WebhookEventEnvelope): string {
  const d = ev.data as Record<string, unknown>;
  switch (ev.type) {
    case 'threshold.crossed':
      return `:warning: ${who(d)} atingiu ${n(d.threshold)}% da cota do período ${String(d.periodKey)} (${n(d.used)} de ${n(d.capacity)} tokens).`;
    case 'user.blocked':
      return `:no_entry: ${who(d)} foi bloqueado(a) por cota esgotada no período ${String(d.periodKey)} (${n(d.used)} de ${n(d.capacity)} tokens).`;
    case 'quota_request.opened':
      return `:inbox_tray: ${who(d)} pediu ${n(d.tokens)} tokens a mais${d.reason ? `: “${String(d.reason)}”` : '.'}`;
    case 'quota_request.decided':
      return d.status === 'approved'
        ? `:white_check_mark: Pedido de ${who(d)} aprovado${d.autoApproved ? ' automaticamente' : ''}: +${n(d.grantedTokens)} tokens.`
        : `:x: Pedido de ${who(d)} (${n(d.tokens)} tokens) foi negado${d.message ? `: “${String(d.message)}”` : '.'}`;
    case 'org_usage.crossed':
      return `:chart_with_upwards_trend: A organização passou de ${n(d.level)} tokens no mês ${String(d.month)} (uso atual: ${n(d.used)}).`;
    case 'usage.daily_digest':
      return `:bar_chart: Resumo de ${String(d.day)}: ${n(d.requests)} requisições, ${n(d.weightedTokens)} tokens, US$ ${Number(d.cost ?? 0).toFixed(2)}, ${n(d.activeUsers)} usuários ativos, ${n(d.pendingRequests)} pedidos pendentes.`;
    case 'test':
      return ':wave: Evento de teste do Solaris Token Control: o webhook está funcionando.';
    default:
      return `Evento ${String(ev.type)}`;
  }
}
