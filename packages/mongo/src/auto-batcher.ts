/**
 * Shares database round trips among concurrent callers. `submit` hands an item to the batcher;
 * at the end of the event loop's turn (setImmediate), when fewer than `maxConcurrent` batches are
 * running, the waiting items go out as one batch, otherwise they wait for the next. Everything
 * submitted in one turn (the items of one request, or of the requests one socket read brought)
 * therefore shares a round trip, an idle system adds no more than that turn to a lone item, and a
 * busy one sends one request for many items: group commit.
 */
export interface AutoBatcherOptions<Item, Outcome> {
  /** Runs one batch; resolves with one outcome per item, in the items' order. */
  run: (items: Item[]) => Promise<Outcome[]>;
  /** Most items in one batch. */
  maxBatch?: number;
  /** Batches running at once. */
  maxConcurrent?: number;
}

interface Waiting<Item, Outcome> {
  item: Item;
  resolve: (outcome: Outcome) => void;
  reject: (error: unknown) => void;
}

export class AutoBatcher<Item, Outcome> {
  private readonly waiting: Waiting<Item, Outcome>[] = [];
  private running = 0;
  private dispatchScheduled = false;
  private readonly maxBatch: number;
  private readonly maxConcurrent: number;

  constructor(private readonly options: AutoBatcherOptions<Item, Outcome>) {
    this.maxBatch = options.maxBatch ?? 500;
    this.maxConcurrent = options.maxConcurrent ?? 1;
  }

  submit(item: Item): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (this.dispatchScheduled) return;
      this.dispatchScheduled = true;
      setImmediate(() => {
        this.dispatchScheduled = false;
        this.dispatch();
      });
    });
  }

  private dispatch(): void {
    while (this.running < this.maxConcurrent && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.maxBatch);
      this.running += 1;
      // runBatch settles every item itself and never rejects.
      void this.runBatch(batch).finally(() => {
        this.running -= 1;
        this.dispatch();
      });
    }
  }

  private async runBatch(batch: Waiting<Item, Outcome>[]): Promise<void> {
    try {
      const outcomes = await this.options.run(batch.map((waiting) => waiting.item));
      if (outcomes.length !== batch.length) throw new Error(`a batch of ${batch.length} items gave ${outcomes.length} outcomes`);
      batch.forEach((waiting, index) => waiting.resolve(outcomes[index]!));
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    }
  }
}
