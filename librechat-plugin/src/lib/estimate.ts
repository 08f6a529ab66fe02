import { libreChatApiDir } from './host';
import { hostTokenizerLookup, type HostCore } from './host-tokenizer';
import { utf8Bytes } from '@solaris/server-extension';
import { promptTokenBound } from './prompt-bound';
import { log } from './log';

let hostCore: (() => HostCore | null) | null = null;
let announced = false;

/**
 * Upper bound on the tokens of `text` (the prompt text of a gated request), with LibreChat's own o200k tokenizer
 * when LibreChat has loaded it, else the text's UTF-8 bytes (prompt-bound.ts). No rank tables of ours are ever
 * loaded for the gate: they were most of the plugin's memory and start-up (docs/reservation-policy.md, "The
 * LibreChat gate's estimate"). `model` is not used: LibreChat itself counts every model with o200k.
 */
export function countTextTokens(text: string, _model = 'gpt-4o'): number {
  hostCore ??= hostTokenizerLookup(libreChatApiDir());
  try {
    const core = hostCore();
    if (core && !announced) {
      announced = true; // operators (and the real-LibreChat lane) can see which estimate the gate uses
      log.info("Solaris: the gate's estimate uses LibreChat's o200k tokenizer");
    }
    return promptTokenBound(text, core);
  } catch {
    return utf8Bytes(text); // LibreChat's tokenizer failed on this text: the table-free bound
  }
}

/** Tests: look for the host tokenizer under another LibreChat api/ folder. */
export function useHostApiDir(apiDir: string): void {
  hostCore = hostTokenizerLookup(apiDir);
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
