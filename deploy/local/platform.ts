import { allTopics } from '@lovepoints/events';
import { createKafkaClient } from '@lovepoints/kafka';
import type { Logger } from '@lovepoints/logging';
import { type InfrastructureOptions, infrastructureOptionsFromEnv, startInfrastructure } from './infra';
import { type RunningServices, type ServicePorts, serviceEnvironment, startServices } from './services';

export interface PlatformOptions {
  logger: Logger;
  ports: ServicePorts;
  /** Data kept between runs (npm start) or thrown away (tests). */
  persistent: boolean;
  /** Overrides for the local infrastructure (ports, state folder). */
  infrastructure?: Partial<InfrastructureOptions>;
  /** Extra variables for every service (database names, secrets, log level). */
  environment?: Record<string, string>;
  /** Service logs go to files here; without it, to this terminal. */
  logDirectory?: string;
  /** Extra Node options for every service process. */
  nodeArguments?: string[];
}

export interface Platform {
  gatewayUrl: string;
  processIds: RunningServices['processIds'];
  mongoUrl: string;
  kafkaBrokers: string[];
  stop(): Promise<void>;
}

/**
 * Brings up the whole platform: the infrastructure (the given MONGO_URL and KAFKA_BROKERS, or
 * the local JVMs), the topics, then every service, and resolves once the gateway is ready.
 * Both `npm start` and the integration tests' globalSetup use it, so they cannot drift apart.
 */
export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const { logger } = options;
  const externalMongoUrl = process.env.MONGO_URL;
  const externalBrokers = process.env.KAFKA_BROKERS;
  let infrastructure: { mongoUrl: string; kafkaBrokers: string[]; stop(): Promise<void> };
  if (externalMongoUrl && externalBrokers) {
    const kafkaBrokers = externalBrokers.split(',').map((broker) => broker.trim());
    logger.info({ mongoUrl: externalMongoUrl, kafkaBrokers }, 'using the given MongoDB and Kafka');
    const kafka = createKafkaClient({ brokers: kafkaBrokers, clientId: 'platform-setup', logger });
    try {
      await kafka.ensureTopics(allTopics);
    } finally {
      await kafka.disconnect();
    }
    infrastructure = { mongoUrl: externalMongoUrl, kafkaBrokers, stop: () => Promise.resolve() };
  } else {
    infrastructure = await startInfrastructure(infrastructureOptionsFromEnv({ persistent: options.persistent, logger, ...options.infrastructure }));
  }
  try {
    const services = await startServices({
      environment: { ...serviceEnvironment(infrastructure, options.ports), ...options.environment },
      gatewayPort: options.ports.gateway,
      logger,
      ...(options.logDirectory ? { logDirectory: options.logDirectory } : {}),
      ...(options.nodeArguments ? { nodeArguments: options.nodeArguments } : {}),
    });
    return {
      gatewayUrl: services.gatewayUrl,
      processIds: services.processIds,
      mongoUrl: infrastructure.mongoUrl,
      kafkaBrokers: infrastructure.kafkaBrokers,
      async stop() {
        await services.stop();
        await infrastructure.stop();
      },
    };
  } catch (error) {
    await infrastructure.stop();
    throw error;
  }
}
