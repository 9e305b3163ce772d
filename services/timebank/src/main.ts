import { createClients, createGrpcServer, protos } from '@lovepoints/grpc';
import { createKafkaClient } from '@lovepoints/kafka';
import { runMain } from '@lovepoints/lifecycle';
import { createLogger } from '@lovepoints/logging';
import { connectMongo } from '@lovepoints/mongo';
import { createOutboxRelay } from '@lovepoints/outbox';
import { LedgerClient } from './clients/ledger.client';
import { PeopleClient } from './clients/people.client';
import { loadTimebankConfig } from './config';
import { FamilyService } from './family.service';
import { timebankHandlers } from './grpc/timebank.handlers';
import { OrderPayments } from './order-payments';
import { OrderService } from './order.service';
import { createModels, outboxCollections } from './store/models';
import { OrderRepository } from './store/order.repository';

runMain('timebank', async () => {
  const config = loadTimebankConfig();
  const logger = createLogger('timebank', config.LOG_LEVEL);
  const connection = await connectMongo({ url: config.MONGO_URL, databaseName: config.TIMEBANK_MONGO_DB, logger });
  const models = createModels(connection);
  await Promise.all(Object.values(models).map((model) => model.init()));
  const kafka = createKafkaClient({ brokers: config.KAFKA_BROKERS, clientId: 'timebank', logger });
  const relay = createOutboxRelay({ connection, collections: outboxCollections, producer: await kafka.connectProducer(), logger });
  // Only the volunteer and points clients are used; the time bank never calls redeem or itself.
  const clients = createClients({
    volunteer: config.VOLUNTEER_GRPC_ADDRESS,
    points: config.POINTS_GRPC_ADDRESS,
    redeem: config.POINTS_GRPC_ADDRESS,
    timebank: config.POINTS_GRPC_ADDRESS,
  });
  const ledger = new LedgerClient(clients, config.GRPC_DEADLINE_MS, config.TIMEBANK_HOLD_TIMEOUT_MS);
  const people = new PeopleClient(clients, config.GRPC_DEADLINE_MS);
  const family = new FamilyService(models, people, ledger, config.TIMEBANK_POOL_MIN_AGE);
  const repository = new OrderRepository(models, config.TIMEBANK_LEASE_MS, (orderId) => relay.nudge('serviceorders', orderId));
  const payments = new OrderPayments(repository, ledger, family, logger);
  const orders = new OrderService(models, repository, payments, family, people, {
    acceptWindowMs: config.TIMEBANK_ACCEPT_WINDOW_MINUTES * 60_000,
    startGraceMs: config.TIMEBANK_START_GRACE_MINUTES * 60_000,
    startHorizonMs: config.TIMEBANK_START_HORIZON_DAYS * 86_400_000,
    overrunFactor: config.TIMEBANK_OVERRUN_FACTOR,
  });
  const sweep = setInterval(() => {
    orders.escalateOverdue(new Date()).then(
      (swept) => (swept.escalated > 0 || swept.reopened > 0) && logger.info(swept, 'overdue orders escalated or reopened'),
      (error: unknown) => logger.error({ err: error }, 'order escalation failed'),
    );
  }, config.TIMEBANK_SWEEP_INTERVAL_MS);
  const recovery = setInterval(() => {
    Promise.all([payments.recover(), orders.recoverRatings()]).catch((error: unknown) => logger.error({ err: error }, 'time bank recovery failed'));
  }, config.TIMEBANK_RECOVERY_INTERVAL_MS);
  const server = createGrpcServer(logger);
  server.addService(protos().timebank.timebank.v1.TimebankService.service, timebankHandlers(orders, family));
  const boundPort = await server.start(config.GRPC_HOST, config.TIMEBANK_GRPC_PORT);
  relay.start();
  server.health.setAll('SERVING');
  logger.info({ port: boundPort }, 'timebank service ready');
  return {
    logger,
    stopSteps: [
      () => clearInterval(sweep),
      () => clearInterval(recovery),
      () => server.stop(),
      () => relay.stop(),
      () => Object.values(clients).forEach((client) => client.close()),
      () => kafka.disconnect(),
      () => connection.close(),
    ],
  };
});
