import type { Logger } from '@lovepoints/logging';
import mongoose from 'mongoose';

export type Connection = mongoose.Connection;

// Mongoose otherwise records a stack trace at every query (only to show it if the same query
// object is run twice); under tsx's source maps that cost the points service about 4% of its CPU
// on balance reads (bench:gateway).
mongoose.set('skipOriginalStackTraces', true);

/**
 * Opens a connection to one service's own database, retrying while the server starts
 * (a JVM-hosted server locally takes seconds). Gives up after `attempts` and throws.
 */
export async function connectMongo(options: {
  url: string;
  databaseName: string;
  logger: Logger;
  attempts?: number;
  poolSize?: number;
}): Promise<mongoose.Connection> {
  const attempts = options.attempts ?? 30;
  for (let attempt = 1; ; attempt += 1) {
    try {
      const connection = mongoose.createConnection(options.url, {
        dbName: options.databaseName,
        serverSelectionTimeoutMS: 2000,
        maxPoolSize: options.poolSize ?? 20,
        autoIndex: true,
      });
      await connection.asPromise();
      return connection;
    } catch (error) {
      if (attempt >= attempts) throw error;
      options.logger.warn({ err: error, attempt }, 'MongoDB not reachable yet; retrying');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** True when the server answers `ping`. */
export async function pingMongo(connection: mongoose.Connection): Promise<boolean> {
  try {
    const db = connection.db;
    if (db === undefined) return false;
    await db.admin().command({ ping: 1 });
    return true;
  } catch {
    return false;
  }
}

/** True for a duplicate key error (E11000), which idempotent inserts rely on. */
export function isDuplicateKeyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 11000;
}

/**
 * Runs an insert whose uniqueness is the rule (a phone, a sign-up per activity and volunteer),
 * turning the duplicate key error into the caller's domain error and letting anything else through.
 */
export async function insertUnique<Result>(insert: () => Promise<Result>, onDuplicate: () => Error): Promise<Result> {
  try {
    return await insert();
  } catch (error) {
    if (isDuplicateKeyError(error)) throw onDuplicate();
    throw error;
  }
}
export { AutoBatcher, type AutoBatcherOptions } from './auto-batcher';
export { CollectionWrites, type ItemWriteError, type SingleUpdate } from './write-commands';
export { keyDigest } from './key-digest';
