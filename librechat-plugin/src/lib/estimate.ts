import { countTextTokens as countModelTokens } from '@solaris/server-extension';

/**
 * Prompt tokens of `text` for `model`, with the metering proxy's tokenizer policy (one policy for both
 * gates): exact in 2 kB slices up to 16,000 characters, then sampled — bounded time, no event-loop stall
 * on a 200 kB paste and no quadratic slowdown on long unbroken runs (base64).
 */
export function countTextTokens(text: string, model = 'gpt-4o'): number {
  return countModelTokens(text, model);
}

function collectText(value: unknown, out: string[], depth = 0): void {
  if (depth > 6 || out.length > 10_000) return;
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) collectText(v, out, depth + 1);
  else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    // OpenAI-style content parts: { type: 'text', text } / { type: 'input_text', text }; messages: { content }.
    for (const k of ['text', 'content', 'input', 'instructions']) if (k in o) collectText(o[k], out, depth + 1);
  }
}

/**
 * The prompt text a gated request carries. LibreChat's own chat sends `{ text, ... }` (the new user message;
 * LibreChat adds the conversation history server-side, which the estimate cannot see); the API routes send
 * OpenAI-shaped `messages` (chat completions) or `input` / `instructions` (responses).
 */
export function promptTextOf(body: unknown): string {
  if (!body || typeof body !== 'object') return '';
  const b = body as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of ['text', 'messages', 'input', 'instructions', 'promptPrefix']) if (k in b) collectText(b[k], parts);
  return parts.join('\n');
}

/** The completion budget the request asks for, if any. */
export function maxTokensOf(body: unknown): number | null {
  if (!body || typeof body !== 'object') return null;
  const b = body as Record<string, unknown>;
  for (const k of ['max_tokens', 'max_completion_tokens', 'max_output_tokens', 'maxOutputTokens', 'maxTokens']) {
    const v = b[k];
    if (typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 1_000_000) return v;
  }
  return null;
}

export function modelOf(body: unknown): string {
  if (!body || typeof body !== 'object') return 'unknown';
  const m = (body as Record<string, unknown>).model;
  return typeof m === 'string' && m !== '' ? m.slice(0, 200) : 'unknown';
}
