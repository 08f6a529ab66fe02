import type { BalanceDTO } from '@solaris/wire';
import { quotaExceededBody } from '../src/adapters/proxy/http-errors';

const balance = (percent: number): BalanceDTO => ({
  userId: 'u1',
  planId: null,
  periodKind: 'month',
  periodKey: '2026-12',
  periodStart: '2026-12-01T03:00:00.000Z',
  periodEnd: '2027-01-01T03:00:00.000Z',
  timeZone: 'America/Sao_Paulo',
  limit: 1000,
  granted: 0,
  used: 1032,
  reserved: 0,
  remaining: -32,
  percent,
  state: 'blocked',
  thresholds: [80, 100],
});

describe('402 message text (what LibreChat shows in the chat)', () => {
  it('percent and reset date through the shared pt-BR formatter, as the counter shows them', () => {
    const body = quotaExceededBody('quota_exceeded', balance(103.2), 10, 5, 'America/Sao_Paulo');
    expect(body.message).toBe('Você usou 103,2% da sua cota de tokens deste período. Ela renova em 01/01/2027, 00:00 (horário de Brasília).');
    expect(body.message).not.toContain('103.2');
    expect(body.error.message.startsWith(body.message)).toBe(true);
  });
});
