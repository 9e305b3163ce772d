import { databaseName, loadConfig, port, sharedServiceShape } from '@lovepoints/config';

export function loadRedeemConfig(environment: NodeJS.ProcessEnv = process.env) {
  return loadConfig({ ...sharedServiceShape, REDEEM_GRPC_PORT: port(50053), REDEEM_MONGO_DB: databaseName('lovepoints_redeem') }, environment);
}
