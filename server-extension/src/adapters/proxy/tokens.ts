import { countTokens as countO200k } from 'gpt-tokenizer/encoding/o200k_base';
import { countTokens as countCl100k } from 'gpt-tokenizer/encoding/cl100k_base';

/**
 * Token estimates for the pre-flight reservation and for answers that came without `usage`.
 * Real BPE (gpt-tokenizer): o200k for gpt-4o / gpt-4.1 / gpt-5 / o-series, cl100k otherwise (a fair
 * proxy for other families too). The cost is bounded because it runs on the request path, where every
 * millisecond of tokenizer is a millisecond all other streams of the process wait:
 * - text is counted in slices of SLICE chars: BPE on one long unbroken "word" (a base64 blob, a run of
 *   one character) is quadratic; a 100 kB run took 3.6 s in one piece and 0.5 ms in slices;
 * - up to EXACT_CHARS the count is exact; a longer text is estimated from SAMPLES slices spread evenly
 *   over it (its tokens-per-char ratio × its length). BPE costs ~20–45 µs per kB on the 2-vCPU box, so
 *   an exact count of a 256 kB prompt held the event loop 6–12 ms; the sample costs what 16 kB do.
 *   The reservation only needs an estimate: the settlement charges the upstream's exact usage.
 */
const SLICE = 2_000;
const EXACT_CHARS = 16_000;
const SAMPLES = EXACT_CHARS / SLICE;
const NO_SPECIAL = { disallowedSpecial: new Set<string>() }; // user text may contain "<|endoftext|>"

type Counter = (text: string, opts: typeof NO_SPECIAL) => number;

export function encodingFor(model: string): 'o200k' | 'cl100k' {
  const m = model.toLowerCase().replace(/^.*\//, ''); // "openai/gpt-4o" → "gpt-4o"
  return /^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|chatgpt-4o|o\d)/.test(m) ? 'o200k' : 'cl100k';
}

export function countTextTokens(text: string, model: string): number {
  if (!text) return 0;
  const count: Counter = encodingFor(model) === 'o200k' ? countO200k : countCl100k;
  if (text.length <= EXACT_CHARS) {
    let tokens = 0;
    for (let i = 0; i < text.length; i += SLICE) tokens += count(text.slice(i, i + SLICE), NO_SPECIAL);
    return tokens;
  }
  // SAMPLES slices at evenly spaced offsets (first and last included), so a prompt that mixes prose,
  // code and data is sampled in proportion.
  const step = (text.length - SLICE) / (SAMPLES - 1);
  let tokens = 0;
  for (let k = 0; k < SAMPLES; k++) {
    const at = Math.round(k * step);
    tokens += count(text.slice(at, at + SLICE), NO_SPECIAL);
  }
  return Math.ceil((tokens / (SAMPLES * SLICE)) * text.length);
}

// Per-message framing of the chat format (<|start|>role ... <|end|>) and the reply primer.
const PER_MESSAGE = 3;
const REPLY_PRIMER = 3;
// Images are billed by tiles upstream; a flat hold per image is enough for a reservation.
const PER_IMAGE = 765;

/** Collects the text of a chat message's content: a string or an array of parts. */
function contentText(content: unknown, acc: { text: string[]; images: number }): void {
  if (typeof content === 'string') acc.text.push(content);
  else if (Array.isArray(content)) {
    for (const part of content) {
      if (!part || typeof part !== 'object') continue;
      const p = part as { type?: unknown; text?: unknown };
      if (typeof p.text === 'string') acc.text.push(p.text);
      else if (p.type === 'image_url' || p.type === 'input_image' || p.type === 'image') acc.images++;
    }
  }
}

/**
 * Prompt tokens of a request body: chat messages (text parts, names, tool-call arguments, tool
 * definitions), a completions `prompt`, or an embeddings `input`. Only text is counted: base64 images
 * and unknown fields are never fed to the tokenizer.
 */
export function estimatePromptTokens(body: Record<string, unknown>, model: string): number {
  const acc = { text: [] as string[], images: 0 };
  let framing = 0;
  if (Array.isArray(body.messages)) {
    framing += REPLY_PRIMER;
    for (const m of body.messages) {
      if (!m || typeof m !== 'object') continue;
      framing += PER_MESSAGE;
      const msg = m as { content?: unknown; name?: unknown; tool_calls?: unknown };
      contentText(msg.content, acc);
      if (typeof msg.name === 'string') acc.text.push(msg.name);
      if (Array.isArray(msg.tool_calls)) {
        for (const c of msg.tool_calls) {
          const fn = (c as { function?: { name?: unknown; arguments?: unknown } } | null)?.function;
          if (typeof fn?.name === 'string') acc.text.push(fn.name);
          if (typeof fn?.arguments === 'string') acc.text.push(fn.arguments);
        }
      }
    }
    // Tool / function definitions are sent to the model as text too.
    if (Array.isArray(body.tools) || Array.isArray(body.functions)) acc.text.push(JSON.stringify(body.tools ?? body.functions));
  }
  for (const field of ['prompt', 'input'] as const) {
    const v = body[field];
    if (typeof v === 'string') acc.text.push(v);
    else if (Array.isArray(v)) {
      for (const item of v) {
        if (typeof item === 'string') acc.text.push(item);
        else if (typeof item === 'number') framing += 1; // a pre-tokenized prompt: one token each
        else if (Array.isArray(item)) framing += item.length;
      }
    }
  }
  return framing + acc.images * PER_IMAGE + countTextTokens(acc.text.join('\n'), model);
}

/** Completion tokens to hold: max_completion_tokens / max_tokens (else the configured default) × n. */
export function maxCompletionTokens(body: Record<string, unknown>, defaultMax: number): number {
  const raw = body.max_completion_tokens ?? body.max_tokens;
  const n = typeof body.n === 'number' && Number.isInteger(body.n) && body.n > 1 ? Math.min(body.n, 128) : 1;
  const per = typeof raw === 'number' && Number.isFinite(raw) && raw >= 0 ? Math.ceil(raw) : defaultMax;
  return per * n;
}
