import { databaseName, loadConfig, port, positiveInteger, sharedServiceShape } from '@lovepoints/config';

export function loadPointsConfig(environment: NodeJS.ProcessEnv = process.env) {
  return loadConfig(
    {
      ...sharedServiceShape,
      POINTS_GRPC_PORT: port(50052),
      POINTS_MONGO_DB: databaseName('lovepoints_points'),
      // How long a half-applied transfer waits before recovery completes it.
      LEDGER_LEASE_MS: positiveInteger(10_000),
      LEDGER_RECOVERY_INTERVAL_MS: positiveInteger(15_000),
    },
    environment,
  );
}
