import { AutoBatcher } from './auto-batcher';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('AutoBatcher', () => {
  it('sends what one turn submitted together and groups the items that arrive while a batch runs', async () => {
    const batches: number[][] = [];
    const releases: (() => void)[] = [];
    const batcher = new AutoBatcher<number, number>({
      run: async (items) => {
        batches.push(items);
        await new Promise<void>((resolve) => releases.push(resolve));
        return items.map((item) => item * 10);
      },
    });
    const first = [1, 2].map((item) => batcher.submit(item));
    expect(batches).toEqual([]);
    await tick();
    expect(batches).toEqual([[1, 2]]);
    const rest = [3, 4, 5].map((item) => batcher.submit(item));
    await tick();
    await tick();
    expect(batches).toEqual([[1, 2]]);
    releases[0]!();
    expect(await Promise.all(first)).toEqual([10, 20]);
    await tick();
    expect(batches).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
    releases[1]!();
    expect(await Promise.all(rest)).toEqual([30, 40, 50]);
  });

  it('sends a lone item within the turn', async () => {
    const batcher = new AutoBatcher<number, number>({ run: async (items) => items });
    const answer = batcher.submit(7);
    await tick();
    await expect(Promise.race([answer, new Promise((resolve) => setImmediate(() => resolve('late')))])).resolves.toBe(7);
  });

  it('caps batch size and concurrency', async () => {
    const sizes: number[] = [];
    let running = 0;
    let mostRunning = 0;
    const batcher = new AutoBatcher<number, number>({
      maxBatch: 3,
      maxConcurrent: 2,
      run: async (items) => {
        sizes.push(items.length);
        running += 1;
        mostRunning = Math.max(mostRunning, running);
        await tick();
        running -= 1;
        return items;
      },
    });
    const results = await Promise.all(Array.from({ length: 10 }, (_, index) => batcher.submit(index)));
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(3);
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(10);
    expect(mostRunning).toBe(2);
  });

  it('fails every item of a batch that fails, and goes on with the next', async () => {
    let calls = 0;
    const batcher = new AutoBatcher<number, number>({
      run: async (items) => {
        calls += 1;
        if (calls === 1) throw new Error('lost connection');
        return items;
      },
    });
    await expect(batcher.submit(1)).rejects.toThrow('lost connection');
    expect(await batcher.submit(2)).toBe(2);
  });

  it('refuses a run that answers for the wrong number of items', async () => {
    const batcher = new AutoBatcher<number, number>({ run: async () => [] });
    await expect(batcher.submit(1)).rejects.toThrow('gave 0 outcomes');
  });
});
