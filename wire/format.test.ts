import { coreFormats } from './format';

describe('shared pt-BR / en formatter', () => {
  const pt = coreFormats('pt-BR');
  const en = coreFormats('en');

  it('percent: decimal comma in pt-BR, point in en', () => {
    expect(pt.percent(103.2)).toBe('103,2%');
    expect(en.percent(103.2)).toBe('103.2%');
  });

  it('money: one rule — two decimals, below a cent "< US$ 0,01"', () => {
    const nb = (s: string) => s.replace(/\u00a0/g, ' ');
    expect(nb(pt.money(1.25))).toBe('US$ 1,25');
    expect(nb(pt.money(0.0002))).toBe('< US$ 0,01');
    expect(nb(pt.money(0.000033))).toBe('< US$ 0,01');
    expect(nb(pt.money(0))).toBe('US$ 0,00');
    expect(en.money(0.000033)).toBe('< $0.01');
    expect(en.money(12.5)).toBe('$12.50');
  });

  it('numbers, dates, month names in the zone given', () => {
    expect(pt.number(1234567)).toBe('1.234.567');
    expect(en.number(1234567)).toBe('1,234,567');
    expect(pt.dateTime('2027-01-01T03:00:00Z', 'America/Sao_Paulo')).toBe('01/01/2027, 00:00');
    expect(pt.monthYear('2026-12-01T03:00:00Z', 'America/Sao_Paulo')).toBe('dezembro de 2026');
    expect(en.monthYear('2026-12-01T03:00:00Z', 'America/Sao_Paulo')).toBe('December 2026');
    expect(pt.dateTime('not a date')).toBe('not a date');
  });
});
