import { RetryQueue } from '../src/core/retry-queue';

const turn = () => new Promise((r) => setImmediate(r));

describe('RetryQueue scheduling', () => {
  it('writes an item with nothing to batch in the turn it is pushed (no setImmediate hop before a settlement)', async () => {
    const written: number[][] = [];
    const q = new RetryQueue<number, number>({ name: 't', write: async (items) => (written.push(items), items.map((x) => x * 2)) });
    const p = q.push(1);
    expect(written).toEqual([[1]]); // synchronously: the store call is on its way before the caller's turn ends
    await expect(p).resolves.toBe(2);
  });

  it('still batches the items of one turn when maxBatch > 1', async () => {
    const written: number[][] = [];
    const q = new RetryQueue<number, number>({ name: 't', maxBatch: 10, write: async (items) => (written.push(items), items) });
    const ps = [q.push(1), q.push(2), q.push(3)];
    expect(written).toEqual([]);
    await turn();
    expect(written).toEqual([[1, 2, 3]]);
    await expect(Promise.all(ps)).resolves.toEqual([1, 2, 3]);
  });

  it('an immediate write that fails waits and lands on a retry; drain() waits for it', async () => {
    let calls = 0;
    const q = new RetryQueue<string, string>({
      name: 't',
      baseMs: 5,
      maxMs: 10,
      write: async (items) => {
        if (++calls < 3) throw new Error('store down');
        return items.map((x) => x.toUpperCase());
      },
    });
    const p = q.push('a');
    expect(q.stats().waiting).toBe(1);
    expect(await q.drain(2_000)).toEqual([]);
    await expect(p).resolves.toBe('A');
    expect(calls).toBe(3);
  });
});
