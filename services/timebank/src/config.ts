import { databaseName, loadConfig, port, sharedServiceShape } from '@lovepoints/config';

export function loadTimebankConfig(environment: NodeJS.ProcessEnv = process.env) {
  return loadConfig({ ...sharedServiceShape, TIMEBANK_GRPC_PORT: port(50054), TIMEBANK_MONGO_DB: databaseName('lovepoints_timebank') }, environment);
}
