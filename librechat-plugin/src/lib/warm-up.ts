import { countTextTokens } from './estimate';
import { errorMessage, log } from './log';

/**
 * The operators' build loads the tokenizer's rank tables on first use (scripts/build-plugin.mjs), which keeps
 * them out of the synchronous preload. Counting one word per encoding from timers loads them at the first
 * turns of the event loop (while LibreChat's start-up awaits MongoDB and its other services), one encoding
 * per macrotask, so no user's first chat waits for them.
 */
export function warmTokenizers(models: string[] = ['gpt-4o', 'gpt-4']): void {
  const next = (i: number) => {
    if (i >= models.length) return;
    setTimeout(() => {
      try {
        countTextTokens('warm-up', models[i]!);
      } catch (e) {
        log.warn('Solaris: loading the tokenizer failed', { error: errorMessage(e) });
        return;
      }
      next(i + 1);
    }, 0).unref();
  };
  next(0);
}
