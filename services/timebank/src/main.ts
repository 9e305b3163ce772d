import { createGrpcServer, protos } from '@lovepoints/grpc';
import { runMain } from '@lovepoints/lifecycle';
import { createLogger } from '@lovepoints/logging';
import { connectMongo } from '@lovepoints/mongo';
import { loadTimebankConfig } from './config';
import { timebankHandlers } from './grpc/timebank.handlers';
import { createModels } from './store/models';
import { TimebankService } from './timebank.service';

runMain('timebank', async () => {
  const config = loadTimebankConfig();
  const logger = createLogger('timebank', config.LOG_LEVEL);
  const connection = await connectMongo({ url: config.MONGO_URL, databaseName: config.TIMEBANK_MONGO_DB, logger });
  const models = createModels(connection);
  await Promise.all(Object.values(models).map((model) => model.init()));
  const server = createGrpcServer(logger);
  server.addService(protos().timebank.timebank.v1.TimebankService.service, timebankHandlers(new TimebankService(models)));
  const boundPort = await server.start(config.GRPC_HOST, config.TIMEBANK_GRPC_PORT);
  server.health.setAll('SERVING');
  logger.info({ port: boundPort }, 'timebank service ready');
  return { logger, stopSteps: [() => server.stop(), () => connection.close()] };
});
