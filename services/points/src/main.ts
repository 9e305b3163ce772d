import { createGrpcServer, protos } from '@lovepoints/grpc';
import { createKafkaClient } from '@lovepoints/kafka';
import { runMain, type StopStep } from '@lovepoints/lifecycle';
import { createLogger } from '@lovepoints/logging';
import { connectMongo } from '@lovepoints/mongo';
import { createOutboxRelay } from '@lovepoints/outbox';
import { loadPointsConfig } from './config';
import { runAttendanceConsumer } from './events/attendance.consumer';
import { runReportConsumer } from './events/report.consumer';
import { pointsHandlers } from './grpc/points.handlers';
import { PointsService } from './points.service';
import { EarningRepository } from './store/earning.repository';
import { LedgerQueries } from './store/ledger.queries';
import { LedgerRepository } from './store/ledger.repository';

runMain('points', async () => {
  const config = loadPointsConfig();
  const logger = createLogger('points', config.LOG_LEVEL);
  const connection = await connectMongo({ url: config.MONGO_URL, databaseName: config.POINTS_MONGO_DB, logger });
  const kafka = createKafkaClient({ brokers: config.KAFKA_BROKERS, clientId: 'points', logger });
  // Every transfer that stores an event hands it to the relay, so its search for events nobody
  // handed over (a failed publish, a crash, another process) can be rare: on mongo-java-server it scans.
  const relay = createOutboxRelay({
    connection,
    collections: ['transfers'],
    producer: await kafka.connectProducer(),
    logger,
    scanIntervalMs: config.POINTS_OUTBOX_SCAN_INTERVAL_MS,
    // Events wait up to 20 ms for others, so a produce request and a write carry many.
    lingerMs: 20,
  });
  const ledger = new LedgerRepository(connection, logger, {
    leaseMs: config.LEDGER_LEASE_MS,
    markerSweepIntervalMs: config.LEDGER_MARKER_SWEEP_INTERVAL_MS,
    outbox: relay,
  });
  const earnings = new EarningRepository(connection, config.LEDGER_TIME_ZONE_OFFSET_MINUTES);
  await Promise.all([ledger.init(), earnings.init()]);
  await ledger.recover();
  const service = new PointsService(ledger, new LedgerQueries(ledger), earnings, {
    batchSizeMax: config.LEDGER_BATCH_SIZE_MAX,
    batchConcurrency: config.LEDGER_BATCH_CONCURRENCY,
    holdTimeoutMsMin: config.LEDGER_HOLD_TIMEOUT_MS_MIN,
    holdTimeoutMsMax: config.LEDGER_HOLD_TIMEOUT_MS_MAX,
  });
  const consumers =
    config.POINTS_CONSUMERS_ENABLED === 'true'
      ? [
          await runAttendanceConsumer(kafka, service, config.POINTS_ATTENDANCE_CONSUMER_GROUP),
          await runReportConsumer(kafka, service, config.POINTS_REPORT_CONSUMER_GROUP),
        ]
      : [];
  const recovery = setInterval(() => {
    ledger.recover().catch((error: unknown) => logger.error({ err: error }, 'ledger recovery failed'));
  }, config.LEDGER_RECOVERY_INTERVAL_MS);
  const expiry = setInterval(() => {
    service.expireAllCommunities(new Date()).then(
      (expired) => expired > 0 && logger.info({ expired }, 'points expired'),
      (error: unknown) => logger.error({ err: error }, 'points expiry failed'),
    );
  }, config.LEDGER_EXPIRY_INTERVAL_MS);
  const server = createGrpcServer(logger);
  server.addService(protos().points.points.v1.PointsService.service, pointsHandlers(service, config.LEDGER_TIME_ZONE_OFFSET_MINUTES));
  const boundPort = await server.start(config.GRPC_HOST, config.POINTS_GRPC_PORT);
  relay.start();
  server.health.setAll('SERVING');
  logger.info({ port: boundPort }, 'points service ready');
  const stopSteps: StopStep[] = [
    () => clearInterval(recovery),
    () => clearInterval(expiry),
    () => server.stop(),
    () => Promise.all(consumers.map((consumer) => consumer.stop())),
    () => ledger.stop(),
    () => relay.stop(),
    () => kafka.disconnect(),
    () => connection.close(),
  ];
  return { logger, stopSteps };
});
