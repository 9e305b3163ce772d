import type { Envelope } from '@lovepoints/events';
import type { MessageProducer } from '@lovepoints/kafka';
import type { Logger } from '@lovepoints/logging';
import type { Connection } from '@lovepoints/mongo';

/**
 * Transactional outbox without multi-document transactions: an event is stored inside the very
 * document whose change it reports, in the same single-document update, so the two can never
 * disagree. A relay publishes the events and then removes them. Steps per event, as in eShop:
 * in the array (not published) → document leased (in progress) → pulled (published). A relay
 * that dies mid-way loses its lease and another publishes again: delivery is at least once,
 * and consumers dedupe by event id.
 */
export interface OutboxEntry {
  id: string;
  topic: string;
  key: string;
  value: string;
  createdAt: Date;
}

/** Mongoose schema fields to add to any document type that emits events. */
export const outboxSchemaFields = {
  outbox: { type: [{ _id: false, id: String, topic: String, key: String, value: String, createdAt: Date }], default: (): OutboxEntry[] => [] },
  outboxLeaseUntil: { type: Date, default: null },
};

/** The outbox entry for an event, to `$push` in the same update as the state change. */
export function outboxEntry(topic: string, event: Envelope): OutboxEntry {
  return { id: event.id, topic, key: event.subject, value: JSON.stringify(event), createdAt: new Date() };
}

export interface OutboxRelayOptions {
  connection: Connection;
  /** Collections whose documents carry outbox fields. */
  collections: string[];
  producer: MessageProducer;
  logger: Logger;
  pollIntervalMs?: number;
  leaseMs?: number;
}

export interface OutboxRelay {
  start(): void;
  /** Publish soon: called after a write that added events, so they do not wait for the poll. */
  nudge(): void;
  stop(): Promise<void>;
  /** Publishes everything pending now; resolves with the number of events published. */
  drain(): Promise<number>;
}

interface OutboxDocument {
  _id: unknown;
  outbox?: OutboxEntry[];
}

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const leaseMs = options.leaseMs ?? 30_000;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let loop: Promise<void> = Promise.resolve();

  async function publishOne(collectionName: string): Promise<number> {
    const collection = options.connection.collection<OutboxDocument>(collectionName);
    const now = new Date();
    const leased = await collection.findOneAndUpdate(
      { 'outbox.0': { $exists: true }, $or: [{ outboxLeaseUntil: null }, { outboxLeaseUntil: { $lt: now } }] },
      { $set: { outboxLeaseUntil: new Date(now.getTime() + leaseMs) } },
      { returnDocument: 'after', projection: { outbox: 1 } },
    );
    const entries = leased?.outbox ?? [];
    if (leased === null || entries.length === 0) return 0;
    try {
      await options.producer.send(entries.map((entry) => ({ topic: entry.topic, key: entry.key, value: entry.value })));
    } catch (error) {
      // The lease is left to expire so the next attempt is spaced out rather than hot-looping.
      options.logger.warn({ err: error, collection: collectionName }, 'outbox publish failed; will retry after the lease');
      return 0;
    }
    await collection.updateOne({ _id: leased._id }, { $pull: { outbox: { id: { $in: entries.map((entry) => entry.id) } } }, $set: { outboxLeaseUntil: null } });
    return entries.length;
  }

  async function drain(): Promise<number> {
    let published = 0;
    for (const collectionName of options.collections) {
      for (;;) {
        const count = await publishOne(collectionName);
        if (count === 0) break;
        published += count;
      }
    }
    return published;
  }

  function schedule(delayMs: number): void {
    if (!running) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      loop = loop
        .then(async () => {
          await drain();
        })
        .catch((error: unknown) => options.logger.error({ err: error }, 'outbox relay pass failed'))
        .finally(() => schedule(pollIntervalMs));
    }, delayMs);
  }

  return {
    start() {
      running = true;
      schedule(0);
    },
    nudge() {
      schedule(0);
    },
    drain,
    async stop() {
      running = false;
      clearTimeout(timer);
      await loop;
    },
  };
}
