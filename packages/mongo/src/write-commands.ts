import type mongoose from 'mongoose';

type Db = NonNullable<mongoose.Connection['db']>;

/** One item's failure in a write command (a duplicate key is code 11000). */
export interface ItemWriteError {
  index: number;
  code: number;
  errmsg: string;
}

interface WriteCommandReply {
  n?: number;
  nModified?: number;
  writeErrors?: ItemWriteError[];
  writeConcernError?: { code: number; errmsg: string };
}

/** Keyed by string ids, as every service's documents are, unless a document type says more. */
type StringKeyed = { _id: string };

export interface SingleUpdate<Document extends mongoose.mongo.Document = StringKeyed> {
  filter: mongoose.mongo.Filter<Document>;
  update: mongoose.mongo.UpdateFilter<Document> | mongoose.mongo.Document;
}

/** Well below the server's 100,000 writes and 16 MB per command for the documents at hand. */
const chunkSize = 1000;

/**
 * Many single-document writes to one collection as the server's own `insert`/`update` commands,
 * unordered, one round trip per thousand. `insertMany`/`bulkWrite` send the same commands, but
 * first measure every operation's BSON size (to split batches these never need) and build a
 * result object per call: on the ledger's hottest path that bookkeeping cost more CPU than the
 * writes' own serialization. Each write is still its own single-document write on the server.
 * The driver's retryable writes do not apply; every caller's writes are safe to repeat.
 */
export class CollectionWrites {
  constructor(
    private readonly connection: mongoose.Connection,
    readonly collectionName: string,
  ) {}

  private get db(): Db {
    const db = this.connection.db;
    if (db === undefined) throw new Error('the MongoDB connection is not open');
    return db;
  }

  private async run(command: mongoose.mongo.Document): Promise<WriteCommandReply> {
    const reply = (await this.db.command(command)) as WriteCommandReply;
    if (reply.writeConcernError !== undefined) {
      throw Object.assign(new Error(`write concern failed: ${reply.writeConcernError.errmsg}`), { code: reply.writeConcernError.code });
    }
    return reply;
  }

  /** Inserts documents; resolves with the items that failed (a duplicate id among them), by index. */
  async insertEach(documents: mongoose.mongo.Document[]): Promise<ItemWriteError[]> {
    const failed: ItemWriteError[] = [];
    for (let start = 0; start < documents.length; start += chunkSize) {
      const reply = await this.run({ insert: this.collectionName, documents: documents.slice(start, start + chunkSize), ordered: false });
      for (const error of reply.writeErrors ?? []) failed.push({ ...error, index: error.index + start });
    }
    return failed;
  }

  /**
   * Applies single-document updates; resolves with how many matched their filter and how many
   * changed a document. A failed item (not a non-matching filter) rejects, as `bulkWrite` does.
   */
  async updateEach<Document extends mongoose.mongo.Document = StringKeyed>(
    updates: SingleUpdate<NoInfer<Document>>[],
  ): Promise<{ matched: number; modified: number }> {
    let matched = 0;
    let modified = 0;
    let failure: ItemWriteError | undefined;
    for (let start = 0; start < updates.length; start += chunkSize) {
      const reply = await this.run({
        update: this.collectionName,
        updates: updates.slice(start, start + chunkSize).map(({ filter, update }) => ({ q: filter, u: update })),
        ordered: false,
      });
      failure ??= reply.writeErrors?.[0];
      matched += reply.n ?? 0;
      modified += reply.nModified ?? 0;
    }
    if (failure !== undefined) throw Object.assign(new Error(`update failed: ${failure.errmsg}`), { code: failure.code });
    return { matched, modified };
  }
}
