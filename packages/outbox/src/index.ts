import type { Envelope } from '@lovepoints/events';
import type { MessageProducer } from '@lovepoints/kafka';
import type { Logger } from '@lovepoints/logging';
import { CollectionWrites, type Connection } from '@lovepoints/mongo';
import { randomUUID } from 'node:crypto';

/**
 * Transactional outbox without multi-document transactions: an event is stored inside the very
 * document whose change it reports, in the same single-document update, so the two can never
 * disagree. A relay publishes the events and then removes them. Steps per event, as in eShop:
 * in the array (not published) → document leased (in progress) → pulled (published). A relay
 * that dies mid-way loses its lease and another publishes again: delivery is at least once,
 * and consumers dedupe by event id.
 *
 * A writer that hands the relay the entries it just wrote (`claimFields` in the same update,
 * then `written`) saves the relay reading them back: the update itself took the lease, so the
 * relay publishes from memory and only pulls afterwards.
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
  outboxClaim: { type: String, default: null },
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
  /** How often the relay wakes without being nudged. */
  pollIntervalMs?: number;
  /**
   * How often it also searches whole collections for events nobody told it about (written by
   * another process, left by a crash, or whose publishing failed). On a server without secondary
   * indexes (mongo-java-server) that search is a collection scan, so it runs rarely.
   */
  scanIntervalMs?: number;
  leaseMs?: number;
  /** Documents claimed and published together. */
  batchSize?: number;
  /**
   * The lease an update takes with `claimFields`: after a crash, events written that way wait
   * this long before a search finds them. Publishing from memory is prompt, so it is short.
   */
  writtenLeaseMs?: number;
  /**
   * How long events handed over or named wait for others before a pass publishes them (0: at
   * once). A moment's wait lets one produce request and one write carry many events instead of
   * one each; the writes themselves never wait for it.
   */
  lingerMs?: number;
}

export interface OutboxRelay {
  start(): void;
  /**
   * Publish soon: called after a write that added events. Naming the document (`collection`,
   * `id`) lets the relay reach it by `_id` instead of searching for it.
   */
  nudge(collection?: string, id?: string): void;
  /**
   * Fields to `$set` in the update that pushes entries whose publishing the writer will hand over
   * with `written`: they lease the document to this relay, so no search publishes them meanwhile.
   */
  claimFields(): { outboxLeaseUntil: Date; outboxClaim: string };
  /**
   * After an update with `claimFields` succeeded: publish these entries (the ones it pushed) from
   * memory, then pull them from the document. If publishing fails, they stay in the document and
   * a search publishes them once the lease has run out.
   */
  written(collection: string, id: string, entries: OutboxEntry[]): void;
  stop(): Promise<void>;
  /** Publishes everything pending now; resolves with the number of events published. */
  drain(): Promise<number>;
}

interface OutboxDocument {
  /** Every service keys its documents by string ids. */
  _id: string;
  outbox?: OutboxEntry[];
  outboxLeaseUntil?: Date | null;
  outboxClaim?: string | null;
}

