import type { Logger } from '@lovepoints/logging';
import { Kafka, Partitioners, logLevel as kafkaLogLevel, type Consumer, type IHeaders, type Producer } from 'kafkajs';

/**
 * The only module that touches the Kafka client library. kafkajs has had no release since 2023,
 * so keeping it behind this interface leaves the rest of the code free to move to another client.
 */

export interface OutgoingMessage {
  topic: string;
  /** Partitioning key: the entity id, so one entity's events stay ordered. */
  key: string;
  value: string;
  headers?: Record<string, string>;
}

export interface IncomingMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Thrown by a handler for a message that can never succeed: it goes to the DLQ without retries. */
export class PermanentMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentMessageError';
  }
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  handle: (message: IncomingMessage) => Promise<void>;
  /** Attempts per message before it is dead-lettered. */
  maxAttempts?: number;
  /** First retry delay; doubles each attempt. */
  retryBackoffMs?: number;
  fromBeginning?: boolean;
}

export interface KafkaClient {
  /** Creates the topics that do not exist yet (the broker does not auto-create them). */
  ensureTopics(topicNames: string[], partitions?: number): Promise<void>;
  /** True when the cluster answers a metadata request. */
  ping(): Promise<boolean>;
  /** An idempotent producer, connected. */
  connectProducer(): Promise<MessageProducer>;
  /** Messages of `topic` that the group has not committed yet (all of them for a new group). */
  consumerLag(groupId: string, topic: string): Promise<number>;
  /** Starts a consumer group member; resolves when it runs. */
  runConsumer(options: ConsumerOptions): Promise<{ stop(): Promise<void> }>;
  disconnect(): Promise<void>;
}

export interface MessageProducer {
  send(messages: OutgoingMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) result[name] = first.toString();
  }
  return result;
}

function toPinoLevel(level: kafkaLogLevel): 'error' | 'warn' | 'info' | 'debug' {
  switch (level) {
    case kafkaLogLevel.ERROR:
    case kafkaLogLevel.NOTHING:
      return 'error';
    case kafkaLogLevel.WARN:
      return 'warn';
    case kafkaLogLevel.INFO:
      return 'info';
    case kafkaLogLevel.DEBUG:
      return 'debug';
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createKafkaClient(options: { brokers: string[]; clientId: string; logger: Logger }): KafkaClient {
  const { logger } = options;
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: 3000,
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: kafkaLogLevel.WARN,
    logCreator: () => (entry) => {
      const { message, ...rest } = entry.log;
      logger[toPinoLevel(entry.level)]({ kafka: entry.namespace, ...rest }, message);
    },
  });
  const admin = kafka.admin();
  let adminConnected: Promise<void> | undefined;
  const connectAdmin = () => (adminConnected ??= admin.connect());
  const producers = new Set<Producer>();
  const consumers = new Set<Consumer>();

  async function connectProducer(): Promise<MessageProducer> {
    // Idempotent: the broker drops duplicates of a retried send, so a retry never doubles a message.
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // The Java client's murmur2 partitioning, so keys land where other Kafka clients put them.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    producers.add(producer);
    return {
      async send(messages) {
        const byTopic = new Map<string, OutgoingMessage[]>();
        for (const message of messages) {
          const list = byTopic.get(message.topic);
          if (list === undefined) byTopic.set(message.topic, [message]);
          else list.push(message);
        }
        await producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, list]) => ({
            topic,
            messages: list.map((message) => ({ key: message.key, value: message.value, headers: message.headers ?? {} })),
          })),
        });
      },
      async disconnect() {
        producers.delete(producer);
        await producer.disconnect();
      },
    };
  }

  return {
    async ensureTopics(topicNames, partitions = 3) {
      await connectAdmin();
      const existing = new Set(await admin.listTopics());
      const missing = topicNames.filter((topic) => !existing.has(topic));
      if (missing.length === 0) return;
      await admin.createTopics({ waitForLeaders: true, topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })) });
      logger.info({ topics: missing }, 'created Kafka topics');
    },

    async ping() {
      try {
        await connectAdmin();
        const cluster = await admin.describeCluster();
        return cluster.brokers.length > 0;
      } catch {
        adminConnected = undefined;
        return false;
      }
    },

    connectProducer,

    async consumerLag(groupId, topic) {
      await connectAdmin();
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const ends = await admin.fetchTopicOffsets(topic);
      let lag = 0;
      for (const end of ends) {
        const committedOffset = Number(committed?.partitions.find((partition) => partition.partition === end.partition)?.offset ?? -1);
        lag += Number(end.high) - Math.max(committedOffset, Number(end.low));
      }
      return lag;
    },

    async runConsumer(consumerOptions) {
      const maxAttempts = consumerOptions.maxAttempts ?? 5;
      const retryBackoffMs = consumerOptions.retryBackoffMs ?? 200;
      const deadLetters = await connectProducer();
      const consumer = kafka.consumer({ groupId: consumerOptions.groupId, allowAutoTopicCreation: false });
      await consumer.connect();
      consumers.add(consumer);
      await consumer.subscribe({ topics: consumerOptions.topics, fromBeginning: consumerOptions.fromBeginning ?? true });
      await consumer.run({
        eachMessage: async ({ topic, partition, message }) => {
          const incoming: IncomingMessage = {
            topic,
            partition,
            offset: message.offset,
            key: message.key?.toString() ?? null,
            value: message.value,
            headers: headersToStrings(message.headers),
          };
          let lastError: unknown;
          for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
            try {
              await consumerOptions.handle(incoming);
              return;
            } catch (error) {
              lastError = error;
              if (error instanceof PermanentMessageError) break;
              logger.warn({ err: error, topic, partition, offset: message.offset, attempt }, 'message handling failed; retrying');
              if (attempt < maxAttempts) await sleep(retryBackoffMs * 2 ** (attempt - 1));
            }
          }
          // Dead-letter the message with the reason; if even that fails, throwing leaves the offset
          // uncommitted so the message is redelivered rather than dropped.
          const reason = lastError instanceof Error ? lastError.message : String(lastError);
          await deadLetters.send([
            {
              topic: `${topic}.dlq`,
              key: incoming.key ?? '',
              value: message.value?.toString() ?? '',
              headers: {
                ...incoming.headers,
                'x-dlq-error': reason.slice(0, 2000),
                'x-dlq-source': `${topic}/${partition}/${message.offset}`,
                'x-dlq-group': consumerOptions.groupId,
              },
            },
          ]);
          logger.error({ topic, partition, offset: message.offset, reason }, 'message dead-lettered');
        },
      });
      return {
        async stop() {
          consumers.delete(consumer);
          await consumer.disconnect();
          await deadLetters.disconnect();
        },
      };
    },

    async disconnect() {
      await Promise.allSettled([...consumers].map((consumer) => consumer.disconnect()));
      await Promise.allSettled([...producers].map((producer) => producer.disconnect()));
      if (adminConnected) await admin.disconnect();
    },
  };
}
