/**
 * The promises the proxy must not abandon: `pending` settlements / releases / record writes (drain() waits for
 * them) and `active` requests still being answered (close() lets them end first, so a stream cut by a shutdown
 * is settled, as estimated, before the engine closes).
 */
export interface Tasks {
  /** A settlement, release or bookkeeping write: drain() waits for it. */
  track(p: Promise<void>): void;
  /** A request still being answered (handler running, or a stream being relayed). */
  trackActive(p: Promise<void>): void;
  /** Resolves when every tracked settlement started so far has finished. */
  drain(): Promise<void>;
  /** Waits for the active requests, at most until `deadline` (epoch ms). */
  waitActive(deadline: number): Promise<void>;
}

export function createTasks(): Tasks {
  const pending = new Set<Promise<void>>();
  const active = new Set<Promise<void>>();
  const adder = (set: Set<Promise<void>>) => (p: Promise<void>) => {
    set.add(p);
    void p.finally(() => set.delete(p));
  };
  return {
    track: adder(pending),
    trackActive: adder(active),
    async drain() {
      while (pending.size) await Promise.allSettled([...pending]);
    },
    async waitActive(deadline) {
      while (active.size && Date.now() < deadline) {
        await Promise.race([Promise.allSettled([...active]), new Promise((r) => setTimeout(r, Math.max(1, deadline - Date.now())).unref())]);
      }
    },
  };
}
