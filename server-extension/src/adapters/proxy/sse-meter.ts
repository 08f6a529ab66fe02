import { StringDecoder } from 'node:string_decoder';
import { createParser, type EventSourceParser } from 'eventsource-parser';

/** `usage` as OpenAI / LiteLLM report it; LiteLLM adds `cost` with include_cost_in_streaming_usage. */
export interface UpstreamUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  cost?: number;
}

interface ChunkChoice {
  text?: unknown;
  delta?: {
    content?: unknown;
    refusal?: unknown;
    reasoning_content?: unknown;
    tool_calls?: Array<{ function?: { name?: unknown; arguments?: unknown } }>;
  };
}

// Event boundaries: a blank line, in any of the three line-ending styles SSE allows.
const BOUNDARY = /\r\n\r\n|\n\n|\r\r/g;
// A top-level key we must read at once: an object-valued `usage`, or an `error`. Inside JSON strings quotes
// are escaped (\"usage\"), so text the model wrote can never match; a nested key that matches only costs a parse.
const READ_NOW = /"usage"\s*:\s*\{|"error"\s*:/;
/** Unparsed event data kept per stream before it is parsed into text anyway (bounds memory on long answers). */
const MAX_UNPARSED_CHARS = 32 * 1024;

/**
 * Reads an OpenAI-style SSE stream as it passes through: the `usage` chunk, and the generated text
 * (for an estimate when the upstream sends no usage or the client leaves early). Bytes are forwarded as
 * received; parsing uses eventsource-parser. When the client did not ask for usage, the usage-only
 * chunk (`choices: []`, that we requested upstream) is cut out: then events are forwarded whole, so a
 * partial event waits for its end (a few bytes, never the whole answer).
 *
 * Content chunks are JSON-parsed lazily: the text is only needed when no usage arrives, and parsing every
 * chunk was most of the meter's cost (~1.6 µs per chunk). Events that may carry usage or an error
 * (READ_NOW) are parsed at once; the others are kept as strings (at most MAX_UNPARSED_CHARS, then parsed
 * into text) until `generatedText()` asks for them.
 */
export class SseMeter {
  usage: UpstreamUsage | null = null;
  /** An `{"error": ...}` event sent by the upstream in the stream. */
  streamError: unknown = null;
  private readonly text: string[] = [];
  /** Data of events not parsed yet, in stream order; all of them came after everything in `text`. */
  private unparsed: string[] = [];
  private unparsedChars = 0;
  private readonly parser: EventSourceParser;
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private usageOnlySeen = 0;

  constructor(private readonly dropUsageOnlyChunk: boolean) {
    this.parser = createParser({ onEvent: (e) => this.onData(e.data) });
  }

  /** Feeds upstream bytes; returns what to forward to the client now (possibly nothing). */
  process(chunk: Buffer): Buffer | null {
    const text = this.decoder.write(chunk);
    if (!this.dropUsageOnlyChunk) {
      this.parser.feed(text);
      return chunk;
    }
    // Fast path (the usual case: the upstream flushes whole events): parse, and forward the original
    // buffer unless it held the usage-only event.
    if (this.pending === '' && endsWithBoundary(text)) {
      this.usageOnlySeen = 0;
      this.parser.feed(text);
      if (this.usageOnlySeen === 0) return chunk;
      const kept = splitEvents(text).events.filter((e) => !isUsageOnlyEvent(e)).join('');
      return kept ? Buffer.from(kept, 'utf8') : null;
    }
    // Slow path: an event is split across chunks; forward whole events only.
    const { events, rest } = splitEvents(this.pending + text);
    this.pending = rest;
    let out = '';
    for (const event of events) {
      this.usageOnlySeen = 0;
      this.parser.feed(event);
      if (this.usageOnlySeen === 0) out += event;
    }
    return out ? Buffer.from(out, 'utf8') : null;
  }

  /** End of stream: parses an unterminated last event; returns what is left to forward (drop mode). */
  flush(): Buffer | null {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    this.usageOnlySeen = 0;
    this.parser.feed(rest + '\n\n');
    if (!this.dropUsageOnlyChunk || !rest || this.usageOnlySeen > 0) return null;
    return Buffer.from(rest, 'utf8');
  }

  /** The generated text seen so far (content, refusals, reasoning, tool-call arguments). */
  generatedText(): string {
    this.parseUnparsed();
    return this.text.join('');
  }

  private onData(data: string): void {
    if (data === '[DONE]' || data === '') return;
    if (!READ_NOW.test(data)) {
      this.unparsed.push(data);
      this.unparsedChars += data.length;
      if (this.unparsedChars > MAX_UNPARSED_CHARS) this.parseUnparsed();
      return;
    }
    const chunk = parseChunk(data);
    if (!chunk) return;
    if (chunk.error) this.streamError = chunk.error;
    if (chunk.usage && typeof chunk.usage === 'object') {
      this.usage = chunk.usage;
      if (Array.isArray(chunk.choices) && chunk.choices.length === 0) this.usageOnlySeen++;
    }
    const own: string[] = [];
    collectText(chunk, own);
    if (own.length === 0) return; // the usual usage chunk: no text, the older events can stay unparsed
    this.parseUnparsed(); // keeps the text in stream order
    for (const t of own) this.text.push(t);
  }

  private parseUnparsed(): void {
    if (this.unparsed.length === 0) return;
    for (const data of this.unparsed) {
      const chunk = parseChunk(data);
      if (chunk) collectText(chunk, this.text);
    }
    this.unparsed = [];
    this.unparsedChars = 0;
  }
}

type Chunk = { choices?: ChunkChoice[]; usage?: UpstreamUsage | null; error?: unknown };

function parseChunk(data: string): Chunk | null {
  try {
    const chunk = JSON.parse(data) as Chunk;
    return chunk && typeof chunk === 'object' ? chunk : null;
  } catch {
    return null; // not ours to judge: forwarded as is
  }
}

function collectText(chunk: Chunk, out: string[]): void {
  if (!Array.isArray(chunk.choices)) return;
  for (const c of chunk.choices) {
    if (!c || typeof c !== 'object') continue;
    if (typeof c.text === 'string') out.push(c.text);
    const d = c.delta;
    if (!d) continue;
    if (typeof d.content === 'string') out.push(d.content);
    if (typeof d.refusal === 'string') out.push(d.refusal);
    if (typeof d.reasoning_content === 'string') out.push(d.reasoning_content);
    if (Array.isArray(d.tool_calls)) {
      for (const t of d.tool_calls) {
        if (typeof t?.function?.name === 'string') out.push(t.function.name);
        if (typeof t?.function?.arguments === 'string') out.push(t.function.arguments);
      }
    }
  }
}

function endsWithBoundary(s: string): boolean {
  return s.endsWith('\n\n') || s.endsWith('\r\r') || s.endsWith('\r\n\r\n');
}

/** Whole events (each with its terminating blank line) and the unterminated rest. */
function splitEvents(s: string): { events: string[]; rest: string } {
  const events: string[] = [];
  let start = 0;
  BOUNDARY.lastIndex = 0;
  for (let m = BOUNDARY.exec(s); m; m = BOUNDARY.exec(s)) {
    const end = m.index + m[0].length;
    events.push(s.slice(start, end));
    start = end;
  }
  return { events, rest: s.slice(start) };
}

/** The usage-only chunk: `data: {"choices":[],"usage":{...}}`. */
function isUsageOnlyEvent(event: string): boolean {
  const data = event
    .split(/\r\n|\n|\r/)
    .filter((l) => l.startsWith('data:'))
    .map((l) => l.slice(l[5] === ' ' ? 6 : 5))
    .join('\n');
  if (!data.includes('"usage"')) return false;
  try {
    const j = JSON.parse(data) as { choices?: unknown; usage?: unknown };
    return Array.isArray(j.choices) && j.choices.length === 0 && j.usage != null && typeof j.usage === 'object';
  } catch {
    return false;
  }
}

/** Generated text of a non-streamed answer (chat or completions), for an estimate when usage is missing. */
export function answerText(json: unknown): string {
  const choices = (json as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices)) return '';
  const parts: string[] = [];
  for (const c of choices as Array<{ text?: unknown; message?: { content?: unknown; refusal?: unknown; tool_calls?: unknown } }>) {
    if (typeof c?.text === 'string') parts.push(c.text);
    const m = c?.message;
    if (!m) continue;
    if (typeof m.content === 'string') parts.push(m.content);
    if (typeof m.refusal === 'string') parts.push(m.refusal);
    if (Array.isArray(m.tool_calls)) {
      for (const t of m.tool_calls as Array<{ function?: { name?: unknown; arguments?: unknown } }>) {
        if (typeof t?.function?.name === 'string') parts.push(t.function.name);
        if (typeof t?.function?.arguments === 'string') parts.push(t.function.arguments);
      }
    }
  }
  return parts.join('');
}
