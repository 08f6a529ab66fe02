import { countTextTokens as boundTextTokens, encodingFor, newBudget, type BpeBudget } from './token-bound';
import { audioTokens, fileTokens, imageTokens } from './media-tokens';

/**
 * Token estimates for the pre-flight reservation and for answers that came without `usage`. Every figure is an
 * upper bound a client cannot shrink by arranging its text (token-bound.ts); the settlement charges the
 * upstream's exact usage. docs/reservation-policy.md states the bound.
 */
export { encodingFor };

export function countTextTokens(text: string, model: string): number {
  return boundTextTokens(text, model);
}

// Per-message framing of the chat format (<|start|>role ... <|end|>), the reply primer, and per tool definition.
const PER_MESSAGE = 4;
const REPLY_PRIMER = 3;
const PER_TOOL = 12;
const IMAGE_TYPES = new Set(['image_url', 'input_image', 'image']);

interface Acc {
  model: string;
  budget: BpeBudget;
  tokens: number;
}

const text = (acc: Acc, s: string) => {
  acc.tokens += boundTextTokens(s, acc.model, acc.budget);
};

/** Every string inside a value (message fields, content parts): what the model may be shown as text. */
function walkText(acc: Acc, v: unknown): void {
  if (typeof v === 'string') text(acc, v);
  else if (Array.isArray(v)) for (const x of v) walkPart(acc, x);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) walkText(acc, x);
}

/** A content part: media are billed by their own rules, never fed to the tokenizer (base64). */
function walkPart(acc: Acc, part: unknown): void {
  if (!part || typeof part !== 'object' || Array.isArray(part)) return walkText(acc, part);
  const p = part as Record<string, unknown>;
  const type = typeof p.type === 'string' ? p.type : '';
  if (IMAGE_TYPES.has(type) || (p.image_url !== undefined && type === '')) {
    const img = p.image_url;
    const detail = img && typeof img === 'object' ? (img as { detail?: unknown }).detail : p.detail;
    acc.tokens += imageTokens(acc.model, detail);
    return;
  }
  if (type === 'input_audio' || p.input_audio !== undefined) {
    const a = (p.input_audio ?? {}) as { data?: unknown; format?: unknown };
    acc.tokens += audioTokens(typeof a.data === 'string' ? a.data.length : 0, a.format);
    return;
  }
  if (type === 'file' || type === 'input_file') {
    const f = (p.file ?? p) as { file_data?: unknown };
    acc.tokens += fileTokens(acc.model, typeof f.file_data === 'string' ? f.file_data.length : 0);
    return;
  }
  walkText(acc, part);
}

/**
 * Upper bound on the prompt tokens of a request body (the body has passed checkJsonShape: bounded depth):
 * every string of every chat message (content parts, names, tool calls and their arguments, tool results),
 * each message's framing, images / audio / files by their billing rules, the JSON text of tool and function
 * definitions, response_format schemas and predicted outputs (more characters than the provider's rendering
 * of them) plus a framing per tool, a completions `prompt`, an embeddings `input`.
 */
export function estimatePromptTokens(body: Record<string, unknown>, model: string): number {
  const acc: Acc = { model, budget: newBudget(), tokens: 0 };
  if (Array.isArray(body.messages)) {
    acc.tokens += REPLY_PRIMER;
    for (const m of body.messages) {
      acc.tokens += PER_MESSAGE;
      if (!m || typeof m !== 'object') continue;
      for (const [k, v] of Object.entries(m as Record<string, unknown>)) {
        if (k === 'content' && Array.isArray(v)) for (const part of v) walkPart(acc, part);
        else walkText(acc, v);
      }
    }
  }
  for (const field of ['tools', 'functions'] as const) {
    const defs = body[field];
    if (defs === undefined || defs === null) continue;
    text(acc, JSON.stringify(defs));
    acc.tokens += PER_TOOL * (Array.isArray(defs) ? defs.length : 1);
  }
  for (const field of ['tool_choice', 'function_call', 'response_format', 'prediction'] as const) {
    const v = body[field];
    if (v !== undefined && v !== null) text(acc, typeof v === 'string' ? v : JSON.stringify(v));
  }
  for (const field of ['prompt', 'input', 'suffix'] as const) {
    const v = body[field];
    if (typeof v === 'string') text(acc, v);
    else if (Array.isArray(v)) {
      for (const item of v) {
        if (typeof item === 'string') text(acc, item);
        else if (typeof item === 'number') acc.tokens += 1; // a pre-tokenized prompt: one token each
        else if (Array.isArray(item)) acc.tokens += item.length;
      }
    }
  }
  return acc.tokens;
}
