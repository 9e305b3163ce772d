import { createLogger } from '@lovepoints/logging';
import { type Connection, connectMongo } from '@lovepoints/mongo';
import { platform } from './platform';

/** A connection to one database on the run's MongoDB-protocol server, for specs that read or seed storage directly. */
export function connectSpecDatabase(databaseName: string): Promise<Connection> {
  return connectMongo({ url: platform.TEST_MONGO_URL, databaseName, logger: createLogger('spec', 'error') });
}
