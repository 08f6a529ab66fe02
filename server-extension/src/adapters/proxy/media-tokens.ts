/**
 * Prompt tokens of non-text inputs, as the provider bills them, rounded UP (docs/reservation-policy.md).
 *
 * Images (OpenAI vision pricing): tile models scale an image to fit 2048×2048, then its short side to 768, and
 * bill base + per-tile × 512-px tiles; the most tiles any image can have is 8 (768×2048). detail "low" bills
 * the base only. Patch models (gpt-4.1-mini/nano, o4-mini) bill at most 1,536 32-px patches × a multiplier.
 * Other providers: Anthropic bills at most ~1,600 per image, Gemini 258 per 768-px tile; unknown models get
 * UNKNOWN_IMAGE, above all of these for images up to 4K.
 */
interface ImageRule {
  test: RegExp;
  low: number;
  high: number;
}
const tiles = (base: number, perTile: number): { low: number; high: number } => ({ low: base, high: base + perTile * 8 });
const patches = (multiplier: number): { low: number; high: number } => {
  const n = Math.ceil(1536 * multiplier);
  return { low: n, high: n };
};
const IMAGE_RULES: ImageRule[] = [
  { test: /^gpt-4o-mini/, ...tiles(2833, 5667) },
  { test: /^(gpt-4\.1-nano|gpt-5-nano)/, ...patches(2.46) },
  { test: /^(gpt-4\.1-mini|gpt-5-mini)/, ...patches(1.62) },
  { test: /^o4-mini/, ...patches(1.72) },
  { test: /^(o1|o3)/, ...tiles(75, 150) },
  { test: /^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-4-turbo|gpt-4-vision)/, ...tiles(85, 170) },
];
const UNKNOWN_IMAGE = 6_000;

export function imageTokens(model: string, detail: unknown): number {
  const m = model.toLowerCase().replace(/^.*\//, '');
  const rule = IMAGE_RULES.find((r) => r.test.test(m));
  if (!rule) return UNKNOWN_IMAGE;
  return detail === 'low' ? rule.low : rule.high;
}

/**
 * Audio input (`input_audio`): OpenAI bills ~10 audio tokens per second (600 per minute). The duration is
 * bounded from the data size and the lowest byte rate of its format — PCM/WAV 8 kHz 8-bit mono (8,000 B/s),
 * compressed formats 8 kbit/s (1,000 B/s) — so the bound holds whatever the real bitrate, plus 1 s of slack.
 */
const AUDIO_TOKENS_PER_SECOND = 10;
export function audioTokens(base64Length: number, format: unknown): number {
  const bytes = Math.ceil((base64Length * 3) / 4);
  const minBytesPerSecond = format === 'wav' || format === 'pcm16' || format === 'pcm' ? 8_000 : 1_000;
  return Math.ceil((bytes / minBytesPerSecond + 1) * AUDIO_TOKENS_PER_SECOND);
}

/**
 * Files (`type: 'file'`, PDFs): providers bill the extracted text plus an image per page. Not a proven bound:
 * one token per 2 bytes of the decoded file, at least one image per started 100 kB.
 */
export function fileTokens(model: string, base64Length: number): number {
  const bytes = Math.ceil((base64Length * 3) / 4);
  return Math.ceil(bytes / 2) + imageTokens(model, 'high') * Math.max(1, Math.ceil(bytes / 100_000));
}