/**
 * The relay works in passes. Each pass takes the documents it was told about (and, every
 * `scanIntervalMs` or when nudged without a document, those a search finds), claims them in one
 * update with a lease and a claim token, publishes all their events in one produce request, and
 * pulls the published entries. Passes follow each other while there is work, so events written
 * while one pass runs go out together in the next.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const scanIntervalMs = options.scanIntervalMs ?? 5000;
  const leaseMs = options.leaseMs ?? 30_000;
  const batchSize = options.batchSize ?? 256;
  const writtenLeaseMs = options.writtenLeaseMs ?? 5000;
  const lingerMs = options.lingerMs ?? 0;
  const relayClaim = randomUUID();
  const hinted = new Map<string, Set<string>>(options.collections.map((name) => [name, new Set()]));
  /** Entries handed over with `written`, per collection and document, in the order written. */
  const handedOver = new Map<string, Map<string, OutboxEntry[]>>(options.collections.map((name) => [name, new Map()]));
  /** The pulls' plain update commands, one writer per collection. */
  const writes = new Map(options.collections.map((name) => [name, new CollectionWrites(options.connection, name)]));
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let timerDueAt = Number.POSITIVE_INFINITY;
  let passing: Promise<void> | undefined;
  let wantAnotherPass = false;
  let scanRequested = true;
  let lastScanAt = 0;

  const collectionOf = (name: string) => options.connection.collection<OutboxDocument>(name);
  const leaseIsFree = (now: Date) => ({ $or: [{ outboxLeaseUntil: null }, { outboxLeaseUntil: { $lt: now } }] });

  /**
   * Publishes the entries of these documents in one produce request, then pulls them with one
   * update per document naming its own entries: mongo-java-server matches `$in` by walking the
   * list, so one update over every document would cost the square of the batch. With a `claim`
   * (the claiming path) the update also ends that claim's lease; handed-over documents keep theirs
   * until it runs out, their outboxes being empty unless something was added (and handed over)
   * since. A failed publish pulls nothing: a search retries once the lease is over. Resolves with
   * how many entries were published.
   */
  async function publishAndPull(collectionName: string, documents: [string, OutboxEntry[]][], claim?: string): Promise<number> {
    const entries = documents.flatMap(([, documentEntries]) => documentEntries);
    if (entries.length === 0) return 0;
    try {
      await options.producer.send(entries.map((entry) => ({ topic: entry.topic, key: entry.key, value: entry.value })));
    } catch (error) {
      options.logger.warn({ err: error, collection: collectionName, events: entries.length }, 'outbox publish failed; will retry after the lease');
      return 0;
    }
    await writes.get(collectionName)!.updateEach<OutboxDocument>(
      documents.map(([id, documentEntries]) => ({
        filter: claim === undefined ? { _id: id } : { _id: id, outboxClaim: claim },
        update: {
          $pull: { outbox: { id: { $in: documentEntries.map((entry) => entry.id) } } },
          ...(claim === undefined ? {} : { $set: { outboxLeaseUntil: null, outboxClaim: null } }),
        },
      })),
    );
    return entries.length;
  }

  /** Claims, publishes and pulls the events of these documents; returns how many were published. */
  async function publishDocuments(collectionName: string, ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const collection = collectionOf(collectionName);
    const now = new Date();
    const claim = randomUUID();
    await collection.updateMany(
      { _id: { $in: ids }, 'outbox.0': { $exists: true }, ...leaseIsFree(now) },
      { $set: { outboxLeaseUntil: new Date(now.getTime() + leaseMs), outboxClaim: claim } },
    );
    const claimed = await collection.find({ _id: { $in: ids }, outboxClaim: claim }, { projection: { outbox: 1 } }).toArray();
    // Entries added since the claim stay for the next pass.
    return publishAndPull(
      collectionName,
      claimed.map((document) => [document._id, document.outbox ?? []]),
      claim,
    );
  }

  /** Publishes entries handed over in memory and pulls them; returns how many were published. */
  async function publishHandedOver(collectionName: string): Promise<number> {
    const waiting = handedOver.get(collectionName);
    if (waiting === undefined || waiting.size === 0) return 0;
    const taken: [string, OutboxEntry[]][] = [];
    for (const item of waiting) {
      taken.push(item);
      waiting.delete(item[0]);
      if (taken.length === batchSize) break;
    }
    return publishAndPull(collectionName, taken);
  }

  /** Ids of documents with unpublished events that no live lease covers, found by searching. */
  async function searchPending(collectionName: string): Promise<string[]> {
    const found = await collectionOf(collectionName)
      .find({ 'outbox.0': { $exists: true }, ...leaseIsFree(new Date()) }, { projection: { _id: 1 } })
      .limit(batchSize)
      .toArray();
    return found.map((document) => document._id);
  }

  function takeHints(collectionName: string): string[] {
    const ids = hinted.get(collectionName);
    if (ids === undefined || ids.size === 0) return [];
    const taken: string[] = [];
    for (const id of ids) {
      taken.push(id);
      ids.delete(id);
      if (taken.length === batchSize) break;
    }
    return taken;
  }

  /** Whether at least `size` documents were named or handed over in some collection and no pass has taken them yet. */
  const waitingAtLeast = (size: number) => [...hinted.values(), ...handedOver.values()].some((waiting) => waiting.size >= size);
  const workWaiting = () => waitingAtLeast(1);
  /** Whether the next pass should follow at once: without a linger whenever there is work, else for a full batch. */
  const passAgainAtOnce = () => (lingerMs === 0 ? wantAnotherPass || workWaiting() : waitingAtLeast(batchSize));

  /** One pass over every collection; resolves with the number of events published. */
  async function pass(scan: boolean): Promise<number> {
    let published = 0;
    for (const collectionName of options.collections) {
      published += await publishHandedOver(collectionName);
      published += await publishDocuments(collectionName, takeHints(collectionName));
      if (scan) {
        for (;;) {
          const ids = await searchPending(collectionName);
          const count = await publishDocuments(collectionName, ids);
          published += count;
          if (ids.length < batchSize || count === 0) break;
        }
      }
    }
    return published;
  }

  async function passWhileThereIsWork(): Promise<void> {
    do {
      wantAnotherPass = false;
      const scan = scanRequested || Date.now() - lastScanAt >= scanIntervalMs;
      if (scan) {
        scanRequested = false;
        lastScanAt = Date.now();
      }
      await pass(scan);
    } while (running && passAgainAtOnce());
  }

  function wake(delayMs: number): void {
    if (!running) return;
    if (passing !== undefined) {
      wantAnotherPass = true;
      return;
    }
    // A pass already due sooner stands: waking again must not put it off.
    const dueAt = Date.now() + delayMs;
    if (timer !== undefined && timerDueAt <= dueAt) return;
    clearTimeout(timer);
    timerDueAt = dueAt;
    timer = setTimeout(() => {
      timer = undefined;
      timerDueAt = Number.POSITIVE_INFINITY;
      passing = passWhileThereIsWork()
        .catch((error: unknown) => options.logger.error({ err: error }, 'outbox relay pass failed'))
        .finally(() => {
          passing = undefined;
          wake(wantAnotherPass || workWaiting() ? lingerMs : pollIntervalMs);
        });
    }, delayMs);
  }

  return {
    start() {
      running = true;
      wake(0);
    },
    nudge(collection?: string, id?: string) {
      const ids = collection === undefined ? undefined : hinted.get(collection);
      if (ids !== undefined && id !== undefined) ids.add(id);
      else scanRequested = true;
      wake(lingerMs);
    },
    claimFields() {
      return { outboxLeaseUntil: new Date(Date.now() + writtenLeaseMs), outboxClaim: relayClaim };
    },
    written(collection: string, id: string, entries: OutboxEntry[]) {
      const waiting = handedOver.get(collection);
      if (waiting === undefined) throw new Error(`the outbox relay does not serve the collection ${collection}`);
      const earlier = waiting.get(id);
      if (earlier === undefined) waiting.set(id, [...entries]);
      else earlier.push(...entries);
      wake(lingerMs);
    },
    async drain() {
      await passing;
      let published = 0;
      for (;;) {
        const count = await pass(true);
        published += count;
        if (count === 0) return published;
      }
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await passing;
      // What was handed over goes out before the producer does; anything else waits for a search.
      try {
        for (const collectionName of options.collections) while ((await publishHandedOver(collectionName)) > 0);
      } catch (error) {
        options.logger.warn({ err: error }, 'outbox: publishing at stop failed; a search will publish the rest');
      }
    },
  };
}
