import type { Locale } from '../i18n';

/** A plan's model weights as the admin edits them: one `model=weight` per line, in match order. */
export function formatModelWeights(weights: Record<string, number>, locale: Locale): string {
  const nf = new Intl.NumberFormat(locale === 'pt-BR' ? 'pt-BR' : 'en-US', { maximumFractionDigits: 6, useGrouping: false });
  return Object.entries(weights)
    .map(([model, w]) => `${model}=${nf.format(w)}`)
    .join('\n');
}

export type ParsedWeights = { ok: true; weights: Record<string, number> } | { ok: false; line: string };

/**
 * Parses the editor's text. Lines (or `;`-separated items) of `model=weight` or `model: weight`; the weight may
 * use a decimal comma (1,5). Blank lines are skipped. The first bad line is returned so the form can say which.
 */
export function parseModelWeights(text: string): ParsedWeights {
  const weights: Record<string, number> = {};
  const items = text.split(/[\n;]/).map((l) => l.trim()).filter((l) => l !== '');
  if (items.length > 50) return { ok: false, line: items[50]! };
  for (const line of items) {
    const m = /^(.+?)\s*[=:]\s*([0-9]+(?:[.,][0-9]+)?)$/.exec(line);
    const model = m?.[1]?.trim() ?? '';
    const w = m ? Number(m[2]!.replace(',', '.')) : NaN;
    if (!model || model.length > 200 || !(w > 0) || w > 1000) return { ok: false, line };
    weights[model] = w;
  }
  return { ok: true, weights };
}
