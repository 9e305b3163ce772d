import { createKafkaClient, type IncomingMessage, type KafkaClient } from '@lovepoints/kafka';
import { createLogger } from '@lovepoints/logging';
import { randomUUID } from 'node:crypto';
import { platform } from './platform';

/** A Kafka client for specs, through the project's own Kafka module. */
export function testKafka(): KafkaClient {
  return createKafkaClient({ brokers: platform.TEST_KAFKA_BROKERS, clientId: `spec-${randomUUID()}`, logger: createLogger('spec', 'error') });
}

/** Collects every message of the topics from the beginning, in a consumer group of its own. */
export async function recordTopic(kafka: KafkaClient, topics: string[]): Promise<{ messages: IncomingMessage[]; stop(): Promise<void> }> {
  const messages: IncomingMessage[] = [];
  const consumer = await kafka.runConsumer({
    groupId: `spec-recorder-${randomUUID()}`,
    topics,
    fromBeginning: true,
    handle: async (message) => {
      messages.push(message);
    },
  });
  return { messages, stop: () => consumer.stop() };
}
