import { createGrpcServer, protos } from '@lovepoints/grpc';
import { runMain } from '@lovepoints/lifecycle';
import { createLogger } from '@lovepoints/logging';
import { connectMongo } from '@lovepoints/mongo';
import { loadRedeemConfig } from './config';
import { redeemHandlers } from './grpc/redeem.handlers';
import { RedeemService } from './redeem.service';
import { createModels } from './store/models';

runMain('redeem', async () => {
  const config = loadRedeemConfig();
  const logger = createLogger('redeem', config.LOG_LEVEL);
  const connection = await connectMongo({ url: config.MONGO_URL, databaseName: config.REDEEM_MONGO_DB, logger });
  const models = createModels(connection);
  await Promise.all(Object.values(models).map((model) => model.init()));
  const server = createGrpcServer(logger);
  server.addService(protos().redeem.redeem.v1.RedeemService.service, redeemHandlers(new RedeemService(models)));
  const boundPort = await server.start(config.GRPC_HOST, config.REDEEM_GRPC_PORT);
  server.health.setAll('SERVING');
  logger.info({ port: boundPort }, 'redeem service ready');
  return { logger, stopSteps: [() => server.stop(), () => connection.close()] };
});
