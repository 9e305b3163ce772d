import { createGrpcServer, protos } from '@lovepoints/grpc';
import { createKafkaClient } from '@lovepoints/kafka';
import { runMain } from '@lovepoints/lifecycle';
import { createLogger } from '@lovepoints/logging';
import { connectMongo } from '@lovepoints/mongo';
import { loadPointsConfig } from './config';
import { runAttendanceConsumer } from './events/attendance.consumer';
import { pointsHandlers } from './grpc/points.handlers';
import { PointsService } from './points.service';
import { LedgerRepository } from './store/ledger.repository';

runMain('points', async () => {
  const config = loadPointsConfig();
  const logger = createLogger('points', config.LOG_LEVEL);
  const connection = await connectMongo({ url: config.MONGO_URL, databaseName: config.POINTS_MONGO_DB, logger });
  const ledger = new LedgerRepository(connection, logger, config.LEDGER_LEASE_MS);
  await ledger.init();
  await ledger.recover();
  const service = new PointsService(ledger);
  const kafka = createKafkaClient({ brokers: config.KAFKA_BROKERS, clientId: 'points', logger });
  const consumer = await runAttendanceConsumer(kafka, service);
  const recovery = setInterval(() => {
    ledger.recover().catch((error: unknown) => logger.error({ err: error }, 'ledger recovery failed'));
  }, config.LEDGER_RECOVERY_INTERVAL_MS);
  const server = createGrpcServer(logger);
  server.addService(protos().points.points.v1.PointsService.service, pointsHandlers(service));
  const boundPort = await server.start(config.GRPC_HOST, config.POINTS_GRPC_PORT);
  server.health.setAll('SERVING');
  logger.info({ port: boundPort }, 'points service ready');
  return {
    logger,
    stopSteps: [() => clearInterval(recovery), () => server.stop(), () => consumer.stop(), () => kafka.disconnect(), () => connection.close()],
  };
});
