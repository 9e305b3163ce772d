import { createGrpcServer, createPointsClient, protos } from '@lovepoints/grpc';
import { createKafkaClient } from '@lovepoints/kafka';
import { runMain } from '@lovepoints/lifecycle';
import { createLogger } from '@lovepoints/logging';
import { connectMongo } from '@lovepoints/mongo';
import { createOutboxRelay } from '@lovepoints/outbox';
import { loadRedeemConfig } from './config';
import { redeemHandlers } from './grpc/redeem.handlers';
import { RedeemLedger } from './ledger.client';
import { OrderService } from './order.service';
import { SettlementService } from './settlement.service';
import { ShopService } from './shop.service';
import { createModels, outboxCollections } from './store/models';

runMain('redeem', async () => {
  const config = loadRedeemConfig();
  const logger = createLogger('redeem', config.LOG_LEVEL);
  const connection = await connectMongo({ url: config.MONGO_URL, databaseName: config.REDEEM_MONGO_DB, logger });
  const models = createModels(connection);
  await Promise.all(Object.values(models).map((model) => model.init()));
  const points = createPointsClient(config.POINTS_GRPC_ADDRESS);
  const ledger = new RedeemLedger(points, config.GRPC_DEADLINE_MS);
  const kafka = createKafkaClient({ brokers: config.KAFKA_BROKERS, clientId: 'redeem', logger });
  const relay = createOutboxRelay({ connection, collections: outboxCollections, producer: await kafka.connectProducer(), logger });
  const shops = new ShopService(models, ledger, logger);
  const orders = new OrderService(
    models,
    shops,
    ledger,
    {
      pickupDeadlineMs: config.REDEEM_PICKUP_DEADLINE_MS,
      holdMarginMs: config.REDEEM_HOLD_MARGIN_MS,
      leaseMs: config.REDEEM_LEASE_MS,
      codeSecret: config.REDEEM_CODE_SECRET,
      memberCodeLifetimeSeconds: config.REDEEM_MEMBER_CODE_TTL_SECONDS,
      pickupFailuresMax: config.REDEEM_PICKUP_FAILURES_MAX,
      pickupFailureWindowMs: config.REDEEM_PICKUP_FAILURE_WINDOW_SECONDS * 1000,
      timeZoneOffsetMinutes: config.REDEEM_TIME_ZONE_OFFSET_MINUTES,
    },
    logger,
    (orderId) => relay.nudge('orders', orderId),
  );
  const settlements = new SettlementService(models, ledger, config.REDEEM_LEASE_MS, logger);
  // Recovery and expiry run at start and then periodically; one pass at a time.
  let sweeping = Promise.resolve();
  const sweep = () => {
    sweeping = sweeping
      .then(async () => {
        const swept = await orders.sweep(new Date());
        const recovered = swept.recovered + (await settlements.recover());
        if (recovered + swept.expired > 0) logger.info({ recovered, expired: swept.expired }, 'order sweep finished');
      })
      .catch((error: unknown) => logger.error({ err: error }, 'order sweep failed'));
  };
  sweep();
  const sweeper = setInterval(sweep, config.REDEEM_RECOVERY_INTERVAL_MS);
  const server = createGrpcServer(logger);
  server.addService(protos().redeem.redeem.v1.RedeemService.service, redeemHandlers(shops, orders, settlements));
  const boundPort = await server.start(config.GRPC_HOST, config.REDEEM_GRPC_PORT);
  relay.start();
  server.health.setAll('SERVING');
  logger.info({ port: boundPort }, 'redeem service ready');
  return {
    logger,
    stopSteps: [
      () => clearInterval(sweeper),
      () => server.stop(),
      () => sweeping,
      () => relay.stop(),
      () => points.close(),
      () => kafka.disconnect(),
      () => connection.close(),
    ],
  };
});
