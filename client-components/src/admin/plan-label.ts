import type { PlanDTO } from '@solaris/wire';
import type { Formatters, Messages } from '../i18n';

/** "Básico — 190 tokens por mês": a plan in words, for selectors. */
export function planLabel(p: PlanDTO, t: Messages, fmt: Formatters): string {
  return t.planOption(p.name, fmt.number(p.tokenLimit), t.planPer(p.period));
}
